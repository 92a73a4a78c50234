//! Building an unpacked tree on disk from archive entries, with the semantics of Nix's tarball
//! cache sink (`GitFileSystemObjectSinkImpl` in the Nix source's `src/libfetchers/git-utils.cc`):
//! parents are created implicitly, later entries replace earlier ones (a directory replaces
//! nothing, a non-empty directory cannot be replaced), hard links become copies after the last
//! entry, and a root holding exactly one directory is that directory.
//!
//! Safety: every decision is taken on an in-memory model of what this builder created, never by
//! looking at the disk. Names are normalised lexically, so nothing lands outside the root; an
//! entry below a symlink (or a file) is refused because its parent is not a directory in the
//! model; files are created with `O_EXCL` (which never follows a symlink) after the old entry,
//! if any, was removed. Small files are written by worker threads (past the first few); the archive reader goes on.

use std::collections::{BTreeMap, btree_map};
use std::ffi::OsStr;
use std::fs;
use std::io::{self, Read, Write as _};
use std::os::unix::ffi::OsStrExt as _;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};

use super::writers::{Job, Pending, Queues, create_file, finish_file, with_path};

/// Files up to this size are read into memory and written by a worker thread.
const SMALL_FILE: u64 = 256 * 1024;

/// Bounds on what an archive may unpack to, against decompression bombs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The largest total size of the files (hard-link copies included), in bytes.
    pub max_bytes: u64,
    /// The largest number of entries (files, directories, symlinks, links).
    pub max_entries: u64,
}

impl Default for Limits {
    /// 64 GiB and 10 million entries: ten times the largest source archives in Nixpkgs.
    fn default() -> Limits {
        Limits {
            max_bytes: 64 << 30,
            max_entries: 10_000_000,
        }
    }
}

/// A relative path inside the tree: normalised components (no empty, `.` or `..`).
pub type Components = Vec<Vec<u8>>;

/// Normalises an entry name lexically: `/`, `./` and empty components dropped, `..` removes
/// the previous component (and nothing at the root), so the result never leaves the root.
pub fn normalise(name: &[u8]) -> Components {
    let mut out: Components = Vec::new();
    for c in name.split(|&b| b == b'/') {
        match c {
            b"" | b"." => {}
            b".." => {
                out.pop();
            }
            c => out.push(c.to_vec()),
        }
    }
    out
}

/// The key that sorts paths as Nix's `CanonPath` does (the order in which it makes hard links,
/// which matters when one links to another): byte by byte as a C `char` with `/` counting as 0.
/// `char` is signed as on x86-64; where it is unsigned (aarch64) Nix orders names with bytes
/// above 127 differently, a difference only chains of hard links to such names can see.
fn nix_order(path: &[Vec<u8>]) -> Vec<i16> {
    let mut key = Vec::new();
    for c in path {
        key.push(0);
        key.extend(c.iter().map(|&b| i16::from(b as i8)));
    }
    key
}

fn show(c: &[Vec<u8>]) -> String {
    crate::util::printable(&c.join(&b'/'))
}

enum Node {
    Dir(BTreeMap<Vec<u8>, Node>),
    File { executable: bool },
    Symlink,
}

