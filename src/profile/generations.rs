//! Profile generations (Nix's `src/libstore/profiles.cc`; spec P2): `<profile>-<N>-link`
//! symlinks to profile objects, the `<profile>` symlink naming the current one, their GC roots,
//! and the profile lock.
//!
//! # Deviations
//!
//! - A new generation link is created in place with `symlink(2)`, which fails rather than
//!   replace a link another process created at the same number meanwhile; rflake then takes
//!   the next number. Nix renames a temporary link over it, so two concurrent writers can lose
//!   a generation. rflake also holds the profile lock (`<profile>.lock`, as Nix's rollback and
//!   `wipe-history` do) from the scan to the switch ([`update`]).
//! - A generation's GC root is made before its link (Nix makes it after), and the temporary
//!   link of a switch is `<profile>.tmp-<pid>-<k>` (Nix's `switchLink` uses `.<k>_<profile>`):
//!   so a process killed at any point leaves no generation the collector may empty, and no
//!   temporary link that the next switch does not delete.

use std::collections::BTreeSet;
use std::io;
use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};

use crate::hash::{Algo, Hash};
use crate::store::local::{self, LocalStore, PathLocks};
use crate::store::{StoreDir, StorePath};

/// Why a generation could not be listed, created or switched to.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file operation failed.
    #[error("{action} \"{}\": {}", path.display(), crate::util::fs::strerror(io))]
    Io {
        /// What was being done.
        action: &'static str,
        /// The path concerned.
        path: PathBuf,
        /// The error (its text is part of the message, so it is not a `source`).
        io: io::Error,
    },
    /// The link would be inside the store.
    #[error(
        "creating a garbage collector root (\"{}\") in the Nix store is forbidden (are you running nix-build inside the store?)",
        .0.display()
    )]
    RootInStore(PathBuf),
    /// Something that is not a link into the store is where the link goes.
    #[error("cannot create symlink \"{}\"; already exists", .0.display())]
    Exists(PathBuf),
    /// The store refused to register a link as a GC root.
    #[error("registering \"{}\" as a garbage collector root: {message}", link.display())]
    Remote {
        /// The link.
        link: PathBuf,
        /// The store's message.
        message: String,
    },
    /// Locking failed.
    #[error(transparent)]
    Lock(#[from] local::Error),
}

fn io_err<'a>(action: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> Error + 'a {
    move |io| Error::Io {
        action,
        path: path.to_owned(),
        io,
    }
}

/// One generation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Generation {
    /// Its number (1, 2, …).
    pub number: u64,
    /// Its link, `<profile>-<N>-link`.
    pub path: PathBuf,
    /// The link's modification time (Unix seconds), shown as its creation date.
    pub creation_time: i64,
}

