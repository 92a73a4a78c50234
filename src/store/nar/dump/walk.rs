//! The walk: the NAR's structure, with a hole for each regular file.

use super::*;

/// The walk: produces the NAR's structure, with a hole per regular file, and hands it over in
/// batches.
///
/// Directories are opened once and their entries opened relative to them (`openat`), which
/// spares the kernel a path lookup per file.
pub(super) struct Walker<'s> {
    pub(super) shared: &'s Shared<'s>,
    pub(super) ops: Vec<Op>,
    pub(super) files: Vec<FileJob>,
    /// A directory (device, inode) left out of the walk: the one a copy is written in.
    pub(super) skip: Option<(u64, u64)>,
    pub(super) walked: Walked,
}

/// Where a copy of an entry goes: its path, and the copy's directory it is created in (`None`
/// for the root, which is created by path).
pub(super) type Dest<'a> = Option<(&'a Path, Option<&'a Arc<OwnedFd>>)>;

/// How many files the walker collects before handing them over.
pub(super) const FLUSH_FILES: usize = 64;

/// What a directory entry is, from its `d_type` (or `lstat` when the file system has none).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    File,
    Symlink,
    Dir,
    Other,
}

impl From<fs::FileType> for Kind {
    fn from(ft: fs::FileType) -> Kind {
        if ft.is_file() {
            Kind::File
        } else if ft.is_symlink() {
            Kind::Symlink
        } else if ft.is_dir() {
            Kind::Dir
        } else {
            Kind::Other
        }
    }
}

impl From<rfs::FileType> for Kind {
    fn from(ft: rfs::FileType) -> Kind {
        match ft {
            rfs::FileType::RegularFile => Kind::File,
            rfs::FileType::Symlink => Kind::Symlink,
            rfs::FileType::Directory => Kind::Dir,
            _ => Kind::Other,
        }
    }
}

/// Where an entry is: its directory's descriptor and its name there.
pub(super) type At<'a> = Option<(&'a Arc<OwnedFd>, &'a CStr)>;

pub(super) fn rio<'a>(
    action: &'static str,
    path: &'a Path,
) -> impl FnOnce(rustix::io::Errno) -> DumpError + 'a {
    move |e| io_err(action, path)(io::Error::from(e))
}

