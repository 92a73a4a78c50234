//! Reading NARs strictly, as current Nix does (`parseDump` in the Nix source's
//! `src/libutil/archive.cc`).

use std::io::{self, Read};

/// The longest entry name Nix reads.
pub const MAX_NAME_LEN: u64 = 255;
/// The longest symlink target Nix reads.
pub const MAX_TARGET_LEN: u64 = 4095;
/// The longest structural tag Nix reads.
const MAX_TAG_LEN: u64 = 32;
/// The deepest directory nesting Nix accepts.
pub const MAX_DEPTH: usize = 64;

/// One object announced by the parser.
pub enum Entry<'a> {
    /// A directory; its entries follow.
    Directory,
    /// A regular file of `size` bytes whose contents are read from `contents`.
    Regular {
        /// Whether the owner-execute bit is set.
        executable: bool,
        /// The size.
        size: u64,
        /// The contents; the visitor may read them or leave them (they are then skipped).
        contents: &'a mut dyn Read,
    },
    /// A symlink.
    Symlink {
        /// Its target, verbatim.
        target: &'a [u8],
    },
}

/// Receives the objects of a NAR in order; `path` is relative to the root (empty for the
/// root), components joined by `/`.
pub trait Visitor {
    /// Called once per object, parents before children.
    fn visit(&mut self, path: &[u8], entry: Entry<'_>) -> io::Result<()>;
}

/// A visitor that only checks the NAR.
pub struct Check;

impl Visitor for Check {
    fn visit(&mut self, _: &[u8], _: Entry<'_>) -> io::Result<()> {
        Ok(())
    }
}

/// Errors from reading a NAR, worded as Nix words them.
#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    /// A read failure, or the input ended early.
    #[error("{0}")]
    Io(#[from] io::Error),
    /// A structural error.
    #[error("bad archive: {0}")]
    Bad(String),
    /// A string longer than its cap.
    #[error("string is too long")]
    TooLong,
    /// Padding with non-zero bytes.
    #[error("non-zero padding")]
    NonZeroPadding,
    /// Directories nested too deeply.
    #[error("path '{0}' exceeds maximum NAR directory depth of {MAX_DEPTH}")]
    TooDeep(String),
}

fn bad(msg: impl Into<String>) -> ParseError {
    ParseError::Bad(msg.into())
}

/// Parses a NAR from `reader`, calling `visitor` for each object.
///
/// Reads exactly the bytes of the NAR and stops after its final `)`, so a buffered reader is
/// best for speed and the bytes after the NAR stay unread.
pub fn parse(reader: &mut dyn Read, visitor: &mut dyn Visitor) -> Result<(), ParseError> {
    let mut p = Parser {
        r: reader,
        path: Vec::new(),
    };
    let magic = match p.string(super::MAGIC.len() as u64) {
        Ok(m) => m,
        Err(ParseError::Io(e)) if e.kind() != io::ErrorKind::UnexpectedEof => {
            return Err(ParseError::Io(e));
        }
        Err(_) => Vec::new(),
    };
    if magic != super::MAGIC.as_bytes() {
        return Err(bad("input doesn't look like a Nix archive"));
    }
    p.node(visitor, 0)
}

struct Parser<'r> {
    r: &'r mut dyn Read,
    path: Vec<u8>,
}