/// The number in a generation link's name: `<profile>-<N>-link` (Nix's `parseName`, which
/// reads up to the first `-link`).
pub fn parse_name(profile_name: &str, name: &str) -> Option<u64> {
    let rest = name.strip_prefix(profile_name)?.strip_prefix('-')?;
    let (digits, _) = rest.split_once("-link")?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// The link of generation `n` of `profile`.
pub fn link_path(profile: &Path, n: u64) -> PathBuf {
    let mut s = profile.as_os_str().to_owned();
    s.push(format!("-{n}-link"));
    PathBuf::from(s)
}

fn split(profile: &Path) -> (PathBuf, String) {
    let dir = profile
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .map_or_else(|| PathBuf::from("."), Path::to_owned);
    let name = profile
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    (dir, name)
}

/// Lists the generations of `profile` by number, and the current one (Nix's
/// `findGenerations`).
pub fn find(profile: &Path) -> Result<(Vec<Generation>, Option<u64>), Error> {
    let (dir, name) = split(profile);
    let mut gens = Vec::new();
    for entry in std::fs::read_dir(&dir).map_err(io_err("opening directory", &dir))? {
        let entry = entry.map_err(io_err("reading directory", &dir))?;
        let file_name = entry.file_name().to_string_lossy().into_owned();
        if let Some(number) = parse_name(&name, &file_name) {
            let path = entry.path();
            let meta =
                std::fs::symlink_metadata(&path).map_err(io_err("getting status of", &path))?;
            gens.push(Generation {
                number,
                path,
                creation_time: meta.mtime(),
            });
        }
    }
    gens.sort_by_key(|g| g.number);
    let current = match std::fs::read_link(profile) {
        Ok(target) => parse_name(&name, &target.to_string_lossy()),
        Err(_) => None,
    };
    Ok((gens, current))
}

/// The lock on a profile (`<profile>.lock`), held until dropped; its file is deleted then.
pub struct ProfileLock(#[allow(dead_code, reason = "held for its drop")] PathLocks);

/// Takes the profile lock, waiting for other holders (Nix's `lockProfile`).
pub fn lock(profile: &Path) -> Result<ProfileLock, Error> {
    let mut locks = PathLocks::lock(&BTreeSet::from([profile.to_owned()]))?;
    locks.set_deletion(true);
    Ok(ProfileLock(locks))
}

/// Where a generation points the GC at: the store's indirect roots and its logical store
/// directory.
pub struct Roots<'a> {
    /// How an indirect root is registered.
    pub registry: Registry<'a>,
    /// The logical store directory (links are made to printed store paths).
    pub store_dir: &'a StoreDir,
}

/// How a link becomes an indirect GC root.
pub enum Registry<'a> {
    /// A local store's: `<state>/gcroots/auto/<hash>` made here.
    Local(&'a Path),
    /// Another process's store on this machine (a daemon's `addIndirectRoot`); the error is
    /// that store's message.
    Remote(&'a dyn Fn(&Path) -> Result<(), String>),
}

impl<'a> Roots<'a> {
    /// The roots of a local store.
    pub fn of(store: &'a LocalStore) -> Roots<'a> {
        use crate::store::Store as _;
        Roots {
            registry: Registry::Local(store.state_dir()),
            store_dir: store.store_dir(),
        }
    }

    /// Registers `link` as an indirect root.
    fn add(&self, link: &Path) -> Result<(), Error> {
        match &self.registry {
            Registry::Local(state_dir) => add_indirect_root(link, state_dir),
            Registry::Remote(add) => add(link).map_err(|message| Error::Remote {
                link: link.to_owned(),
                message,
            }),
        }
    }
}

/// Returns the generation of `profile` for `out`: the highest one if it already points there,
/// else a new one, registered as a permanent GC root (Nix's `createGeneration` and
/// `addPermRoot`). The store object must be valid and temporarily rooted by the caller.
pub fn create(profile: &Path, out: &StorePath, roots: &Roots<'_>) -> Result<PathBuf, Error> {
    let target = roots.store_dir.print(out);
    loop {
        let (gens, _) = find(profile)?;
        if let Some(last) = gens.last()
            && std::fs::read_link(&last.path).is_ok_and(|t| t.as_os_str() == target.as_str())
        {
            // Rooted again: a generation made by a process killed before it rooted it (or by
            // an older rflake, which rooted it after creating it) is the current one next.
            roots.add(&last.path)?;
            return Ok(last.path.clone());
        }
        let n = gens.last().map_or(1, |g| g.number + 1);
        let link = link_path(profile, n);
        check_root(&link, roots.store_dir)?;
        // The root first: a process killed in between leaves a root to a missing link (which
        // Nix's collector deletes), never a generation the collector may take the object of.
        roots.add(&link)?;
        match std::os::unix::fs::symlink(&target, &link) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(io_err("creating symlink", &link)(e)),
        }
        return Ok(link);
    }
}

/// Refuses a GC root inside the store, or over something that is not a link into the store.
fn check_root(link: &Path, store_dir: &StoreDir) -> Result<(), Error> {
    if link.starts_with(store_dir.as_str()) {
        return Err(Error::RootInStore(link.to_owned()));
    }
    if let Ok(meta) = std::fs::symlink_metadata(link) {
        let into_store = meta.file_type().is_symlink()
            && std::fs::read_link(link).is_ok_and(|t| t.starts_with(store_dir.as_str()));
        if !into_store {
            return Err(Error::Exists(link.to_owned()));
        }
    }
    Ok(())
}

/// The name of the indirect root of `link`: nix32 of the SHA-1 of its path.
pub fn indirect_root_name(link: &Path) -> String {
    Hash::digest(Algo::Sha1, link.as_os_str().as_encoded_bytes()).to_nix32()
}

/// Registers `link` as an indirect GC root: `<state>/gcroots/auto/<hash>` → `link` (Nix's
/// `addIndirectRoot`).
pub fn add_indirect_root(link: &Path, state_dir: &Path) -> Result<(), Error> {
    let auto = state_dir.join("gcroots/auto");
    std::fs::create_dir_all(&auto).map_err(io_err("creating directory", &auto))?;
    replace_symlink(link, &auto.join(indirect_root_name(link)))
}

/// Makes `profile` point at the generation `generation` (relative when in the same
/// directory), atomically (Nix's `switchLink`).
pub fn switch(profile: &Path, generation: &Path) -> Result<(), Error> {
    let target = if generation.parent() == profile.parent() {
        generation.file_name().map_or(generation, Path::new)
    } else {
        generation
    };
    replace_symlink(target, profile)
}

/// Creates a symlink to `target` beside `link`, named `<name>.tmp-<pid>-<k>` (Nix's
/// `makeSymlink`), and renames it over `link`. The temporaries that dead processes left there
/// (killed between the two steps) are deleted first. (Nix's `switchLink` uses `.<k>_<name>`,
/// which names no process, so a killed switch's link stays for good.)
fn replace_symlink(target: &Path, link: &Path) -> Result<(), Error> {
    let (dir, name) = split(link);
    let prefix = format!("{name}.tmp-");
    reclaim_temp_links(&dir, &prefix);
    for k in 0u32.. {
        let tmp = dir.join(format!("{prefix}{}-{k}", std::process::id()));
        match std::os::unix::fs::symlink(target, &tmp) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(io_err("creating symlink", &tmp)(e)),
        }
        return std::fs::rename(&tmp, link).map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            io_err("renaming", link)(e)
        });
    }
    Err(io_err("creating symlink", link)(io::Error::other(
        "no free temporary name",
    )))
}

