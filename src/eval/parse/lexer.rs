//! What Nix's flex lexer (`libexpr/lexer.l`) does that rnix's tokenizer does not: line ends
//! and the lexer's own errors.
//!
//! - Line ends: `\r\n`, a lone `\r` and `\n` all end a line (a `#` comment too). In a `"…"`
//!   string a raw `\r` or `\r\n` reads as `\n`; an indented string keeps them as they are.
//!   [`for_rnix`] rewrites the text so rnix reads it that way, byte for byte the same length,
//!   so offsets still point into the original; [`line_text`] is the text positions are
//!   counted in.
//! - Bytes: Nix reads a file as bytes, and a string literal keeps bytes that are not UTF-8.
//!   [`source_text`] gives each such byte a private-use character (U+10FF80 to U+10FFFF, one
//!   column wide as the byte is), and [`literal_bytes`] turns them back into the bytes.
//! - Errors: a string literal holding a NUL byte (`input string '…' cannot be represented as
//!   Nix string because it contains null bytes`) and a path ending in `/` (`path has a
//!   trailing slash`), found by [`check`].

use std::borrow::Cow;

use rnix::SyntaxKind;

use super::SyntaxError;

/// The first of the characters standing for bytes that are not UTF-8 (byte `b` is
/// `RAW + b`, `b` from 0x80).
const RAW: u32 = 0x10_FF00;

/// A source file's text: its bytes, with each byte that is not part of UTF-8 text given a
/// private-use character.
pub fn source_text(bytes: Vec<u8>) -> String {
    match String::from_utf8(bytes) {
        Ok(s) => s,
        Err(e) => {
            let bytes = e.into_bytes();
            let mut out = String::with_capacity(bytes.len() + 16);
            for chunk in bytes.utf8_chunks() {
                out.push_str(chunk.valid());
                for &b in chunk.invalid() {
                    out.push(char::from_u32(RAW + u32::from(b)).unwrap_or('\u{FFFD}'));
                }
            }
            out
        }
    }
}

/// The bytes of a string literal's text: characters [`source_text`] gave to raw bytes
/// become those bytes again.
pub fn literal_bytes(s: String) -> Vec<u8> {
    // Those characters are encoded as F4 8F BE/BF xx.
    if !s.as_bytes().contains(&0xF4) {
        return s.into_bytes();
    }
    let mut out = Vec::with_capacity(s.len());
    for c in s.chars() {
        match u32::from(c).checked_sub(RAW) {
            Some(b @ 0x80..=0xFF) => out.push(b as u8),
            _ => {
                let mut buf = [0; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
        }
    }
    out
}

/// Where a token sits.
#[derive(Clone, Copy, PartialEq, Eq)]
enum In {
    /// Code (also inside `${…}`).
    Code,
    /// A `"…"` string.
    Str,
    /// A `''…''` string.
    IndStr,
}

/// The tokens of `text` with their byte offsets and what they are inside of.
fn tokens(text: &str) -> Vec<(SyntaxKind, usize, &str, In)> {
    let mut stack: Vec<In> = Vec::new();
    let mut out = Vec::new();
    let mut offset = 0;
    for (kind, t) in rnix::tokenize(text) {
        let here = stack.last().copied().unwrap_or(In::Code);
        out.push((kind, offset, t, here));
        offset += t.len();
        match kind {
            SyntaxKind::TOKEN_STRING_START => {
                stack.push(if t == "''" { In::IndStr } else { In::Str })
            }
            SyntaxKind::TOKEN_INTERPOL_START => stack.push(In::Code),
            SyntaxKind::TOKEN_STRING_END | SyntaxKind::TOKEN_INTERPOL_END => {
                stack.pop();
            }
            _ => {}
        }
    }
    out
}

/// `text` with every lone `\r` turned into `\n`: the text line and column numbers are
/// counted in (Nix's position table breaks lines at `\r\n`, `\r` and `\n`).
pub fn line_text(text: &str) -> Cow<'_, str> {
    if !text.contains('\r') {
        return Cow::Borrowed(text);
    }
    let b = text.as_bytes();
    let mut out = b.to_vec();
    for (i, c) in out.iter_mut().enumerate() {
        if *c == b'\r' && b.get(i + 1) != Some(&b'\n') {
            *c = b'\n';
        }
    }
    // Only ASCII bytes were replaced by ASCII bytes.
    Cow::Owned(String::from_utf8(out).unwrap_or_else(|_| text.to_owned()))
}

/// The text rnix parses: lone `\r`s outside indented strings become `\n`, and in `"…"`
/// strings a `\r\n` becomes `\` and a newline (an escaped newline, which reads as `\n`).
pub fn for_rnix(text: &str) -> Cow<'_, str> {
    if !text.contains('\r') {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let all = text.as_bytes();
    for (kind, start, t, here) in tokens(text) {
        if !t.contains('\r') || here == In::IndStr {
            out.push_str(t);
            continue;
        }
        let in_string = here == In::Str && kind == SyntaxKind::TOKEN_STRING_CONTENT;
        let b = t.as_bytes();
        let mut i = 0;
        while i < b.len() {
            match b[i] {
                b'\\' if in_string && i + 1 < b.len() => {
                    // An escape keeps the character it escapes.
                    let c = t[i + 1..].chars().next().map_or(1, char::len_utf8);
                    out.push_str(&t[i..i + 1 + c]);
                    i += 1 + c;
                    continue;
                }
                b'\r' if in_string && all.get(start + i + 1) == Some(&b'\n') => {
                    out.push_str("\\\n");
                    i += 2;
                    continue;
                }
                b'\r' if all.get(start + i + 1) != Some(&b'\n') => out.push('\n'),
                _ => {
                    let c = t[i..].chars().next().map_or(1, char::len_utf8);
                    out.push_str(&t[i..i + c]);
                    i += c;
                    continue;
                }
            }
            i += 1;
        }
    }
    Cow::Owned(out)
}

/// A `"…"` string token as Nix's lexer hands it on (escapes resolved, line ends read as
/// `\n`).
fn unescape(t: &str) -> String {
    let mut out = String::with_capacity(t.len());
    let mut chars = t.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some('n') => out.push('\n'),
                Some('r') => out.push('\r'),
                Some('t') => out.push('\t'),
                Some(c) => out.push(c),
                None => {}
            },
            '\r' => {
                if chars.peek() == Some(&'\n') {
                    chars.next();
                }
                out.push('\n');
            }
            c => out.push(c),
        }
    }
    out
}

