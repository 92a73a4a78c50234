//! Reference scanning: which of a set of store paths a build output mentions, found by
//! searching its NAR serialisation for their 32-character hash parts (Nix's `RefScanSink`,
//! `scanForReferences`; spec E4.2 step 9).

use std::collections::{BTreeSet, HashMap};
use std::io::Write;
use std::path::Path;

use crate::store::StorePath;
use crate::store::nar::{self, DumpError};

/// The length of a store path's hash part.
const HASH_LEN: usize = 32;

/// Whether `b` is a character of Nix's base-32 alphabet.
fn is_nix32(b: u8) -> bool {
    matches!(b, b'0'..=b'9' | b'a'..=b'd' | b'f'..=b'n' | b'p'..=b's' | b'v'..=b'z')
}

/// A sink that records which candidate hash parts appear in the bytes written to it, also
/// across write boundaries.
pub struct Scanner {
    candidates: HashMap<[u8; HASH_LEN], usize>,
    found: Vec<bool>,
    tail: Vec<u8>,
}

impl Scanner {
    /// A scanner looking for the hash parts of `paths`.
    pub fn new(paths: &[StorePath]) -> Scanner {
        let mut candidates = HashMap::new();
        for (i, p) in paths.iter().enumerate() {
            let mut key = [0u8; HASH_LEN];
            key.copy_from_slice(p.hash_part().as_bytes());
            candidates.insert(key, i);
        }
        Scanner {
            candidates,
            found: vec![false; paths.len()],
            tail: Vec::new(),
        }
    }

    fn scan(&mut self, data: &[u8]) {
        let mut i = 0;
        while i + HASH_LEN <= data.len() {
            // Find the last non-alphabet byte of the window: no match can start before it.
            match data[i..i + HASH_LEN].iter().rposition(|b| !is_nix32(*b)) {
                Some(j) => i += j + 1,
                None => {
                    let mut key = [0u8; HASH_LEN];
                    key.copy_from_slice(&data[i..i + HASH_LEN]);
                    if let Some(&n) = self.candidates.get(&key) {
                        self.found[n] = true;
                    }
                    i += 1;
                }
            }
        }
    }

    /// Returns the indices (into the paths given to [`Scanner::new`]) of the paths found.
    pub fn found(&self) -> impl Iterator<Item = usize> + '_ {
        self.found
            .iter()
            .enumerate()
            .filter_map(|(i, f)| f.then_some(i))
    }
}

impl Write for Scanner {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        // The bytes kept from the previous write plus the start of this one catch a hash
        // that straddles the boundary.
        if !self.tail.is_empty() {
            let mut joined = std::mem::take(&mut self.tail);
            joined.extend_from_slice(&buf[..buf.len().min(HASH_LEN - 1)]);
            self.scan(&joined);
        }
        self.scan(buf);
        let keep = buf.len().min(HASH_LEN - 1);
        self.tail = buf[buf.len() - keep..].to_vec();
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Returns which of `candidates` the tree at `path` refers to.
pub fn scan_path(path: &Path, candidates: &[StorePath]) -> Result<BTreeSet<StorePath>, DumpError> {
    let mut scanner = Scanner::new(candidates);
    nar::dump(path, &mut scanner)?;
    Ok(scanner.found().map(|i| candidates[i].clone()).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(s: &str) -> StorePath {
        StorePath::from_base_name(s).unwrap()
    }

    #[test]
    fn finds_hashes_also_across_writes() {
        let a = path("z4asv3j07d89ywjf8fxkn7sg6mf5s9q5-dep");
        let b = path("8r0mqrvjnajrw90ivrmhfhfq6vkl534x-refs");
        let c = path("xh5zg2403bira7krv27pk64p3byka7ln-multi-1.0");
        let mut s = Scanner::new(&[a.clone(), b.clone(), c.clone()]);
        let text = format!(
            "/nix/store/{a}\nx/nix/store/{b}",
            a = a.base_name(),
            b = b.base_name()
        );
        let (one, two) = text.split_at(25);
        s.write_all(one.as_bytes()).unwrap();
        s.write_all(two.as_bytes()).unwrap();
        assert_eq!(s.found().collect::<Vec<_>>(), vec![0, 1]);
    }

    #[test]
    fn a_hash_inside_a_longer_nix32_run_is_found() {
        let a = path("z4asv3j07d89ywjf8fxkn7sg6mf5s9q5-dep");
        let mut s = Scanner::new(std::slice::from_ref(&a));
        s.write_all(format!("abc{}zzz", a.hash_part()).as_bytes())
            .unwrap();
        assert_eq!(s.found().count(), 1);
        let mut s = Scanner::new(std::slice::from_ref(&a));
        s.write_all(&a.hash_part().as_bytes()[..31]).unwrap();
        assert_eq!(s.found().count(), 0);
    }
}
