//! Materialising a NAR on disk (`restorePath` in the Nix source's `src/libutil/archive.cc`).
//!
//! Every object is created fresh (`O_EXCL` for files, `mkdir`, `symlink`) under a directory
//! this restore created itself, and the parser has already refused names with `/`, `.` or
//! `..`; so a NAR can never write outside `dest` or through one of its own symlinks.

use std::ffi::OsStr;
use std::fs;
use std::io::{self, Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use super::read::{Entry, ParseError, Visitor, parse};

/// Errors while restoring.
#[derive(Debug, thiserror::Error)]
pub enum RestoreError {
    /// The NAR is malformed or could not be read.
    #[error(transparent)]
    Parse(#[from] ParseError),
}

/// Restores the NAR read from `reader` at `dest`, which must not exist. Files are created
/// mode 0444 (0555 if executable); symlinks are created, never followed.
pub fn restore(reader: &mut dyn Read, dest: &Path) -> Result<(), RestoreError> {
    let mut v = Restorer {
        dest: dest.to_owned(),
    };
    parse(reader, &mut v)?;
    Ok(())
}

struct Restorer {
    dest: PathBuf,
}

fn context(e: io::Error, action: &str, path: &Path) -> io::Error {
    io::Error::new(
        e.kind(),
        format!(
            "{action} '{}': {}",
            path.display(),
            crate::util::fs::strerror(&e)
        ),
    )
}

impl Visitor for Restorer {
    fn visit(&mut self, path: &[u8], entry: Entry<'_>) -> io::Result<()> {
        let target = if path.is_empty() {
            self.dest.clone()
        } else {
            self.dest.join(OsStr::from_bytes(path))
        };
        match entry {
            Entry::Directory => {
                fs::create_dir(&target).map_err(|e| context(e, "creating directory", &target))
            }
            Entry::Symlink { target: link } => {
                std::os::unix::fs::symlink(OsStr::from_bytes(link), &target)
                    .map_err(|e| context(e, "creating symlink", &target))
            }
            Entry::Regular {
                executable,
                size,
                contents,
            } => {
                let mut f = fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .mode(if executable { 0o555 } else { 0o444 })
                    .open(&target)
                    .map_err(|e| context(e, "creating file", &target))?;
                let n = io::copy(contents, &mut f)?;
                debug_assert_eq!(n, size);
                f.flush()
            }
        }
    }
}
