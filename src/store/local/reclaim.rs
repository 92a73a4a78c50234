//! Reclaiming the temporary directories (`<real store>/tmp-<pid>-<n>`) that dead processes
//! left in the store: killed, crashed, or interrupted while blocked.
//!
//! Nix's garbage collector (`deleteFromStore` in the Nix source's `src/libstore/gc.cc`)
//! deletes a `tmp-*` entry only if it can take an exclusive `flock` on the directory without
//! waiting: its creator holds that lock for as long as it uses the directory
//! (`createTempDirInStore`, and rflake's [`super::TempDir`]). rflake reclaims them when a store
//! is first written by a process (its first temporary directory), with the same test and one
//! more, to be safe where locks say too little:
//!
//! 1. the name is `tmp-<pid>-<n>` and `<pid>` is not this process;
//! 2. no process `<pid>` exists (`kill(pid, 0)` fails with `ESRCH`). A reused pid keeps the
//!    directory until that process ends too (a leak for a while, never a loss); a process of
//!    another pid namespace sharing the store is covered by the lock below;
//! 3. the directory can be locked exclusively without waiting; it is deleted while the lock is
//!    held, so a creator that has just made it (and locks it next) finds it gone and makes
//!    another, as Nix's `createTempDirInStore` and `TempDir::new_in` both do.

use std::fs::File;
use std::path::Path;

use super::canon::delete_path;
use crate::util::process;

/// Deletes the `tmp-<pid>-<n>` directories of dead processes in `real_store_dir`; returns
/// how many it deleted. Failures are ignored: reclaiming is housekeeping, and an entry that
/// cannot be deleted now is tried again next time.
pub(super) fn reclaim_temp_dirs(real_store_dir: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(real_store_dir) else {
        return 0;
    };
    let me = std::process::id();
    let mut reclaimed = 0;
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(temp_dir_pid) else {
            continue;
        };
        if pid == me || process::exists(pid) {
            continue;
        }
        let path = entry.path();
        // Not following a symlink: only a directory the creator could lock counts.
        if !entry.file_type().is_ok_and(|t| t.is_dir()) {
            continue;
        }
        let Ok(dir) = File::open(&path) else {
            continue;
        };
        if dir.try_lock().is_err() {
            continue;
        }
        if delete_path(&path).is_ok() {
            reclaimed += 1;
        }
        drop(dir);
    }
    reclaimed
}

/// Deletes the `<store path>.lock` files nobody holds, as Nix's garbage collector deletes
/// them with the invalid paths they belong to: a process killed while it held a path's lock
/// leaves the file (Nix's `PathLocks` delete theirs only after the work succeeded). Each is
/// deleted the way its holder would have: locked without waiting, unlinked, then marked
/// (`d`), so that a process which opened it before the unlink and locks it next sees a stale
/// file and takes a fresh one. While the lock is held, the path itself is deleted too if it is
/// there but not valid (`is_valid` says so, given its base name): a build or copy killed
/// before registering it left it half-done, and nothing else would remove it unless the same
/// path is written again (Nix's collector deletes such paths). Returns how many lock files
/// went.
pub(super) fn reclaim_lock_files(real_store_dir: &Path, is_valid: impl Fn(&str) -> bool) -> usize {
    let Ok(entries) = std::fs::read_dir(real_store_dir) else {
        return 0;
    };
    let mut reclaimed = 0;
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(base) = name.to_str().and_then(|n| n.strip_suffix(".lock")) else {
            continue;
        };
        // `<32 nix32 characters>-<name>`, the lock of a store path.
        let is_path = base.len() > 33
            && base.as_bytes()[32] == b'-'
            && base[..32].bytes().all(|b| b.is_ascii_alphanumeric());
        if !is_path || !entry.file_type().is_ok_and(|t| t.is_file()) {
            continue;
        }
        let path = entry.path();
        let Ok(mut file) = std::fs::OpenOptions::new().write(true).open(&path) else {
            continue;
        };
        if file.try_lock().is_err() || file.metadata().map_or(true, |m| m.len() != 0) {
            continue;
        }
        let object = real_store_dir.join(base);
        if std::fs::symlink_metadata(&object).is_ok()
            && !is_valid(base)
            && delete_path(&object).is_err()
        {
            continue;
        }
        if std::fs::remove_file(&path).is_ok() {
            let _ = std::io::Write::write_all(&mut file, b"d");
            reclaimed += 1;
        }
    }
    reclaimed
}

/// Deletes the temporary roots files (`<state>/temproots/<pid>`) of dead processes, as Nix's
/// garbage collector does (`findTempRoots`): a file its owner no longer holds locked, whose
/// `<pid>` is not this process and names no process. Each goes the way Nix deletes it: locked
/// without waiting, unlinked, then marked (`d`), so that a process that opened it just before
/// (creating its own file of that name) sees it stale and creates another. Returns how many
/// went.
pub(super) fn reclaim_temp_roots(temproots_dir: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(temproots_dir) else {
        return 0;
    };
    let me = std::process::id();
    let mut reclaimed = 0;
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .filter(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        if pid == me || process::exists(pid) || !entry.file_type().is_ok_and(|t| t.is_file()) {
            continue;
        }
        let path = entry.path();
        let Ok(mut file) = std::fs::OpenOptions::new().append(true).open(&path) else {
            continue;
        };
        if file.try_lock().is_err() {
            continue;
        }
        if std::fs::remove_file(&path).is_ok() {
            let _ = std::io::Write::write_all(&mut file, b"d");
            reclaimed += 1;
        }
    }
    reclaimed
}

