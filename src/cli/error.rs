//! Rendering a failed command: `error: <message>`, a `caused by: …` line per source, `hint: …`
//! lines ([`super::hints`]), and the exit code (1, as Nix; clap's usage errors too, so scripts
//! see what they saw with Nix).

use std::io;
use std::process::ExitCode;

use super::output::Printer;

/// Returns whether the error is a closed stdout (`rflake registry list | head`).
pub fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|e| {
        e.downcast_ref::<io::Error>()
            .is_some_and(|io| io.kind() == io::ErrorKind::BrokenPipe)
    })
}

/// Prints an error as Nix does and returns the exit code.
pub fn report(printer: &Printer, err: &anyhow::Error) -> ExitCode {
    if is_broken_pipe(err) {
        return ExitCode::SUCCESS;
    }
    printer.err_line(&format!("error: {err}"));
    for cause in err.chain().skip(1) {
        printer.err_line(&format!("caused by: {cause}"));
    }
    for hint in super::hints::hints(err) {
        printer.err_line(&format!("hint: {hint}"));
    }
    // Nix exits with 102 on a hash mismatch (`HashMismatchError`), which scripts test for.
    if err
        .chain()
        .any(|e| e.downcast_ref::<crate::fetch::HashMismatch>().is_some())
    {
        return ExitCode::from(crate::fetch::HASH_MISMATCH_EXIT);
    }
    ExitCode::FAILURE
}
