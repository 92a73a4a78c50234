//! Hashes as Nix writes and reads them: the algorithms (`md5`, `sha1`, `sha256`, `sha512`) and
//! the encodings (base16, Nix's base-32 "nix32", base64, SRI `algo-base64`, `algo:digest`).
//!
//! Mirrors the Nix source's `src/libutil/hash.cc` (`Hash::parseAny`, `Hash::parseSRI`,
//! `Hash::parseNonSRIUnprefixed`, `printHash32`). Formats only: no I/O.
//!
//! # Deviations
//!
//! None known.

use std::fmt;

use base64::Engine as _;

/// A hash algorithm Nix knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Algo {
    /// MD5 (16 bytes).
    Md5,
    /// SHA-1 (20 bytes), git's object ids.
    Sha1,
    /// SHA-256 (32 bytes), NAR hashes.
    Sha256,
    /// SHA-512 (64 bytes).
    Sha512,
}

impl Algo {
    /// Returns the digest size in bytes.
    pub fn size(self) -> usize {
        match self {
            Algo::Md5 => 16,
            Algo::Sha1 => 20,
            Algo::Sha256 => 32,
            Algo::Sha512 => 64,
        }
    }

    /// Returns Nix's name of the algorithm.
    pub fn name(self) -> &'static str {
        match self {
            Algo::Md5 => "md5",
            Algo::Sha1 => "sha1",
            Algo::Sha256 => "sha256",
            Algo::Sha512 => "sha512",
        }
    }

    /// Parses Nix's name of an algorithm.
    pub fn from_name(name: &str) -> Option<Algo> {
        match name {
            "md5" => Some(Algo::Md5),
            "sha1" => Some(Algo::Sha1),
            "sha256" => Some(Algo::Sha256),
            "sha512" => Some(Algo::Sha512),
            _ => None,
        }
    }
}

impl fmt::Display for Algo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Errors from parsing a hash, worded as Nix words them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The digest has a length that fits no encoding of the algorithm.
    #[error("hash '{hash}' has wrong length for hash algorithm '{algo}'")]
    WrongLength {
        /// The text that was parsed.
        hash: String,
        /// The algorithm it was parsed for.
        algo: Algo,
    },
    /// The algorithm prefix names no known algorithm.
    #[error("unknown hash algorithm '{0}', expect 'blake3', 'md5', 'sha1', 'sha256', or 'sha512'")]
    UnknownAlgo(String),
    /// A character outside the encoding's alphabet, or a nix32 overflow.
    #[error("invalid base-{base} hash '{hash}'")]
    BadDigit {
        /// The base of the encoding (16, 32 or 64).
        base: u32,
        /// The text that was parsed.
        hash: String,
    },
    /// An SRI hash whose digest does not decode to the algorithm's size.
    #[error("invalid SRI hash '{0}'")]
    BadSri(String),
    /// A hash without any algorithm where one is needed.
    #[error("hash '{0}' does not include a type")]
    NoAlgo(String),
}

/// A digest together with its algorithm.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Hash {
    algo: Algo,
    bytes: Vec<u8>,
}

impl fmt::Debug for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Hash({})", self.to_sri())
    }
}

/// Nix's base-32 alphabet: digits and lower-case letters without `e`, `o`, `t`, `u`.
const NIX32_ALPHABET: &[u8; 32] = b"0123456789abcdfghijklmnpqrsvwxyz";

impl Hash {
    /// Makes a hash from raw digest bytes; `None` if the length is not the algorithm's size.
    pub fn from_bytes(algo: Algo, bytes: &[u8]) -> Option<Hash> {
        (bytes.len() == algo.size()).then(|| Hash {
            algo,
            bytes: bytes.to_vec(),
        })
    }

    /// Returns the all-zero hash of `algo` (Nix's placeholder for an empty `narHash`).
    pub fn zero(algo: Algo) -> Hash {
        Hash {
            algo,
            bytes: vec![0; algo.size()],
        }
    }

    /// Returns the algorithm.
    pub fn algo(&self) -> Algo {
        self.algo
    }

    /// Returns the digest bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Parses `algo:digest`, `algo-base64` (SRI) or, when `default` is given, a bare digest
    /// (Nix's `Hash::parseAny`).
    pub fn parse_any(s: &str, default: Option<Algo>) -> Result<Hash, Error> {
        if let Some(h) = Self::parse_prefixed(s)? {
            return Ok(h);
        }
        match default {
            Some(algo) => Self::parse_bare(s, algo),
            None => Err(Error::NoAlgo(s.to_owned())),
        }
    }

