//! Running child programs (`git`, `hg`) so that an interrupt stops them: Nix's `runProgram`
//! kills its child when the user interrupts it, and so do we.

use std::io::{self, Read};
use std::process::{Command, Output, Stdio};
use std::thread::JoinHandle;
use std::time::Duration;

use super::interrupt;

/// Runs `cmd` to completion, capturing its stdout and stderr (stdin as the caller set it), like
/// [`Command::output`]; when the process is interrupted meanwhile, kills the child (SIGKILL)
/// and fails with [`interrupt::Interrupted`].
pub fn output(cmd: &mut Command) -> io::Result<Output> {
    let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn()?;
    let stdout = drain(child.stdout.take());
    let stderr = drain(child.stderr.take());
    // Short polls first, so that quick commands (most git calls) do not wait for a tick.
    let mut tick = Duration::from_micros(200);
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if interrupt::is_interrupted() {
            let _ = child.kill();
            let _ = child.wait();
            // The readers are left to finish on their own: a grandchild may still hold the
            // pipes open.
            return Err(interrupt::Interrupted.into());
        }
        std::thread::sleep(tick);
        tick = (tick * 2).min(Duration::from_millis(20));
    };
    Ok(Output {
        status,
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
    })
}

/// Reads a pipe to its end on a thread of its own.
fn drain<R: Read + Send + 'static>(pipe: Option<R>) -> JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        if let Some(mut p) = pipe {
            let _ = p.read_to_end(&mut buf);
        }
        buf
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn captures_output_and_status() {
        let out =
            output(Command::new("sh").args(["-c", "echo out; echo err >&2; exit 3"])).unwrap();
        assert_eq!(out.stdout, b"out\n");
        assert_eq!(out.stderr, b"err\n");
        assert_eq!(out.status.code(), Some(3));
    }
}