/// Deletes the symlinks `<prefix><pid>-<k>` in `dir` whose process no longer exists. (A
/// symlink cannot be locked; a reused pid keeps its link until that process ends too.)
fn reclaim_temp_links(dir: &Path, prefix: &str) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let me = std::process::id();
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some((pid, k)) = name
            .to_str()
            .and_then(|n| n.strip_prefix(prefix))
            .and_then(|rest| rest.split_once('-'))
        else {
            continue;
        };
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        let Some(pid) = pid.parse::<u32>().ok().filter(|_| digits(pid) && digits(k)) else {
            continue;
        };
        if pid != me
            && !crate::util::process::exists(pid)
            && entry.file_type().is_ok_and(|t| t.is_symlink())
        {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// Makes `out` the current generation of `profile` under the profile lock: creates (or
/// reuses) the generation, then switches (Nix's `updateProfile`). Returns the generation link.
pub fn update(profile: &Path, out: &StorePath, roots: &Roots<'_>) -> Result<PathBuf, Error> {
    let held = lock(profile)?;
    update_held(profile, out, roots, &held)
}

/// [`update`] for a caller that already holds the profile lock (`profile upgrade` holds it
/// from reading the manifest to the switch).
pub fn update_held(
    profile: &Path,
    out: &StorePath,
    roots: &Roots<'_>,
    _held: &ProfileLock,
) -> Result<PathBuf, Error> {
    let generation = create(profile, out, roots)?;
    switch(profile, &generation)?;
    Ok(generation)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_roots_in_the_store_and_over_other_files() {
        let t = tempfile::tempdir().unwrap();
        let dir = StoreDir::default();
        let out = StorePath::from_base_name("110wni8ja3mn5bfyakpvaqmrjdb9b85p-hello-1.0").unwrap();
        let roots = Roots {
            registry: Registry::Local(t.path()),
            store_dir: &dir,
        };
        let e = create(Path::new("/nix/store/p"), &out, &roots).unwrap_err();
        assert!(matches!(e, Error::Io { .. } | Error::RootInStore(_)), "{e}");
        let e = check_root(Path::new("/nix/store/p-1-link"), &dir).unwrap_err();
        assert_eq!(
            e.to_string(),
            "creating a garbage collector root (\"/nix/store/p-1-link\") in the Nix store is forbidden (are you running nix-build inside the store?)"
        );
        let profile = t.path().join("profile");
        std::fs::write(link_path(&profile, 1), "a file").unwrap();
        let e = check_root(&link_path(&profile, 1), &dir).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!(
                "cannot create symlink \"{}\"; already exists",
                link_path(&profile, 1).display()
            )
        );
        // A file where a generation link would go counts as that generation (as in Nix): the
        // next number is taken.
        assert_eq!(
            update(&profile, &out, &roots).unwrap(),
            link_path(&profile, 2)
        );
        std::fs::remove_file(link_path(&profile, 1)).unwrap();
        std::fs::remove_file(link_path(&profile, 2)).unwrap();
        assert_eq!(
            update(&profile, &out, &roots).unwrap(),
            link_path(&profile, 1)
        );
        assert_eq!(
            update(&profile, &out, &roots).unwrap(),
            link_path(&profile, 1)
        );
        assert_eq!(
            std::fs::read_link(&profile).unwrap(),
            Path::new("profile-1-link")
        );
        let (gens, current) = find(&profile).unwrap();
        assert_eq!((gens.len(), current), (1, Some(1)));
    }

    /// What a process killed during an update leaves is made good by the next update: its
    /// temporary links go, and a generation it made but did not root is rooted when reused.
    #[test]
    fn leftovers_of_killed_updates_are_reclaimed() {
        let t = tempfile::tempdir().unwrap();
        let dir = StoreDir::default();
        let out = StorePath::from_base_name("110wni8ja3mn5bfyakpvaqmrjdb9b85p-hello-1.0").unwrap();
        let state = t.path().join("state");
        let roots = Roots {
            registry: Registry::Local(&state),
            store_dir: &dir,
        };
        let profile = t.path().join("profile");
        let dead = {
            let mut child = std::process::Command::new("true").spawn().unwrap();
            let pid = child.id();
            child.wait().unwrap();
            pid
        };
        let mut live = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .unwrap();
        // A generation made without its root (by a process killed in between), and the
        // temporary links of a killed switch and of a killed root, and a live process's.
        std::os::unix::fs::symlink(dir.print(&out), link_path(&profile, 1)).unwrap();
        let stale_switch = t.path().join(format!("profile.tmp-{dead}-0"));
        std::os::unix::fs::symlink("profile-1-link", &stale_switch).unwrap();
        let live_switch = t.path().join(format!("profile.tmp-{}-0", live.id()));
        std::os::unix::fs::symlink("profile-1-link", &live_switch).unwrap();
        let auto = state.join("gcroots/auto");
        std::fs::create_dir_all(&auto).unwrap();
        let root = auto.join(indirect_root_name(&link_path(&profile, 1)));
        let stale_root = auto.join(format!(
            "{}.tmp-{dead}-3",
            indirect_root_name(&link_path(&profile, 1))
        ));
        std::os::unix::fs::symlink(link_path(&profile, 1), &stale_root).unwrap();

        assert_eq!(
            update(&profile, &out, &roots).unwrap(),
            link_path(&profile, 1)
        );
        assert_eq!(std::fs::read_link(&root).unwrap(), link_path(&profile, 1));
        assert!(std::fs::symlink_metadata(&stale_switch).is_err());
        assert!(std::fs::symlink_metadata(&stale_root).is_err());
        assert!(std::fs::symlink_metadata(&live_switch).is_ok());
        live.kill().unwrap();
        live.wait().unwrap();
    }

    #[test]
    fn parses_generation_names() {
        let cases = [
            ("profile-1-link", Some(1)),
            ("profile-42-link", Some(42)),
            ("profile-7-link.tmp-1-2", Some(7)),
            ("profile-link", None),
            ("profile--link", None),
            ("profile-x-link", None),
            ("profile-1", None),
            ("profiles-1-link", None),
            ("other-1-link", None),
        ];
        for (name, want) in cases {
            assert_eq!(parse_name("profile", name), want, "{name}");
        }
    }

    /// Spec P2, observed with Nix 2.8.
    #[test]
    fn indirect_root_names_as_nix() {
        let cases = [
            (
                "/nix/var/nix/profiles/default-1-link",
                "l0ld3q8mciqic16hysjgkw2wv64pfcfw",
            ),
            (
                "/nix/var/nix/profiles/default-2-link",
                "hfkp3ql22905id3a6fzjd06l218w57q9",
            ),
        ];
        for (link, want) in cases {
            assert_eq!(indirect_root_name(Path::new(link)), want, "{link}");
        }
    }
}
