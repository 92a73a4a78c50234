//! `rflake flake archive` (Nix's `CmdFlakeArchive`, spec Part D): parse the arguments, run
//! [`crate::flake::archive::run`], print the JSON listing.

use std::process::ExitCode;

use super::Context;
use super::flake::ArchiveArgs;
use super::lock_args;
use crate::flake::archive::{self, Request};
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
    };
    archive::run(&session, &req, |listed| {
        if a.json.json {
            ctx.print_json(&listed.json, &a.json)?;
        }
        Ok(())
    })?;
    Ok(ExitCode::SUCCESS)
}
