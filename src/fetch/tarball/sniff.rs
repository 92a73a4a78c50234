//! Telling a tar archive from a download that is no archive at all (an HTML error page, JSON
//! from an API, plain text), so that the error says what was downloaded instead of dumping a
//! tar parser's complaint about the file's bytes. Nix (libarchive) says `Unrecognized archive
//! format`.

/// The size of a tar header block.
pub const BLOCK: usize = 512;

/// A download that is neither a tar nor a zip archive.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.message())]
pub struct NotArchive {
    /// The URL, once the fetcher knows it.
    pub url: Option<String>,
    /// The compression found around the data (`gzip`, …), if any.
    pub compression: Option<&'static str>,
    /// What the data looks like (`an HTML document`, …), when recognised.
    pub kind: Option<&'static str>,
}

impl NotArchive {
    fn message(&self) -> String {
        let what = match (self.compression, self.kind) {
            (None, None) => return self.prefixed("unrecognised archive format (not tar or zip)"),
            (Some(c), None) => format!("{c}-compressed data of an unknown format"),
            (None, Some(k)) => k.to_owned(),
            (Some(c), Some(k)) => format!("{k}, {c}-compressed"),
        };
        self.prefixed(&format!(
            "the download is not a recognised archive (tar or zip): it looks like {what}"
        ))
    }

    fn prefixed(&self, text: &str) -> String {
        match &self.url {
            Some(url) => format!("cannot unpack '{url}': {text}"),
            None => text.to_owned(),
        }
    }
}

/// Returns whether `block` (the first bytes of the decompressed data, up to [`BLOCK`]) starts a
/// tar archive: an all-zero end block, or a header whose checksum is right.
pub fn looks_like_tar(block: &[u8]) -> bool {
    if block.len() < BLOCK {
        // Nothing at all is an empty archive; a short non-empty stream cannot hold a header.
        return block.is_empty() || block.iter().all(|&b| b == 0);
    }
    if block.iter().all(|&b| b == 0) {
        return true;
    }
    let field = &block[148..156];
    let text: String = field
        .iter()
        .take_while(|&&b| b != 0)
        .map(|&b| char::from(b))
        .collect();
    let Ok(stored) = u32::from_str_radix(text.trim(), 8) else {
        return false;
    };
    let sum: u32 = block
        .iter()
        .enumerate()
        .map(|(i, &b)| {
            if (148..156).contains(&i) {
                32
            } else {
                u32::from(b)
            }
        })
        .sum();
    sum == stored
}

/// Returns what `data` (the first bytes of a download) looks like, if it is a common kind of
/// non-archive.
pub fn describe(data: &[u8]) -> Option<&'static str> {
    let text = trim_start(data);
    let lower: Vec<u8> = text.iter().take(256).map(u8::to_ascii_lowercase).collect();
    let starts = |p: &[u8]| lower.starts_with(p);
    if starts(b"<!doctype html") || starts(b"<html") || contains(&lower, b"<html") {
        return Some("an HTML document");
    }
    if starts(b"<?xml") || starts(b"<") {
        return Some("an XML document");
    }
    if starts(b"{") || starts(b"[") {
        return Some("JSON");
    }
    let binary: &[(&[u8], &str)] = &[
        (b"%PDF", "a PDF document"),
        (b"\x7fELF", "an ELF executable"),
        (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive (not supported)"),
        (b"Rar!", "a RAR archive (not supported)"),
        (b"\x89PNG", "a PNG image"),
    ];
    if let Some((_, k)) = binary.iter().find(|(m, _)| data.starts_with(m)) {
        return Some(k);
    }
    let is_text = std::str::from_utf8(data).is_ok_and(|s| {
        s.chars()
            .all(|c| !c.is_control() || matches!(c, '\n' | '\r' | '\t'))
    });
    (is_text && !data.is_empty()).then_some("plain text")
}

fn trim_start(data: &[u8]) -> &[u8] {
    let data = data.strip_prefix(b"\xef\xbb\xbf").unwrap_or(data);
    let n = data.iter().take_while(|b| b.is_ascii_whitespace()).count();
    &data[n..]
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn describes_common_downloads() {
        let cases: &[(&str, &[u8], Option<&str>)] = &[
            (
                "html",
                b"\n<!DOCTYPE html><html><body>hi</body></html>",
                Some("an HTML document"),
            ),
            (
                "html after a comment",
                b"<!-- x --><HTML>",
                Some("an HTML document"),
            ),
            ("xml", b"<?xml version='1.0'?><a/>", Some("an XML document")),
            ("json", b"{\"message\": \"Not Found\"}", Some("JSON")),
            ("text", b"Not Found\n", Some("plain text")),
            ("elf", b"\x7fELF\x02\x01", Some("an ELF executable")),
            ("random", b"\x00\x9f\x12\xfe\x80", None),
        ];
        for (name, data, want) in cases {
            assert_eq!(describe(data), *want, "{name}");
        }
    }

    #[test]
    fn recognises_tar_headers() {
        let mut h = tar::Header::new_ustar();
        h.set_path("a").unwrap();
        h.set_size(0);
        h.set_cksum();
        assert!(looks_like_tar(h.as_bytes()));
        let mut gnu = tar::Header::new_gnu();
        gnu.set_path("a").unwrap();
        gnu.set_cksum();
        assert!(looks_like_tar(gnu.as_bytes()));
        assert!(looks_like_tar(&[0; BLOCK]));
        assert!(looks_like_tar(b""));
        let mut html = b"<html>".to_vec();
        html.resize(BLOCK, b' ');
        assert!(!looks_like_tar(&html));
        assert!(!looks_like_tar(b"short"));
    }

    #[test]
    fn messages() {
        let e = |compression, kind| NotArchive {
            url: Some("http://h/x.tar.gz".into()),
            compression,
            kind,
        };
        assert_eq!(
            e(None, Some("an HTML document")).to_string(),
            "cannot unpack 'http://h/x.tar.gz': the download is not a recognised archive (tar or \
             zip): it looks like an HTML document"
        );
        assert_eq!(
            e(None, None).to_string(),
            "cannot unpack 'http://h/x.tar.gz': unrecognised archive format (not tar or zip)"
        );
        assert_eq!(
            e(Some("gzip"), Some("plain text")).to_string(),
            "cannot unpack 'http://h/x.tar.gz': the download is not a recognised archive (tar or \
             zip): it looks like plain text, gzip-compressed"
        );
    }
}
