//! `.narinfo` files: what a binary cache knows about one store path (its [`PathInfo`]) plus
//! where the NAR file is and how it is compressed.
//!
//! Mirrors the Nix source's `src/libstore/nar-info.cc` (`NarInfo::NarInfo` and
//! `NarInfo::to_string`), spec A5.3. Formats only: no I/O.
//!
//! # Deviations
//!
//! - The optional `Provenance:` field of current Nix is ignored when read and never written.
//! - Hash fields are rendered as `sha256:<nix32>` whatever algorithm they were read with (Nix
//!   asserts sha256 when writing).

use std::collections::BTreeSet;

use super::ca::{self, ContentAddress};
use super::compression::Method;
use super::path::{self, StoreDir, StorePath};
use super::path_info::PathInfo;
use super::signature::{self, Signature};
use crate::hash::Hash;

/// A parsed `.narinfo` file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NarInfo {
    /// The path's metadata. `registration_time` is 0 and `ultimate` false.
    pub info: PathInfo,
    /// Where the NAR file is, relative to the cache (e.g. `nar/<nix32>.nar.xz`); it may also be
    /// an absolute URL or carry a query string.
    pub url: String,
    /// How the NAR file is compressed (`bzip2` when the field is missing or empty).
    pub compression: Method,
    /// sha256 of the NAR file as stored, if known.
    pub file_hash: Option<Hash>,
    /// Size of the NAR file as stored; 0 = unknown.
    pub file_size: u64,
}

