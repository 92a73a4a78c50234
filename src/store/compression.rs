//! Compression of NARs in binary caches: the `compression=` store parameter and the
//! `Compression:` field of `.narinfo` files.
//!
//! Mirrors the Nix source's `src/libutil/compression.cc` and `compression-algo.cc`: the same
//! method names (`none`, `br`, `bzip2`, `compress`, `grzip`, `gzip`, `lrzip`, `lz4`, `lzip`,
//! `lzma`, `lzop`, `xz`, `zstd`) and the NAR file extensions of `binary-cache-store.cc`.
//! [`Encoder`] compresses and [`decoder`] decompresses, both streaming.
//!
//! # Deviations
//!
//! - Only `none`, `xz`, `zstd`, `bzip2` and `gzip` can be written or read. The other names
//!   parse (so a `.narinfo` naming them is not corrupt), but using them fails with
//!   `compression method '…' is not supported by rflake`. Nix links libarchive and brotli for
//!   them; rflake keeps to well-kept crates that build without system libraries.
//! - Compressed bytes differ from Nix's (other encoder builds and settings); both sides read
//!   each other's files. zstd output is one frame, not Nix's independent frames.
//! - `parallel-compression` is accepted and ignored: compression is single-threaded.

use std::fmt;
use std::io::{self, Read, Write};
use std::str::FromStr;

/// A compression method Nix knows by name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Method {
    /// No compression.
    None,
    /// Brotli (`br`).
    Brotli,
    /// bzip2.
    Bzip2,
    /// Unix `compress`.
    Compress,
    /// grzip.
    Grzip,
    /// gzip.
    Gzip,
    /// lrzip.
    Lrzip,
    /// LZ4.
    Lz4,
    /// lzip.
    Lzip,
    /// Raw LZMA (`lzma`).
    Lzma,
    /// lzop.
    Lzop,
    /// xz, the default of binary caches.
    Xz,
    /// Zstandard.
    Zstd,
}

/// Every method, with its Nix name.
const NAMES: [(Method, &str); 13] = [
    (Method::None, "none"),
    (Method::Brotli, "br"),
    (Method::Bzip2, "bzip2"),
    (Method::Compress, "compress"),
    (Method::Grzip, "grzip"),
    (Method::Gzip, "gzip"),
    (Method::Lrzip, "lrzip"),
    (Method::Lz4, "lz4"),
    (Method::Lzip, "lzip"),
    (Method::Lzma, "lzma"),
    (Method::Lzop, "lzop"),
    (Method::Xz, "xz"),
    (Method::Zstd, "zstd"),
];

/// Errors of this module, worded as Nix words them where it has a wording.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// A name that is not a compression method.
    #[error("unknown compression method '{0}'")]
    Unknown(String),
    /// A method Nix has but rflake cannot (de)compress.
    #[error("compression method '{0}' is not supported by rflake")]
    Unsupported(Method),
}

impl Method {
    /// Returns Nix's name of the method.
    pub fn name(self) -> &'static str {
        NAMES
            .iter()
            .find(|(m, _)| *m == self)
            .map_or("none", |(_, n)| n)
    }

    /// Returns the extension Nix gives NAR files compressed with this method (after `.nar`):
    /// `.xz`, `.bz2`, `.zst`, `.lzip`, `.lz4`, `.br`, or nothing (`none`, `gzip`, the rest).
    pub fn nar_extension(self) -> &'static str {
        match self {
            Method::Xz => ".xz",
            Method::Bzip2 => ".bz2",
            Method::Zstd => ".zst",
            Method::Lzip => ".lzip",
            Method::Lz4 => ".lz4",
            Method::Brotli => ".br",
            _ => "",
        }
    }

    /// Returns whether rflake can compress and decompress with this method.
    pub fn is_supported(self) -> bool {
        matches!(
            self,
            Method::None | Method::Xz | Method::Zstd | Method::Bzip2 | Method::Gzip
        )
    }
}

