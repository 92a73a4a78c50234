//! Rendering a failed command: `error: <message>`, a `caused by: …` line per source, and the
//! exit code (1, as Nix; clap's usage errors too, so scripts see what they saw with Nix).

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
    let mut rendered = format!("error: {err}");
    for cause in err.chain().skip(1) {
        rendered.push_str(&format!("\ncaused by: {cause}"));
    }
    printer.error(&rendered, &err.to_string());
    // Nix exits with 102 on a hash mismatch (`HashMismatchError`), which scripts test for.
    if err
        .chain()
        .any(|e| e.downcast_ref::<crate::fetch::HashMismatch>().is_some())
    {
        return ExitCode::from(crate::fetch::HASH_MISMATCH_EXIT);
    }
    ExitCode::FAILURE
}
