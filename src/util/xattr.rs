//! Removing extended attributes, as Nix's canonicalisation of store objects does
//! (`canonicalisePathMetaData` in the Nix source's `src/libstore/posix-fs-canonicalise.cc`).

use std::ffi::OsStr;
use std::io;
use std::os::fd::BorrowedFd;
use std::os::unix::ffi::OsStrExt as _;
use std::path::Path;

use rustix::io::Errno;

/// The object whose extended attributes are removed.
#[derive(Clone, Copy)]
pub enum Target<'a> {
    /// An open file or directory.
    Fd(BorrowedFd<'a>),
    /// A path; a symlink there is not followed.
    Path(&'a Path),
}

/// What failed while stripping, for the caller's error message.
#[derive(Debug)]
pub struct StripError {
    /// `querying extended attributes of` or `removing extended attribute of`.
    pub action: &'static str,
    /// The error.
    pub io: io::Error,
}

/// Removes the extended attributes of `target`, except those named in `keep`. File systems
/// without extended attributes are fine.
pub fn strip(target: Target<'_>, keep: &[&str]) -> Result<(), StripError> {
    let query = |e: Errno| StripError {
        action: "querying extended attributes of",
        io: e.into(),
    };
    let list = |buf: &mut [u8]| match target {
        Target::Fd(fd) => rustix::fs::flistxattr(fd, buf),
        Target::Path(p) => rustix::fs::llistxattr(p, buf),
    };
    let size = match list(&mut [][..]) {
        Ok(n) => n,
        Err(Errno::NOTSUP | Errno::NODATA) => return Ok(()),
        Err(e) => return Err(query(e)),
    };
    if size == 0 {
        return Ok(());
    }
    let mut buf = vec![0u8; size];
    let n = list(&mut buf[..]).map_err(query)?;
    buf.truncate(n);
    for name in buf.split(|&b| b == 0).filter(|n| !n.is_empty()) {
        if keep.iter().any(|k| k.as_bytes() == name) {
            continue;
        }
        let name = OsStr::from_bytes(name);
        match target {
            Target::Fd(fd) => rustix::fs::fremovexattr(fd, name),
            Target::Path(p) => rustix::fs::lremovexattr(p, name),
        }
        .map_err(|e| StripError {
            action: "removing extended attribute of",
            io: e.into(),
        })?;
    }
    Ok(())
}
