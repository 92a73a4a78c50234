//! Writing NARs of trees on disk (`dumpPath` in the Nix source's `src/libutil/archive.cc`).
//!
//! A tree is first walked (directories read and sorted, symlinks read), which gives the NAR's
//! structure with a hole for each regular file. Worker threads then open and read the files
//! ahead of the writer, which fills the holes in order. Hashing (or writing) the stream is the
//! only serial work, so the NAR of a tree of many small files is produced at close to the speed
//! of sha256. [`copy_tree`] uses the same walk to copy the tree while hashing its NAR.

use std::collections::HashMap;
use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Condvar, Mutex};

use super::read::MAX_DEPTH;
use crate::hash::{Algo, Hash, Hasher};

/// Errors while serialising a tree.
#[derive(Debug, thiserror::Error)]
pub enum DumpError {
    /// An I/O error on `path`.
    #[error("{action} '{path}': {source}", source = crate::util::fs::strerror(source))]
    Io {
        /// What was being done.
        action: &'static str,
        /// The path.
        path: PathBuf,
        /// The error.
        source: io::Error,
    },
    /// A FIFO, socket or device.
    #[error("file '{0}' has an unsupported type")]
    UnsupportedType(PathBuf),
    /// A file changed size while it was read.
    #[error("file '{0}' changed while it was being read")]
    Changed(PathBuf),
    /// Directories nested too deeply.
    #[error("path '{0}' exceeds maximum NAR directory depth of {MAX_DEPTH}")]
    TooDeep(PathBuf),
    /// Writing the NAR failed.
    #[error("writing the NAR: {0}")]
    Sink(io::Error),
}

fn io_err<'a>(action: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> DumpError + 'a {
    move |source| DumpError::Io {
        action,
        path: path.to_owned(),
        source,
    }
}

/// Files up to this size are read whole by the workers; bigger ones are streamed by the
/// writer so memory stays bounded.
const SMALL_FILE: u64 = 256 * 1024;
/// How many files the workers may read ahead of the writer.
const WINDOW: usize = 256;
/// Chunk size for streaming big files.
const CHUNK: usize = 1 << 20;

/// Writes the NAR of `path` (not following a symlink at `path`) to `sink`.
pub fn dump(path: &Path, sink: &mut dyn Write) -> Result<(), DumpError> {
    let plan = Plan::walk(path, None)?;
    plan.emit(sink)?;
    Ok(())
}

/// Returns the sha256 and size of the NAR of `path`, reading files in parallel.
pub fn hash_path(path: &Path) -> Result<(Hash, u64), DumpError> {
    let mut hasher = Hasher::new(Algo::Sha256);
    dump(path, &mut hasher)?;
    let size = hasher.len();
    Ok((hasher.finish(), size))
}

/// Copies the tree at `src` to `dest` (which must not exist), returning the sha256 and size of
/// its NAR. Only what a NAR keeps is copied: contents, the owner-execute bit, symlink targets.
/// Files are created mode 0444 (0555 if executable) and directories 0755.
pub fn copy_tree(src: &Path, dest: &Path) -> Result<(Hash, u64), DumpError> {
    let plan = Plan::walk(src, Some(dest))?;
    let mut hasher = Hasher::new(Algo::Sha256);
    plan.emit(&mut hasher)?;
    let size = hasher.len();
    Ok((hasher.finish(), size))
}

/// One step of the NAR stream: structural bytes, or the contents of the file with this index.
enum Op {
    Bytes(Vec<u8>),
    File(usize),
}

struct FileJob {
    src: PathBuf,
    dest: Option<PathBuf>,
}

struct Plan {
    ops: Vec<Op>,
    files: Vec<FileJob>,
}

fn put_str(buf: &mut Vec<u8>, s: &[u8]) {
    buf.extend_from_slice(&(s.len() as u64).to_le_bytes());
    buf.extend_from_slice(s);
    buf.resize(buf.len() + padding(s.len() as u64), 0);
}

fn padding(len: u64) -> usize {
    ((8 - len % 8) % 8) as usize
}

impl Plan {
    fn walk(src: &Path, dest: Option<&Path>) -> Result<Plan, DumpError> {
        let mut plan = Plan {
            ops: vec![Op::Bytes(Vec::new())],
            files: Vec::new(),
        };
        plan.tok(super::MAGIC.as_bytes());
        let meta = fs::symlink_metadata(src).map_err(io_err("getting status of", src))?;
        plan.node(src, dest, meta.file_type(), 0)?;
        Ok(plan)
    }