impl Parser<'_> {
    fn u64(&mut self) -> Result<u64, ParseError> {
        let mut b = [0u8; 8];
        self.r.read_exact(&mut b)?;
        Ok(u64::from_le_bytes(b))
    }

    fn padding(&mut self, len: u64) -> Result<(), ParseError> {
        let pad = (8 - len % 8) % 8;
        if pad > 0 {
            let mut b = [0u8; 8];
            self.r.read_exact(&mut b[..pad as usize])?;
            if b.iter().any(|&x| x != 0) {
                return Err(ParseError::NonZeroPadding);
            }
        }
        Ok(())
    }

    fn string(&mut self, max: u64) -> Result<Vec<u8>, ParseError> {
        let len = self.u64()?;
        if len > max {
            return Err(ParseError::TooLong);
        }
        let mut s = vec![0u8; len as usize];
        self.r.read_exact(&mut s)?;
        self.padding(len)?;
        Ok(s)
    }

    fn tag(&mut self) -> Result<Vec<u8>, ParseError> {
        self.string(MAX_TAG_LEN)
    }

    fn expect(&mut self, expected: &str) -> Result<(), ParseError> {
        let tag = self.tag()?;
        if tag != expected.as_bytes() {
            return Err(bad(format!(
                "expected tag '{expected}', got '{}'",
                String::from_utf8_lossy(&tag)
            )));
        }
        Ok(())
    }

    fn node(&mut self, v: &mut dyn Visitor, depth: usize) -> Result<(), ParseError> {
        self.expect("(")?;
        self.expect("type")?;
        let ty = self.tag()?;
        match ty.as_slice() {
            b"regular" => self.regular(v)?,
            // A directory's entry list ends with the node's own `)`.
            b"directory" => return self.directory(v, depth),
            b"symlink" => {
                self.expect("target")?;
                let target = self.string(MAX_TARGET_LEN)?;
                if target.is_empty() || target.contains(&0) {
                    return Err(bad("NAR contains invalid symlink target"));
                }
                v.visit(&self.path, Entry::Symlink { target: &target })?;
            }
            _ => {
                return Err(bad(format!(
                    "unknown file type '{}'",
                    String::from_utf8_lossy(&ty)
                )));
            }
        }
        self.expect(")")
    }

    fn regular(&mut self, v: &mut dyn Visitor) -> Result<(), ParseError> {
        let mut tag = self.tag()?;
        let mut executable = false;
        if tag == b"executable" {
            if !self.tag()?.is_empty() {
                return Err(bad("executable marker has non-empty value"));
            }
            executable = true;
            tag = self.tag()?;
        }
        if tag != b"contents" {
            return Err(bad(format!(
                "expected tag 'contents', got '{}'",
                String::from_utf8_lossy(&tag)
            )));
        }
        let size = self.u64()?;
        let mut contents = Contents {
            r: &mut *self.r,
            left: size,
        };
        let entry = Entry::Regular {
            executable,
            size,
            contents: &mut contents,
        };
        v.visit(&self.path, entry)?;
        if contents.left > 0 {
            let left = contents.left;
            let skipped = io::copy(&mut contents, &mut io::sink())?;
            if skipped != left {
                return Err(io::Error::from(io::ErrorKind::UnexpectedEof).into());
            }
        }
        self.padding(size)
    }

    fn directory(&mut self, v: &mut dyn Visitor, depth: usize) -> Result<(), ParseError> {
        if depth > MAX_DEPTH {
            return Err(ParseError::TooDeep(
                String::from_utf8_lossy(&self.path).into_owned(),
            ));
        }
        v.visit(&self.path, Entry::Directory)?;
        let mut prev: Option<Vec<u8>> = None;
        loop {
            let tag = self.tag()?;
            if tag == b")" {
                return Ok(());
            }
            if tag != b"entry" {
                return Err(bad(format!(
                    "expected tag 'entry' or ')', got '{}'",
                    String::from_utf8_lossy(&tag)
                )));
            }
            self.expect("(")?;
            self.expect("name")?;
            let name = self.string(MAX_NAME_LEN)?;
            if name.is_empty()
                || name == b"."
                || name == b".."
                || name.contains(&b'/')
                || name.contains(&0)
            {
                return Err(bad(format!(
                    "NAR contains invalid file name '{}'",
                    String::from_utf8_lossy(&name)
                )));
            }
            if prev.as_ref().is_some_and(|p| name <= *p) {
                return Err(bad("NAR directory is not sorted"));
            }
            self.expect("node")?;
            let saved = self.path.len();
            if saved > 0 {
                self.path.push(b'/');
            }
            self.path.extend_from_slice(&name);
            self.node(v, depth + 1)?;
            self.path.truncate(saved);
            self.expect(")")?;
            prev = Some(name);
        }
    }
}

struct Contents<'r> {
    r: &'r mut dyn Read,
    left: u64,
}

impl Read for Contents<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.left == 0 {
            return Ok(0);
        }
        let max = buf
            .len()
            .min(usize::try_from(self.left).unwrap_or(usize::MAX));
        let n = self.r.read(&mut buf[..max])?;
        if n == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        self.left -= n as u64;
        Ok(n)
    }
}
