//! The metadata a copy gives the objects it creates, set by whichever thread creates them.

use std::os::fd::AsFd;

use rustix::fs::{Timespec, Timestamps, UTIME_OMIT};

use super::*;
use crate::util::xattr::{self, Target};

/// The metadata every object of a copy gets (a store object's, for the local store): files
/// mode 0444 or 0555, directories 0555, one modification time, and no extended attributes
/// but the kept ones. Ownership is left as created.
#[derive(Debug, Clone, Copy)]
pub struct StoreMeta {
    /// The modification time (seconds) of every object, symlinks included.
    pub mtime: i64,
    /// Extended attributes that are left alone; all others are removed.
    pub keep_xattrs: &'static [&'static str],
}

/// Applies a [`StoreMeta`] to new objects.
pub(super) struct Finish {
    meta: StoreMeta,
    /// Whether files need an explicit `fchmod`: the umask may have cleared bits of the mode
    /// they were created with.
    chmod_files: bool,
    /// Whether new files may carry extended attributes to strip (inherited default ACLs).
    strip_files: bool,
}

impl Finish {
    pub(super) fn new(meta: &StoreMeta) -> Finish {
        Finish {
            meta: *meta,
            chmod_files: umask().is_none_or(|m| m & 0o555 != 0),
            strip_files: true,
        }
    }

    /// Skips stripping new files when `dir`, where the copy is created, has no default ACL:
    /// then files created below it start without extended attributes (saves a syscall per
    /// file).
    pub(super) fn created_in(mut self, dir: Option<&Path>) -> Finish {
        if let Some(dir) = dir {
            let mut buf = vec![0u8; 4096];
            if let Ok(n) = rustix::fs::llistxattr(dir, &mut buf[..]) {
                let names = &buf[..n.min(buf.len())];
                self.strip_files = names
                    .split(|&b| b == 0)
                    .any(|name| name == b"system.posix_acl_default");
            }
        }
        self
    }

    fn times(&self) -> Timestamps {
        Timestamps {
            last_access: Timespec {
                tv_sec: 0,
                tv_nsec: UTIME_OMIT,
            },
            last_modification: Timespec {
                tv_sec: self.meta.mtime,
                tv_nsec: 0,
            },
        }
    }

    fn strip(&self, target: Target<'_>, path: &Path) -> Result<(), DumpError> {
        xattr::strip(target, self.meta.keep_xattrs).map_err(|e| DumpError::Io {
            action: e.action,
            path: path.to_owned(),
            source: e.io,
        })
    }

    /// Finishes a file whose contents are all written.
    pub(super) fn file(&self, file: &File, executable: bool, path: &Path) -> Result<(), DumpError> {
        if self.strip_files {
            self.strip(Target::Fd(file.as_fd()), path)?;
        }
        if self.chmod_files {
            let mode = Mode::from_raw_mode(if executable { 0o555 } else { 0o444 });
            rfs::fchmod(file, mode).map_err(rio("changing mode of", path))?;
        }
        rfs::futimens(file, &self.times()).map_err(rio("changing modification time of", path))
    }

    /// Finishes a symlink: `name` in `dir`, or `path` itself for the root.
    pub(super) fn symlink(
        &self,
        at: Option<(&OwnedFd, &CStr)>,
        path: &Path,
    ) -> Result<(), DumpError> {
        self.strip(Target::Path(path), path)?;
        let flags = AtFlags::SYMLINK_NOFOLLOW;
        match at {
            Some((dir, name)) => rfs::utimensat(dir, name, &self.times(), flags),
            None => rfs::utimensat(rfs::CWD, path, &self.times(), flags),
        }
        .map_err(rio("changing modification time of", path))
    }

    /// Finishes a directory whose entries are all in place.
    pub(super) fn dir(&self, path: &Path) -> Result<(), DumpError> {
        self.strip(Target::Path(path), path)?;
        rfs::chmod(path, Mode::from_raw_mode(0o555)).map_err(rio("changing mode of", path))?;
        rfs::utimensat(rfs::CWD, path, &self.times(), AtFlags::SYMLINK_NOFOLLOW)
            .map_err(rio("changing modification time of", path))
    }
}

/// Returns the process's umask from `/proc/self/status` (reading it with `umask(2)` would
/// change it for every thread), or `None` if that file does not say.
fn umask() -> Option<u32> {
    let status = fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find_map(|l| l.strip_prefix("Umask:"))?;
    u32::from_str_radix(line.trim(), 8).ok()
}
