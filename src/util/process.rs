//! Processes: running child programs (`git`, `hg`) so that an interrupt stops them (Nix's
//! `runProgram` kills its child when the user interrupts it, and so do we), and telling whether
//! a process exists (whose temporaries may be reclaimed).

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

/// Returns whether a process `pid` exists (`kill(pid, 0)`); one that may not be signalled
/// (`EPERM`, another user's) exists. A pid that cannot be a process id counts as existing, so
/// nothing is deleted on its account.
pub fn exists(pid: u32) -> bool {
    let Some(pid) = i32::try_from(pid)
        .ok()
        .and_then(rustix::process::Pid::from_raw)
    else {
        return true;
    };
    !matches!(
        rustix::process::test_kill_process(pid),
        Err(rustix::io::Errno::SRCH)
    )
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
    fn liveness() {
        let mut child = Command::new("true").spawn().unwrap();
        let dead = child.id();
        child.wait().unwrap();
        assert!(exists(std::process::id()));
        assert!(!exists(dead));
        assert!(exists(1), "init exists (EPERM or not)");
        assert!(exists(u32::MAX), "not a pid: never deleted on its account");
    }

    #[test]
    fn captures_output_and_status() {
        let out =
            output(Command::new("sh").args(["-c", "echo out; echo err >&2; exit 3"])).unwrap();
        assert_eq!(out.stdout, b"out\n");
        assert_eq!(out.stderr, b"err\n");
        assert_eq!(out.status.code(), Some(3));
    }
}
