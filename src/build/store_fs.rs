//! Reading store objects by their logical paths when the store keeps them elsewhere (a chroot
//! store, `--store <dir>`): `/nix/store/<hash>-x` is read at `<dir>/nix/store/<hash>-x`, also
//! when a symlink on the way points at a logical path. Implements [`super::buildenv::Tree`].
//!
//! Nix reads a profile and its packages at their logical paths, so with a chroot store it sees
//! neither; rflake maps them (`docs/deviations.md`).

use std::io;
use std::path::{Component, Path, PathBuf};

use super::buildenv::{Kind, Tree};

/// How many symlinks a path may pass through before it is a loop (Linux's `MAXSYMLINKS`).
const MAX_LINKS: usize = 40;

/// The logical store directory and where its objects really are.
#[derive(Debug, Clone)]
pub struct StoreFs {
    logical: PathBuf,
    real: PathBuf,
}

impl StoreFs {
    /// Maps `logical` (e.g. `/nix/store`) to `real` (e.g. `<root>/nix/store`).
    pub fn new(logical: impl Into<PathBuf>, real: impl Into<PathBuf>) -> StoreFs {
        StoreFs {
            logical: logical.into(),
            real: real.into(),
        }
    }

    /// Where the file at the logical path `path` really is (paths outside the store map to
    /// themselves). No symlink is followed.
    pub fn to_real(&self, path: &Path) -> PathBuf {
        match path.strip_prefix(&self.logical) {
            Ok(rest) if self.logical != self.real => self.real.join(rest),
            _ => path.to_owned(),
        }
    }

    /// `path` with every symlink resolved, as a logical path: targets inside the store are
    /// read where the store really keeps them. A missing component ends the walk (the rest is
    /// appended as it is), as Nix's `canonPath` does.
    pub fn canonicalize(&self, path: &Path) -> io::Result<PathBuf> {
        let mut todo: Vec<PathBuf> = Vec::new();
        push_components(&mut todo, path);
        let mut out = PathBuf::from("/");
        let mut links = 0;
        while let Some(c) = todo.pop() {
            if c.as_os_str() == ".." {
                out.pop();
                continue;
            }
            let next = out.join(&c);
            match std::fs::symlink_metadata(self.to_real(&next)) {
                Ok(m) if m.file_type().is_symlink() => {
                    links += 1;
                    if links > MAX_LINKS {
                        return Err(io::Error::other(format!(
                            "infinite symlink recursion in path '{}'",
                            path.display()
                        )));
                    }
                    let target = std::fs::read_link(self.to_real(&next))?;
                    if target.is_absolute() {
                        out = PathBuf::from("/");
                    }
                    push_components(&mut todo, &target);
                }
                Ok(_) => out = next,
                Err(e) if e.kind() == io::ErrorKind::NotFound => {
                    out = next;
                    while let Some(rest) = todo.pop() {
                        if rest.as_os_str() == ".." {
                            out.pop();
                        } else {
                            out.push(rest);
                        }
                    }
                }
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    }

    /// The real location of `path` after resolving every symlink.
    pub fn real(&self, path: &Path) -> io::Result<PathBuf> {
        Ok(self.to_real(&self.canonicalize(path)?))
    }
}

/// Pushes the components of `path` onto `todo` so that the first is popped first.
fn push_components(todo: &mut Vec<PathBuf>, path: &Path) {
    let parts: Vec<PathBuf> = path
        .components()
        .filter_map(|c| match c {
            Component::Normal(n) => Some(PathBuf::from(n)),
            Component::ParentDir => Some(PathBuf::from("..")),
            _ => None,
        })
        .collect();
    todo.extend(parts.into_iter().rev());
}

fn is_missing(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
    )
}

impl Tree for StoreFs {
    fn read_dir(&self, path: &str) -> io::Result<Option<Vec<String>>> {
        let real = self.real(Path::new(path))?;
        let entries = match std::fs::read_dir(&real) {
            Ok(e) => e,
            Err(e) if e.kind() == io::ErrorKind::NotADirectory => return Ok(None),
            Err(e) => return Err(e),
        };
        let mut names = Vec::new();
        for entry in entries {
            let name = entry?.file_name();
            names.push(name.to_string_lossy().into_owned());
        }
        Ok(Some(names))
    }

    fn stat(&self, path: &str) -> io::Result<Option<Kind>> {
        let real = match self.real(Path::new(path)) {
            Ok(r) => r,
            Err(e) if is_missing(&e) => return Ok(None),
            Err(e) => return Err(e),
        };
        match std::fs::metadata(real) {
            Ok(m) if m.is_dir() => Ok(Some(Kind::Dir)),
            Ok(_) => Ok(Some(Kind::Other)),
            Err(e) if is_missing(&e) => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn canonicalize(&self, path: &str) -> io::Result<String> {
        Ok(self
            .canonicalize(Path::new(path))?
            .to_string_lossy()
            .into_owned())
    }

    fn read_file(&self, path: &str) -> io::Result<Option<String>> {
        let real = match self.real(Path::new(path)) {
            Ok(r) => r,
            Err(e) if is_missing(&e) => return Ok(None),
            Err(e) => return Err(e),
        };
        match std::fs::read(real) {
            Ok(bytes) => Ok(Some(String::from_utf8_lossy(&bytes).into_owned())),
            Err(e) if is_missing(&e) => Ok(None),
            Err(e) => Err(e),
        }
    }
}
