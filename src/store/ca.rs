//! Content addresses (`ca` strings): `fixed:r:sha256:<nix32>`, `fixed:<algo>:<nix32>`,
//! `text:sha256:<nix32>`.
//!
//! Mirrors the Nix source's `src/libstore/content-address.cc`. A path carrying one can be
//! recomputed from it, its name and its references, so Nix trusts it without signatures.
//! Formats only: no I/O.
//!
//! # Deviations
//!
//! Git hashing (`fixed:git:`) is not parsed from `ca` strings: rflake never creates such
//! paths. [`Method::Git`] exists for fixed-output derivations (`outputHashMode = "git"`), whose
//! output paths it computes.

use std::fmt;

use super::path::{Error as PathError, References, StoreDir, StorePath};
use crate::hash::{Algo, Hash};

/// How an object's bytes were hashed for its content address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    /// The NAR serialisation (`r:`).
    Recursive,
    /// The flat file bytes.
    Flat,
    /// A text file (`text:`), which may have references.
    Text,
    /// The git object hash of the file or tree (`git:`, experimental feature `git-hashing`).
    Git,
}

impl Method {
    /// Returns Nix's name of the method, as in `outputHashMode` (`flat`, `nar`, `text`,
    /// `git`).
    pub fn name(self) -> &'static str {
        match self {
            Method::Flat => "flat",
            Method::Recursive => "nar",
            Method::Text => "text",
            Method::Git => "git",
        }
    }

    /// Returns the prefix of the method in a derivation output's hash algorithm field
    /// (Nix's `ContentAddressMethod::renderPrefix`): `""`, `r:`, `text:` or `git:`.
    pub fn prefix(self) -> &'static str {
        match self {
            Method::Flat => "",
            Method::Recursive => "r:",
            Method::Text => "text:",
            Method::Git => "git:",
        }
    }

    /// Splits a method prefix off a derivation output's hash algorithm field (Nix's
    /// `ContentAddressMethod::parsePrefix`): no known prefix means [`Method::Flat`].
    pub fn split_prefix(s: &str) -> (Method, &str) {
        for m in [Method::Recursive, Method::Git, Method::Text] {
            if let Some(rest) = s.strip_prefix(m.prefix()) {
                return (m, rest);
            }
        }
        (Method::Flat, s)
    }
}

/// A content address: method plus hash.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContentAddress {
    /// The method.
    pub method: Method,
    /// The hash.
    pub hash: Hash,
}

/// A `ca` string that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("content address '{0}' is invalid")]
pub struct ParseError(pub String);

impl ContentAddress {
    /// Returns the content address of a NAR with sha256 `nar_hash` (every flake source).
    pub fn source(nar_hash: &Hash) -> ContentAddress {
        ContentAddress {
            method: Method::Recursive,
            hash: nar_hash.clone(),
        }
    }

    /// Parses `fixed:[r:]<algo>:<hash>` or `text:sha256:<hash>`.
    pub fn parse(s: &str) -> Result<ContentAddress, ParseError> {
        let bad = || ParseError(s.to_owned());
        let (method, rest) = if let Some(r) = s.strip_prefix("text:") {
            (Method::Text, r)
        } else if let Some(r) = s.strip_prefix("fixed:r:") {
            (Method::Recursive, r)
        } else if let Some(r) = s.strip_prefix("fixed:") {
            (Method::Flat, r)
        } else {
            return Err(bad());
        };
        let hash = Hash::parse_prefixed(rest).ok().flatten().ok_or_else(bad)?;
        if method == Method::Text && hash.algo() != Algo::Sha256 {
            return Err(bad());
        }
        Ok(ContentAddress { method, hash })
    }

    /// Computes the store path this address gives `name` with `refs` in `dir`.
    pub fn store_path(
        &self,
        dir: &StoreDir,
        name: &str,
        refs: &References<'_>,
    ) -> Result<StorePath, PathError> {
        match self.method {
            Method::Text => dir.make_text_path(&self.hash, name, &refs.others),
            Method::Recursive => dir.make_fixed_output_path(true, &self.hash, name, refs),
            Method::Flat => dir.make_fixed_output_path(false, &self.hash, name, refs),
            Method::Git => {
                // Nix's `makeFixedOutputPath` for `FileIngestionMethod::Git`: never a source
                // path, whatever the algorithm.
                let inner = format!("fixed:out:git:{}:", self.hash.to_prefixed_base16());
                let inner = Hash::digest(Algo::Sha256, inner.as_bytes());
                dir.make_path("output:out", &inner, name)
            }
        }
    }
}

impl fmt::Display for ContentAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let prefix = match self.method {
            Method::Text => "text:",
            Method::Recursive => "fixed:r:",
            Method::Flat => "fixed:",
            Method::Git => "fixed:git:",
        };
        write!(f, "{prefix}{}", self.hash.to_prefixed_nix32())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_paths() {
        let cases = [
            "fixed:r:sha256:1s7hdn36hrp67s774mr1vblpcx9z67rzm800amjywrwi7h025cqf",
            "fixed:r:sha1:3vicji760wsl599i1ki8m0w4rf111jar",
            "fixed:sha256:00xyyr3fi8l6hb839bv3f7yb86yjv7xi1cgh1xnhipym4asvb4aq",
            "text:sha256:1fcgpy7vc4ammr7s17j2xq88scswkgz23dqzc04g8sx5vcp2pppw",
        ];
        for c in cases {
            assert_eq!(ContentAddress::parse(c).unwrap().to_string(), c);
        }
        let dir = StoreDir::default();
        let none = References::default();
        let t1 = ContentAddress::parse(cases[0]).unwrap();
        assert_eq!(
            t1.store_path(&dir, "source", &none).unwrap().base_name(),
            "k30i9rm3dc3almwwl0l6hjpnpx0wjhxz-source"
        );
        let text = ContentAddress::parse(cases[3]).unwrap();
        assert_eq!(
            text.store_path(&dir, "foo.txt", &none).unwrap().base_name(),
            "71bjzxqgii13agm1np9jl9aqxim5pp51-foo.txt"
        );
        for bad in [
            "",
            "fixed:",
            "text:sha1:3vicji760wsl599i1ki8m0w4rf111jar",
            "nar:sha256:x",
        ] {
            assert!(ContentAddress::parse(bad).is_err(), "{bad}");
        }
    }
}
