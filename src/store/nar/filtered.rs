//! The NAR of a tree with some of its entries left out: Nix's `dumpPath` with a `PathFilter`
//! (`builtins.path { filter = …; }`, `builtins.filterSource`). Entries are visited in NAR
//! order (names sorted bytewise, depth first); the filter sees each entry below the root,
//! never the root itself, and a directory it rejects is not entered. The filter is user code,
//! so this runs on the calling thread.

use std::ffi::OsString;
use std::io::{self, Write};
use std::os::unix::ffi::{OsStrExt as _, OsStringExt as _};
use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;

use super::DumpError;
use super::read::MAX_DEPTH;

/// What kind of object an entry is, as the filter is told (from `lstat`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A regular file.
    Regular,
    /// A directory.
    Directory,
    /// A symbolic link.
    Symlink,
    /// A FIFO, socket or device (a NAR cannot hold one).
    Unknown,
}

/// Why a filtered dump stopped.
#[derive(Debug)]
pub enum FilterError<E> {
    /// Reading the tree or writing the NAR failed.
    Dump(DumpError),
    /// The filter failed.
    Filter(E),
}

impl<E> From<DumpError> for FilterError<E> {
    fn from(e: DumpError) -> Self {
        FilterError::Dump(e)
    }
}

fn io_err<'a>(action: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> DumpError + 'a {
    move |source| DumpError::Io {
        action,
        path: path.to_owned(),
        source,
    }
}

struct Dumper<'a, E> {
    sink: &'a mut dyn Write,
    keep: &'a mut dyn FnMut(&Path, Kind) -> Result<bool, E>,
}

impl<E> Dumper<'_, E> {
    fn str(&mut self, b: &[u8]) -> Result<(), DumpError> {
        let pad = (8 - b.len() % 8) % 8;
        self.sink
            .write_all(&(b.len() as u64).to_le_bytes())
            .and_then(|()| self.sink.write_all(b))
            .and_then(|()| self.sink.write_all(&[0; 8][..pad]))
            .map_err(DumpError::Sink)
    }

    fn node(&mut self, path: &Path, depth: usize) -> Result<(), FilterError<E>> {
        if depth > MAX_DEPTH {
            return Err(DumpError::TooDeep(path.to_owned()).into());
        }
        let meta = std::fs::symlink_metadata(path).map_err(io_err("getting status of", path))?;
        let ft = meta.file_type();
        self.str(b"(")?;
        self.str(b"type")?;
        if ft.is_file() {
            self.str(b"regular")?;
            if meta.permissions().mode() & 0o100 != 0 {
                self.str(b"executable")?;
                self.str(b"")?;
            }
            self.str(b"contents")?;
            let data = std::fs::read(path).map_err(io_err("reading file", path))?;
            self.str(&data)?;
        } else if ft.is_symlink() {
            self.str(b"symlink")?;
            self.str(b"target")?;
            let target = std::fs::read_link(path).map_err(io_err("reading symlink", path))?;
            self.str(target.as_os_str().as_bytes())?;
        } else if ft.is_dir() {
            self.str(b"directory")?;
            let mut names: Vec<OsString> = Vec::new();
            for e in std::fs::read_dir(path).map_err(io_err("opening directory", path))? {
                names.push(e.map_err(io_err("reading directory", path))?.file_name());
            }
            names.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
            for name in names {
                let child = path.join(&name);
                let kind = kind_of(&child).map_err(io_err("getting status of", &child))?;
                if !(self.keep)(&child, kind).map_err(FilterError::Filter)? {
                    continue;
                }
                self.str(b"entry")?;
                self.str(b"(")?;
                self.str(b"name")?;
                self.str(&name.into_vec())?;
                self.str(b"node")?;
                self.node(&child, depth + 1)?;
                self.str(b")")?;
            }
        } else {
            return Err(DumpError::UnsupportedType(path.to_owned()).into());
        }
        self.str(b")")?;
        Ok(())
    }
}

/// The kind of the object at `path` (not following a final symlink).
pub fn kind_of(path: &Path) -> io::Result<Kind> {
    let ft = std::fs::symlink_metadata(path)?.file_type();
    Ok(if ft.is_file() {
        Kind::Regular
    } else if ft.is_dir() {
        Kind::Directory
    } else if ft.is_symlink() {
        Kind::Symlink
    } else {
        Kind::Unknown
    })
}

/// Writes the NAR of `root` to `sink`, keeping only the entries `keep` accepts (it gets each
/// entry's path, `root` joined with the names below it, and its kind).
pub fn dump_filtered<E>(
    root: &Path,
    keep: &mut dyn FnMut(&Path, Kind) -> Result<bool, E>,
    sink: &mut dyn Write,
) -> Result<(), FilterError<E>> {
    let mut d = Dumper { sink, keep };
    d.str(super::MAGIC.as_bytes())?;
    d.node(root, 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree() -> tempfile::TempDir {
        let t = tempfile::tempdir().unwrap();
        std::fs::create_dir(t.path().join("d")).unwrap();
        std::fs::write(t.path().join("d/x"), "x").unwrap();
        std::fs::write(t.path().join("a"), "a").unwrap();
        std::os::unix::fs::symlink("a", t.path().join("l")).unwrap();
        t
    }

    #[test]
    fn keeping_everything_is_the_plain_nar() {
        let t = tree();
        let mut plain = Vec::new();
        super::super::dump(t.path(), &mut plain).unwrap();
        let mut filtered = Vec::new();
        let mut seen = Vec::new();
        dump_filtered::<()>(
            t.path(),
            &mut |p, k| {
                seen.push((p.strip_prefix(t.path()).unwrap().to_owned(), k));
                Ok(true)
            },
            &mut filtered,
        )
        .unwrap();
        assert_eq!(plain, filtered);
        let names: Vec<_> = seen
            .iter()
            .map(|(p, k)| (p.to_string_lossy().into_owned(), *k))
            .collect();
        assert_eq!(
            names,
            [
                ("a".to_owned(), Kind::Regular),
                ("d".to_owned(), Kind::Directory),
                ("d/x".to_owned(), Kind::Regular),
                ("l".to_owned(), Kind::Symlink),
            ]
        );
    }

    #[test]
    fn a_rejected_directory_is_not_entered() {
        let t = tree();
        let mut seen = Vec::new();
        let mut out = Vec::new();
        dump_filtered::<()>(
            t.path(),
            &mut |p, k| {
                seen.push(p.to_owned());
                Ok(k != Kind::Directory)
            },
            &mut out,
        )
        .unwrap();
        assert_eq!(seen.len(), 3);
        let e = dump_filtered(t.path(), &mut |_, _| Err("no"), &mut out);
        assert!(matches!(e, Err(FilterError::Filter("no"))));
    }
}
