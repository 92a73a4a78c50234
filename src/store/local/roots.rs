//! Permanent GC roots outside the store: a symlink (`result`) to a store path, registered as
//! an indirect root `<state>/gcroots/auto/<nix32 sha1 of the link's path>` pointing to the
//! link (Nix's `LocalFSStore::addPermRoot`, `LocalStore::addIndirectRoot`).

use std::path::{Path, PathBuf};

use super::{Error, LocalStore};
use crate::hash::{Algo, Hash};
use crate::store::StorePath;

/// Replaces `link` (if any) by a symlink to `target`, atomically through a temporary link
/// beside it.
pub(crate) fn replace_symlink(target: &str, link: &Path) -> Result<(), Error> {
    let mut n = 0u32;
    loop {
        let tmp = link.with_file_name(format!(
            ".{}_{}.tmp-{}-{n}",
            link.file_name()
                .map_or_else(String::new, |f| f.to_string_lossy().into_owned()),
            "link",
            std::process::id()
        ));
        match std::os::unix::fs::symlink(target, &tmp) {
            Ok(()) => {
                return std::fs::rename(&tmp, link).map_err(|e| {
                    let _ = std::fs::remove_file(&tmp);
                    Error::io("renaming", link)(e)
                });
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => n += 1,
            Err(e) => return Err(Error::io("creating symlink", &tmp)(e)),
        }
    }
}

impl LocalStore {
    /// Makes `link` (an absolute path outside the store) a symlink to `path` and registers it
    /// as an indirect GC root. Returns the root's file.
    pub fn add_perm_root(&self, path: &StorePath, link: &Path) -> Result<PathBuf, Error> {
        replace_symlink(&self.store_dir_print(path), link)?;
        self.add_indirect_root(link)
    }

    /// Registers `link` as an indirect GC root.
    pub fn add_indirect_root(&self, link: &Path) -> Result<PathBuf, Error> {
        let text = link.to_string_lossy();
        let hash = Hash::digest(Algo::Sha1, text.as_bytes()).to_nix32();
        let dir = self.state_dir().join("gcroots/auto");
        crate::util::fs::create_dir_all(&dir)?;
        let root = dir.join(hash);
        replace_symlink(&text, &root)?;
        Ok(root)
    }

    fn store_dir_print(&self, path: &StorePath) -> String {
        self.opts.store_dir.print(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indirect_root_is_named_by_the_sha1_of_the_link() {
        // Nix 2.8 named the root of `/tmp/nixb/res` so.
        let hash = Hash::digest(Algo::Sha1, b"/tmp/nixb/res").to_nix32();
        assert_eq!(hash, "wcr2ywinixzd869wzdyyhw0cla2yhhbf");
    }
}