impl FromStr for Method {
    type Err = Error;

    /// Parses a Nix method name (exact, lower case).
    fn from_str(s: &str) -> Result<Method, Error> {
        NAMES
            .iter()
            .find(|(_, n)| *n == s)
            .map(|(m, _)| *m)
            .ok_or_else(|| Error::Unknown(s.to_owned()))
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A streaming compressor writing into `W`; call [`Encoder::finish`] to end the stream.
pub struct Encoder<W: Write>(Inner<W>);

enum Inner<W: Write> {
    None(W),
    Xz(liblzma::write::XzEncoder<W>),
    Zstd(zstd::stream::write::Encoder<'static, W>),
    Bzip2(bzip2::write::BzEncoder<W>),
    Gzip(flate2::write::GzEncoder<W>),
}

impl<W: Write> Encoder<W> {
    /// Starts compressing into `inner` with `method` at `level` (`None`: the method's default,
    /// as Nix's `compression-level=-1`). Levels are clamped to what the method accepts.
    pub fn new(method: Method, inner: W, level: Option<i32>) -> Result<Encoder<W>, Error> {
        let clamp = |lo: i32, hi: i32, default: i32| level.unwrap_or(default).clamp(lo, hi);
        let inner = match method {
            Method::None => Inner::None(inner),
            Method::Xz => Inner::Xz(liblzma::write::XzEncoder::new(
                inner,
                clamp(0, 9, 6).unsigned_abs(),
            )),
            Method::Zstd => {
                let enc = zstd::stream::write::Encoder::new(inner, clamp(1, 22, 3))
                    .map_err(|_| Error::Unsupported(method))?;
                Inner::Zstd(enc)
            }
            // libarchive, which Nix uses for bzip2 and gzip, defaults to level 9 and 6.
            Method::Bzip2 => Inner::Bzip2(bzip2::write::BzEncoder::new(
                inner,
                bzip2::Compression::new(clamp(1, 9, 9).unsigned_abs()),
            )),
            Method::Gzip => Inner::Gzip(flate2::write::GzEncoder::new(
                inner,
                flate2::Compression::new(clamp(0, 9, 6).unsigned_abs()),
            )),
            other => return Err(Error::Unsupported(other)),
        };
        Ok(Encoder(inner))
    }

    /// Ends the compressed stream and returns the inner writer (flushed).
    pub fn finish(self) -> io::Result<W> {
        let mut w = match self.0 {
            Inner::None(w) => w,
            Inner::Xz(e) => e.finish()?,
            Inner::Zstd(e) => e.finish()?,
            Inner::Bzip2(e) => e.finish()?,
            Inner::Gzip(e) => e.finish()?,
        };
        w.flush()?;
        Ok(w)
    }
}

impl<W: Write> Write for Encoder<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match &mut self.0 {
            Inner::None(w) => w.write(buf),
            Inner::Xz(e) => e.write(buf),
            Inner::Zstd(e) => e.write(buf),
            Inner::Bzip2(e) => e.write(buf),
            Inner::Gzip(e) => e.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match &mut self.0 {
            Inner::None(w) => w.flush(),
            Inner::Xz(e) => e.flush(),
            Inner::Zstd(e) => e.flush(),
            Inner::Bzip2(e) => e.flush(),
            Inner::Gzip(e) => e.flush(),
        }
    }
}

/// Returns a reader that decompresses `inner` with `method`. Concatenated streams (as
/// parallel compressors write them) are read as one.
pub fn decoder<'a, R: Read + 'a>(method: Method, inner: R) -> Result<Box<dyn Read + 'a>, Error> {
    Ok(match method {
        Method::None => Box::new(inner),
        Method::Xz => Box::new(liblzma::read::XzDecoder::new_multi_decoder(inner)),
        Method::Zstd => Box::new(
            zstd::stream::read::Decoder::new(inner).map_err(|_| Error::Unsupported(method))?,
        ),
        Method::Bzip2 => Box::new(bzip2::read::MultiBzDecoder::new(inner)),
        Method::Gzip => Box::new(flate2::read::MultiGzDecoder::new(inner)),
        other => return Err(Error::Unsupported(other)),
    })
}

/// Compresses `data` in memory (small files such as `.narinfo` with `narinfo-compression`).
pub fn compress(method: Method, data: &[u8], level: Option<i32>) -> Result<Vec<u8>, io::Error> {
    let mut enc = Encoder::new(method, Vec::new(), level).map_err(io::Error::other)?;
    enc.write_all(data)?;
    enc.finish()
}

/// Decompresses `data` in memory.
pub fn decompress(method: Method, data: &[u8]) -> Result<Vec<u8>, io::Error> {
    let mut out = Vec::new();
    decoder(method, data)
        .map_err(io::Error::other)?
        .read_to_end(&mut out)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SUPPORTED: [Method; 5] = [
        Method::None,
        Method::Xz,
        Method::Zstd,
        Method::Bzip2,
        Method::Gzip,
    ];

    #[test]
    fn names_round_trip_and_extensions() {
        for (m, name) in NAMES {
            assert_eq!(name.parse::<Method>().unwrap(), m);
            assert_eq!(m.to_string(), name);
        }
        let cases = [
            (Method::Xz, ".xz"),
            (Method::Bzip2, ".bz2"),
            (Method::Zstd, ".zst"),
            (Method::Lzip, ".lzip"),
            (Method::Lz4, ".lz4"),
            (Method::Brotli, ".br"),
            (Method::None, ""),
            (Method::Gzip, ""),
            (Method::Lzma, ""),
        ];
        for (m, ext) in cases {
            assert_eq!(m.nar_extension(), ext, "{m}");
        }
        let e = "XZ".parse::<Method>().unwrap_err();
        assert_eq!(e.to_string(), "unknown compression method 'XZ'");
    }

    #[test]
    fn round_trips_every_supported_method() {
        // Compressible and incompressible data, and the empty stream.
        let mut noise = Vec::with_capacity(100_000);
        let mut x: u32 = 1;
        for _ in 0..100_000 {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
            noise.push((x >> 16) as u8);
        }
        let inputs: [(&str, Vec<u8>); 3] = [
            ("empty", vec![]),
            ("text", b"hello\n".repeat(10_000)),
            ("noise", noise),
        ];
        for m in SUPPORTED {
            for (name, data) in &inputs {
                for level in [None, Some(1), Some(99)] {
                    let c = compress(m, data, level).unwrap();
                    let d = decompress(m, &c).unwrap_or_else(|e| panic!("{m} {name}: {e}"));
                    assert_eq!(&d, data, "{m} {name} {level:?}");
                }
            }
        }
    }

    #[test]
    fn concatenated_streams_are_one() {
        for m in [Method::Xz, Method::Zstd, Method::Bzip2, Method::Gzip] {
            let mut c = compress(m, b"first ", None).unwrap();
            c.extend(compress(m, b"second", None).unwrap());
            assert_eq!(decompress(m, &c).unwrap(), b"first second", "{m}");
        }
    }

    #[test]
    fn truncated_input_is_an_error() {
        let data = b"some data that compresses ".repeat(1000);
        for m in [Method::Xz, Method::Zstd, Method::Bzip2, Method::Gzip] {
            let c = compress(m, &data, None).unwrap();
            assert!(decompress(m, &c[..c.len() / 2]).is_err(), "{m}");
        }
    }

    #[test]
    fn unsupported_methods() {
        for m in [Method::Brotli, Method::Lz4, Method::Lzip, Method::Lzma] {
            assert!(!m.is_supported());
            let e = decoder(m, &b""[..]).err().unwrap();
            assert_eq!(
                e.to_string(),
                format!("compression method '{m}' is not supported by rflake")
            );
            assert!(Encoder::new(m, Vec::new(), None).is_err());
        }
    }
}
