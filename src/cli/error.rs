//! Rendering a failed command: `error: <message>` (the position and code frame of an error in
//! a file indented under it, as Nix indents them), a `caused by: …` line per source, `hint: …`
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

/// Indents the lines of a message after its first to align under the text after `error: `,
/// trailing blanks removed, as Nix's `showErrorInfo` does.
pub(super) fn indent(msg: &str) -> String {
    let mut lines = msg.lines();
    let mut out = lines.next().unwrap_or_default().trim_end().to_owned();
    for l in lines {
        out.push('\n');
        out.push_str(format!("       {l}").trim_end());
    }
    out
}

/// Prints an error as Nix does and returns the exit code.
pub fn report(printer: &Printer, err: &anyhow::Error) -> ExitCode {
    if is_broken_pipe(err) {
        return ExitCode::SUCCESS;
    }
    let mut parts = err.chain().map(|e| match e.downcast_ref() {
        Some(framed @ crate::flake::decl::Error::At { .. }) => indent(&framed.to_string()),
        // Build failures span lines (the log tail), indented as Nix indents them.
        _ if e.downcast_ref::<crate::build::Error>().is_some() => indent(&e.to_string()),
        _ => e.to_string(),
    });
    let mut rendered = format!("error: {}", parts.next().unwrap_or_default());
    for cause in parts {
        rendered.push_str(&format!("\ncaused by: {cause}"));
    }
    for hint in super::hints::hints(err) {
        rendered.push_str(&format!("\nhint: {hint}"));
    }
    // Nix's JSON error message carries the position apart, and the message without it.
    let (raw, pos) = match err.downcast_ref::<crate::flake::decl::Error>() {
        Some(crate::flake::decl::Error::At { msg, file, pos, .. }) => {
            (msg.clone(), Some((file.as_str(), pos.line, pos.column)))
        }
        _ => (err.to_string(), None),
    };
    printer.error(&rendered, &raw, pos);
    // Nix exits with 102 on a hash mismatch (`HashMismatchError`), which scripts test for.
    if err
        .chain()
        .any(|e| e.downcast_ref::<crate::fetch::HashMismatch>().is_some())
    {
        return ExitCode::from(crate::fetch::HASH_MISMATCH_EXIT);
    }
    // `flake archive --check` (an rflake addition) exits with 4 when the lock file is
    // incomplete or out of sync with flake.nix.
    if err
        .chain()
        .any(|e| e.downcast_ref::<crate::flake::lock::OutOfSync>().is_some())
    {
        return ExitCode::from(LOCK_OUT_OF_SYNC_EXIT);
    }
    ExitCode::FAILURE
}

/// The exit code of `flake archive --check` for an incomplete or out-of-sync lock file.
pub const LOCK_OUT_OF_SYNC_EXIT: u8 = 4;
