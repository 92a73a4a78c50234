//! What the walker, the loaders and the writer share, and how files move between them.

use super::*;

/// What the walker, the workers and the writer share. Files go from the workers to the writer
/// in chunks of [`CHUNK_FILES`] (so threads synchronise once per chunk, not once per file), at
/// most [`WINDOW`] files ahead of the writer.
pub(super) struct Shared<'f> {
    pub(super) state: Mutex<State>,
    /// Signalled when the writer may have something new: ops, or a loaded chunk.
    pub(super) ready: Condvar,
    /// Signalled when workers may have something new: files to load, or room in the window.
    pub(super) work: Condvar,
    /// With a copy, what gives its objects their metadata.
    pub(super) finish: Option<&'f Finish>,
    /// Whether the walk records the newest modification time (a copy, or a hash asked for it).
    pub(super) track_mtime: bool,
    /// The newest modification time of the files loaded so far (with `track_mtime`).
    pub(super) newest_mtime: AtomicI64,
}

/// The initial capacity of a chunk's buffer, so that it rarely grows.
pub(super) const CHUNK_BUF: usize = 1 << 20;

/// The outcome of trying to claim a chunk.
pub(super) enum Claim {
    Got(usize, Vec<FileJob>, Vec<u8>),
    Wait,
    Finished,
}

/// How many consecutive files a worker loads before handing them over.
pub(super) const CHUNK_FILES: usize = 32;

pub(super) struct State {
    pub(super) ops: Vec<Op>,
    pub(super) files: Vec<Option<FileJob>>,
    pub(super) walk_done: bool,
    pub(super) walk_error: Option<DumpError>,
    pub(super) next_chunk: usize,
    pub(super) taken_chunks: usize,
    pub(super) stopped: bool,
    pub(super) done: HashMap<usize, Chunk>,
    pub(super) pool: Vec<Vec<u8>>,
}

