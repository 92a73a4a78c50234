//! The floor under adding a path to a store: copies a tree with nothing else around it.
//!
//! `copy_floor SRC DEST [THREADS]` lists SRC's directories, creates them under DEST, then
//! copies their entries on THREADS threads (default: one per core), each taking whole
//! directories so no two threads create files in the same directory at once. Per file it
//! does what any store must: open and read the source, create the copy, write it, set its
//! modification time. There is no NAR, no hash, no database and no walk order to keep, so its
//! time is what the kernel charges for creating the copy on this machine. `bench/
//! flake_archive_path.sh` times it next to `nix` and `rflake`: neither can beat it.

#![allow(clippy::print_stderr)]

use std::fs::{self, File, FileTimes};
use std::io::{self, Read, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime};

/// A directory (relative to the root) and its entries that are not directories.
struct Dir {
    rel: PathBuf,
    entries: Vec<(PathBuf, fs::FileType)>,
}

/// Lists the directories of the tree at `root`, parents before children.
fn list(root: &Path) -> io::Result<Vec<Dir>> {
    let mut dirs = Vec::new();
    let mut todo = vec![PathBuf::new()];
    while let Some(rel) = todo.pop() {
        let mut entries = Vec::new();
        for e in fs::read_dir(root.join(&rel))? {
            let e = e?;
            let ft = e.file_type()?;
            let child = rel.join(e.file_name());
            if ft.is_dir() {
                todo.push(child);
            } else {
                entries.push((child, ft));
            }
        }
        dirs.push(Dir { rel, entries });
    }
    Ok(dirs)
}

/// Copies one non-directory entry.
fn copy(src: &Path, dest: &Path, ft: fs::FileType, buf: &mut Vec<u8>) -> io::Result<()> {
    if ft.is_symlink() {
        return std::os::unix::fs::symlink(fs::read_link(src)?, dest);
    }
    let mut from = File::open(src)?;
    let executable = from.metadata()?.permissions().mode() & 0o100 != 0;
    buf.clear();
    from.read_to_end(buf)?;
    let mut to = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(if executable { 0o555 } else { 0o444 })
        .open(dest)?;
    to.write_all(buf)?;
    to.set_times(FileTimes::new().set_modified(SystemTime::UNIX_EPOCH + Duration::from_secs(1)))
}

fn run(src: &Path, dest: &Path, threads: usize) -> io::Result<()> {
    let dirs = list(src)?;
    for d in &dirs {
        fs::create_dir(dest.join(&d.rel))?;
    }
    let next = AtomicUsize::new(0);
    std::thread::scope(|s| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| -> io::Result<()> {
                    let mut buf = Vec::new();
                    while let Some(d) = dirs.get(next.fetch_add(1, Ordering::Relaxed)) {
                        for (rel, ft) in &d.entries {
                            copy(&src.join(rel), &dest.join(rel), *ft, &mut buf)?;
                        }
                    }
                    Ok(())
                })
            })
            .collect();
        workers
            .into_iter()
            .try_for_each(|w| w.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
    })
}

fn main() -> ExitCode {
    let args: Vec<_> = std::env::args_os().skip(1).collect();
    let threads = match args.get(2).map(|t| t.to_str().and_then(|t| t.parse().ok())) {
        None => std::thread::available_parallelism().map_or(2, usize::from),
        Some(Some(n)) if n > 0 => n,
        Some(_) => 0,
    };
    if !(2..=3).contains(&args.len()) || threads == 0 {
        eprintln!("usage: copy_floor SRC DEST [THREADS]");
        return ExitCode::from(2);
    }
    match run(Path::new(&args[0]), Path::new(&args[1]), threads) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
