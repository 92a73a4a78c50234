//! Whether and where a newly computed lock file is written (the end of Nix's `lockFlake`,
//! spec C5), and writing `flake.lock` into the top-level flake's source (Nix's
//! `Input::putFile`): a plain atomic write for `path:` flakes; for git work trees also
//! `git add --intent-to-add` and, with `--commit-lock-file`, a commit with Nix's message.

use std::collections::HashMap;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use anyhow::Context as _;

use super::Flags;
use crate::fetch;
use crate::flake::load::{Flake, Loader};
use crate::flake::lockfile::{self, Edge, LockFile, NodeId};
use crate::flakeref::FlakeRef;

/// What becomes of a computed lock file.
#[derive(Debug, PartialEq, Eq)]
pub enum Decision {
    /// Nothing to do: it equals the old one and no `--output-lock-file` asks for a copy.
    Keep,
    /// It is not written; this warning says why (`--no-write-lock-file`, or an unlocked
    /// input).
    Warn(String),
    /// It is written (to `--output-lock-file`, else into the flake's source), `diff` being
    /// the change from the old one.
    Write {
        /// What changed, as `lockfile::diff` prints it.
        diff: String,
    },
}

/// Decides what becomes of `new`, the lock file computed for `top` from `old` (Nix's "check
/// whether we need to / can write the new lock file"). Fails where Nix refuses: no place to
/// write it, an unlocked input with `fail_on_unlocked`, `--no-update-lock-file`, or
/// `--commit-lock-file` with `--output-lock-file`.
pub fn decide(
    top: &FlakeRef,
    old: &LockFile,
    new: &LockFile,
    flags: &Flags,
) -> anyhow::Result<Decision> {
    let same = same_graph(old, new) || new.to_json() == old.to_json();
    if flags.frozen {
        return frozen(top, new, same, || lockfile::diff(old, new), flags);
    }
    if flags.output_lock_file.is_none() && same {
        return Ok(Decision::Keep);
    }
    let diff = lockfile::diff(old, new);
    let top_s = top.to_url_string()?;
    if !flags.write_lock_file {
        return Ok(Decision::Warn(format!(
            "not writing modified lock file of flake '{top_s}':\n{}",
            diff.trim_end()
        )));
    }
    if source_path(top).is_none() && flags.output_lock_file.is_none() {
        anyhow::bail!(
            "cannot write modified lock file of flake '{top_s}' (use '--no-write-lock-file' to ignore)"
        );
    }
    if let Some((_, unlocked)) = new.find_unlocked_ref(
        flags.trust_tarballs_from_git_forges,
        flags.allow_dirty_locks,
    ) {
        let shown = unlocked
            .to_url_string()
            .unwrap_or_else(|_| unlocked.input.to_display());
        if flags.fail_on_unlocked {
            anyhow::bail!(
                "Not writing lock file of flake '{top_s}' because it has an unlocked input ('{shown}'). Use '--allow-dirty-locks' to allow this anyway."
            );
        }
        return Ok(if flags.warn_dirty {
            Decision::Warn(format!(
                "not writing lock file of flake '{top_s}' because it has an unlocked input ('{shown}')"
            ))
        } else {
            Decision::Keep
        });
    }
    if !flags.update_lock_file {
        anyhow::bail!(
            "flake '{top_s}' requires lock file changes but they're not allowed due to '--no-update-lock-file'"
        );
    }
    if flags.output_lock_file.is_some() && flags.commit_lock_file {
        anyhow::bail!("'--commit-lock-file' and '--output-lock-file' are incompatible");
    }
    Ok(Decision::Write { diff })
}

/// The decision with [`Flags::frozen`]: keep an unchanged lock without unlocked inputs, else
/// fail with [`super::OutOfSync`].
fn frozen(
    top: &FlakeRef,
    new: &LockFile,
    same: bool,
    diff: impl FnOnce() -> String,
    flags: &Flags,
) -> anyhow::Result<Decision> {
    let out_of_sync = |reason: String| -> anyhow::Result<Decision> {
        Err(super::OutOfSync {
            flake: top.to_url_string()?,
            reason,
        }
        .into())
    };
    if !same {
        return out_of_sync(format!("locking would change it:\n{}", diff().trim_end()));
    }
    if let Some((path, unlocked)) = new.find_unlocked_ref(
        flags.trust_tarballs_from_git_forges,
        flags.allow_dirty_locks,
    ) {
        let shown = unlocked
            .to_url_string()
            .unwrap_or_else(|_| unlocked.input.to_display());
        return out_of_sync(format!(
            "input '{}' is not locked ('{shown}')",
            crate::flake::print_path(&path)
        ));
    }
    Ok(Decision::Keep)
}

