//! Writing `flake.lock` into the top-level flake's source (Nix's `Input::putFile`): a plain
//! atomic write for `path:` flakes; for git work trees also `git add --intent-to-add` and,
//! with `--commit-lock-file`, a commit with Nix's message.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use anyhow::Context as _;

use super::Flags;
use crate::fetch;
use crate::flakeref::FlakeRef;

/// Where the top-level flake's files are, if they are local and writable (Nix's
/// `getSourcePath`): the `path` of a `path:` flake, or the work tree of a local `git+file:`
/// flake without a `rev`.
pub fn source_path(top: &FlakeRef) -> Option<PathBuf> {
    let input = &top.input;
    match input.type_name() {
        "path" => input.get_str("path").map(PathBuf::from),
        "git" if input.get_str("rev").is_none() => {
            let url = crate::flakeref::url::parse(input.get_str("url")?).ok()?;
            (url.scheme == "file").then(|| PathBuf::from(url.path_string()))
        }
        _ => None,
    }
}

/// Writes the lock file of `top` below `src`, printing Nix's `creating`/`updating` warning.
pub fn put_lock_file(
    env: &fetch::Env<'_>,
    top: &FlakeRef,
    src: &Path,
    text: &str,
    diff: &str,
    flags: &Flags,
) -> anyhow::Result<()> {
    let rel = if top.subdir.is_empty() {
        "flake.lock".to_owned()
    } else {
        format!("{}/flake.lock", top.subdir.trim_matches('/'))
    };
    let file = src.join(&rel);
    let exists = file.exists();
    let shown = diff.trim_end();
    let quoted = format!("\"{}\"", file.display());
    env.reporter.warn(&match (exists, shown.is_empty()) {
        (true, true) => format!("updating lock file {quoted}"),
        (true, false) => format!("updating lock file {quoted}:\n{shown}"),
        (false, _) => format!("creating lock file {quoted}: \n{shown}"),
    });
    crate::util::fs::write_atomic(&file, text.as_bytes())?;
    if top.input.type_name() != "git" {
        if flags.commit_lock_file {
            env.reporter.warn(&format!(
                "cannot commit '{rel}' to a flake of type '{}'",
                top.input.type_name()
            ));
        }
        return Ok(());
    }
    let dir = src.as_os_str();
    let ignored = fetch::git::remote::run_git(
        env,
        &[
            OsStr::new("-C"),
            dir,
            OsStr::new("check-ignore"),
            OsStr::new("--quiet"),
            OsStr::new(&rel),
        ],
    )?
    .status
    .success();
    if !ignored {
        let out = fetch::git::remote::run_git(
            env,
            &[
                OsStr::new("-C"),
                dir,
                OsStr::new("add"),
                OsStr::new("--intent-to-add"),
                OsStr::new("--"),
                OsStr::new(&rel),
            ],
        )?;
        if !out.status.success() {
            anyhow::bail!(
                "Failed to run 'git add --intent-to-add -- {rel}' in '{}': {}",
                src.display(),
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
    }
    if flags.commit_lock_file {
        let mut msg = if flags.commit_lock_file_summary.is_empty() {
            format!("{rel}: {}", if exists { "Update" } else { "Add" })
        } else {
            flags.commit_lock_file_summary.clone()
        };
        msg.push_str("\n\nFlake lock file updates:\n\n");
        msg.push_str(diff);
        let msg_file = tempfile::NamedTempFile::new().context("creating a temporary file")?;
        std::fs::write(msg_file.path(), &msg).context("writing the commit message")?;
        let out = fetch::git::remote::run_git(
            env,
            &[
                OsStr::new("-C"),
                dir,
                OsStr::new("commit"),
                OsStr::new(&rel),
                OsStr::new("-F"),
                msg_file.path().as_os_str(),
            ],
        )?;
        if !out.status.success() {
            anyhow::bail!(
                "Failed to commit '{rel}' in '{}': {}",
                src.display(),
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
    }
    Ok(())
}
