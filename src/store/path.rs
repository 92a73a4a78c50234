//! Store paths: `<store dir>/<hash part>-<name>` and how Nix computes them.
//!
//! Mirrors the Nix source's `src/libstore/path.cc` (`StorePath`, name checks) and
//! `src/libstore/store-api.cc` (`makeStorePath`, `makeFixedOutputPath`, `makeTextPath`).
//! Formats only: no I/O.
//!
//! # Deviations
//!
//! None known: names follow current Nix (`.`, `..`, `.-x` and `..-x` are rejected; Nix 2.8
//! accepted them).

use std::fmt;

use crate::hash::{Algo, Hash, decode_nix32, encode_nix32};

/// Length of the hash part of a store path's base name, in nix32 characters (20 bytes).
pub const HASH_PART_LEN: usize = 32;

/// The longest name a store path may have.
pub const MAX_NAME_LEN: usize = 211;

/// Errors from parsing store paths and names, worded as Nix words them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The base name is shorter than a hash part.
    #[error("'{0}' is too short to be a valid store path")]
    TooShort(String),
    /// The hash part is not followed by a dash.
    #[error("'{0}' can't name a store path because the hash part is not followed by a '-'")]
    NoDash(String),
    /// The hash part has a character outside Nix's base-32 alphabet.
    #[error("store path '{path}' contains illegal base-32 character '{c}'")]
    BadHashChar {
        /// The path.
        path: String,
        /// The offending character.
        c: char,
    },
    /// The name is empty.
    #[error("name must not be empty")]
    EmptyName,
    /// The name is longer than [`MAX_NAME_LEN`].
    #[error("name '{0}' must be no longer than 211 characters")]
    NameTooLong(String),
    /// The name has a character outside `A-Za-z0-9+-._?=`.
    #[error("name '{name}' contains illegal character '{c}'")]
    BadNameChar {
        /// The name.
        name: String,
        /// The offending character.
        c: char,
    },
    /// The name is `.`, `..`, or starts with `.-` or `..-`.
    #[error("name '{0}' is not valid")]
    DotName(String),
    /// A path that is not inside the store directory.
    #[error("path '{path}' is not in the Nix store '{store_dir}'")]
    NotInStore {
        /// The path.
        path: String,
        /// The store directory.
        store_dir: String,
    },
}

/// Checks a store path name as Nix does (`checkName`).
pub fn check_name(name: &str) -> Result<(), Error> {
    if name.is_empty() {
        return Err(Error::EmptyName);
    }
    if name.len() > MAX_NAME_LEN {
        return Err(Error::NameTooLong(name.to_owned()));
    }
    if let Some(c) = name
        .chars()
        .find(|&c| !(c.is_ascii_alphanumeric() || "+-._?=".contains(c)))
    {
        return Err(Error::BadNameChar {
            name: name.to_owned(),
            c,
        });
    }
    let first = name.split('-').next().unwrap_or_default();
    if first == "." || first == ".." {
        return Err(Error::DotName(name.to_owned()));
    }
    Ok(())
}

/// A store path without its directory: a 20-byte hash part and a name.
///
/// Ordered like Nix orders store paths: by base name.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StorePath {
    // The nix32 hash part and the name, joined by '-': comparing this string orders paths by
    // base name as Nix does.
    base: String,
}

impl StorePath {
    /// Parses a base name `<hash part>-<name>`.
    pub fn from_base_name(base: &str) -> Result<StorePath, Error> {
        if base.len() < HASH_PART_LEN + 2 {
            // Nix reports a short base name as too short, also when it ends in the hash.
            return Err(Error::TooShort(base.to_owned()));
        }
        // A character straddling the end of the hash part (found by fuzzing) is not a nix32
        // character either.
        let Some((hash, rest)) = base.split_at_checked(HASH_PART_LEN) else {
            let c = base.chars().find(|&c| !is_nix32_char(c)).unwrap_or('?');
            return Err(Error::BadHashChar {
                path: base.to_owned(),
                c,
            });
        };
        if let Some(c) = hash.chars().find(|&c| !is_nix32_char(c)) {
            return Err(Error::BadHashChar {
                path: base.to_owned(),
                c,
            });
        }
        let name = rest
            .strip_prefix('-')
            .ok_or_else(|| Error::NoDash(base.to_owned()))?;
        check_name(name)?;
        Ok(StorePath {
            base: base.to_owned(),
        })
    }

    /// Makes a store path from a 20-byte hash and a name.
    pub fn from_hash(hash: &[u8; 20], name: &str) -> Result<StorePath, Error> {
        check_name(name)?;
        Ok(StorePath {
            base: format!("{}-{name}", encode_nix32(hash)),
        })
    }

    /// Returns the base name `<hash part>-<name>`.
    pub fn base_name(&self) -> &str {
        &self.base
    }

    /// Returns the 32-character nix32 hash part.
    pub fn hash_part(&self) -> &str {
        &self.base[..HASH_PART_LEN]
    }

    /// Returns the 20 hash bytes.
    pub fn hash_bytes(&self) -> [u8; 20] {
        let mut out = [0u8; 20];
        if let Some(v) = decode_nix32(self.hash_part(), 20) {
            out.copy_from_slice(&v);
        }
        out
    }