    fn tok(&mut self, s: &[u8]) {
        if let Some(Op::Bytes(b)) = self.ops.last_mut() {
            put_str(b, s);
        } else {
            let mut b = Vec::new();
            put_str(&mut b, s);
            self.ops.push(Op::Bytes(b));
        }
    }

    fn node(
        &mut self,
        src: &Path,
        dest: Option<&Path>,
        ft: fs::FileType,
        depth: usize,
    ) -> Result<(), DumpError> {
        self.tok(b"(");
        self.tok(b"type");
        if ft.is_file() {
            self.tok(b"regular");
            self.ops.push(Op::File(self.files.len()));
            self.files.push(FileJob {
                src: src.to_owned(),
                dest: dest.map(Path::to_owned),
            });
        } else if ft.is_symlink() {
            let target = fs::read_link(src).map_err(io_err("reading symbolic link", src))?;
            self.tok(b"symlink");
            self.tok(b"target");
            self.tok(target.as_os_str().as_bytes());
            if let Some(d) = dest {
                std::os::unix::fs::symlink(&target, d).map_err(io_err("creating symlink", d))?;
            }
        } else if ft.is_dir() {
            if depth > MAX_DEPTH {
                return Err(DumpError::TooDeep(src.to_owned()));
            }
            self.tok(b"directory");
            if let Some(d) = dest {
                fs::create_dir(d).map_err(io_err("creating directory", d))?;
            }
            let mut entries = Vec::new();
            for e in fs::read_dir(src).map_err(io_err("opening directory", src))? {
                let e = e.map_err(io_err("reading directory", src))?;
                let ft = e
                    .file_type()
                    .map_err(io_err("getting status of", &e.path()))?;
                entries.push((e.file_name(), ft));
            }
            entries.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
            for (name, ft) in entries {
                self.tok(b"entry");
                self.tok(b"(");
                self.tok(b"name");
                self.tok(name.as_bytes());
                self.tok(b"node");
                let child_dest = dest.map(|d| d.join(&name));
                self.node(&src.join(&name), child_dest.as_deref(), ft, depth + 1)?;
                self.tok(b")");
            }
        } else {
            return Err(DumpError::UnsupportedType(src.to_owned()));
        }
        self.tok(b")");
        Ok(())
    }

    /// Writes the NAR to `sink`, with worker threads reading (and, when copying, writing)
    /// the files ahead of it.
    fn emit(&self, sink: &mut dyn Write) -> Result<(), DumpError> {
        let queue = Queue::new(self.files.len());
        let workers = std::thread::available_parallelism()
            .map_or(2, usize::from)
            .clamp(2, 8);
        std::thread::scope(|s| {
            if !self.files.is_empty() {
                for _ in 0..workers.min(self.files.len()) {
                    s.spawn(|| queue.work(&self.files));
                }
            }
            let result = self.write_ops(sink, &queue);
            queue.stop();
            result
        })
    }

    fn write_ops(&self, sink: &mut dyn Write, queue: &Queue) -> Result<(), DumpError> {
        for op in &self.ops {
            match op {
                Op::Bytes(b) => sink.write_all(b).map_err(DumpError::Sink)?,
                Op::File(i) => {
                    let loaded = queue.take(*i)?;
                    write_file(&self.files[*i], loaded, sink)?;
                }
            }
        }
        Ok(())
    }
}

/// A file opened by a worker: its bytes if small, else the open file to stream.
struct Loaded {
    executable: bool,
    size: u64,
    data: Option<Vec<u8>>,
    file: Option<File>,
    out: Option<File>,
}

fn write_file(job: &FileJob, l: Loaded, sink: &mut dyn Write) -> Result<(), DumpError> {
    let mut head = Vec::with_capacity(64);
    if l.executable {
        put_str(&mut head, b"executable");
        put_str(&mut head, b"");
    }
    put_str(&mut head, b"contents");
    head.extend_from_slice(&l.size.to_le_bytes());
    sink.write_all(&head).map_err(DumpError::Sink)?;
    if let Some(data) = &l.data {
        sink.write_all(data).map_err(DumpError::Sink)?;
    } else if let Some(mut file) = l.file {
        let mut out = l.out;
        let mut buf = vec![0u8; CHUNK];
        let mut total = 0u64;
        loop {
            let n = file
                .read(&mut buf)
                .map_err(io_err("reading file", &job.src))?;
            if n == 0 {
                break;
            }
            total += n as u64;
            if total > l.size {
                return Err(DumpError::Changed(job.src.clone()));
            }
            sink.write_all(&buf[..n]).map_err(DumpError::Sink)?;
            if let (Some(o), Some(d)) = (out.as_mut(), job.dest.as_deref()) {
                o.write_all(&buf[..n])
                    .map_err(io_err("writing to file", d))?;
            }
        }
        if total != l.size {
            return Err(DumpError::Changed(job.src.clone()));
        }
    }
    let pad = [0u8; 8];
    sink.write_all(&pad[..padding(l.size)])
        .map_err(DumpError::Sink)
}

