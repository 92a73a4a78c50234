//! The worker protocol's primitive encoding (Nix's `src/libutil/serialise.{hh,cc}`): every
//! number is a little-endian u64; a byte string is its length, its bytes and zero padding to a
//! multiple of 8; a list or set of strings is a count and then the strings. Large payloads
//! (NARs sent to the daemon) travel framed: chunks each preceded by its length, ended by an
//! empty chunk.
//!
//! Formats only: the functions work on any reader or writer.

use std::io::{self, Read, Write};

use super::error::{Error, Result};

/// The longest string the client accepts from the daemon (messages, paths, hashes); Nix reads
/// any length, but nothing the daemon sends on these paths comes near this.
pub const MAX_STRING: u64 = 64 << 20;

/// Writes `n` as 8 little-endian bytes.
pub fn write_u64(w: &mut dyn Write, n: u64) -> io::Result<()> {
    w.write_all(&n.to_le_bytes())
}

/// Writes a boolean as the number 0 or 1.
pub fn write_bool(w: &mut dyn Write, b: bool) -> io::Result<()> {
    write_u64(w, u64::from(b))
}

/// Writes a byte string: its length, its bytes, zero padding to a multiple of 8.
pub fn write_bytes(w: &mut dyn Write, s: &[u8]) -> io::Result<()> {
    write_u64(w, s.len() as u64)?;
    w.write_all(s)?;
    let pad = padding(s.len() as u64);
    if pad > 0 {
        w.write_all(&[0u8; 8][..pad])?;
    }
    Ok(())
}

/// Writes a string (see [`write_bytes`]).
pub fn write_str(w: &mut dyn Write, s: &str) -> io::Result<()> {
    write_bytes(w, s.as_bytes())
}

/// Writes a list or set of strings: the count, then each string.
pub fn write_strs<'a>(
    w: &mut dyn Write,
    items: impl ExactSizeIterator<Item = &'a str>,
) -> io::Result<()> {
    write_u64(w, items.len() as u64)?;
    for s in items {
        write_str(w, s)?;
    }
    Ok(())
}

/// How many zero bytes follow a string of `len` bytes.
fn padding(len: u64) -> usize {
    ((8 - len % 8) % 8) as usize
}

/// Reads a little-endian u64.
pub fn read_u64(r: &mut dyn Read) -> Result<u64> {
    let mut b = [0u8; 8];
    r.read_exact(&mut b)?;
    Ok(u64::from_le_bytes(b))
}

/// Reads a boolean (any non-zero number is true, as in Nix).
pub fn read_bool(r: &mut dyn Read) -> Result<bool> {
    Ok(read_u64(r)? != 0)
}

/// Reads a number that must fit in `max` (Nix's `readNum<T>`), e.g. `u8::MAX` for a tag.
pub fn read_num(r: &mut dyn Read, max: u64) -> Result<u64> {
    let n = read_u64(r)?;
    if n > max {
        return Err(Error::Protocol(format!(
            "serialised integer {n} is too large for type"
        )));
    }
    Ok(n)
}

/// Reads a byte string of at most `max` bytes, checking that its padding is zero.
pub fn read_bytes_max(r: &mut dyn Read, max: u64) -> Result<Vec<u8>> {
    let len = read_u64(r)?;
    if len > max {
        return Err(Error::TooLong);
    }
    let mut s = vec![0u8; len as usize];
    r.read_exact(&mut s)?;
    let pad = padding(len);
    if pad > 0 {
        let mut b = [0u8; 8];
        r.read_exact(&mut b[..pad])?;
        if b.iter().any(|&x| x != 0) {
            return Err(Error::NonZeroPadding);
        }
    }
    Ok(s)
}

/// Reads a byte string of at most [`MAX_STRING`] bytes.
pub fn read_bytes(r: &mut dyn Read) -> Result<Vec<u8>> {
    read_bytes_max(r, MAX_STRING)
}

/// Reads a string; bytes that are not UTF-8 are replaced (only messages can hold them).
pub fn read_string(r: &mut dyn Read) -> Result<String> {
    let b = read_bytes(r)?;
    Ok(String::from_utf8(b).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()))
}

/// Reads a list or set of strings.
pub fn read_strings(r: &mut dyn Read) -> Result<Vec<String>> {
    let n = read_u64(r)?;
    // Each string takes at least 8 bytes, so a huge count fails on reading, not allocating.
    let mut out = Vec::with_capacity(n.min(1024) as usize);
    for _ in 0..n {
        out.push(read_string(r)?);
    }
    Ok(out)
}

/// The chunk size of [`FramedWriter`] (Nix's `FramedSink` sends its 32 KiB buffer).
pub const FRAME_SIZE: usize = 64 << 10;

/// Writes a stream as frames (Nix's `FramedSink`): each chunk is its length then its bytes, no
/// padding; [`FramedWriter::finish`] writes the empty chunk that ends the stream.
pub struct FramedWriter<'w> {
    to: &'w mut dyn Write,
    buf: Vec<u8>,
    check: Option<&'w mut dyn FnMut() -> io::Result<()>>,
}

impl<'w> FramedWriter<'w> {
    /// Starts a framed stream on `to`.
    pub fn new(to: &'w mut dyn Write) -> FramedWriter<'w> {
        FramedWriter {
            to,
            buf: Vec::with_capacity(FRAME_SIZE),
            check: None,
        }
    }

    /// Starts a framed stream on `to` that calls `check` before each frame; an error from it
    /// stops the stream (Nix checks for an error from the daemon there).
    pub fn with_check(
        to: &'w mut dyn Write,
        check: &'w mut dyn FnMut() -> io::Result<()>,
    ) -> FramedWriter<'w> {
        FramedWriter {
            check: Some(check),
            ..FramedWriter::new(to)
        }
    }

