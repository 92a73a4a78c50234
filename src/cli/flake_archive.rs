//! `rflake flake archive` (Nix's `CmdFlakeArchive`, spec Part D): lock the flake, list the
//! store paths of the flake and its inputs (`--json`), fetch them, and copy them `--to` a
//! store.

use std::process::ExitCode;

use super::Context;
use super::flake::ArchiveArgs;
use super::lock_args;
use crate::store::CheckSigs;
use crate::store::copy::{CopyOptions, copy_paths};

/// Runs `flake archive`.
pub fn run(a: &ArchiveArgs, ctx: &Context) -> anyhow::Result<ExitCode> {
    let top = crate::flakeref::parse(&a.flake_url, &ctx.cwd_parse_options(), &ctx.printer)?;
    let flags = lock_args::flags(ctx, &a.flake)?;
    lock_args::with_loader(ctx, &a.eval, &a.flake, |loader| {
        let locked = crate::flake::lock::lock_flake(loader, &top, &flags)?;
        let archive = crate::flake::archive::archive(loader, &locked, a.dry_run)?;
        if a.json.json {
            ctx.print_json(&archive.json, &a.json)?;
        }
        if !a.dry_run
            && let Some(to) = &a.to
        {
            let dst = ctx.open_store(Some(to))?;
            let opts = CopyOptions {
                check_sigs: if a.no_check_sigs {
                    CheckSigs::NoCheck
                } else {
                    CheckSigs::Check
                },
                jobs: 4,
            };
            copy_paths(
                loader.fetch.store,
                dst.as_ref(),
                &archive.sources,
                opts,
                &ctx.printer,
            )?;
        }
        Ok(())
    })?;
    Ok(ExitCode::SUCCESS)
}