/// Whether two lock files hold the same graph: nodes reached from the root by the same input
/// names, in one-to-one correspondence, with the same locks and `follows`. Such files have the
/// same JSON (keys are assigned from the graph alone), so an up-to-date lock is recognised
/// without rendering both; files that differ here may still render alike (a `__final` marker,
/// say), which the caller's JSON comparison settles.
fn same_graph(a: &LockFile, b: &LockFile) -> bool {
    Pairing::default().same(a, a.root, b, b.root)
}

/// The nodes [`same_graph`] has paired so far, both ways (a node shared in one file must be
/// shared in the other).
#[derive(Default)]
struct Pairing {
    a_to_b: HashMap<NodeId, NodeId>,
    b_to_a: HashMap<NodeId, NodeId>,
}

impl Pairing {
    /// Whether node `x` of `a` and node `y` of `b` head the same graph.
    fn same(&mut self, a: &LockFile, x: NodeId, b: &LockFile, y: NodeId) -> bool {
        match (self.a_to_b.get(&x), self.b_to_a.get(&y)) {
            (None, None) => {}
            (Some(x_to), Some(y_to)) => return *x_to == y && *y_to == x,
            _ => return false,
        }
        self.a_to_b.insert(x, y);
        self.b_to_a.insert(y, x);
        let (nx, ny) = (&a.nodes[x], &b.nodes[y]);
        if nx.locked != ny.locked || nx.inputs.len() != ny.inputs.len() {
            return false;
        }
        nx.inputs
            .iter()
            .zip(&ny.inputs)
            .all(|((kx, ex), (ky, ey))| {
                kx == ky
                    && match (ex, ey) {
                        (Edge::Node(cx), Edge::Node(cy)) => self.same(a, *cx, b, *cy),
                        (Edge::Follows(px), Edge::Follows(py)) => px == py,
                        _ => false,
                    }
            })
    }
}

/// Carries out [`decide`] for the lock file `new` of the flake `top`, read as `flake`;
/// returns the flake, read again when its lock file was written into it.
pub fn save(
    loader: &Loader<'_>,
    top: &FlakeRef,
    flags: &Flags,
    old: &LockFile,
    new: &LockFile,
    flake: Flake,
) -> anyhow::Result<Flake> {
    match decide(top, old, new, flags)? {
        Decision::Keep => Ok(flake),
        Decision::Warn(warning) => {
            loader.fetch.reporter.warn(&warning);
            Ok(flake)
        }
        Decision::Write { diff } => {
            let text = new.to_text();
            if let Some(out) = &flags.output_lock_file {
                crate::util::fs::write_atomic(out, text.as_bytes())?;
            } else if let Some(src) = source_path(top) {
                put_lock_file(loader.fetch, top, &src, &text, &diff, flags)?;
            }
            reread(loader, top, flags, flake)
        }
    }
}

