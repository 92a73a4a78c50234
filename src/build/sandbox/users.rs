//! Build users (Nix's `UserLock`, `src/libstore/unix/build/user-lock.cc`; `lock.cc` in 2.8):
//! as root with `build-users-group` set, each build runs as a member of that group that no
//! other build uses, claimed by locking `<state dir>/userpool/<uid>` (the files Nix locks, with
//! `flock`, so Nix and rflake never share a user).
//!
//! # Deviations
//!
//! - The group and users are read from `/etc/group` and `/etc/passwd` (Nix asks NSS).
//! - While every member is busy the build waits, polling (Nix reports "waiting for UID to
//!   build" and retries later).

use std::fs::File;
use std::os::unix::fs::MetadataExt as _;
use std::path::Path;

use super::super::Error;

/// A claimed build user; dropping it frees the user.
#[derive(Debug)]
pub struct BuildUser {
    /// The user's uid.
    pub uid: u32,
    /// The build users group's gid (Nix runs the build with the group's gid).
    pub gid: u32,
    _lock: File,
}

/// The gid and members of group `name` in `/etc/group`'s text.
pub fn parse_group(text: &str, name: &str) -> Option<(u32, Vec<String>)> {
    text.lines().find_map(|line| {
        let mut f = line.split(':');
        if f.next()? != name {
            return None;
        }
        let gid = f.nth(1)?.trim().parse().ok()?;
        let members = f
            .next()
            .unwrap_or("")
            .split(',')
            .map(str::trim)
            .filter(|m| !m.is_empty())
            .map(str::to_owned)
            .collect();
        Some((gid, members))
    })
}

/// The uid of `user` in `/etc/passwd`'s text.
pub fn parse_uid(text: &str, user: &str) -> Option<u32> {
    text.lines().find_map(|line| {
        let mut f = line.split(':');
        if f.next()? != user {
            return None;
        }
        f.nth(1)?.trim().parse().ok()
    })
}

/// Claims a free member of `group`, locking its file under `pool` (created if needed); waits
/// while all are busy, unless `interrupted` says to stop.
pub fn acquire(
    group: &str,
    pool: &Path,
    interrupted: &dyn Fn() -> bool,
) -> Result<BuildUser, Error> {
    let read = |p: &str| std::fs::read_to_string(p).unwrap_or_default();
    let (gid, members) = parse_group(&read("/etc/group"), group).ok_or_else(|| {
        Error::Other(format!(
            "the group '{group}' specified in 'build-users-group' does not exist"
        ))
    })?;
    if members.is_empty() {
        return Err(Error::Other(format!(
            "the build users group '{group}' has no members"
        )));
    }
    let passwd = read("/etc/passwd");
    let mut uids = Vec::new();
    for m in &members {
        let uid = parse_uid(&passwd, m).ok_or_else(|| {
            Error::Other(format!(
                "the user '{m}' in the group '{group}' does not exist"
            ))
        })?;
        if uid == rustix::process::getuid().as_raw() {
            return Err(Error::Other(format!(
                "the Nix user should not be a member of '{group}'"
            )));
        }
        uids.push(uid);
    }
    std::fs::create_dir_all(pool).map_err(|e| {
        Error::Other(format!(
            "creating directory '{}': {}",
            pool.display(),
            crate::util::fs::strerror(&e)
        ))
    })?;
    loop {
        for &uid in &uids {
            let file = pool.join(uid.to_string());
            let f = std::fs::OpenOptions::new()
                .create(true)
                .truncate(false)
                .read(true)
                .write(true)
                .open(&file)
                .map_err(|e| {
                    Error::Other(format!(
                        "opening user lock '{}': {}",
                        file.display(),
                        crate::util::fs::strerror(&e)
                    ))
                })?;
            if rustix::fs::flock(&f, rustix::fs::FlockOperation::NonBlockingLockExclusive).is_ok() {
                return Ok(BuildUser { uid, gid, _lock: f });
            }
        }
        if interrupted() {
            return Err(Error::Other("interrupted by the user".to_owned()));
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

/// Gives `path` (not following symlinks) to `uid`/`gid`.
pub fn chown(path: &Path, uid: u32, gid: u32) -> Result<(), Error> {
    rustix::fs::chownat(
        rustix::fs::CWD,
        path,
        Some(rustix::fs::Uid::from_raw(uid)),
        Some(rustix::fs::Gid::from_raw(gid)),
        rustix::fs::AtFlags::SYMLINK_NOFOLLOW,
    )
    .map_err(|e| {
        Error::Other(format!(
            "cannot change ownership of '{}': {e}",
            path.display()
        ))
    })
}

/// Gives the tree at `path` to the running user (Nix's canonicalisation `lchown`s build
/// outputs from the build user to its effective uid and gid).
pub fn reclaim(path: &Path) -> Result<(), Error> {
    let uid = rustix::process::geteuid().as_raw();
    let gid = rustix::process::getegid().as_raw();
    let mut todo = vec![path.to_owned()];
    while let Some(p) = todo.pop() {
        let meta = std::fs::symlink_metadata(&p).map_err(Error::other)?;
        if meta.uid() != uid || meta.gid() != gid {
            chown(&p, uid, gid)?;
        }
        if meta.is_dir() {
            for entry in std::fs::read_dir(&p).map_err(Error::other)? {
                todo.push(entry.map_err(Error::other)?.path());
            }
        }
    }
    Ok(())
}

/// Lets the build users' group create outputs in the store directory: mode 1775, group
/// `gid` (what Nix's local store does to its directory when build users are configured).
pub fn open_store_dir(real_store_dir: &Path, gid: u32) -> Result<(), Error> {
    use std::os::unix::fs::PermissionsExt as _;
    let meta = std::fs::metadata(real_store_dir).map_err(Error::other)?;
    if meta.gid() != gid {
        chown(real_store_dir, 0, gid)?;
    }
    if meta.mode() & 0o7777 != 0o1775 {
        std::fs::set_permissions(real_store_dir, std::fs::Permissions::from_mode(0o1775))
            .map_err(Error::other)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_and_passwd_lines_are_read() {
        let group = "root:x:0:\nnixbld:x:994:nixbld1,nixbld2\nempty:x:5:\n";
        assert_eq!(
            parse_group(group, "nixbld"),
            Some((994, vec!["nixbld1".to_owned(), "nixbld2".to_owned()]))
        );
        assert_eq!(parse_group(group, "empty"), Some((5, vec![])));
        assert_eq!(parse_group(group, "none"), None);
        let passwd = "nixbld1:x:999:994:Nix build user 1:/var/empty:/usr/sbin/nologin\n";
        assert_eq!(parse_uid(passwd, "nixbld1"), Some(999));
        assert_eq!(parse_uid(passwd, "nixbld2"), None);
    }
}