/// Errors from parsing a `.narinfo`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// A malformed file: `NAR info file '<whence>' is corrupt: <reason>[ at line N]`.
    #[error(
        "NAR info file '{whence}' is corrupt: {reason}{}",
        line.map(|l| format!(" at line {l}")).unwrap_or_default()
    )]
    Corrupt {
        /// Which file (the name Nix reports: `<hash part>.narinfo`).
        whence: String,
        /// What is wrong.
        reason: &'static str,
        /// The 1-based line, when the problem is on one line.
        line: Option<usize>,
    },
    /// A bad store path in `StorePath`, `References` or `Deriver`.
    #[error(transparent)]
    StorePath(#[from] path::Error),
    /// A bad `Sig` line.
    #[error(transparent)]
    Signature(#[from] signature::Error),
    /// A bad `CA` line.
    #[error(transparent)]
    ContentAddress(#[from] ca::ParseError),
}

/// Parses a decimal `u64` as Nix's `string2Int` does (digits only).
fn parse_u64(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

#[derive(Default)]
struct Fields {
    path: Option<StorePath>,
    url: String,
    compression: Option<Method>,
    file_hash: Option<Hash>,
    file_size: u64,
    nar_hash: Option<Hash>,
    nar_size: u64,
    references: BTreeSet<StorePath>,
    deriver: Option<StorePath>,
    sigs: BTreeSet<String>,
    ca: Option<ContentAddress>,
}

impl NarInfo {
    /// Parses the text of a `.narinfo` file; `whence` names it in errors.
    ///
    /// Follows Nix's parser: each line is `Key: value` (the value starts two bytes after the
    /// first `:`), unknown keys are ignored, `Sig` may repeat, `References` and `CA` may not.
    pub fn parse(dir: &StoreDir, s: &str, whence: &str) -> Result<NarInfo, Error> {
        let mut f = Fields::default();
        let mut pos = 0;
        let mut line = 1;
        while pos < s.len() {
            let corrupt = |reason| Error::Corrupt {
                whence: whence.to_owned(),
                reason,
                line: Some(line),
            };
            let colon = s[pos..]
                .find(':')
                .map(|i| pos + i)
                .ok_or_else(|| corrupt("expecting ':'"))?;
            let name = &s[pos..colon];
            // Like Nix, look for the end of the line only after the assumed ": ".
            let eol = s
                .get(colon + 2..)
                .and_then(|rest| rest.find('\n'))
                .map(|i| colon + 2 + i)
                .ok_or_else(|| corrupt("expecting '\\n'"))?;
            let value = &s[colon + 2..eol];
            f.set(dir, name, value).map_err(|e| match e {
                FieldError::Corrupt(reason) => corrupt(reason),
                FieldError::Other(e) => e,
            })?;
            pos = eol + 1;
            line += 1;
        }
        f.finish(whence)
    }

    /// Renders the file as Nix writes it: fixed field order, `References: ` even when empty,
    /// signatures sorted, a final newline.
    pub fn render(&self, dir: &StoreDir) -> String {
        let i = &self.info;
        let mut out = format!("StorePath: {}\n", dir.print(&i.path));
        out += &format!("URL: {}\n", self.url);
        out += &format!("Compression: {}\n", self.compression);
        if let Some(h) = &self.file_hash {
            out += &format!("FileHash: {}\n", h.to_prefixed_nix32());
        }
        if self.file_size != 0 {
            out += &format!("FileSize: {}\n", self.file_size);
        }
        out += &format!("NarHash: {}\n", i.nar_hash.to_prefixed_nix32());
        out += &format!("NarSize: {}\n", i.nar_size);
        let refs: Vec<&str> = i.references.iter().map(StorePath::base_name).collect();
        out += &format!("References: {}\n", refs.join(" "));
        if let Some(d) = &i.deriver {
            out += &format!("Deriver: {d}\n");
        }
        for sig in &i.sigs {
            out += &format!("Sig: {sig}\n");
        }
        if let Some(ca) = &i.ca {
            out += &format!("CA: {ca}\n");
        }
        out
    }
}

enum FieldError {
    Corrupt(&'static str),
    Other(Error),
}

impl<E: Into<Error>> From<E> for FieldError {
    fn from(e: E) -> Self {
        FieldError::Other(e.into())
    }
}

impl Fields {
    fn set(&mut self, dir: &StoreDir, name: &str, value: &str) -> Result<(), FieldError> {
        use FieldError::Corrupt;
        let hash = |v: &str| match Hash::parse_prefixed(v) {
            Ok(Some(h)) => Ok(h),
            _ => Err(Corrupt("bad hash")),
        };
        match name {
            "StorePath" => self.path = Some(dir.parse(value)?),
            "URL" => self.url = value.to_owned(),
            "Compression" => {
                self.compression = Some(if value.is_empty() {
                    Method::Bzip2
                } else {
                    value.parse().map_err(|_| Corrupt("invalid Compression"))?
                })
            }
            "FileHash" => self.file_hash = Some(hash(value)?),
            "FileSize" => self.file_size = parse_u64(value).ok_or(Corrupt("invalid FileSize"))?,
            "NarHash" => self.nar_hash = Some(hash(value)?),
            "NarSize" => self.nar_size = parse_u64(value).ok_or(Corrupt("invalid NarSize"))?,
            "References" => {
                if !self.references.is_empty() {
                    return Err(Corrupt("extra References"));
                }
                for r in value.split(' ').filter(|r| !r.is_empty()) {
                    self.references.insert(StorePath::from_base_name(r)?);
                }
            }
            "Deriver" if value != "unknown-deriver" => {
                self.deriver = Some(StorePath::from_base_name(value)?)
            }
            "Sig" => {
                Signature::parse(value)?;
                self.sigs.insert(value.to_owned());
            }
            "CA" => {
                if self.ca.is_some() {
                    return Err(Corrupt("extra CA"));
                }
                if !value.is_empty() {
                    self.ca = Some(ContentAddress::parse(value)?);
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn finish(self, whence: &str) -> Result<NarInfo, Error> {
        let missing = |reason| Error::Corrupt {
            whence: whence.to_owned(),
            reason,
            line: None,
        };
        let path = self.path.ok_or_else(|| missing("StorePath missing"))?;
        let nar_hash = self.nar_hash.ok_or_else(|| missing("NarHash missing"))?;
        if self.url.is_empty() {
            return Err(missing("URL missing"));
        }
        if self.nar_size == 0 {
            return Err(missing("NarSize missing or zero"));
        }
        Ok(NarInfo {
            info: PathInfo {
                path,
                nar_hash,
                nar_size: self.nar_size,
                references: self.references,
                deriver: self.deriver,
                registration_time: 0,
                ultimate: false,
                sigs: self.sigs,
                ca: self.ca,
            },
            url: self.url,
            compression: self.compression.unwrap_or(Method::Bzip2),
            file_hash: self.file_hash,
            file_size: self.file_size,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Spec A5.5: written by `nix flake archive --to 'file://…?compression=none&secret-key=…'`.
    const A55: &str = "StorePath: /nix/store/v8hpgclcsbgm592ngsplbysna5ly96mn-source
URL: nar/0njvfyxhygg63npx2v56qya9gfr4px5glhnwvmc25ccnf5gmdawg.nar
Compression: none
FileHash: sha256:0njvfyxhygg63npx2v56qya9gfr4px5glhnwvmc25ccnf5gmdawg
FileSize: 352
NarHash: sha256:0njvfyxhygg63npx2v56qya9gfr4px5glhnwvmc25ccnf5gmdawg
NarSize: 352
References: 
Sig: demo-1:pKhyCDE/TmMr9fNefYFXDRGPtz52PCj4yW97530h/jqBhOcrm6jyW1MJ9Xv3V30RhkbaIYa/VRn0IA9n+y9+AQ==
CA: fixed:r:sha256:0njvfyxhygg63npx2v56qya9gfr4px5glhnwvmc25ccnf5gmdawg
";

    fn parse(s: &str) -> Result<NarInfo, Error> {
        NarInfo::parse(&StoreDir::default(), s, "x.narinfo")
    }

    #[test]
    fn spec_a55_round_trip_byte_for_byte() {
        let dir = StoreDir::default();
        let ni = parse(A55).unwrap();
        assert_eq!(ni.render(&dir), A55);
        assert_eq!(ni.compression, Method::None);
        assert_eq!(ni.file_size, 352);
        assert_eq!(ni.info.nar_size, 352);
        assert!(ni.info.is_content_addressed(&dir));

        // The same info built from scratch renders the same bytes.
        let h = ni.info.nar_hash.clone();
        let mut info = PathInfo::source(ni.info.path.clone(), h.clone(), 352);
        let key = crate::store::signature::SecretKey::from_seed(
            "demo-1",
            &std::array::from_fn(|i| i as u8),
        );
        crate::store::signature::sign_path_info(&mut info, &dir, &key);
        let built = NarInfo {
            info,
            url: format!("nar/{}.nar", h.to_nix32()),
            compression: Method::None,
            file_hash: Some(h),
            file_size: 352,
        };
        assert_eq!(built.render(&dir), A55);
    }

    #[test]
    fn optional_fields_and_references() {
        let dir = StoreDir::default();
        let text = "StorePath: /nix/store/kbnsdqvza4r1hzcr5vs2bhx8kv150g37-b
URL: nar/x.nar.xz
Compression: xz
NarHash: sha256:0c3fak9f31nrizxsrk1wkyc9agsl3nyxqgkzn55vqanhlp1br49b
NarSize: 168
References: 12wigjpizrn8axaqxj288q1b751qmwya-a kbnsdqvza4r1hzcr5vs2bhx8kv150g37-b
Deriver: 5xry2bmjcrlyg8xba7qfyz45111bwykr-b.drv
Sig: b-1:AAAA
Sig: a-1:AAAA
";
        let ni = parse(text).unwrap();
        assert_eq!(ni.info.references.len(), 2);
        assert_eq!(ni.file_hash, None);
        let sorted = text.replace(
            "Sig: b-1:AAAA\nSig: a-1:AAAA\n",
            "Sig: a-1:AAAA\nSig: b-1:AAAA\n",
        );
        assert_eq!(ni.render(&dir), sorted);
        assert_eq!(
            ni.info.fingerprint(&dir),
            "1;/nix/store/kbnsdqvza4r1hzcr5vs2bhx8kv150g37-b;sha256:0c3fak9f31nrizxsrk1wkyc9agsl3nyxqgkzn55vqanhlp1br49b;168;/nix/store/12wigjpizrn8axaqxj288q1b751qmwya-a,/nix/store/kbnsdqvza4r1hzcr5vs2bhx8kv150g37-b"
        );
    }

    #[test]
    fn lenient_inputs() {
        let base = "StorePath: /nix/store/v8hpgclcsbgm592ngsplbysna5ly96mn-source\nURL: u\nNarHash: sha256-DrMiADyRZ+5lVQCg+vMxP3V26dohV3KOPuZmaIZt8Og=\nNarSize: 1\n";
        let cases = [
            ("no Compression means bzip2", "", Method::Bzip2),
            (
                "empty Compression means bzip2",
                "Compression: \n",
                Method::Bzip2,
            ),
            (
                "unknown keys are ignored",
                "Foo: bar\nCompression: zstd\n",
                Method::Zstd,
            ),
            (
                "unknown deriver",
                "Deriver: unknown-deriver\nCompression: xz\n",
                Method::Xz,
            ),
            ("empty CA", "CA: \nCompression: gzip\n", Method::Gzip),
        ];
        for (name, extra, method) in cases {
            let ni = parse(&format!("{base}{extra}")).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(ni.compression, method, "{name}");
            assert_eq!(ni.info.deriver, None, "{name}");
            assert_eq!(ni.info.ca, None, "{name}");
        }
    }

    #[test]
    fn rejections() {
        let p = "StorePath: /nix/store/v8hpgclcsbgm592ngsplbysna5ly96mn-source\n";
        let h = "NarHash: sha256:0njvfyxhygg63npx2v56qya9gfr4px5glhnwvmc25ccnf5gmdawg\n";
        let ok = format!("{p}URL: u\n{h}NarSize: 1\n");
        let pre = "NAR info file 'x.narinfo' is corrupt: ";
        let cases = [
            ("no colon".to_owned(), format!("{pre}expecting ':' at line 1")),
            (format!("{ok}Foo: bar"), format!("{pre}expecting '\\n' at line 5")),
            (format!("{ok}Foo:"), format!("{pre}expecting '\\n' at line 5")),
            (format!("{ok}NarSize: x\n"), format!("{pre}invalid NarSize at line 5")),
            (format!("{ok}NarSize: +1\n"), format!("{pre}invalid NarSize at line 5")),
            (format!("{ok}FileSize: -1\n"), format!("{pre}invalid FileSize at line 5")),
            (format!("{ok}FileHash: abc\n"), format!("{pre}bad hash at line 5")),
            (format!("NarHash: sha256:zz\n{ok}"), format!("{pre}bad hash at line 1")),
            (format!("{ok}Compression: XZ\n"), format!("{pre}invalid Compression at line 5")),
            (
                format!("{ok}References: \nReferences: 12wigjpizrn8axaqxj288q1b751qmwya-a\nReferences: 12wigjpizrn8axaqxj288q1b751qmwya-a\n"),
                format!("{pre}extra References at line 7"),
            ),
            (
                format!("{ok}CA: text:sha256:1fcgpy7vc4ammr7s17j2xq88scswkgz23dqzc04g8sx5vcp2pppw\nCA: x\n"),
                format!("{pre}extra CA at line 6"),
            ),
            (format!("URL: u\n{h}NarSize: 1\n"), format!("{pre}StorePath missing")),
            (format!("{p}URL: u\nNarSize: 1\n"), format!("{pre}NarHash missing")),
            (format!("{p}{h}NarSize: 1\n"), format!("{pre}URL missing")),
            (format!("{p}URL: u\n{h}"), format!("{pre}NarSize missing or zero")),
            (format!("{p}URL: u\n{h}NarSize: 0\n"), format!("{pre}NarSize missing or zero")),
            (
                "StorePath: /gnu/store/v8hpgclcsbgm592ngsplbysna5ly96mn-source\n".to_owned(),
                "path '/gnu/store/v8hpgclcsbgm592ngsplbysna5ly96mn-source' is not in the Nix store '/nix/store'".to_owned(),
            ),
            (format!("{ok}References: bad\n"), "'bad' is too short to be a valid store path".to_owned()),
            (format!("{ok}Sig: nokey\n"), "signature is corrupt".to_owned()),
            (format!("{ok}CA: nope\n"), "content address 'nope' is invalid".to_owned()),
        ];
        for (input, want) in cases {
            let e = parse(&input).unwrap_err();
            assert_eq!(e.to_string(), want, "{input:?}");
        }
    }
}
