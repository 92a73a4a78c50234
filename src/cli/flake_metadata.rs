//! `rflake flake metadata` (Nix's `CmdFlakeMetadata`): the resolved and locked URL,
//! description, store path, revision, last modification and the inputs tree of a flake.
//!
//! # Deviations
//!
//! - `Last modified:` is printed in UTC (Nix uses the local time zone).
//! - The `fingerprint` (eval-cache key) is not printed: rflake has no evaluation cache.

use std::collections::BTreeSet;
use std::process::ExitCode;

use serde_json::{Map, Value};

use super::Context;
use super::flake::MetadataArgs;
use super::lock_args;
use crate::flake::lock::LockedFlake;
use crate::flake::lockfile::{Edge, NodeId};
use crate::flake::metadata::Metadata;
use crate::flakeref::attrs;

/// Runs `flake metadata`.
pub fn run(a: &MetadataArgs, ctx: &Context) -> anyhow::Result<ExitCode> {
    let (session, req) = lock_args::request(ctx, &a.flake_url, &a.eval, &a.flake)?;
    let Metadata { locked, path } = crate::flake::metadata::run(&session, &req)?;
    if a.json.json {
        ctx.print_json(&json(&locked, &path)?, &a.json)?;
    } else {
        let tz = super::env::local_time_zone();
        for line in text(
            &locked,
            &path,
            ctx.settings.trust_tarballs_from_git_forges,
            &tz,
        )? {
            ctx.printer.out_line(&line)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn json(locked: &LockedFlake, path: &str) -> anyhow::Result<Value> {
    let f = &locked.flake;
    let mut j = Map::new();
    if let Some(d) = &f.decl.description {
        j.insert("description".into(), Value::String(d.clone()));
    }
    j.insert(
        "originalUrl".into(),
        Value::String(f.original.to_url_string()?),
    );
    j.insert(
        "original".into(),
        Value::Object(attrs::to_json(&f.original.to_attrs())),
    );
    j.insert(
        "resolvedUrl".into(),
        Value::String(f.resolved.to_url_string()?),
    );
    j.insert(
        "resolved".into(),
        Value::Object(attrs::to_json(&f.resolved.to_attrs())),
    );
    j.insert("url".into(), Value::String(f.locked.to_url_string()?));
    j.insert(
        "locked".into(),
        Value::Object(attrs::to_json(&f.locked.to_attrs())),
    );
    if let Some(rev) = f.locked.input.get_str("rev") {
        j.insert("revision".into(), Value::String(rev.to_owned()));
    }
    if let Some(rev) = f.locked.input.get_str("dirtyRev") {
        j.insert("dirtyRevision".into(), Value::String(rev.to_owned()));
    }
    if let Ok(Some(n)) = attrs::get_int(f.locked.input.attrs(), "revCount") {
        j.insert("revCount".into(), Value::from(n));
    }
    if let Ok(Some(n)) = attrs::get_int(f.locked.input.attrs(), "lastModified") {
        j.insert("lastModified".into(), Value::from(n));
    }
    j.insert("path".into(), Value::String(path.to_owned()));
    j.insert("locks".into(), locked.lock_file.to_json());
    Ok(Value::Object(j))
}

fn text(
    locked: &LockedFlake,
    path: &str,
    trust: bool,
    tz: &jiff::tz::TimeZone,
) -> anyhow::Result<Vec<String>> {
    let f = &locked.flake;
    let mut out = vec![format!("Resolved URL:  {}", f.resolved.to_url_string()?)];
    if f.locked.input.is_locked(trust) {
        out.push(format!("Locked URL:    {}", f.locked.to_url_string()?));
    }
    if let Some(d) = &f.decl.description {
        out.push(format!("Description:   {d}"));
    }
    out.push(format!("Path:          {path}"));
    if let Some(rev) = f.locked.input.get_str("rev") {
        out.push(format!("Revision:      {rev}"));
    }
    if let Some(rev) = f.locked.input.get_str("dirtyRev") {
        out.push(format!("Revision:      {rev}"));
    }
    if let Ok(Some(n)) = attrs::get_int(f.locked.input.attrs(), "revCount") {
        out.push(format!("Revisions:     {n}"));
    }
    if let Ok(Some(n)) = attrs::get_int(f.locked.input.attrs(), "lastModified") {
        out.push(format!("Last modified: {}", local_date_time(n, tz)));
    }
    let file = &locked.lock_file;
    if !file.nodes[file.root].inputs.is_empty() {
        out.push("Inputs:".into());
    }
    let mut visited = BTreeSet::from([file.root]);
    tree(locked, file.root, "", &mut visited, &mut out)?;
    Ok(out)
}

/// `%F %T` of Unix seconds in the time zone `tz` (Nix's `put_time(localtime(…))`).
fn local_date_time(secs: u64, tz: &jiff::tz::TimeZone) -> String {
    i64::try_from(secs)
        .ok()
        .and_then(|s| jiff::Timestamp::from_second(s).ok())
        .map_or_else(
            || crate::util::time::date_time(secs),
            |t| {
                t.to_zoned_datetime(tz.clone())
                    .strftime("%F %T")
                    .to_string()
            },
        )
}

fn tree(
    locked: &LockedFlake,
    node: NodeId,
    prefix: &str,
    visited: &mut BTreeSet<NodeId>,
    out: &mut Vec<String>,
) -> anyhow::Result<()> {
    let file = &locked.lock_file;
    let inputs = &file.nodes[node].inputs;
    let count = inputs.len();
    for (i, (name, edge)) in inputs.iter().enumerate() {
        let last = i + 1 == count;
        let branch = if last { "└───" } else { "├───" };
        match edge {
            Edge::Node(c) => {
                let Some(l) = &file.nodes[*c].locked else {
                    continue;
                };
                let when = attrs::get_int(l.locked.input.attrs(), "lastModified")
                    .ok()
                    .flatten()
                    .map(|t| format!(" ({})", crate::util::time::date_time(t)))
                    .unwrap_or_default();
                out.push(format!(
                    "{prefix}{branch}{name}: {}{when}",
                    l.locked.to_url_string()?
                ));
                if visited.insert(*c) {
                    let next = format!("{prefix}{}", if last { "    " } else { "│   " });
                    tree(locked, *c, &next, visited, out)?;
                }
            }
            Edge::Follows(p) => {
                out.push(format!(
                    "{prefix}{branch}{name} follows input '{}'",
                    crate::flake::print_path(p)
                ));
            }
        }
    }
    Ok(())
}