/// Reads the top-level flake again after its lock file was written (a commit changes its
/// `rev`), saying so when `--commit-lock-file` made a new revision.
fn reread(
    loader: &Loader<'_>,
    top: &FlakeRef,
    flags: &Flags,
    before: Flake,
) -> anyhow::Result<Flake> {
    let prev_rev = before.locked.input.get_str("rev");
    loader.fetcher.forget();
    let flake = loader.get_flake(top, loader.mode(true), &Vec::new())?;
    if flags.commit_lock_file
        && let Some(rev) = flake.locked.input.get_str("rev")
        && prev_rev != Some(rev)
    {
        loader
            .fetch
            .reporter
            .warn(&format!("committed new revision '{rev}'"));
    }
    Ok(flake)
}

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

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;
    use crate::flakeref::attrs;
    use crate::report::Silent;

    const NAR: &str = "sha256-v4U9FOWp29Qasi9sZiH6JO2x9EsMwg9TmPuxq78H510=";

    fn fref(v: Value) -> FlakeRef {
        let Value::Object(obj) = v else {
            panic!("not an object: {v}")
        };
        FlakeRef::from_attrs(attrs::from_json(&obj).unwrap(), &Silent).unwrap()
    }

    /// A lock file with one input `dep` locked as `locked`.
    fn lock_with(locked: Value) -> LockFile {
        let text = json!({
            "nodes": {
                "dep": {
                    "locked": locked,
                    "original": {"type": "path", "path": "/dep"}
                },
                "root": {"inputs": {"dep": "dep"}}
            },
            "root": "root",
            "version": 7
        });
        LockFile::parse(&text.to_string(), "test").unwrap()
    }

    fn locked_dep() -> LockFile {
        lock_with(json!({"type": "path", "path": "/dep", "narHash": NAR, "lastModified": 1}))
    }

    fn dirty_dep() -> LockFile {
        lock_with(json!({"type": "git", "url": "file:///dep", "narHash": NAR}))
    }

    fn path_top() -> FlakeRef {
        fref(json!({"type": "path", "path": "/top"}))
    }

    /// Every outcome of the decision, named, with what it starts from.
    #[test]
    fn decides_as_nix() {
        let empty = LockFile::default();
        let github = fref(json!({"type": "github", "owner": "o", "repo": "r"}));
        let no_write = Flags {
            write_lock_file: false,
            ..Flags::default()
        };
        let no_update = Flags {
            update_lock_file: false,
            ..Flags::default()
        };
        let fail_unlocked = Flags {
            fail_on_unlocked: true,
            ..Flags::default()
        };
        let quiet_dirty = Flags {
            warn_dirty: false,
            ..Flags::default()
        };
        let output = Flags {
            output_lock_file: Some(PathBuf::from("/out.lock")),
            ..Flags::default()
        };
        let output_commit = Flags {
            commit_lock_file: true,
            ..output.clone()
        };
        let defaults = Flags::default();
        type Case<'a> = (&'a str, &'a FlakeRef, &'a LockFile, &'a LockFile, &'a Flags);
        let top = path_top();
        let (locked, dirty) = (locked_dep(), dirty_dep());
        let kept: [Case; 3] = [
            ("unchanged", &top, &locked, &locked, &defaults),
            (
                "unchanged, even when it could not be written",
                &github,
                &locked,
                &locked,
                &no_update,
            ),
            (
                "unlocked input without warn-dirty",
                &top,
                &empty,
                &dirty,
                &quiet_dirty,
            ),
        ];
        for (name, top, old, new, flags) in kept {
            assert_eq!(
                decide(top, old, new, flags).unwrap(),
                Decision::Keep,
                "{name}"
            );
        }
        let warned: [(&str, Case, &str); 2] = [
            (
                "--no-write-lock-file",
                ("", &top, &empty, &locked, &no_write),
                "not writing modified lock file of flake 'path:/top':\n• Added input 'dep':",
            ),
            (
                "unlocked input",
                ("", &top, &empty, &dirty, &defaults),
                "not writing lock file of flake 'path:/top' because it has an unlocked input ('git+file:///dep')",
            ),
        ];
        for (name, (_, top, old, new, flags), start) in warned {
            match decide(top, old, new, flags).unwrap() {
                Decision::Warn(w) => assert!(w.starts_with(start), "{name}: {w}"),
                other => panic!("{name}: {other:?}"),
            }
        }
        let written: [Case; 3] = [
            ("changed", &top, &empty, &locked, &defaults),
            (
                "unchanged, with --output-lock-file",
                &github,
                &locked,
                &locked,
                &output,
            ),
            (
                "changed, into --output-lock-file of a github flake",
                &github,
                &empty,
                &locked,
                &output,
            ),
        ];
        for (name, top, old, new, flags) in written {
            match decide(top, old, new, flags).unwrap() {
                Decision::Write { diff } => assert_eq!(diff, lockfile::diff(old, new), "{name}"),
                other => panic!("{name}: {other:?}"),
            }
        }
        let refused: [(&str, Case, &str); 4] = [
            (
                "nowhere to write",
                ("", &github, &empty, &locked, &defaults),
                "cannot write modified lock file of flake 'github:o/r' (use '--no-write-lock-file' to ignore)",
            ),
            (
                "unlocked input, failing",
                ("", &top, &empty, &dirty, &fail_unlocked),
                "Not writing lock file of flake 'path:/top' because it has an unlocked input",
            ),
            (
                "--no-update-lock-file",
                ("", &top, &empty, &locked, &no_update),
                "flake 'path:/top' requires lock file changes but they're not allowed due to '--no-update-lock-file'",
            ),
            (
                "--commit-lock-file with --output-lock-file",
                ("", &top, &empty, &locked, &output_commit),
                "'--commit-lock-file' and '--output-lock-file' are incompatible",
            ),
        ];
        for (name, (_, top, old, new, flags), start) in refused {
            let e = decide(top, old, new, flags).unwrap_err().to_string();
            assert!(e.starts_with(start), "{name}: {e}");
        }
    }

    /// A lock file where `a` and `b` share the node `c`.
    fn shared() -> LockFile {
        let locked =
            |p: &str| json!({"type": "path", "path": p, "narHash": NAR, "lastModified": 1});
        let original = |p: &str| json!({"type": "path", "path": p});
        let text = json!({
            "nodes": {
                "a": {"inputs": {"c": "c"}, "locked": locked("/a"), "original": original("/a")},
                "b": {"inputs": {"c": "c", "d": ["a"]}, "locked": locked("/b"), "original": original("/b")},
                "c": {"locked": locked("/c"), "original": original("/c")},
                "root": {"inputs": {"a": "a", "b": "b"}}
            },
            "root": "root",
            "version": 7
        });
        LockFile::parse(&text.to_string(), "shared").unwrap()
    }

    /// Graphs compare equal exactly when their JSON does, sharing included.
    #[test]
    fn same_graph_means_same_json() {
        let d7 = LockFile::parse(include_str!("../../../tests/data/d7-flake.lock"), "d7").unwrap();
        let d7_again = LockFile::parse(&d7.to_text(), "again").unwrap();
        let shared = shared();
        let shared_again = LockFile::parse(&shared.to_text(), "again").unwrap();
        // `c` copied for `b`: two nodes where there was one (keys `c` and `c_2` in the JSON).
        let mut copied = shared.clone();
        let b = copied.locked_input(copied.root, "b");
        let c = copied.locked_input(b, "c");
        let copy = copied.add(copied.nodes[c].clone());
        copied.nodes[b].inputs.insert("c".into(), Edge::Node(copy));
        // A changed lock.
        let mut changed = shared.clone();
        let c = changed.locked_input(changed.root, "a");
        changed.nodes[c].locked.as_mut().unwrap().is_flake = false;
        // A changed follows.
        let mut refollowed = shared.clone();
        let b = refollowed.locked_input(refollowed.root, "b");
        refollowed.nodes[b]
            .inputs
            .insert("d".into(), Edge::Follows(vec!["b".into()]));
        let empty = LockFile::default();
        let cases: [(&str, &LockFile, &LockFile, bool); 8] = [
            ("D7 read back", &d7, &d7_again, true),
            ("D7 itself", &d7, &d7, true),
            ("shared read back", &shared, &shared_again, true),
            ("shared node copied", &shared, &copied, false),
            ("copied node shared", &copied, &shared, false),
            ("changed lock", &shared, &changed, false),
            ("changed follows", &shared, &refollowed, false),
            ("another graph", &d7, &empty, false),
        ];
        for (name, x, y, same) in cases {
            assert_eq!(same_graph(x, y), same, "{name}");
            assert_eq!(x.to_json() == y.to_json(), same, "{name}: JSON");
        }
    }

    impl LockFile {
        /// The node input `name` of `node` is an edge to.
        fn locked_input(&self, node: NodeId, name: &str) -> NodeId {
            match &self.nodes[node].inputs[name] {
                Edge::Node(c) => *c,
                Edge::Follows(p) => panic!("{name} follows {p:?}"),
            }
        }
    }

    #[test]
    fn source_path_is_local_and_writable() {
        let cases = [
            (json!({"type": "path", "path": "/top"}), Some("/top")),
            (json!({"type": "git", "url": "file:///repo"}), Some("/repo")),
            (
                json!({"type": "git", "url": "file:///repo", "rev": "0ba6a064a6be7b4692a891142aa1aaa6c97b992b"}),
                None,
            ),
            (
                json!({"type": "git", "url": "https://example.org/repo"}),
                None,
            ),
            (json!({"type": "github", "owner": "o", "repo": "r"}), None),
        ];
        for (attrs, want) in cases {
            let r = fref(attrs.clone());
            assert_eq!(source_path(&r), want.map(PathBuf::from), "{attrs}");
        }
    }
}
