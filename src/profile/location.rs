//! Where the default profile lives (Nix's `getDefaultProfile`, `profilesDir`; spec P1).
//!
//! Explicit inputs: the CLI gathers the directories and the user from the environment.

use std::path::{Path, PathBuf};

/// What locating the default profile depends on.
#[derive(Debug, Clone)]
pub struct Dirs {
    /// The home directory (`~/.nix-profile` lives there).
    pub home: PathBuf,
    /// Nix's state directory for the user: `$NIX_STATE_HOME`, else `$XDG_STATE_HOME/nix`, else
    /// `~/.local/state/nix`.
    pub user_state_dir: PathBuf,
    /// Nix's system state directory: `$NIX_STATE_DIR`, else `/nix/var/nix`.
    pub nix_state_dir: PathBuf,
    /// Whether the effective user is root.
    pub is_root: bool,
    /// The `use-xdg-base-directories` setting.
    pub use_xdg: bool,
}

impl Dirs {
    /// The profiles directory: root's `<state>/profiles/per-user/root`, a user's
    /// `<user state>/profiles`.
    pub fn profiles_dir(&self) -> PathBuf {
        if self.is_root {
            self.nix_state_dir.join("profiles/per-user/root")
        } else {
            self.user_state_dir.join("profiles")
        }
    }

    /// The user's profile link: `~/.nix-profile`, or `<user state>/profile` with
    /// `use-xdg-base-directories`.
    pub fn profile_link(&self) -> PathBuf {
        if self.use_xdg {
            self.user_state_dir.join("profile")
        } else {
            self.home.join(".nix-profile")
        }
    }
}

/// Finds the default profile as Nix does on every `nix profile` command, creating what is
/// missing: the profiles directory, the user's link to `<profiles>/profile`, and for root the
/// `<state>/profiles/default` link. Returns the target of the user's link (one level, made
/// absolute), or the link itself if any step fails.
pub fn default_profile(dirs: &Dirs) -> PathBuf {
    let link = dirs.profile_link();
    try_default_profile(dirs, &link).unwrap_or(link)
}

fn try_default_profile(dirs: &Dirs, link: &Path) -> std::io::Result<PathBuf> {
    if dirs.use_xdg {
        std::fs::create_dir_all(&dirs.user_state_dir)?;
    }
    let profiles = dirs.profiles_dir();
    std::fs::create_dir_all(&profiles)?;
    let profile = profiles.join("profile");
    if std::fs::symlink_metadata(link).is_err() {
        replace_symlink(&profile, link)?;
    }
    let global = dirs.nix_state_dir.join("profiles/default");
    if dirs.is_root && std::fs::symlink_metadata(&global).is_err() {
        replace_symlink(&profile, &global)?;
    }
    let target = std::fs::read_link(link)?;
    let base = link.parent().unwrap_or(Path::new("/"));
    Ok(absolute(&base.join(target)))
}

/// `--profile PATH`: made absolute against `cwd`, lexically (Nix's `absPath`).
pub fn explicit_profile(path: &Path, cwd: &Path) -> PathBuf {
    absolute(&cwd.join(path))
}

/// Removes `.`, `..` and repeated slashes without following symlinks (Nix's `canonPath`).
fn absolute(path: &Path) -> PathBuf {
    let mut out = PathBuf::from("/");
    for c in path.components() {
        match c {
            std::path::Component::Normal(n) => out.push(n),
            std::path::Component::ParentDir => {
                out.pop();
            }
            _ => {}
        }
    }
    out
}

/// Creates `link` → `target` through a temporary `.<k>_<name>` renamed into place.
fn replace_symlink(target: &Path, link: &Path) -> std::io::Result<()> {
    let dir = link.parent().unwrap_or(Path::new("."));
    let name = link
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    for k in 0u32.. {
        let tmp = dir.join(format!(".{k}_{name}"));
        match std::os::unix::fs::symlink(target, &tmp) {
            Ok(()) => return std::fs::rename(&tmp, link),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(std::io::Error::other("no free temporary name"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dirs(root: &Path, is_root: bool, use_xdg: bool) -> Dirs {
        Dirs {
            home: root.join("home"),
            user_state_dir: root.join("state/nix"),
            nix_state_dir: root.join("var/nix"),
            is_root,
            use_xdg,
        }
    }

    #[test]
    fn user_profile_links_to_state_dir() {
        let t = tempfile::tempdir().unwrap();
        let d = dirs(t.path(), false, false);
        std::fs::create_dir_all(&d.home).unwrap();
        let p = default_profile(&d);
        assert_eq!(p, t.path().join("state/nix/profiles/profile"));
        assert_eq!(
            std::fs::read_link(t.path().join("home/.nix-profile")).unwrap(),
            p
        );
        assert!(!t.path().join("var").exists());
    }

    #[test]
    fn xdg_link_and_root_default() {
        let t = tempfile::tempdir().unwrap();
        let d = dirs(t.path(), true, true);
        let p = default_profile(&d);
        assert_eq!(p, t.path().join("var/nix/profiles/per-user/root/profile"));
        assert_eq!(
            std::fs::read_link(t.path().join("state/nix/profile")).unwrap(),
            p
        );
        assert_eq!(
            std::fs::read_link(t.path().join("var/nix/profiles/default")).unwrap(),
            p
        );
        assert!(!t.path().join("home/.nix-profile").exists());
    }

    #[test]
    fn existing_link_is_followed_one_level() {
        let t = tempfile::tempdir().unwrap();
        let d = dirs(t.path(), false, false);
        std::fs::create_dir_all(&d.home).unwrap();
        std::os::unix::fs::symlink("../old/profile", d.home.join(".nix-profile")).unwrap();
        assert_eq!(default_profile(&d), t.path().join("old/profile"));
    }
}