impl Walker<'_> {
    pub(super) fn walk(&mut self, src: &Path, dest: Option<&Path>) -> Result<(), DumpError> {
        use std::os::unix::fs::MetadataExt as _;
        self.tok(crate::store::nar::MAGIC.as_bytes());
        let meta = fs::symlink_metadata(src).map_err(io_err("getting status of", src))?;
        if self.shared.track_mtime {
            self.saw_mtime(meta.mtime());
        }
        self.node(
            None,
            src,
            dest.map(|d| (d, None)),
            meta.file_type().into(),
            0,
        )
    }

    fn saw_mtime(&mut self, mtime: i64) {
        self.walked.newest_mtime = self.walked.newest_mtime.max(mtime);
    }

    pub(super) fn flush(&mut self) {
        self.shared.push(
            std::mem::take(&mut self.ops),
            std::mem::take(&mut self.files),
        );
    }

    pub(super) fn tok(&mut self, s: &[u8]) {
        if let Some(Op::Bytes(b)) = self.ops.last_mut() {
            put_str(b, s);
        } else {
            let mut b = Vec::new();
            put_str(&mut b, s);
            self.ops.push(Op::Bytes(b));
        }
    }

    pub(super) fn node(
        &mut self,
        at: At<'_>,
        src: &Path,
        dest: Dest<'_>,
        kind: Kind,
        depth: usize,
    ) -> Result<(), DumpError> {
        self.tok(b"(");
        self.tok(b"type");
        match kind {
            Kind::File => {
                self.tok(b"regular");
                self.ops.push(Op::File(usize::MAX));
                self.files.push(FileJob {
                    src: src.to_owned(),
                    at: at.map(|(d, n)| (Arc::clone(d), n.to_owned())),
                    dest: dest.map(|(d, _)| d.to_owned()),
                    dest_dir: dest.and_then(|(_, dir)| dir.cloned()),
                });
                if self.files.len() >= FLUSH_FILES {
                    self.flush();
                }
            }
            Kind::Symlink => self.symlink(at, src, dest)?,
            Kind::Dir => {
                if depth > MAX_DEPTH {
                    return Err(DumpError::TooDeep(src.to_owned()));
                }
                self.tok(b"directory");
                let dest_fd = match dest {
                    Some((d, dir)) => Some(self.create_dir(at, d, dir)?),
                    None => None,
                };
                self.directory(at, src, dest.map(|(d, _)| d).zip(dest_fd.as_ref()), depth)?;
            }
            Kind::Other => return Err(DumpError::UnsupportedType(src.to_owned())),
        }
        self.tok(b")");
        Ok(())
    }

    fn symlink(&mut self, at: At<'_>, src: &Path, dest: Dest<'_>) -> Result<(), DumpError> {
        let target = match at {
            Some((dir, name)) => {
                let t = rfs::readlinkat(dir.as_fd(), name, Vec::new())
                    .map_err(rio("reading symbolic link", src))?;
                PathBuf::from(std::ffi::OsString::from_vec(t.into_bytes()))
            }
            None => fs::read_link(src).map_err(io_err("reading symbolic link", src))?,
        };
        self.tok(b"symlink");
        self.tok(b"target");
        self.tok(target.as_os_str().as_bytes());
        if self.shared.track_mtime
            && let Some((dir, name)) = at
        {
            let st = rfs::statat(dir.as_fd(), name, AtFlags::SYMLINK_NOFOLLOW)
                .map_err(rio("getting status of", src))?;
            self.saw_mtime(st.st_mtime);
        }
        let Some((d, dest_dir)) = dest else {
            return Ok(());
        };
        let finish = self.shared.finish.expect("a copy has a finish");
        match (dest_dir, at) {
            (Some(dir), Some((_, name))) => {
                rfs::symlinkat(target.as_os_str(), dir.as_fd(), name)
                    .map_err(rio("creating symlink", d))?;
                finish.symlink(Some((dir, name)), d)
            }
            _ => {
                std::os::unix::fs::symlink(&target, d).map_err(io_err("creating symlink", d))?;
                finish.symlink(None, d)
            }
        }
    }

    /// Creates the copy of a directory and opens it; [`Walked::dirs`] records it, to be
    /// finished once its entries are in place.
    fn create_dir(
        &mut self,
        at: At<'_>,
        d: &Path,
        dest_dir: Option<&Arc<OwnedFd>>,
    ) -> Result<Arc<OwnedFd>, DumpError> {
        let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        let mode = Mode::from_raw_mode(0o755);
        let fd = match (dest_dir, at) {
            (Some(dir), Some((_, name))) => {
                rfs::mkdirat(dir.as_fd(), name, mode).map_err(rio("creating directory", d))?;
                rfs::openat(dir.as_fd(), name, flags, Mode::empty())
            }
            _ => {
                fs::create_dir(d).map_err(io_err("creating directory", d))?;
                rfs::open(d, flags, Mode::empty())
            }
        }
        .map_err(rio("opening directory", d))?;
        self.walked.dirs.push(d.to_owned());
        Ok(Arc::new(fd))
    }

    pub(super) fn directory(
        &mut self,
        at: At<'_>,
        src: &Path,
        dest: Option<(&Path, &Arc<OwnedFd>)>,
        depth: usize,
    ) -> Result<(), DumpError> {
        let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        let fd = match at {
            Some((dir, name)) => rfs::openat(dir.as_fd(), name, flags, Mode::empty()),
            None => rfs::open(src, flags, Mode::empty()),
        }
        .map_err(rio("opening directory", src))?;
        let mut dev = None;
        let track = self.shared.track_mtime && at.is_some();
        if track || self.skip.is_some() {
            let st = rfs::fstat(&fd).map_err(rio("getting status of", src))?;
            if track {
                self.saw_mtime(st.st_mtime);
            }
            dev = Some(st.st_dev);
        }
        let fd = Arc::new(fd);
        let entries = read_sorted(&fd, src)?;
        for (name, kind, ino) in entries {
            if kind == Kind::Dir
                && let (Some((skip_dev, skip_ino)), Some(dev)) = (self.skip, dev)
                && dev == skip_dev
                && ino == skip_ino
            {
                continue;
            }
            crate::util::interrupt::check()?;
            let os_name = OsStr::from_bytes(name.as_bytes());
            self.tok(b"entry");
            self.tok(b"(");
            self.tok(b"name");
            self.tok(name.as_bytes());
            self.tok(b"node");
            let child_dest = dest.map(|(d, fd)| (d.join(os_name), fd));
            let child = src.join(os_name);
            self.node(
                Some((&fd, &name)),
                &child,
                child_dest.as_ref().map(|(d, fd)| (d.as_path(), Some(*fd))),
                kind,
                depth + 1,
            )?;
            self.tok(b")");
        }
        Ok(())
    }
}

/// Reads the entries of the directory open at `fd`, sorted bytewise by name, with their kinds
/// and inode numbers.
fn read_sorted(fd: &OwnedFd, src: &Path) -> Result<Vec<(CString, Kind, u64)>, DumpError> {
    let mut entries = Vec::new();
    let dir = rfs::Dir::read_from(fd.as_fd()).map_err(rio("opening directory", src))?;
    for e in dir {
        let e = e.map_err(rio("reading directory", src))?;
        let name = e.file_name();
        if name == c"." || name == c".." {
            continue;
        }
        let mut kind = Kind::from(e.file_type());
        if e.file_type() == rfs::FileType::Unknown {
            let st = rfs::statat(fd.as_fd(), name, AtFlags::SYMLINK_NOFOLLOW)
                .map_err(rio("getting status of", src))?;
            kind = rfs::FileType::from_raw_mode(st.st_mode).into();
        }
        entries.push((name.to_owned(), kind, e.ino()));
    }
    entries.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    Ok(entries)
}