    /// Returns the name.
    pub fn name(&self) -> &str {
        &self.base[HASH_PART_LEN + 1..]
    }
}

impl fmt::Display for StorePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.base)
    }
}

impl fmt::Debug for StorePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "StorePath({})", self.base)
    }
}

fn is_nix32_char(c: char) -> bool {
    c.is_ascii_digit() || (c.is_ascii_lowercase() && !"eotu".contains(c))
}

/// A logical store directory such as `/nix/store`, which takes part in every store path hash.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct StoreDir(String);

impl Default for StoreDir {
    fn default() -> Self {
        StoreDir("/nix/store".to_owned())
    }
}

impl fmt::Display for StoreDir {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What a store path's references are, for the `text` and `source` path types.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct References<'a> {
    /// Other store paths referred to.
    pub others: Vec<&'a StorePath>,
    /// Whether the path refers to itself.
    pub self_ref: bool,
}

impl StoreDir {
    /// Makes a store directory from an absolute path, without trailing slashes.
    pub fn new(dir: &str) -> StoreDir {
        let trimmed = dir.trim_end_matches('/');
        StoreDir(if trimmed.is_empty() { "/" } else { trimmed }.to_owned())
    }

    /// Returns the directory as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Returns the full printed path of `path`.
    pub fn print(&self, path: &StorePath) -> String {
        format!("{}/{}", self.0, path.base_name())
    }

    /// Parses a full store path `<dir>/<base name>` (no trailing components).
    pub fn parse(&self, full: &str) -> Result<StorePath, Error> {
        let not_in_store = || Error::NotInStore {
            path: full.to_owned(),
            store_dir: self.0.clone(),
        };
        let base = full
            .strip_prefix(&self.0)
            .and_then(|r| r.strip_prefix('/'))
            .ok_or_else(not_in_store)?;
        if base.contains('/') {
            return Err(not_in_store());
        }
        StorePath::from_base_name(base)
    }

    /// Computes a store path from its fingerprint parts (Nix's `makeStorePath`):
    /// `nix32(compress20(sha256("<ty>:sha256:<hex>:<dir>:<name>")))-<name>`.
    pub fn make_path(&self, ty: &str, inner: &Hash, name: &str) -> Result<StorePath, Error> {
        check_name(name)?;
        let fingerprint = format!("{ty}:{}:{}:{name}", inner.to_prefixed_base16(), self.0);
        let digest = Hash::digest(Algo::Sha256, fingerprint.as_bytes());
        let mut hash = [0u8; 20];
        hash.copy_from_slice(&digest.compress(20));
        StorePath::from_hash(&hash, name)
    }

    fn type_with_refs(&self, ty: &str, refs: &References<'_>) -> String {
        let mut sorted: Vec<&StorePath> = refs.others.clone();
        sorted.sort();
        let mut out = ty.to_owned();
        for r in sorted {
            out.push(':');
            out.push_str(&self.print(r));
        }
        if refs.self_ref {
            out.push_str(":self");
        }
        out
    }

    /// Returns the path of a NAR-serialised (recursive) object with sha256 `nar_hash`, as
    /// every flake source is added.
    pub fn make_source_path(
        &self,
        nar_hash: &Hash,
        name: &str,
        refs: &References<'_>,
    ) -> Result<StorePath, Error> {
        self.make_path(&self.type_with_refs("source", refs), nar_hash, name)
    }

    /// Returns the path of a text object (a file whose bytes hash to `text_hash`).
    pub fn make_text_path(
        &self,
        text_hash: &Hash,
        name: &str,
        refs: &[&StorePath],
    ) -> Result<StorePath, Error> {
        let refs = References {
            others: refs.to_vec(),
            self_ref: false,
        };
        self.make_path(&self.type_with_refs("text", &refs), text_hash, name)
    }