/// Opens (and, if small, reads) a file; when copying, creates the destination and writes the
/// small file's bytes to it.
fn load(job: &FileJob) -> Result<Loaded, DumpError> {
    let mut file = File::open(&job.src).map_err(io_err("opening file", &job.src))?;
    let meta = file
        .metadata()
        .map_err(io_err("getting status of", &job.src))?;
    let executable = meta.mode() & 0o100 != 0;
    let size = meta.len();
    let out = match &job.dest {
        Some(d) => Some(
            fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(if executable { 0o555 } else { 0o444 })
                .open(d)
                .map_err(io_err("creating file", d))?,
        ),
        None => None,
    };
    if size > SMALL_FILE {
        return Ok(Loaded {
            executable,
            size,
            data: None,
            file: Some(file),
            out,
        });
    }
    // Exactly the size `fstat` gave, as Nix does: a file that shrinks fails, one that grows
    // is cut at its size at open.
    let mut data = vec![0u8; size as usize];
    file.read_exact(&mut data).map_err(|e| match e.kind() {
        io::ErrorKind::UnexpectedEof => DumpError::Changed(job.src.clone()),
        _ => io_err("reading file", &job.src)(e),
    })?;
    if let (Some(mut o), Some(d)) = (out, job.dest.as_deref()) {
        o.write_all(&data).map_err(io_err("writing to file", d))?;
    }
    Ok(Loaded {
        executable,
        size,
        data: Some(data),
        file: None,
        out: None,
    })
}

/// Files handed from the workers to the writer in order, in chunks of [`CHUNK_FILES`] (so
/// threads synchronise once per chunk, not once per file), at most [`WINDOW`] files ahead.
struct Queue {
    state: Mutex<QueueState>,
    ready: Condvar,
    space: Condvar,
}

/// How many consecutive files a worker loads before handing them over.
const CHUNK_FILES: usize = 32;

struct QueueState {
    chunks: usize,
    next: usize,
    taken: usize,
    stopped: bool,
    done: HashMap<usize, Vec<Result<Loaded, DumpError>>>,
    current: std::vec::IntoIter<Result<Loaded, DumpError>>,
}

impl Queue {
    fn new(total: usize) -> Queue {
        Queue {
            state: Mutex::new(QueueState {
                chunks: total.div_ceil(CHUNK_FILES),
                next: 0,
                taken: 0,
                stopped: false,
                done: HashMap::new(),
                current: Vec::new().into_iter(),
            }),
            ready: Condvar::new(),
            space: Condvar::new(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, QueueState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn work(&self, files: &[FileJob]) {
        loop {
            let c = {
                let mut st = self.lock();
                loop {
                    if st.stopped || st.next >= st.chunks {
                        return;
                    }
                    if st.next < st.taken + WINDOW / CHUNK_FILES {
                        break;
                    }
                    st = self.space.wait(st).unwrap_or_else(|e| e.into_inner());
                }
                st.next += 1;
                st.next - 1
            };
            let end = files.len().min((c + 1) * CHUNK_FILES);
            let loaded = files[c * CHUNK_FILES..end].iter().map(load).collect();
            self.lock().done.insert(c, loaded);
            self.ready.notify_one();
        }
    }

    /// Returns file `i`; files must be taken in order.
    fn take(&self, i: usize) -> Result<Loaded, DumpError> {
        let mut st = self.lock();
        if i.is_multiple_of(CHUNK_FILES) {
            let c = i / CHUNK_FILES;
            loop {
                if let Some(chunk) = st.done.remove(&c) {
                    st.current = chunk.into_iter();
                    st.taken = c + 1;
                    self.space.notify_all();
                    break;
                }
                st = self.ready.wait(st).unwrap_or_else(|e| e.into_inner());
            }
        }
        st.current
            .next()
            .expect("files are taken in order, one chunk at a time")
    }

    fn stop(&self) {
        self.lock().stopped = true;
        self.space.notify_all();
    }
}
