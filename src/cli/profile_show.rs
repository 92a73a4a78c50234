//! `profile list` and `profile history` (Nix's `CmdProfileList`, `CmdProfileHistory`), read
//! offline from the profile's manifests. As in Nix, names are bold, the current version
//! green and inactive elements red, whatever stdout is.

use std::process::ExitCode;

use anyhow::Context as _;

use super::Context;
use super::profile::{HistoryArgs, ListArgs, profile_path, store_fs};
use crate::profile::history::{self, ANSI_BOLD, ANSI_NORMAL, ANSI_RED, Version};
use crate::profile::manifest::{self, Manifest};
use crate::profile::{generations, read};
use crate::store::StoreDir;

/// Runs `profile list`.
pub fn list(a: &ListArgs, ctx: &Context) -> anyhow::Result<ExitCode> {
    let profile = profile_path(&a.profile, ctx);
    let (dir, fs) = store_fs(ctx);
    let m = read::read_manifest(&profile, &fs, &dir, &ctx.printer)?;
    if a.json.json {
        let text = manifest::to_json(&m, &dir);
        let value: serde_json::Value =
            serde_json::from_str(&text).context("rendering the manifest as JSON")?;
        ctx.print_json(&value, &a.json)?;
        return Ok(ExitCode::SUCCESS);
    }
    for line in list_lines(&m, &dir) {
        ctx.printer.out_line(&line)?;
    }
    Ok(ExitCode::SUCCESS)
}

/// The lines of `profile list`: one block per element, blank lines between.
fn list_lines(m: &Manifest, dir: &StoreDir) -> Vec<String> {
    let mut out = Vec::new();
    for (i, (name, e)) in m.elements.iter().enumerate() {
        if i > 0 {
            out.push(String::new());
        }
        let inactive = if e.active {
            String::new()
        } else {
            format!(" {ANSI_RED}(inactive){ANSI_NORMAL}")
        };
        out.push(format!(
            "Name:               {ANSI_BOLD}{name}{ANSI_NORMAL}{inactive}"
        ));
        if let Some(s) = &e.source {
            out.push(format!(
                "Flake attribute:    {}{}",
                s.attr_path,
                s.outputs.suffix()
            ));
            out.push(format!("Original flake URL: {}", s.original_url()));
            out.push(format!("Locked flake URL:   {}", s.locked_url()));
        }
        let paths: Vec<String> = e.store_paths.iter().map(|p| dir.print(p)).collect();
        out.push(format!("Store paths:        {}", paths.join(" ")));
    }
    out
}

/// Runs `profile history`.
pub fn history(a: &HistoryArgs, ctx: &Context) -> anyhow::Result<ExitCode> {
    let profile = profile_path(&a.profile, ctx);
    let (dir, fs) = store_fs(ctx);
    let (gens, current) = generations::find(&profile)?;
    let mut manifests = Vec::new();
    for g in &gens {
        let m = read::read_manifest(&g.path, &fs, &dir, &ctx.printer)?;
        manifests.push((g, m, date(g.creation_time)));
    }
    let versions: Vec<Version<'_>> = manifests
        .iter()
        .map(|(g, m, d)| Version {
            number: g.number,
            date: d.clone(),
            manifest: m,
        })
        .collect();
    for line in history::lines(&versions, current) {
        ctx.printer.out_line(&line)?;
    }
    Ok(ExitCode::SUCCESS)
}

/// `YYYY-MM-DD` of a Unix time, in UTC (Nix's `gmtime`).
fn date(t: i64) -> String {
    jiff::Timestamp::from_second(t)
        .map(|ts| ts.strftime("%Y-%m-%d").to_string())
        .unwrap_or_default()
}
