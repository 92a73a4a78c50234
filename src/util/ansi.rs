//! ANSI escape sequences in text bound for stderr, filtered as Nix's `filterANSIEscapes` does:
//! Nix code can put escapes in its messages (nixpkgs lib colours parts of its module errors),
//! and Nix's logger drops them when colour is off, or keeps only the colour (SGR) ones.

/// `s` without its escape sequences: all of them, or all but the SGR ones (`ESC [ … m`)
/// when `keep_colours`. Carriage returns and bells go too, as in Nix.
pub fn filter_escapes(s: &str, keep_colours: bool) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            0x1b => {
                let start = i;
                i += 1;
                let mut last = 0u8;
                match b.get(i) {
                    Some(b'[') => {
                        i += 1;
                        while i < b.len() && (0x30..=0x3f).contains(&b[i]) {
                            i += 1;
                        }
                        while i < b.len() && (0x20..=0x2f).contains(&b[i]) {
                            i += 1;
                        }
                        if i < b.len() && (0x40..=0x7e).contains(&b[i]) {
                            last = b[i];
                            i += 1;
                        }
                    }
                    Some(b']') => {
                        // An operating system command: up to the string terminator.
                        i += 1;
                        while i < b.len() && b[i] != 0x1b {
                            i += 1;
                        }
                        if b.get(i) == Some(&0x1b) && b.get(i + 1) == Some(&b'\\') {
                            i += 2;
                        }
                    }
                    Some(c) if (0x40..=0x5f).contains(c) => i += 1,
                    _ => {}
                }
                if keep_colours && last == b'm' {
                    out.extend_from_slice(&b[start..i]);
                }
            }
            b'\r' | 0x07 => i += 1,
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    // Only ASCII bytes were removed, so what is left is still UTF-8.
    String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// Whether stderr shows colours, as Nix's `shouldANSI`: never with `NO_COLOR`, always with
/// `CLICOLOR_FORCE` or `FORCE_COLOR`, else on a terminal whose `TERM` is not `dumb`.
pub fn colours_on(var: impl Fn(&str) -> Option<String>, stderr_is_terminal: bool) -> bool {
    if var("NO_COLOR").is_some() {
        return false;
    }
    if var("CLICOLOR_FORCE").is_some() || var("FORCE_COLOR").is_some() {
        return true;
    }
    stderr_is_terminal && var("TERM").as_deref() != Some("dumb")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_are_dropped_or_only_colours_kept() {
        let s = "a \x1b[1;35m\"x\"\x1b[0m b\x1b]8;;http://u\x1b\\link\x1b(B\r\x07 é";
        assert_eq!(filter_escapes(s, false), "a \"x\" blink(B é");
        assert_eq!(
            filter_escapes(s, true),
            "a \x1b[1;35m\"x\"\x1b[0m blink(B é"
        );
        assert_eq!(filter_escapes("plain\ttext\n", false), "plain\ttext\n");
        assert_eq!(filter_escapes("cut \x1b[", false), "cut ");
    }

    #[test]
    fn colour_follows_nix_variables() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| v.to_string())
            }
        };
        assert!(!colours_on(env(&[("NO_COLOR", "")]), true));
        assert!(!colours_on(
            env(&[("NO_COLOR", "1"), ("FORCE_COLOR", "1")]),
            true
        ));
        assert!(colours_on(env(&[("FORCE_COLOR", "1")]), false));
        assert!(colours_on(env(&[]), true));
        assert!(!colours_on(env(&[("TERM", "dumb")]), true));
        assert!(!colours_on(env(&[]), false));
    }
}