/// The first error Nix's lexer raises that rnix does not, with the offset of the token that
/// raises it.
pub fn check(text: &str) -> Result<(), (usize, SyntaxError)> {
    let has_nul = text.contains('\0');
    let mut prev: Option<SyntaxKind> = None;
    for (kind, offset, t, here) in tokens(text) {
        match kind {
            SyntaxKind::TOKEN_STRING_CONTENT if has_nul && t.contains('\0') => {
                let (shown, offset) = match here {
                    In::IndStr => {
                        // The token opening an indented string takes the blanks and the
                        // newline after `''`.
                        let skip = match (prev, t.trim_start_matches(' ').strip_prefix('\n')) {
                            (Some(SyntaxKind::TOKEN_STRING_START), Some(rest)) => {
                                t.len() - rest.len()
                            }
                            _ => 0,
                        };
                        (t[skip..].to_owned(), offset + skip)
                    }
                    _ => (unescape(t), offset),
                };
                return Err((
                    offset,
                    SyntaxError {
                        msg: format!(
                            "input string '{}' cannot be represented as Nix string because it contains null bytes",
                            shown.replace('\0', "\u{2400}")
                        ),
                        offset: Some(offset),
                    },
                ));
            }
            // rnix's tokenizer gives up on a path ending in `/` (not followed by `${`).
            SyntaxKind::TOKEN_ERROR
                if t.len() > 1
                    && t.ends_with('/')
                    && !t.contains("//")
                    && t.bytes()
                        .all(|c| c.is_ascii_alphanumeric() || b"./_-+~".contains(&c)) =>
            {
                return Err((
                    offset,
                    SyntaxError {
                        msg: "path has a trailing slash".to_owned(),
                        offset: Some(offset + t.len()),
                    },
                ));
            }
            _ => {}
        }
        if kind != SyntaxKind::TOKEN_WHITESPACE {
            prev = Some(kind);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_ends_keep_offsets() {
        let text = "# a\rb\r\n\"x\ry\r\nz\" + ''p\rq''";
        let r = for_rnix(text);
        assert_eq!(r.len(), text.len());
        assert_eq!(r, "# a\nb\r\n\"x\ny\\\nz\" + ''p\rq''");
        assert_eq!(line_text(text), "# a\nb\r\n\"x\ny\r\nz\" + ''p\nq''");
    }

    #[test]
    fn escaped_cr_stays() {
        assert_eq!(for_rnix("\"a\\\r\n\""), "\"a\\\r\n\"");
    }

    #[test]
    fn nul_in_strings() {
        let e = check("\"a\0b\"").unwrap_err().1;
        assert_eq!(e.offset, Some(1));
        assert!(e.msg.starts_with("input string 'a\u{2400}b' cannot"));
        let e = check("''\n  x\0\n''").unwrap_err().1;
        assert_eq!(e.offset, Some(3));
        assert!(e.msg.starts_with("input string '  x\u{2400}\n' cannot"));
        assert!(check("\"a\\0b\"").is_ok());
    }

    #[test]
    fn raw_bytes_round_trip() {
        let text = source_text(b"\"a\xff\xc3\"".to_vec());
        assert_eq!(text.chars().count(), 5);
        assert_eq!(literal_bytes(text), b"\"a\xff\xc3\"");
        assert_eq!(literal_bytes("é\u{10FFFF}".to_owned()), b"\xc3\xa9\xff");
    }

    #[test]
    fn trailing_slash() {
        let e = check("/nix/store/\n").unwrap_err().1;
        assert_eq!(e.msg, "path has a trailing slash");
        assert_eq!(e.offset, Some(11));
        assert!(check("/nix/store/${x}").is_ok());
        assert!(check("a / b").is_ok());
    }
}