/// Returns the pid of a name `tmp-<pid>-<n>` (both decimal numbers).
fn temp_dir_pid(name: &str) -> Option<u32> {
    let (pid, n) = name.strip_prefix("tmp-")?.split_once('-')?;
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(pid) || !digits(n) {
        return None;
    }
    pid.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Returns the pid of a process that has ended.
    fn dead_pid() -> u32 {
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        pid
    }

    #[test]
    fn names() {
        let cases = [
            ("tmp-123-0", Some(123)),
            ("tmp-1-22", Some(1)),
            ("tmp-123", None),
            ("tmp--0", None),
            ("tmp-12a-0", None),
            ("tmp-12-0x", None),
            ("tmp-1-2-3", None),
            ("nix-123-0", None),
            ("abc-tmp-1-0", None),
        ];
        for (name, want) in cases {
            assert_eq!(temp_dir_pid(name), want, "{name}");
        }
    }

    #[test]
    fn only_unlocked_directories_of_dead_processes_go() {
        let store = tempfile::tempdir().unwrap();
        let dead = dead_pid();
        let mut live = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .unwrap();
        let mk = |name: String| {
            let p = store.path().join(name);
            std::fs::create_dir_all(p.join("source/sub")).unwrap();
            std::fs::write(p.join("source/sub/f"), b"x").unwrap();
            use std::os::unix::fs::PermissionsExt as _;
            std::fs::set_permissions(p.join("source/sub"), std::fs::Permissions::from_mode(0o555))
                .unwrap();
            p
        };
        let stale = mk(format!("tmp-{dead}-0"));
        let of_live = mk(format!("tmp-{}-0", live.id()));
        let mine = mk(format!("tmp-{}-99", std::process::id()));
        // A dead pid whose directory is locked (a process of another pid namespace).
        let locked = mk(format!("tmp-{dead}-1"));
        let lock = File::open(&locked).unwrap();
        lock.lock().unwrap();
        let object = mk("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-source".into());
        let file = store.path().join(format!("tmp-{dead}-2"));
        std::fs::write(&file, b"not a directory").unwrap();

        assert_eq!(reclaim_temp_dirs(store.path()), 1);
        assert!(!stale.exists());
        for kept in [&of_live, &mine, &locked, &object, &file] {
            assert!(kept.exists(), "{}", kept.display());
        }
        drop(lock);
        assert_eq!(reclaim_temp_dirs(store.path()), 1);
        assert!(!locked.exists());
        live.kill().unwrap();
        live.wait().unwrap();
        assert_eq!(reclaim_temp_dirs(store.path()), 1);
        assert!(!of_live.exists());
        assert!(mine.exists());
    }

    #[test]
    fn temp_roots_files_of_dead_processes_go() {
        let dir = tempfile::tempdir().unwrap();
        let dead = dead_pid();
        let mut live = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .unwrap();
        let file = |pid: u32| {
            let p = dir.path().join(pid.to_string());
            std::fs::write(&p, b"/nix/store/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-x\0").unwrap();
            p
        };
        let stale = file(dead);
        let of_live = file(live.id());
        let mine = file(std::process::id());
        let other = dir.path().join("not-a-pid");
        std::fs::write(&other, b"").unwrap();
        // A file opened before the unlink is seen stale once locked.
        let opener = File::open(&stale).unwrap();

        assert_eq!(reclaim_temp_roots(dir.path()), 1);
        assert!(!stale.exists());
        assert!(of_live.exists() && mine.exists() && other.exists());
        let size = b"/nix/store/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-x\0".len() as u64;
        assert_eq!(opener.metadata().unwrap().len(), size + 1, "marked stale");
        live.kill().unwrap();
        live.wait().unwrap();
        assert_eq!(reclaim_temp_roots(dir.path()), 1);
        assert!(!of_live.exists() && mine.exists());
    }

    #[test]
    fn lock_files_nobody_holds_go() {
        let store = tempfile::tempdir().unwrap();
        let lock_of = |c: char| {
            store
                .path()
                .join(format!("{}-source.lock", c.to_string().repeat(32)))
        };
        let free = lock_of('a');
        std::fs::write(&free, b"").unwrap();
        let held = lock_of('b');
        std::fs::write(&held, b"").unwrap();
        let holder = File::open(&held).unwrap();
        holder.lock().unwrap();
        let other = store.path().join("gc.lock");
        std::fs::write(&other, b"").unwrap();
        // A file opened before the unlink is seen stale once locked.
        let waiter = File::open(&free).unwrap();

        // The objects of the locks: one half-written (invalid), one valid.
        let object_of = |c: char| {
            store
                .path()
                .join(format!("{}-source", c.to_string().repeat(32)))
        };
        std::fs::create_dir_all(object_of('a').join("sub")).unwrap();
        std::fs::write(object_of('b'), b"valid").unwrap();
        let is_valid = |base: &str| base.starts_with('b');

        assert_eq!(reclaim_lock_files(store.path(), is_valid), 1);
        assert!(!free.exists());
        assert!(
            !object_of('a').exists(),
            "the invalid object went with its lock"
        );
        assert!(held.exists() && other.exists());
        waiter.lock().unwrap();
        assert_eq!(waiter.metadata().unwrap().len(), 1, "marked stale");
        drop(holder);
        assert_eq!(reclaim_lock_files(store.path(), is_valid), 1);
        assert!(!held.exists());
        assert!(object_of('b').exists(), "a valid object stays");
    }
}
