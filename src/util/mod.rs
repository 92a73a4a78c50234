//! Small helpers shared by the effects layers.

pub mod ansi;
pub mod code_frame;
pub mod edit_distance;
pub mod fs;
pub mod http;
pub mod interrupt;
pub mod process;
pub mod thp;
pub mod time;
pub mod xattr;

/// Flattens a reqwest error's chain into one line, without the URL (callers name it in their
/// own words, redacted where needed).
pub fn describe_http_error(e: reqwest::Error) -> String {
    let e = e.without_url();
    let mut s = e.to_string();
    let mut src = std::error::Error::source(&e);
    while let Some(inner) = src {
        s.push_str(": ");
        s.push_str(&inner.to_string());
        src = inner.source();
    }
    s
}

/// `bytes` for a message: invalid UTF-8 and control characters escaped, never raw.
pub fn printable(bytes: &[u8]) -> String {
    let mut out = String::new();
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '\u{fffd}' => out.push_str("\\u{fffd}"),
                c if c.is_control() => out.extend(c.escape_default()),
                c => out.push(c),
            }
        }
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn printable_escapes_what_a_terminal_would_act_on() {
        let cases: [(&[u8], &str); 4] = [
            (b"proj/src/main.rs", "proj/src/main.rs"),
            (b"caf\xc3\xa9", "caf\u{e9}"),
            (b"\x1b[31mred\x07", "\\u{1b}[31mred\\u{7}"),
            (b"a\xffb\xef\xbf\xbd", "a\\xffb\\u{fffd}"),
        ];
        for (input, want) in cases {
            assert_eq!(super::printable(input), want, "{input:?}");
        }
    }
}