/// What an entry of the archive becomes.
pub enum Kind<'r> {
    /// A directory.
    Dir,
    /// A regular file: its size (a hint), whether the owner may execute it, its contents.
    File(u64, bool, &'r mut dyn Read),
    /// A symlink and its target, kept verbatim.
    Symlink(&'r [u8]),
    /// A hard link to another entry (resolved as a copy at the end).
    HardLink(&'r [u8]),
}

/// The builder; see the module docs.
pub struct Builder<'s, 'p> {
    root: PathBuf,
    model: BTreeMap<Vec<u8>, Node>,
    hard_links: BTreeMap<Components, Components>,
    jobs: Queues<'s, 'p>,
    pending: &'p Pending,
    limits: Limits,
    bytes: u64,
    entries: u64,
    last_modified: u64,
}

impl<'s, 'p> Builder<'s, 'p> {
    /// A builder writing into the empty directory `root`, handing small files to `jobs`.
    pub fn new(
        root: PathBuf,
        jobs: Queues<'s, 'p>,
        pending: &'p Pending,
        limits: Limits,
    ) -> Builder<'s, 'p> {
        Builder {
            root,
            model: BTreeMap::new(),
            hard_links: BTreeMap::new(),
            jobs,
            pending,
            limits,
            bytes: 0,
            entries: 0,
            last_modified: 0,
        }
    }

    /// Adds the entry `name` (as written in the archive) with modification time `mtime`.
    pub fn add(&mut self, name: &[u8], mtime: u64, kind: Kind<'_>) -> anyhow::Result<()> {
        self.entries += 1;
        if self.entries > self.limits.max_entries {
            anyhow::bail!(
                "the archive has more than {} entries, the most rflake unpacks",
                self.limits.max_entries
            );
        }
        self.last_modified = self.last_modified.max(mtime);
        let path = normalise(name);
        match kind {
            Kind::Dir => {
                self.place(&path, Node::Dir(BTreeMap::new()))?;
            }
            Kind::Symlink(target) => {
                if let Some(disk) = self.place(&path, Node::Symlink)? {
                    self.pending.add();
                    self.jobs.send(Job::Symlink {
                        path: disk,
                        target: target.to_vec(),
                    })?;
                }
            }
            Kind::HardLink(target) => {
                self.hard_links.insert(path, normalise(target));
            }
            Kind::File(size, executable, contents) => {
                self.add_file(&path, size, executable, contents)?;
            }
        }
        Ok(())
    }

    fn add_file(
        &mut self,
        path: &[Vec<u8>],
        size: u64,
        executable: bool,
        contents: &mut dyn Read,
    ) -> anyhow::Result<()> {
        let Some(disk) = self.place(path, Node::File { executable })? else {
            return Ok(());
        };
        if size <= SMALL_FILE {
            let mut data = Vec::with_capacity(size as usize);
            contents
                .take(SMALL_FILE + 1)
                .read_to_end(&mut data)
                .map_err(|e| with_path(e, "reading archive member", &disk))?;
            if data.len() as u64 <= SMALL_FILE {
                self.count_bytes(data.len() as u64)?;
                self.pending.add();
                return self.jobs.send(Job::File {
                    path: disk,
                    executable,
                    data,
                });
            }
            return self.write_streaming(
                &disk,
                executable,
                &mut io::Cursor::new(data).chain(contents),
            );
        }
        self.write_streaming(&disk, executable, contents)
    }

    fn write_streaming(
        &mut self,
        disk: &Path,
        executable: bool,
        contents: &mut dyn Read,
    ) -> anyhow::Result<()> {
        let mut f = create_file(disk, executable)?;
        let mut buf = vec![0u8; 256 * 1024];
        loop {
            let n = contents
                .read(&mut buf)
                .map_err(|e| with_path(e, "reading archive member", disk))?;
            if n == 0 {
                break;
            }
            self.count_bytes(n as u64)?;
            f.write_all(&buf[..n])
                .map_err(|e| with_path(e, "writing to file", disk))?;
        }
        finish_file(&f, disk)?;
        Ok(())
    }

    fn count_bytes(&mut self, n: u64) -> anyhow::Result<()> {
        self.bytes += n;
        if self.bytes > self.limits.max_bytes {
            anyhow::bail!(
                "the archive unpacks to more than {} bytes, the most rflake unpacks",
                self.limits.max_bytes
            );
        }
        Ok(())
    }

    /// Records `node` at `path` in the model, creating missing parents on disk and removing
    /// what it replaces. Returns where to create it, or `None` when there is nothing to create
    /// (a directory that exists already).
    fn place(&mut self, path: &[Vec<u8>], node: Node) -> anyhow::Result<Option<PathBuf>> {
        let Some((name, parents)) = path.split_last() else {
            if matches!(node, Node::Dir(_)) {
                return Ok(None);
            }
            anyhow::bail!("cannot create a file at the root of the archive");
        };
        let mut disk = self.root.clone();
        let mut dir = &mut self.model;
        for p in parents {
            disk.push(OsStr::from_bytes(p));
            let child = match dir.entry(p.clone()) {
                btree_map::Entry::Occupied(o) => o.into_mut(),
                btree_map::Entry::Vacant(v) => {
                    fs::create_dir(&disk).map_err(|e| with_path(e, "creating directory", &disk))?;
                    v.insert(Node::Dir(BTreeMap::new()))
                }
            };
            let Node::Dir(children) = child else {
                anyhow::bail!("parent of '{}' is not a directory", show(path));
            };
            dir = children;
        }
        disk.push(OsStr::from_bytes(name));
        let is_dir = matches!(node, Node::Dir(_));
        match dir.get(name) {
            None => {}
            Some(Node::Dir(_)) if is_dir => return Ok(None),
            Some(Node::Dir(c)) if !c.is_empty() => {
                anyhow::bail!(
                    "cannot create '{}', conflicting non-empty directory",
                    show(path)
                );
            }
            Some(Node::Dir(_)) => {
                fs::remove_dir(&disk).map_err(|e| with_path(e, "removing directory", &disk))?;
            }
            Some(Node::File { .. }) => {
                // A worker may still be writing the file it replaces.
                self.pending.wait()?;
                fs::remove_file(&disk).map_err(|e| with_path(e, "removing file", &disk))?;
            }
            Some(Node::Symlink) => {
                self.pending.wait()?;
                fs::remove_file(&disk).map_err(|e| with_path(e, "removing symlink", &disk))?;
            }
        }
        if is_dir {
            fs::create_dir(&disk).map_err(|e| with_path(e, "creating directory", &disk))?;
        }
        dir.insert(name.clone(), node);
        Ok(Some(disk))
    }

    fn lookup(&self, path: &[Vec<u8>]) -> anyhow::Result<&Node> {
        let missing = || anyhow::anyhow!("path '/{}' does not exist", show(path));
        let (name, parents) = path.split_last().ok_or_else(missing)?;
        let mut dir = &self.model;
        for p in parents {
            match dir.get(p) {
                Some(Node::Dir(children)) => dir = children,
                Some(_) => anyhow::bail!("path '/{}' has a non-directory parent", show(path)),
                None => return Err(missing()),
            }
        }
        dir.get(name).ok_or_else(missing)
    }

    /// Waits for the workers, makes the hard links and returns the tree: the root, or its only
    /// entry when that is a directory. Also returns the newest modification time of all entries.
    pub fn finish(mut self) -> anyhow::Result<(PathBuf, u64)> {
        self.pending.wait()?;
        let mut links: Vec<_> = std::mem::take(&mut self.hard_links).into_iter().collect();
        links.sort_by_cached_key(|(path, _)| nix_order(path));
        for (path, target) in &links {
            self.copy_link(path, target).map_err(|e| {
                e.context(format!(
                    "while creating a hard link from '/{}' to '/{}'",
                    show(path),
                    show(target)
                ))
            })?;
        }
        self.pending.wait()?;
        let tree = match self.model.iter().next() {
            Some((name, Node::Dir(_))) if self.model.len() == 1 => {
                self.root.join(OsStr::from_bytes(name))
            }
            _ => self.root.clone(),
        };
        Ok((tree, self.last_modified))
    }

    fn copy_link(&mut self, path: &[Vec<u8>], target: &[Vec<u8>]) -> anyhow::Result<()> {
        if target.is_empty() {
            return Ok(());
        }
        let source = self.root.join(OsStr::from_bytes(&target.join(&b'/')));
        match self.lookup(target)? {
            Node::Dir(_) => anyhow::bail!("cannot create a hard link to a directory"),
            Node::Symlink => {
                let link =
                    fs::read_link(&source).map_err(|e| with_path(e, "reading symlink", &source))?;
                if let Some(disk) = self.place(path, Node::Symlink)? {
                    std::os::unix::fs::symlink(&link, &disk)
                        .map_err(|e| with_path(e, "creating symlink", &disk))?;
                }
            }
            &Node::File { executable } => {
                if path == target {
                    return Ok(());
                }
                let mut src = fs::OpenOptions::new()
                    .read(true)
                    .custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32)
                    .open(&source)
                    .map_err(|e| with_path(e, "opening file", &source))?;
                if let Some(disk) = self.place(path, Node::File { executable })? {
                    self.write_streaming(&disk, executable, &mut src)?;
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_names() {
        let cases: [(&str, &[&str]); 8] = [
            ("a/b/c", &["a", "b", "c"]),
            ("./a//b/", &["a", "b"]),
            ("/etc/passwd", &["etc", "passwd"]),
            ("../../x", &["x"]),
            ("a/../../b", &["b"]),
            ("a/./b/../c", &["a", "c"]),
            (".", &[]),
            ("/", &[]),
        ];
        for (name, want) in cases {
            let got: Vec<String> = normalise(name.as_bytes())
                .iter()
                .map(|c| String::from_utf8(c.clone()).unwrap())
                .collect();
            assert_eq!(got, want, "{name}");
        }
    }
}