    /// Parses `algo:digest` or `algo-base64`; `Ok(None)` when `s` has neither prefix form.
    pub fn parse_prefixed(s: &str) -> Result<Option<Hash>, Error> {
        if let Some((name, rest)) = s.split_once(':') {
            let algo = Algo::from_name(name).ok_or_else(|| Error::UnknownAlgo(name.to_owned()))?;
            return Self::parse_bare(rest, algo).map(Some);
        }
        if let Some((name, rest)) = s.split_once('-')
            && let Some(algo) = Algo::from_name(name)
        {
            return Self::parse_sri_digest(s, rest, algo).map(Some);
        }
        Ok(None)
    }

    /// Parses an SRI hash `algo-base64`.
    pub fn parse_sri(s: &str) -> Result<Hash, Error> {
        let (name, rest) = s
            .split_once('-')
            .ok_or_else(|| Error::BadSri(s.to_owned()))?;
        let algo = Algo::from_name(name).ok_or_else(|| Error::UnknownAlgo(name.to_owned()))?;
        Self::parse_sri_digest(s, rest, algo)
    }

    fn parse_sri_digest(whole: &str, digest: &str, algo: Algo) -> Result<Hash, Error> {
        // Like Nix's base64 decoder, decoding stops at the first '='.
        let digest = digest.split('=').next().unwrap_or_default();
        let bytes = base64::engine::general_purpose::STANDARD_NO_PAD
            .decode(digest)
            .or_else(|_| lenient_base64().decode(digest))
            .map_err(|_| Error::BadSri(whole.to_owned()))?;
        Hash::from_bytes(algo, &bytes).ok_or_else(|| Error::BadSri(whole.to_owned()))
    }

    /// Parses a digest without prefix, telling the encoding from its length
    /// (Nix's `parseNonSRIUnprefixed`).
    pub fn parse_bare(s: &str, algo: Algo) -> Result<Hash, Error> {
        let size = algo.size();
        let bad = |base| Error::BadDigit {
            base,
            hash: s.to_owned(),
        };
        if s.len() == size * 2 {
            let bytes = decode_base16(s).ok_or_else(|| bad(16))?;
            Ok(Hash { algo, bytes })
        } else if s.len() == nix32_len(size) {
            let bytes = decode_nix32(s, size).ok_or_else(|| bad(32))?;
            Ok(Hash { algo, bytes })
        } else if s.len() == size.div_ceil(3) * 4 {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(s)
                .or_else(|_| lenient_base64().decode(s))
                .map_err(|_| bad(64))?;
            Hash::from_bytes(algo, &bytes).ok_or_else(|| bad(64))
        } else {
            Err(Error::WrongLength {
                hash: s.to_owned(),
                algo,
            })
        }
    }

    /// Returns the digest in lower-case hex.
    pub fn to_base16(&self) -> String {
        let mut s = String::with_capacity(self.bytes.len() * 2);
        for b in &self.bytes {
            s.push(char::from(HEX[usize::from(b >> 4)]));
            s.push(char::from(HEX[usize::from(b & 0xf)]));
        }
        s
    }

    /// Returns the digest in Nix's base-32.
    pub fn to_nix32(&self) -> String {
        encode_nix32(&self.bytes)
    }

    /// Returns the digest in padded base64.
    pub fn to_base64(&self) -> String {
        base64::engine::general_purpose::STANDARD.encode(&self.bytes)
    }

    /// Returns the SRI form `algo-base64`.
    pub fn to_sri(&self) -> String {
        format!("{}-{}", self.algo, self.to_base64())
    }

    /// Returns `algo:nix32`, the form of `.narinfo` files and content addresses.
    pub fn to_prefixed_nix32(&self) -> String {
        format!("{}:{}", self.algo, self.to_nix32())
    }

    /// Returns `algo:base16`, the form of the local store database's `hash` column.
    pub fn to_prefixed_base16(&self) -> String {
        format!("{}:{}", self.algo, self.to_base16())
    }

    /// Returns the digest XOR-folded to `size` bytes (Nix's `compressHash`): byte `i` of the
    /// digest is XORed into byte `i % size` of a zero buffer.
    pub fn compress(&self, size: usize) -> Vec<u8> {
        let mut out = vec![0u8; size];
        for (i, b) in self.bytes.iter().enumerate() {
            out[i % size] ^= b;
        }
        out
    }

    /// Returns the hash of `data` with `algo`.
    pub fn digest(algo: Algo, data: &[u8]) -> Hash {
        let mut h = Hasher::new(algo);
        h.update(data);
        h.finish()
    }
}

/// An incremental hash of any [`Algo`]; also a [`std::io::Write`] sink that hashes what is
/// written to it and counts the bytes.
#[derive(Clone)]
pub struct Hasher {
    state: State,
    len: u64,
}

