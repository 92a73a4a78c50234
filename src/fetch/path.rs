//! `path` inputs (spec §7.2, Nix's `src/libfetchers/path.cc`): the whole directory tree,
//! unfiltered, with `lastModified` the newest modification time in it. The tree is read once:
//! `lastModified` is found by the walk that copies it into the store (as Nix 2.8's
//! `dumpPathAndGetMtime` does), see [`super::Place::Outside`]; only a tree whose store path is
//! valid already, and so not copied, is walked just for it.
//!
//! # Deviations
//!
//! None known.

use std::path::{Component, Path, PathBuf};

use super::{Env, Fetched, Tree, newest_mtime};
use crate::flakeref::Input;

/// Fetches a `path` input.
pub fn fetch(env: &Env<'_>, input: &Input) -> anyhow::Result<Fetched> {
    let _ = env;
    let raw = input.get_str("path").unwrap_or_default();
    if !raw.starts_with('/') {
        anyhow::bail!(
            "cannot fetch input '{}' because it uses a relative path",
            input.to_display()
        );
    }
    let path = lexically_normal(Path::new(raw));
    if input.attrs().contains_key("lastModified") {
        return Ok(Fetched {
            tree: Tree::at(path),
            input: input.clone(),
        });
    }
    // `lastModified` is found while the tree is copied into the store; a missing path fails
    // here, with the message the walk gives.
    std::fs::symlink_metadata(&path).map_err(|e| status_error(&path, &e))?;
    Ok(Fetched {
        tree: Tree::with_last_modified(path),
        input: input.clone(),
    })
}

/// Returns the newest modification time in the tree at `path` (its `lastModified`), walking
/// it: for a tree that was not copied because its store path was valid already.
pub(super) fn last_modified(path: &Path) -> anyhow::Result<u64> {
    newest_mtime(path).map_err(|e| status_error(path, &e))
}

fn status_error(path: &Path, e: &std::io::Error) -> anyhow::Error {
    anyhow::anyhow!(
        "getting status of '{}': {}",
        path.display(),
        crate::util::fs::strerror(e)
    )
}

/// Resolves `.` and `..` without looking at the file system (Nix's `canonPath` without
/// symlink resolution).
pub(super) fn lexically_normal(p: &Path) -> PathBuf {
    let mut out = PathBuf::from("/");
    for c in p.components() {
        match c {
            Component::Normal(n) => out.push(n),
            Component::ParentDir => {
                out.pop();
            }
            Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_lexically() {
        assert_eq!(
            lexically_normal(Path::new("/a/./b/../c//d/")),
            PathBuf::from("/a/c/d")
        );
        assert_eq!(lexically_normal(Path::new("/../x")), PathBuf::from("/x"));
    }
}