impl<'f> Shared<'f> {
    pub(super) fn new(finish: Option<&'f Finish>, track_mtime: bool) -> Shared<'f> {
        Shared {
            state: Mutex::new(State {
                ops: Vec::new(),
                files: Vec::new(),
                walk_done: false,
                walk_error: None,
                next_chunk: 0,
                taken_chunks: 0,
                stopped: false,
                done: HashMap::new(),
                pool: Vec::new(),
            }),
            ready: Condvar::new(),
            work: Condvar::new(),
            finish,
            track_mtime,
            newest_mtime: AtomicI64::new(i64::MIN),
        }
    }

    pub(super) fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(super) fn wait<'a>(
        cv: &Condvar,
        g: std::sync::MutexGuard<'a, State>,
    ) -> std::sync::MutexGuard<'a, State> {
        cv.wait(g).unwrap_or_else(|e| e.into_inner())
    }

    /// Hands a batch of the walk over, numbering its files.
    pub(super) fn push(&self, mut ops: Vec<Op>, files: Vec<FileJob>) {
        let mut st = self.lock();
        let mut index = st.files.len();
        for op in &mut ops {
            if let Op::File(i) = op {
                *i = index;
                index += 1;
            }
        }
        st.ops.append(&mut ops);
        st.files.extend(files.into_iter().map(Some));
        drop(st);
        self.ready.notify_all();
        self.work.notify_all();
    }

    pub(super) fn finish_walk(&self, error: Option<DumpError>) {
        let mut st = self.lock();
        st.walk_done = true;
        st.walk_error = error;
        drop(st);
        self.ready.notify_all();
        self.work.notify_all();
    }

    /// Claims the next chunk of files to load, if one is ready and within the window.
    pub(super) fn claim(st: &mut State) -> Claim {
        if st.stopped {
            return Claim::Finished;
        }
        let start = st.next_chunk * CHUNK_FILES;
        if st.walk_done && st.files.len() <= start {
            return Claim::Finished;
        }
        let available =
            st.files.len() >= start + CHUNK_FILES || (st.walk_done && st.files.len() > start);
        if !available || st.next_chunk >= st.taken_chunks + WINDOW / CHUNK_FILES {
            return Claim::Wait;
        }
        let c = st.next_chunk;
        st.next_chunk += 1;
        let end = st.files.len().min((c + 1) * CHUNK_FILES);
        let jobs = st.files[start..end]
            .iter_mut()
            .filter_map(Option::take)
            .collect();
        let buf = st
            .pool
            .pop()
            .unwrap_or_else(|| Vec::with_capacity(CHUNK_BUF));
        Claim::Got(c, jobs, buf)
    }

    /// Loads a claimed chunk and hands it to the writer.
    pub(super) fn load_chunk(&self, c: usize, jobs: Vec<FileJob>, mut buf: Vec<u8>) {
        buf.clear();
        let files: Vec<_> = jobs
            .into_iter()
            .map(|j| load(j, &mut buf, self.finish))
            .collect();
        if self.track_mtime {
            let newest = files.iter().flatten().map(|l| l.mtime).max();
            if let Some(m) = newest {
                self.newest_mtime.fetch_max(m, Ordering::Relaxed);
            }
        }
        self.lock().done.insert(c, Chunk { buf, files });
        self.ready.notify_all();
    }

    /// Loads chunks of files until there are none left.
    pub(super) fn work(&self) {
        loop {
            let claim = {
                let mut st = self.lock();
                loop {
                    match Self::claim(&mut st) {
                        Claim::Wait => st = Self::wait(&self.work, st),
                        other => break other,
                    }
                }
            };
            match claim {
                Claim::Got(c, jobs, buf) => self.load_chunk(c, jobs, buf),
                Claim::Wait | Claim::Finished => return,
            }
        }
    }

    /// Writes the NAR: the walk's structure with each file's contents in its place.
    pub(super) fn consume(&self, sink: &mut dyn Write) -> Result<(), DumpError> {
        let mut files: std::vec::IntoIter<Result<Loaded, DumpError>> = Vec::new().into_iter();
        let mut chunk_buf = Vec::new();
        let mut stream_buf = vec![0u8; CHUNK];
        loop {
            let ops = {
                let mut st = self.lock();
                loop {
                    if let Some(e) = st.walk_error.take() {
                        return Err(e);
                    }
                    if !st.ops.is_empty() {
                        break std::mem::take(&mut st.ops);
                    }
                    if st.walk_done {
                        return Ok(());
                    }
                    st = Self::wait(&self.ready, st);
                }
            };
            for op in ops {
                match op {
                    Op::Bytes(b) => sink.write_all(&b).map_err(DumpError::Sink)?,
                    Op::File(i) => {
                        crate::util::interrupt::check()?;
                        if i.is_multiple_of(CHUNK_FILES) {
                            let next = self.take_chunk(i / CHUNK_FILES);
                            let done = std::mem::replace(&mut chunk_buf, next.buf);
                            self.lock().pool.push(done);
                            files = next.files.into_iter();
                        }
                        let loaded = files
                            .next()
                            .expect("files are taken in order, one chunk at a time")?;
                        write_file(loaded, &chunk_buf, &mut stream_buf, sink, self.finish)?;
                    }
                }
            }
        }
    }

    /// Returns chunk `c`; while it is not ready, the writer loads chunks itself rather than
    /// sleep (fewer context switches, and one more loader when loading is the bottleneck).
    pub(super) fn take_chunk(&self, c: usize) -> Chunk {
        let mut st = self.lock();
        loop {
            if let Some(chunk) = st.done.remove(&c) {
                st.taken_chunks = c + 1;
                drop(st);
                self.work.notify_all();
                return chunk;
            }
            match Self::claim(&mut st) {
                Claim::Got(k, jobs, buf) => {
                    drop(st);
                    self.load_chunk(k, jobs, buf);
                    st = self.lock();
                }
                Claim::Wait | Claim::Finished => st = Self::wait(&self.ready, st),
            }
        }
    }

    pub(super) fn stop(&self) {
        self.lock().stopped = true;
        self.work.notify_all();
    }
}
