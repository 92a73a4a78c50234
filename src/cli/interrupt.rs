//! SIGINT, SIGTERM and SIGHUP, handled as Nix does (its signal thread in the Nix source's
//! `src/libutil/unix/signals.cc`): the signal sets the interrupt flag
//! ([`crate::util::interrupt`]), the running command stops at its next check and unwinds,
//! removing its temporaries, and `main` prints `error: interrupted by the user` and exits 1.
//! That is current Nix's message also for an interrupted download, whose streaming loop
//! (`FileTransfer::download` into a sink) checks the flag before it looks at the failed
//! transfer; Nix 2.8, which downloaded to a file first, said `download of '<url>' was
//! interrupted` there.
//!
//! Unlike Nix, a command that does not stop within [`GRACE`] (a thread blocked on a stalled
//! connection or on another process's lock), or a second signal, ends the process from the
//! signal thread: it removes the listed temporaries, prints the same message and exits 1.

use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

use super::output::{INFO, Printer};
use crate::util::interrupt;

/// How long a command has to stop by itself after the first signal.
const GRACE: Duration = Duration::from_secs(3);

/// Nix's message for an interrupted command.
const MESSAGE: &str = "error: interrupted by the user";

static REPORTED: AtomicBool = AtomicBool::new(false);

/// Starts the thread that receives SIGINT, SIGTERM and SIGHUP. Without it (should the signals
/// not be available) they keep their default action, ending the process at once.
pub fn install() {
    let Ok(mut signals) = Signals::new([SIGINT, SIGTERM, SIGHUP]) else {
        return;
    };
    let spawned = std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            let mut first = true;
            for _ in signals.forever() {
                interrupt::trigger();
                if !first {
                    leave();
                }
                first = false;
                let _ = std::thread::Builder::new()
                    .name("interrupt-grace".into())
                    .spawn(|| {
                        std::thread::sleep(GRACE);
                        leave();
                    });
            }
        });
    drop(spawned);
}

/// Prints Nix's message for an interrupted command (once per process) and returns its exit
/// code.
pub fn report(printer: &Printer) -> ExitCode {
    if !REPORTED.swap(true, Ordering::SeqCst) {
        printer.err_line(MESSAGE);
    }
    ExitCode::FAILURE
}

/// Ends the process from the signal thread: the command did not stop in time.
fn leave() -> ! {
    interrupt::remove_temporaries();
    let _ = report(&Printer::new(INFO));
    std::process::exit(1)
}
