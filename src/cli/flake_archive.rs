//! `rflake flake archive` (Nix's `CmdFlakeArchive`, spec Part D): parse the arguments, run
//! [`crate::flake::archive::run`], print the JSON listing.

use std::process::ExitCode;

use super::Context;
use super::flake::ArchiveArgs;
use super::lock_args;
use crate::flake::archive::{self, Request};
use crate::flake::selection::Selection;
use crate::store::CheckSigs;

/// Runs `flake archive`.
pub fn run(a: &ArchiveArgs, ctx: &Context) -> anyhow::Result<ExitCode> {
    let (session, lock) = lock_args::request(ctx, &a.flake_url, &a.eval, &a.flake)?;
    let req = Request {
        lock,
        dry_run: a.dry_run,
        to: a.to.as_deref().map(|to| ctx.store_uri(Some(to))),
        check_sigs: if a.no_check_sigs {
            CheckSigs::NoCheck
        } else {
            CheckSigs::Check
        },
        selection: Selection {
            inputs_only: a.inputs_only,
            include: input_paths(&a.input, "--input")?,
            exclude: input_paths(&a.exclude, "--exclude")?,
        },
    };
    let listed = |listed: &archive::Archive| {
        if a.json.json {
            ctx.print_json(&listed.json, &a.json)?;
        }
        Ok(())
    };
    let mut emit = |r: archive::Reached<'_>| -> anyhow::Result<()> {
        if a.print_paths && r.first {
            ctx.printer.out_line(r.path)?;
        } else if a.json_lines {
            let record = serde_json::json!({
                "attrPath": r.attr_path,
                "locked": r.locked.to_url_string()?,
                "narHash": r.locked.input.get_str("narHash"),
                "path": r.path,
            });
            ctx.printer.out_line(&serde_json::to_string(&record)?)?;
        }
        Ok(())
    };
    if a.check {
        return check(&session, &req, listed, &mut emit, ctx);
    }
    archive::run_streaming(&session, &req, listed, &mut emit)?;
    Ok(ExitCode::SUCCESS)
}

/// Parses the values of `--input` or `--exclude` (`a/b`), which name inputs, never the flake.
fn input_paths(values: &[String], flag: &str) -> anyhow::Result<Vec<crate::flake::InputPath>> {
    values
        .iter()
        .map(|v| {
            if v.is_empty() {
                anyhow::bail!("{flag} was passed a zero-length input path");
            }
            crate::flake::parse_path(v).map_err(anyhow::Error::msg)
        })
        .collect()
}

/// The exit code of `--check` when paths are missing (0: all present; 4, an incomplete or
/// out-of-sync lock, is given by the error renderer for [`crate::flake::lock::OutOfSync`]).
pub const CHECK_MISSING_EXIT: u8 = 3;

/// `flake archive --check`: names the missing paths in an error on stderr (stdout keeps the
/// `--json` listing) and exits with [`CHECK_MISSING_EXIT`] when there are any.
fn check(
    session: &crate::flake::session::Session<'_>,
    req: &Request,
    listed: impl FnOnce(&archive::Archive) -> anyhow::Result<()>,
    emit: archive::Emit<'_>,
    ctx: &Context,
) -> anyhow::Result<ExitCode> {
    let checked = archive::check(session, req, listed, emit)?;
    if checked.missing.is_empty() {
        return Ok(ExitCode::SUCCESS);
    }
    let raw = format!(
        "{} of {} paths are missing from store '{}':\n{}",
        checked.missing.len(),
        checked.archive.sources.len(),
        checked.store,
        checked.missing.join("\n")
    );
    let rendered = format!("error: {}", raw.replace('\n', "\n       "));
    ctx.printer.error(&rendered, &raw, None);
    Ok(ExitCode::from(CHECK_MISSING_EXIT))
}
