//! A linear pre-scan of `flake.nix` before rnix parses it: rnix's recursive descent has no
//! depth limit for lists and unary operators (50,000 nested `[` overflow the stack), its tree
//! builder hashes deep chains of nodes in quadratic time, and its tokenizer rescans a run of
//! path characters (`self.a.a.a…`) from every token in it. The scan finds those shapes in one
//! pass and refuses them with Nix's parser message, so that no input can drive the parser
//! beyond bounded stack and time.

/// How deep brackets, braces, parentheses and interpolations may nest.
pub const MAX_NESTING: usize = 1000;

/// How many unary operators (`-`, `!`) may follow each other.
pub const MAX_UNARY_RUN: usize = 1000;

/// How long a run of path characters (`[A-Za-z0-9._+/-]`: identifiers, attribute paths,
/// numbers, paths) may be.
pub const MAX_WORD: usize = 4096;

/// What a scan refuses, and where (a byte offset).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooDeep {
    /// Where the limit was passed.
    pub offset: usize,
}

/// Where the scanner is.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Code, until the matching `}` of an interpolation (or the end).
    Code,
    /// A `"…"` string.
    Str,
    /// A `''…''` string.
    Indented,
}

fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'+' | b'/' | b'-' | b'\'')
}

/// Scans `text`, failing at the first place that passes a limit.
pub fn check(text: &str) -> Result<(), TooDeep> {
    let b = text.as_bytes();
    // Each open bracket in code pushes `Code`; each string pushes its mode; an interpolation
    // pushes `Code` over its string.
    let mut stack: Vec<Mode> = vec![Mode::Code];
    let mut i = 0;
    let mut unary = 0usize;
    let mut word = 0usize;
    let too_deep = |offset| Err(TooDeep { offset });
    while i < b.len() {
        let mode = *stack.last().unwrap_or(&Mode::Code);
        let c = b[i];
        match mode {
            Mode::Str => {
                match c {
                    b'\\' => i += 1,
                    b'"' => {
                        stack.pop();
                    }
                    b'$' if b.get(i + 1) == Some(&b'{') => {
                        stack.push(Mode::Code);
                        i += 1;
                    }
                    _ => {}
                }
                i += 1;
            }
            Mode::Indented => {
                if b[i..].starts_with(b"'''") || b[i..].starts_with(b"''$") {
                    i += 3;
                } else if b[i..].starts_with(b"''\\") {
                    i += 4;
                } else if b[i..].starts_with(b"''") {
                    stack.pop();
                    i += 2;
                } else if b[i..].starts_with(b"${") {
                    stack.push(Mode::Code);
                    i += 2;
                } else {
                    i += 1;
                }
            }
            Mode::Code => {
                if c == b'/' && b.get(i + 1) == Some(&b'*') {
                    i += 2;
                    while i < b.len() && !b[i..].starts_with(b"*/") {
                        i += 1;
                    }
                    i += 2;
                    word = 0;
                    continue;
                }
                if is_word(c) && !(c == b'-' && word == 0) && !(c == b'\'' && word == 0) {
                    word += 1;
                    unary = 0;
                    if word > MAX_WORD {
                        return too_deep(i);
                    }
                    i += 1;
                    continue;
                }
                word = 0;
                match c {
                    b'#' => {
                        while i < b.len() && b[i] != b'\n' {
                            i += 1;
                        }
                        continue;
                    }
                    b' ' | b'\t' | b'\r' | b'\n' => {
                        i += 1;
                        continue;
                    }
                    b'-' | b'!' => {
                        unary += 1;
                        if unary > MAX_UNARY_RUN {
                            return too_deep(i);
                        }
                        i += 1;
                        continue;
                    }
                    b'"' => stack.push(Mode::Str),
                    b'\'' if b.get(i + 1) == Some(&b'\'') => {
                        stack.push(Mode::Indented);
                        i += 1;
                    }
                    b'{' | b'[' | b'(' => stack.push(Mode::Code),
                    b'$' if b.get(i + 1) == Some(&b'{') => {
                        stack.push(Mode::Code);
                        i += 1;
                    }
                    b'}' | b']' | b')' if stack.len() > 1 => {
                        stack.pop();
                    }
                    _ => {}
                }
                unary = 0;
                if stack.len() > MAX_NESTING {
                    return too_deep(i);
                }
                i += 1;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn real_code_passes() {
        let ok = [
            "{ inputs.a.url = \"github:o/r\"; outputs = { self, a }: { x = -1; y = !true; }; }",
            "{ s = ''\n  a ''${b} ''' c ${ d } \n''; t = \"q\\\"${ x }\"; /* c } */ # ]\n }",
            "[ [ [ 1 ] ] ]",
            "a - -b",
        ];
        for text in ok {
            assert_eq!(check(text), Ok(()), "{text}");
        }
    }

    #[test]
    fn hostile_shapes_are_refused_where_the_limit_is_passed() {
        let lists = format!("{}{}", "[".repeat(50_000), "]".repeat(50_000));
        assert_eq!(check(&lists), Err(TooDeep { offset: 999 }));
        let minus = format!("x: {}1", "- ".repeat(100_000));
        assert_eq!(check(&minus), Err(TooDeep { offset: 2003 }));
        let select = format!("self{}", ".a".repeat(100_000));
        assert_eq!(check(&select), Err(TooDeep { offset: MAX_WORD }));
        let interpolations = "\"${".repeat(600);
        assert!(check(&interpolations).is_err());
        // Strings and comments do not count.
        let quoted = format!("\"{}\"", "[".repeat(50_000));
        assert_eq!(check(&quoted), Ok(()));
        let commented = format!("# {}\n1", "(".repeat(50_000));
        assert_eq!(check(&commented), Ok(()));
        let block = format!("/* {} */ 1", "{".repeat(50_000));
        assert_eq!(check(&block), Ok(()));
    }
}