#[derive(Clone)]
enum State {
    Md5(md5::Md5),
    Sha1(sha1::Sha1),
    // ring's SHA-256 is OpenSSL's assembly: with SHA-NI about 1.5x the speed of sha2's, and
    // NAR hashing is bound by it.
    Sha256(ring::digest::Context),
    Sha512(sha2::Sha512),
}

impl Hasher {
    /// Starts a hash of `algo`.
    pub fn new(algo: Algo) -> Hasher {
        use sha2::Digest as _;
        let state = match algo {
            Algo::Md5 => State::Md5(md5::Md5::new()),
            Algo::Sha1 => State::Sha1(sha1::Sha1::new()),
            Algo::Sha256 => State::Sha256(ring::digest::Context::new(&ring::digest::SHA256)),
            Algo::Sha512 => State::Sha512(sha2::Sha512::new()),
        };
        Hasher { state, len: 0 }
    }

    /// Feeds bytes into the hash.
    pub fn update(&mut self, data: &[u8]) {
        use sha2::Digest as _;
        self.len += data.len() as u64;
        match &mut self.state {
            State::Md5(h) => h.update(data),
            State::Sha1(h) => h.update(data),
            State::Sha256(h) => h.update(data),
            State::Sha512(h) => h.update(data),
        }
    }

    /// Returns how many bytes were hashed so far.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Returns whether nothing was hashed yet.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Returns the final hash.
    pub fn finish(self) -> Hash {
        use sha2::Digest as _;
        let (algo, bytes) = match self.state {
            State::Md5(h) => (Algo::Md5, h.finalize().to_vec()),
            State::Sha1(h) => (Algo::Sha1, h.finalize().to_vec()),
            State::Sha256(h) => (Algo::Sha256, h.finish().as_ref().to_vec()),
            State::Sha512(h) => (Algo::Sha512, h.finalize().to_vec()),
        };
        Hash { algo, bytes }
    }
}

impl std::io::Write for Hasher {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.update(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";

fn lenient_base64() -> base64::engine::GeneralPurpose {
    let config = base64::engine::GeneralPurposeConfig::new()
        .with_decode_allow_trailing_bits(true)
        .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent);
    base64::engine::GeneralPurpose::new(&base64::alphabet::STANDARD, config)
}

fn decode_base16(s: &str) -> Option<Vec<u8>> {
    fn digit(c: u8) -> Option<u8> {
        match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            b'A'..=b'F' => Some(c - b'A' + 10),
            _ => None,
        }
    }
    s.as_bytes()
        .chunks(2)
        .map(|p| Some(digit(p[0])? << 4 | digit(*p.get(1)?)?))
        .collect()
}

/// Returns the length of the nix32 encoding of `size` bytes.
pub fn nix32_len(size: usize) -> usize {
    (size * 8).div_ceil(5)
}

/// Encodes bytes in Nix's base-32 (least significant 5-bit group last).
pub fn encode_nix32(bytes: &[u8]) -> String {
    let len = nix32_len(bytes.len());
    let mut s = String::with_capacity(len);
    for n in (0..len).rev() {
        let b = n * 5;
        let (i, j) = (b / 8, b % 8);
        let low = u16::from(bytes[i]) >> j;
        let high = bytes.get(i + 1).map_or(0, |&h| u16::from(h) << (8 - j));
        s.push(char::from(NIX32_ALPHABET[usize::from((low | high) & 0x1f)]));
    }
    s
}

