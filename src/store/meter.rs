//! Byte progress of store copies: how much of the NARs being copied has gone through, shown by
//! the CLI as sizes and a rate next to the `copying path '…'` lines (Nix's progress bar shows
//! the bytes copied too).

use std::io::{self, Read};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::report::Reporter;

/// Counts the bytes of one copy operation (all its paths) and reports them.
pub struct Meter<'a> {
    label: &'a str,
    done: AtomicU64,
    total: Option<u64>,
    reporter: &'a dyn Reporter,
}

impl<'a> Meter<'a> {
    /// Makes a meter for `total` bytes (`0`: unknown).
    pub fn new(label: &'a str, total: u64, reporter: &'a dyn Reporter) -> Meter<'a> {
        Meter {
            label,
            done: AtomicU64::new(0),
            total: (total > 0).then_some(total),
            reporter,
        }
    }

    /// Returns the reporter the bytes go to.
    pub fn reporter(&self) -> &'a dyn Reporter {
        self.reporter
    }

    /// Records `n` more bytes.
    pub fn add(&self, n: u64) {
        let done = self.done.fetch_add(n, Ordering::Relaxed) + n;
        self.reporter.progress_bytes(self.label, done, self.total);
    }

    /// Wraps `inner` so that the bytes read from it are counted.
    pub fn reader<R: Read>(&'a self, inner: R) -> Counting<'a, R> {
        Counting { inner, meter: self }
    }
}

/// A reader that counts what is read through it; see [`Meter::reader`].
pub struct Counting<'a, R> {
    inner: R,
    meter: &'a Meter<'a>,
}

impl<R: Read> Read for Counting<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n > 0 {
            self.meter.add(n as u64);
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[derive(Default)]
    struct Progress(Mutex<Vec<(String, u64, Option<u64>)>>);

    impl Reporter for Progress {
        fn warn(&self, _: &str) {}
        fn notice(&self, _: &str) {}
        fn debug(&self, _: &str) {}
        fn progress_bytes(&self, label: &str, done: u64, total: Option<u64>) {
            self.0.lock().unwrap().push((label.into(), done, total));
        }
    }

    #[test]
    fn counts_bytes_read_through_it() {
        let p = Progress::default();
        let meter = Meter::new("copying", 10, &p);
        let mut out = Vec::new();
        meter.reader(&b"0123456"[..]).read_to_end(&mut out).unwrap();
        meter.reader(&b"789"[..]).read_to_end(&mut out).unwrap();
        let calls = p.0.lock().unwrap().clone();
        assert_eq!(calls.last(), Some(&("copying".to_owned(), 10, Some(10))));
        assert!(calls.windows(2).all(|w| w[0].1 < w[1].1));
        let unknown = Meter::new("x", 0, &p);
        unknown.add(3);
        assert_eq!(p.0.lock().unwrap().last(), Some(&("x".to_owned(), 3, None)));
    }
}
