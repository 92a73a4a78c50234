//! Loading files (and, when copying, writing them) on worker threads.

use super::*;

/// A file opened by a worker: its bytes if small, else the open file to stream.
pub(super) struct Loaded {
    pub(super) job: FileJob,
    pub(super) executable: bool,
    pub(super) size: u64,
    /// The source file's modification time.
    pub(super) mtime: i64,
    /// Where a small file's bytes are in its chunk's buffer.
    pub(super) data: Option<std::ops::Range<usize>>,
    pub(super) file: Option<File>,
    pub(super) out: Option<File>,
}

/// Files loaded by one worker in one go: small files' bytes are concatenated in `buf`, which
/// goes back to a pool when the writer is done with it, so steady state allocates nothing.
pub(super) struct Chunk {
    pub(super) buf: Vec<u8>,
    pub(super) files: Vec<Result<Loaded, DumpError>>,
}

pub(super) fn write_file(
    l: Loaded,
    chunk_buf: &[u8],
    stream_buf: &mut [u8],
    sink: &mut dyn Write,
    finish: Option<&Finish>,
) -> Result<(), DumpError> {
    let job = &l.job;
    let mut head = Vec::with_capacity(64);
    if l.executable {
        put_str(&mut head, b"executable");
        put_str(&mut head, b"");
    }
    put_str(&mut head, b"contents");
    head.extend_from_slice(&l.size.to_le_bytes());
    sink.write_all(&head).map_err(DumpError::Sink)?;
    if let Some(range) = l.data {
        sink.write_all(&chunk_buf[range]).map_err(DumpError::Sink)?;
    } else if let Some(mut file) = l.file {
        let mut out = l.out;
        let buf = stream_buf;
        let mut total = 0u64;
        loop {
            crate::util::interrupt::check()?;
            let n = file.read(buf).map_err(io_err("reading file", &job.src))?;
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
        if let (Some(o), Some(d), Some(f)) = (out.as_ref(), job.dest.as_deref(), finish) {
            f.file(o, l.executable, d)?;
        }
    }
    let pad = [0u8; 8];
    sink.write_all(&pad[..padding(l.size)])
        .map_err(DumpError::Sink)
}

/// Opens (and, if small, reads) a file; when copying, creates the destination and writes and
/// finishes the small file.
pub(super) fn load(
    job: FileJob,
    buf: &mut Vec<u8>,
    finish: Option<&Finish>,
) -> Result<Loaded, DumpError> {
    let mut file = match &job.at {
        Some((dir, name)) => {
            let flags = OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
            File::from(
                rfs::openat(dir.as_fd(), name.as_c_str(), flags, Mode::empty())
                    .map_err(rio("opening file", &job.src))?,
            )
        }
        None => File::open(&job.src).map_err(io_err("opening file", &job.src))?,
    };
    // Plain `fstat`: cheaper than the `statx` behind `File::metadata`.
    let st = rfs::fstat(&file).map_err(rio("getting status of", &job.src))?;
    let executable = st.st_mode & 0o100 != 0;
    let size = u64::try_from(st.st_size).unwrap_or(0);
    let mtime = st.st_mtime;
    let out = match &job.dest {
        Some(d) => Some(create(&job, d, executable)?),
        None => None,
    };
    if size > SMALL_FILE {
        return Ok(Loaded {
            job,
            executable,
            size,
            mtime,
            data: None,
            file: Some(file),
            out,
        });
    }
    // Exactly the size `fstat` gave, as Nix does: a file that shrinks fails, one that grows
    // is cut at its size at open.
    // (`take` stops at the size without another read, and reading into spare capacity
    // avoids zeroing the buffer first.)
    let start = buf.len();
    buf.reserve(size as usize);
    (&mut file)
        .take(size)
        .read_to_end(buf)
        .map_err(io_err("reading file", &job.src))?;
    if (buf.len() - start) as u64 != size {
        return Err(DumpError::Changed(job.src.clone()));
    }
    if let (Some(mut o), Some(d)) = (out, job.dest.as_deref()) {
        o.write_all(&buf[start..])
            .map_err(io_err("writing to file", d))?;
        if let Some(f) = finish {
            f.file(&o, executable, d)?;
        }
    }
    Ok(Loaded {
        job,
        executable,
        size,
        mtime,
        data: Some(start..buf.len()),
        file: None,
        out: None,
    })
}

/// Creates the copy of a file, mode 0444 or 0555 (less what the umask clears), relative to
/// its directory's copy when there is one.
fn create(job: &FileJob, dest: &Path, executable: bool) -> Result<File, DumpError> {
    let mode = if executable { 0o555 } else { 0o444 };
    match (&job.dest_dir, &job.at) {
        (Some(dir), Some((_, name))) => {
            let flags =
                OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC;
            rfs::openat(
                dir.as_fd(),
                name.as_c_str(),
                flags,
                Mode::from_raw_mode(mode),
            )
            .map(File::from)
            .map_err(rio("creating file", dest))
        }
        _ => fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(dest)
            .map_err(io_err("creating file", dest)),
    }
}
