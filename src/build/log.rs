//! A build's log: every byte the builder writes to stdout and stderr, kept under the store's
//! log directory as Nix keeps it (`<log dir>/drvs/<first 2 chars>/<rest of the .drv base
//! name>.bz2`), with its last lines for the failure message (Nix's `logTail`,
//! `openLogFile`, `log-lines`).

use std::collections::VecDeque;
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::store::StorePath;

/// Returns where the log of `drv` goes under `log_dir` (`<root>/nix/var/log/nix`).
pub fn log_path(log_dir: &Path, drv: &StorePath, compress: bool) -> PathBuf {
    let base = drv.base_name();
    let (dir, file) = base.split_at(2);
    let file = if compress {
        format!("{file}.bz2")
    } else {
        file.to_owned()
    };
    log_dir.join("drvs").join(dir).join(file)
}

enum Sink {
    Plain(File),
    Bzip2(bzip2::write::BzEncoder<File>),
    None,
}

/// The log of a running build.
pub struct BuildLog {
    sink: Sink,
    tail: VecDeque<String>,
    max_tail: usize,
    partial: Vec<u8>,
}

impl BuildLog {
    /// A log written to `path` (created with its directory), keeping `max_tail` last lines;
    /// `path` `None` keeps no file (`keep-build-log = false`).
    pub fn create(
        path: Option<&Path>,
        compress: bool,
        max_tail: usize,
    ) -> Result<BuildLog, crate::util::fs::Error> {
        let sink = match path {
            None => Sink::None,
            Some(path) => {
                if let Some(dir) = path.parent() {
                    crate::util::fs::create_dir_all(dir)?;
                }
                let file = File::create(path).map_err(|io| crate::util::fs::Error {
                    action: "creating file",
                    path: path.to_owned(),
                    io,
                })?;
                if compress {
                    Sink::Bzip2(bzip2::write::BzEncoder::new(
                        file,
                        bzip2::Compression::default(),
                    ))
                } else {
                    Sink::Plain(file)
                }
            }
        };
        Ok(BuildLog {
            sink,
            tail: VecDeque::new(),
            max_tail,
            partial: Vec::new(),
        })
    }

    /// Records bytes the builder wrote; returns the lines they complete.
    pub fn write(&mut self, data: &[u8]) -> Vec<String> {
        // A log that cannot be written does not fail the build (as in Nix).
        let _ = match &mut self.sink {
            Sink::Plain(f) => f.write_all(data),
            Sink::Bzip2(f) => f.write_all(data),
            Sink::None => Ok(()),
        };
        let mut lines = Vec::new();
        for &b in data {
            if b == b'\n' {
                let line = String::from_utf8_lossy(&self.partial).into_owned();
                self.partial.clear();
                self.push_tail(&line);
                lines.push(line);
            } else if b == b'\r' {
                // A carriage return starts the line over, as on a terminal.
                self.partial.clear();
            } else {
                self.partial.push(b);
            }
        }
        lines
    }

    fn push_tail(&mut self, line: &str) {
        if self.max_tail == 0 {
            return;
        }
        if self.tail.len() == self.max_tail {
            self.tail.pop_front();
        }
        self.tail.push_back(line.to_owned());
    }

    /// Ends the log: the last line without a newline counts as a line. Returns that line, if
    /// any, and the kept last lines.
    pub fn finish(mut self) -> (Option<String>, Vec<String>) {
        let last = (!self.partial.is_empty()).then(|| {
            let line = String::from_utf8_lossy(&self.partial).into_owned();
            self.push_tail(&line);
            line
        });
        let _ = match self.sink {
            Sink::Plain(mut f) => f.flush(),
            Sink::Bzip2(f) => f.finish().map(drop),
            Sink::None => Ok(()),
        };
        (last, self.tail.into_iter().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read as _;

    #[test]
    fn log_is_compressed_and_tail_kept() {
        let dir = tempfile::tempdir().unwrap();
        let drv = StorePath::from_base_name("9p4gcimdi9diahi8x6xmv663kbi889cb-top.drv").unwrap();
        let path = log_path(dir.path(), &drv, true);
        assert!(path.ends_with("drvs/9p/4gcimdi9diahi8x6xmv663kbi889cb-top.drv.bz2"));
        let mut log = BuildLog::create(Some(&path), true, 2).unwrap();
        assert_eq!(log.write(b"a\nb"), vec!["a".to_owned()]);
        assert_eq!(log.write(b"\nc\nd"), vec!["b".to_owned(), "c".to_owned()]);
        let (last, tail) = log.finish();
        assert_eq!(last.as_deref(), Some("d"));
        assert_eq!(tail, vec!["c".to_owned(), "d".to_owned()]);
        let mut text = String::new();
        bzip2::read::BzDecoder::new(File::open(&path).unwrap())
            .read_to_string(&mut text)
            .unwrap();
        assert_eq!(text, "a\nb\nc\nd");
    }
}
