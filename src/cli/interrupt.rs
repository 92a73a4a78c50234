//! SIGINT, SIGTERM and SIGHUP, handled as Nix does (its signal thread in the Nix source's
//! `src/libutil/unix/signals.cc`): the signal sets the interrupt flag
//! ([`crate::util::interrupt`]), the running command stops at its next check and unwinds,
//! removing its temporaries, and `main` prints `error: interrupted by the user` and exits 1.
//! That is current Nix's message also for an interrupted download, whose streaming loop
//! (`FileTransfer::download` into a sink) checks the flag before it looks at the failed
//! transfer; Nix 2.8, which downloaded to a file first, said `download of '<url>' was
//! interrupted` there.
//!
//! Unlike Nix, a command that does not stop within `util::interrupt::GRACE` (a thread blocked on
//! a stalled connection or on another process's lock) is ended by a watchdog thread, started
//! only before the process may block that way (`util::interrupt::watch`): it removes the listed
//! temporaries, prints the same message and exits 1. A second signal ends the process at once
//! with status 1; what it leaves behind is reclaimed by the next write
//! (`store::local::reclaim`).
//!
//! The handlers only set the flag (`signal_hook::flag`): no thread is started for signals, so
//! a short command pays nothing for them.

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};

use super::output::{INFO, Printer};
use crate::util::interrupt;

/// Nix's message for an interrupted command.
const MESSAGE: &str = "error: interrupted by the user";

static REPORTED: AtomicBool = AtomicBool::new(false);

/// Installs the handlers of SIGINT, SIGTERM and SIGHUP: the first sets the interrupt flag, a
/// second ends the process with status 1. Should that fail, the signals keep their default
/// action, ending the process at once.
pub fn install() {
    let flag = interrupt::flag();
    for signal in [SIGINT, SIGTERM, SIGHUP] {
        // Registered first, so that it sees the flag as it was before this signal.
        let _ = signal_hook::flag::register_conditional_shutdown(signal, 1, Arc::clone(&flag));
        let _ = signal_hook::flag::register(signal, Arc::clone(&flag));
    }
    interrupt::on_stuck(|| leave());
}

/// Prints Nix's message for an interrupted command (once per process) and returns its exit
/// code.
pub fn report(printer: &Printer) -> ExitCode {
    if !REPORTED.swap(true, Ordering::SeqCst) {
        printer.err_line(MESSAGE);
    }
    ExitCode::FAILURE
}

/// Ends the process from the watchdog thread: the command did not stop in time.
fn leave() -> ! {
    interrupt::remove_temporaries();
    let _ = report(&Printer::new(INFO));
    std::process::exit(1)
}