    fn checked(&mut self) -> io::Result<()> {
        match &mut self.check {
            Some(check) => check(),
            None => Ok(()),
        }
    }

    fn send(&mut self) -> io::Result<()> {
        if !self.buf.is_empty() {
            self.checked()?;
            write_u64(self.to, self.buf.len() as u64)?;
            self.to.write_all(&self.buf)?;
            self.buf.clear();
        }
        Ok(())
    }

    /// Sends what is buffered and the end marker, and flushes.
    pub fn finish(mut self) -> io::Result<()> {
        self.send()?;
        write_u64(self.to, 0)?;
        self.to.flush()
    }
}

impl Write for FramedWriter<'_> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if self.buf.is_empty() && data.len() >= FRAME_SIZE {
            // A large write goes out as one frame without copying.
            self.checked()?;
            write_u64(self.to, data.len() as u64)?;
            self.to.write_all(data)?;
            return Ok(data.len());
        }
        let n = data.len().min(FRAME_SIZE - self.buf.len());
        self.buf.extend_from_slice(&data[..n]);
        if self.buf.len() == FRAME_SIZE {
            self.send()?;
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.send()?;
        self.to.flush()
    }
}

/// Reads a framed stream (Nix's `FramedSource`), for tests and recorded exchanges.
pub fn read_framed(r: &mut dyn Read) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let n = read_u64(r)?;
        if n == 0 {
            return Ok(out);
        }
        let start = out.len();
        out.resize(start + usize::try_from(n).map_err(|_| Error::TooLong)?, 0);
        r.read_exact(&mut out[start..])?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_padded_to_eight_bytes() {
        let cases: [(&str, &[u8], &[u8]); 3] = [
            ("empty", b"", &[0, 0, 0, 0, 0, 0, 0, 0]),
            (
                "short",
                b"hi",
                &[2, 0, 0, 0, 0, 0, 0, 0, b'h', b'i', 0, 0, 0, 0, 0, 0],
            ),
            (
                "exact",
                b"12345678",
                &[
                    8, 0, 0, 0, 0, 0, 0, 0, b'1', b'2', b'3', b'4', b'5', b'6', b'7', b'8',
                ],
            ),
        ];
        for (name, s, wire) in cases {
            let mut out = Vec::new();
            write_bytes(&mut out, s).unwrap();
            assert_eq!(out, wire, "{name}");
            assert_eq!(read_bytes(&mut &wire[..]).unwrap(), s, "{name}");
        }
    }

    #[test]
    fn rejects_bad_padding_long_strings_and_short_input() {
        let bad_pad = [1, 0, 0, 0, 0, 0, 0, 0, b'x', 0, 0, 1, 0, 0, 0, 0];
        assert!(matches!(
            read_bytes(&mut &bad_pad[..]),
            Err(Error::NonZeroPadding)
        ));
        let long = [9, 0, 0, 0, 0, 0, 0, 0];
        assert!(matches!(
            read_bytes_max(&mut &long[..], 8),
            Err(Error::TooLong)
        ));
        let short = [3, 0, 0, 0, 0, 0, 0, 0, b'a'];
        assert!(matches!(
            read_bytes(&mut &short[..]),
            Err(Error::Disconnected)
        ));
        let big_tag = 256u64.to_le_bytes();
        assert!(read_num(&mut &big_tag[..], u8::MAX.into()).is_err());
    }

    /// Nix's `src/libstore-tests/data/worker-protocol/string.bin`: "", "hi", "white rabbit",
    /// "大白兔", "oh no ".
    #[test]
    fn nix_string_vector() {
        let strings: [&[u8]; 5] = [b"", b"hi", b"white rabbit", "大白兔".as_bytes(), b"oh no "];
        let mut out = Vec::new();
        for s in strings {
            write_bytes(&mut out, s).unwrap();
        }
        let expected = "\
            0000000000000000 0200000000000000 6869000000000000 0c00000000000000\
            7768697465207261 6262697400000000 0900000000000000 e5a4a7e799bde585\
            9400000000000000 0600000000000000 6f68206e6f200000";
        assert_eq!(hex(&out), expected.replace(' ', ""));
        let mut r = &out[..];
        for s in strings {
            assert_eq!(read_bytes(&mut r).unwrap(), s);
        }
    }

    #[test]
    fn framed_stream_round_trips() {
        let data: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        let mut wire = Vec::new();
        let mut w = FramedWriter::new(&mut wire);
        w.write_all(&data[..10]).unwrap();
        w.write_all(&data[10..]).unwrap();
        w.finish().unwrap();
        let mut r = &wire[..];
        assert_eq!(read_framed(&mut r).unwrap(), data);
        assert!(r.is_empty());
        // The first frame is FRAME_SIZE bytes, lengths are not padded.
        assert_eq!(
            u64::from_le_bytes(wire[..8].try_into().unwrap()),
            FRAME_SIZE as u64
        );
        let mut empty = Vec::new();
        FramedWriter::new(&mut empty).finish().unwrap();
        assert_eq!(empty, [0u8; 8]);
    }

    pub(crate) fn hex(b: &[u8]) -> String {
        b.iter().map(|x| format!("{x:02x}")).collect()
    }
}