/// Decodes Nix's base-32 into `size` bytes; `None` on a bad digit or overflow.
pub fn decode_nix32(s: &str, size: usize) -> Option<Vec<u8>> {
    let mut bytes = vec![0u8; size];
    for (n, c) in s.bytes().rev().enumerate() {
        let digit = NIX32_ALPHABET.iter().position(|&a| a == c)? as u16;
        let b = n * 5;
        let (i, j) = (b / 8, b % 8);
        let shifted = digit << j;
        *bytes.get_mut(i)? |= (shifted & 0xff) as u8;
        let carry = shifted >> 8;
        if i + 1 < size {
            bytes[i + 1] |= carry as u8;
        } else if carry != 0 {
            return None;
        }
    }
    Some(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    const FORTY_TWOS: &str = "4242424242424242424242424242424242424242";

    #[test]
    fn sha1_rev_syntaxes() {
        let cases = [
            ("base16", FORTY_TWOS),
            ("nix32", "89144hj289144hj289144hj289144hj2"),
            ("prefixed nix32", "sha1:89144hj289144hj289144hj289144hj2"),
            ("sri", "sha1-QkJCQkJCQkJCQkJCQkJCQkJCQkI="),
            (
                "sri, trailing garbage",
                "sha1-QkJCQkJCQkJCQkJCQkJCQkJCQkI====aaa even more%2F",
            ),
            ("base64 bare", "QkJCQkJCQkJCQkJCQkJCQkJCQkI="),
        ];
        for (name, input) in cases {
            let h =
                Hash::parse_any(input, Some(Algo::Sha1)).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(h.to_base16(), FORTY_TWOS, "{name}");
        }
    }

    #[test]
    fn spec_a1_vectors() {
        let h = Hash::digest(Algo::Sha256, b"abc");
        assert_eq!(
            h.to_base16(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(
            h.to_nix32(),
            "1b8m03r63zqhnjf7l5wnldhh7c134ap5vpj0850ymkq1iyzicy5s"
        );
        assert_eq!(
            h.to_base64(),
            "ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0="
        );
        assert_eq!(
            h.to_sri(),
            "sha256-ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0="
        );
        assert_eq!(
            Hash::digest(Algo::Sha1, b"abc").to_nix32(),
            "kpcd173cq987hw957sx6m0868wv3x6d9"
        );
        assert_eq!(
            Hash::digest(Algo::Md5, b"abc").to_base16(),
            "900150983cd24fb0d6963f7d28e17f72"
        );
        assert_eq!(Hash::digest(Algo::Sha512, b"abc").bytes().len(), 64);
        assert_eq!(encode_nix32(&[0x01]), "01");
        assert_eq!(encode_nix32(&[0xff, 0x00]), "007z");
        assert_eq!(encode_nix32(&[0x00, 0xff]), "1zq0");
        // 260 bits encode 256: a leading '2' overflows.
        let bad = format!("2{}", &h.to_nix32()[1..]);
        assert!(Hash::parse_bare(&bad, Algo::Sha256).is_err());
        for (algo, lens) in [
            (Algo::Sha256, [64, 52, 44]),
            (Algo::Sha1, [40, 32, 28]),
            (Algo::Sha512, [128, 103, 88]),
            (Algo::Md5, [32, 26, 24]),
        ] {
            let h = Hash::digest(algo, b"x");
            let forms = [h.to_base16(), h.to_nix32(), h.to_base64()];
            for (form, len) in forms.iter().zip(lens) {
                assert_eq!(form.len(), len, "{algo}");
                assert_eq!(Hash::parse_any(&format!("{algo}:{form}"), None).unwrap(), h);
            }
            assert_eq!(Hash::parse_any(&h.to_sri(), None).unwrap(), h);
        }
    }

    #[test]
    fn compress_folds_with_xor() {
        let h = Hash::from_bytes(Algo::Sha256, &(0u8..32).collect::<Vec<_>>()).unwrap();
        let c = h.compress(20);
        for (i, &b) in c.iter().enumerate() {
            let i = i as u8;
            let expected = if i < 12 { i ^ (i + 20) } else { i };
            assert_eq!(b, expected);
        }
    }

    #[test]
    fn zero_sri() {
        let h = Hash::parse_any("sha1-AAAAAAAAAAAAAAAAAAAAAAAAAAA=", Some(Algo::Sha1)).unwrap();
        assert_eq!(h.to_base16(), "0".repeat(40));
    }

    #[test]
    fn nix32_round_trip_known_vector() {
        // sha256 of the empty string, as printed by `nix hash file --base32` of an empty file.
        let hex = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        let h = Hash::parse_bare(hex, Algo::Sha256).unwrap();
        assert_eq!(
            h.to_nix32(),
            "0mdqa9w1p6cmli6976v4wi0sw9r4p5prkj7lzfd1877wk11c9c73"
        );
        let back = Hash::parse_bare(&h.to_nix32(), Algo::Sha256).unwrap();
        assert_eq!(back, h);
        assert_eq!(
            h.to_sri(),
            "sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
        );
    }

    #[test]
    fn rejections() {
        let cases = [
            (
                "abc",
                Algo::Sha1,
                "hash 'abc' has wrong length for hash algorithm 'sha1'",
            ),
            (
                &"g".repeat(40),
                Algo::Sha1,
                "invalid base-16 hash 'gggggggggggggggggggggggggggggggggggggggg'",
            ),
            (
                "eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee",
                Algo::Sha1,
                "invalid base-32 hash 'eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee'",
            ),
        ];
        for (input, algo, msg) in cases {
            let e = Hash::parse_any(input, Some(algo)).unwrap_err();
            assert_eq!(e.to_string(), msg, "{input}");
        }
        assert!(matches!(Hash::parse_sri("md5-AAAA"), Err(Error::BadSri(_))));
        assert!(matches!(
            Hash::parse_any("foo:abc", None),
            Err(Error::UnknownAlgo(_))
        ));
    }
}