    /// Returns the path of a fixed-output object: `recursive` means the hash is of the NAR,
    /// otherwise of the flat file. Recursive sha256 is a source path.
    pub fn make_fixed_output_path(
        &self,
        recursive: bool,
        hash: &Hash,
        name: &str,
        refs: &References<'_>,
    ) -> Result<StorePath, Error> {
        if recursive && hash.algo() == Algo::Sha256 {
            return self.make_source_path(hash, name, refs);
        }
        let method = if recursive { "r:" } else { "" };
        let inner = format!("fixed:out:{method}{}:", hash.to_prefixed_base16());
        let inner = Hash::digest(Algo::Sha256, inner.as_bytes());
        self.make_path("output:out", &inner, name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sha256_hex(hex: &str) -> Hash {
        Hash::parse_bare(hex, Algo::Sha256).unwrap()
    }

    const T1: &str = "0eb322003c9167ee655500a0faf3313f7576e9da2157728e3ee66668866df0e8";

    #[test]
    fn source_paths() {
        let dir = StoreDir::default();
        let none = References::default();
        let p = dir
            .make_source_path(&sha256_hex(T1), "source", &none)
            .unwrap();
        assert_eq!(
            dir.print(&p),
            "/nix/store/k30i9rm3dc3almwwl0l6hjpnpx0wjhxz-source"
        );
        let p = dir.make_source_path(&sha256_hex(T1), "t1", &none).unwrap();
        assert_eq!(
            dir.print(&p),
            "/nix/store/lkf2mcqi4sh2dgjbkb9w4rs0z19j3z21-t1"
        );
        let dep1 = sha256_hex("8fab565f7196b12258dddc42fa4abf24bb9794c7a66cd1af1de63d0fbb775b5a");
        let p = dir.make_source_path(&dep1, "source", &none).unwrap();
        assert_eq!(p.base_name(), "v8hpgclcsbgm592ngsplbysna5ly96mn-source");
        let gnu = StoreDir::new("/gnu/store/");
        let p = gnu.make_source_path(&dep1, "source", &none).unwrap();
        assert_eq!(
            gnu.print(&p),
            "/gnu/store/5xry2bmjcrlyg8xba7qfyz45111bwykr-source"
        );
    }

    #[test]
    fn fixed_and_text_paths() {
        let dir = StoreDir::default();
        let none = References::default();
        let flat = Hash::digest(Algo::Sha256, b"hello\n");
        let p = dir
            .make_fixed_output_path(false, &flat, "hello.txt", &none)
            .unwrap();
        assert_eq!(p.base_name(), "gy454w1cxaq731grqwylhzf4pp9r5izh-hello.txt");
        let flat1 = Hash::digest(Algo::Sha1, b"hello\n");
        let p = dir
            .make_fixed_output_path(false, &flat1, "hello.txt", &none)
            .unwrap();
        assert_eq!(p.base_name(), "svdva85yi507g9vncgsaxvnd1r808h4w-hello.txt");
        let t1_sha1 =
            Hash::parse_bare("59c91082cb84838ae20c31a5423507e644c9e21e", Algo::Sha1).unwrap();
        let p = dir
            .make_fixed_output_path(true, &t1_sha1, "t1", &none)
            .unwrap();
        assert_eq!(p.base_name(), "k0zlwh0qm1n7nw1qbzsz33gzgkgdd0ms-t1");
        let p = dir
            .make_text_path(&Hash::digest(Algo::Sha256, b"bar"), "foo.txt", &[])
            .unwrap();
        assert_eq!(p.base_name(), "71bjzxqgii13agm1np9jl9aqxim5pp51-foo.txt");
        let a = dir
            .make_text_path(&Hash::digest(Algo::Sha256, b"x"), "a", &[])
            .unwrap();
        assert_eq!(a.base_name(), "12wigjpizrn8axaqxj288q1b751qmwya-a");
        let b_text = format!("ref {}", dir.print(&a));
        let b = dir
            .make_text_path(&Hash::digest(Algo::Sha256, b_text.as_bytes()), "b", &[&a])
            .unwrap();
        assert_eq!(b.base_name(), "kbnsdqvza4r1hzcr5vs2bhx8kv150g37-b");
    }

    #[test]
    fn parse_and_names() {
        let dir = StoreDir::default();
        let full = "/nix/store/k30i9rm3dc3almwwl0l6hjpnpx0wjhxz-source";
        let p = dir.parse(full).unwrap();
        assert_eq!(p.hash_part(), "k30i9rm3dc3almwwl0l6hjpnpx0wjhxz");
        assert_eq!(p.name(), "source");
        assert_eq!(StorePath::from_hash(&p.hash_bytes(), "source").unwrap(), p);
        let bad = [
            (
                "/nix/store/abc",
                "'abc' is too short to be a valid store path",
            ),
            (
                "/nix/store/k30i9rm3dc3almwwl0l6hjpnpx0wjhxzXsource",
                "'k30i9rm3dc3almwwl0l6hjpnpx0wjhxzXsource' can't name a store path because the hash part is not followed by a '-'",
            ),
            (
                "/nix/store/e30i9rm3dc3almwwl0l6hjpnpx0wjhxz-source",
                "store path 'e30i9rm3dc3almwwl0l6hjpnpx0wjhxz-source' contains illegal base-32 character 'e'",
            ),
            (
                "/nix/store/k30i9rm3dc3almwwl0l6hjpnpx0wjhxz-a b",
                "name 'a b' contains illegal character ' '",
            ),
            (
                "/nix/store/k30i9rm3dc3almwwl0l6hjpnpx0wjhxz-..-x",
                "name '..-x' is not valid",
            ),
            (
                "/nix/store/k30i9rm3dc3almwwl0l6hjpnpx0wjhxz-.",
                "name '.' is not valid",
            ),
            (
                "/tmp/x",
                "path '/tmp/x' is not in the Nix store '/nix/store'",
            ),
        ];
        for (input, msg) in bad {
            assert_eq!(dir.parse(input).unwrap_err().to_string(), msg, "{input}");
        }
        for ok in [".foo", "..foo", "a-.", "x?=+_"] {
            check_name(ok).unwrap();
        }
        assert!(check_name(&"a".repeat(211)).is_ok());
        assert!(check_name(&"a".repeat(212)).is_err());
    }
}
