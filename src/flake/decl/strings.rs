//! String literals as Nix's lexer and parser build them: `"…"` strings with their escapes, and
//! `''…''` strings with their escapes and indentation stripping.
//!
//! Nix's parser turns a string into a plain string value only when it is a single piece; an
//! indented string made of several pieces (an escape such as `''$` splits it, and so does a lone
//! `$` or `'` before a quote) is a concatenation, which flake metadata sees as a thunk. `None`
//! below stands for that.

use rnix::NodeOrToken;
use rnix::SyntaxKind::{NODE_INTERPOL, TOKEN_STRING_CONTENT, TOKEN_STRING_START};
use rnix::ast;

use super::syntax::{cast, node, unparen};

/// The value of a string literal, or `None` if Nix would build it by concatenation (a thunk).
pub(super) fn literal(s: &ast::Str) -> Option<String> {
    let indented = node(s)
        .children_with_tokens()
        .find(|c| c.kind() == TOKEN_STRING_START)
        .is_some_and(|t| t.as_token().is_some_and(|t| t.text() == "''"));
    let mut parts = Vec::new();
    for child in node(s).children_with_tokens() {
        match child {
            NodeOrToken::Token(t) if t.kind() == TOKEN_STRING_CONTENT => {
                parts.push(Piece::Raw(t.text().to_owned()));
            }
            NodeOrToken::Node(n) if n.kind() == NODE_INTERPOL => {
                let inner = cast::<ast::Interpol>(n).and_then(|i| unparen(i.expr()));
                let value = match inner {
                    Some(ast::Expr::Str(s)) => literal(&s),
                    _ => None,
                };
                parts.push(Piece::Interpolation(value));
            }
            _ => {}
        }
    }
    if indented {
        indented_literal(parts)
    } else {
        match parts.as_slice() {
            [] => Some(String::new()),
            [Piece::Raw(raw)] => Some(unescape(raw)),
            _ => None,
        }
    }
}

/// A piece of a string node: raw source text, or an interpolation (with its value if it is a
/// plain string literal).
enum Piece {
    Raw(String),
    Interpolation(Option<String>),
}

/// Nix's `unescapeStr`: `\n`, `\r`, `\t`, `\<c>`; a raw CR or CR LF becomes LF.
fn unescape(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars().peekable();
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
                out.push('\n');
                if chars.peek() == Some(&'\n') {
                    chars.next();
                }
            }
            c => out.push(c),
        }
    }
    out
}

/// One token of an indented string, as Nix's lexer makes them.
enum Part {
    /// Text; `indent` is false for escapes and lone `$`/`'`, which end a line's indentation.
    Text { s: String, indent: bool },
    /// An interpolation, with its value if it is a plain string.
    Expr(Option<String>),
}

/// Splits the raw text of an indented string into Nix's lexer tokens.
fn lex_indented(raw: &str, out: &mut Vec<Part>) {
    let b = raw.as_bytes();
    let mut run = 0;
    let mut i = 0;
    let text = |s: &str, indent: bool| Part::Text {
        s: s.to_owned(),
        indent,
    };
    while i < b.len() {
        let next = b.get(i + 1).copied();
        let pair_ok = match b[i] {
            b'$' => next.is_some_and(|n| n != b'{' && n != b'\''),
            b'\'' => next.is_some_and(|n| n != b'\'' && n != b'$'),
            _ => {
                i += 1;
                continue;
            }
        };
        if pair_ok {
            i += 2;
            continue;
        }
        if run < i {
            out.push(text(&raw[run..i], true));
        }
        let rest = &raw[i..];
        if rest.starts_with("''$") {
            out.push(text("$", false));
            i += 3;
        } else if rest.starts_with("'''") {
            out.push(text("''", false));
            i += 3;
        } else if let Some(after) = rest.strip_prefix("''\\") {
            let c = after.chars().next().unwrap_or('\\');
            out.push(text(&unescape(&format!("\\{c}")), false));
            i += 3 + c.len_utf8();
        } else if rest.starts_with('$') {
            out.push(text("$", false));
            i += 1;
        } else {
            out.push(text("'", false));
            i += 1;
        }
        run = i;
    }
    if run < b.len() {
        out.push(text(&raw[run..], true));
    }
}

/// Nix's `stripIndentation`: the value of an indented string, or `None` if it is not a single
/// piece after stripping.
fn indented_literal(pieces: Vec<Piece>) -> Option<String> {
    let mut parts = Vec::new();
    for (n, piece) in pieces.into_iter().enumerate() {
        match piece {
            Piece::Raw(raw) => {
                // The opening `''` takes spaces and a newline after it.
                let raw = match (n, raw.find('\n')) {
                    (0, Some(p)) if raw[..p].bytes().all(|c| c == b' ') => &raw[p + 1..],
                    _ => raw.as_str(),
                };
                lex_indented(raw, &mut parts);
            }
            Piece::Interpolation(v) => parts.push(Part::Expr(v)),
        }
    }
    let min_indent = min_indent(&parts);
    let mut out: Vec<Option<String>> = Vec::new();
    let mut at_start = true;
    let mut dropped = 0usize;
    let count = parts.len();
    for (idx, part) in parts.into_iter().enumerate() {
        match part {
            Part::Expr(v) => {
                at_start = false;
                dropped = 0;
                out.push(v);
            }
            Part::Text { s, .. } => {
                let mut s2 = String::new();
                for c in s.chars() {
                    if at_start {
                        if c == ' ' {
                            if dropped >= min_indent {
                                s2.push(c);
                            }
                            dropped += 1;
                        } else if c == '\n' {
                            dropped = 0;
                            s2.push(c);
                        } else {
                            at_start = false;
                            dropped = 0;
                            s2.push(c);
                        }
                    } else {
                        s2.push(c);
                        if c == '\n' {
                            at_start = true;
                        }
                    }
                }
                if idx + 1 == count
                    && let Some(p) = s2.rfind('\n')
                    && s2[p + 1..].bytes().all(|c| c == b' ')
                {
                    s2.truncate(p + 1);
                }
                if !s2.is_empty() {
                    out.push(Some(s2));
                }
            }
        }
    }
    match out.len() {
        0 => Some(String::new()),
        1 => out.pop().flatten(),
        _ => None,
    }
}

/// The smallest indentation of the lines; whitespace-only lines do not count, escapes and
/// interpolations end a line's indentation.
fn min_indent(parts: &[Part]) -> usize {
    let mut at_start = true;
    let mut min = usize::MAX;
    let mut cur = 0;
    for part in parts {
        match part {
            Part::Text { s, indent: true } => {
                for c in s.chars() {
                    if at_start {
                        if c == ' ' {
                            cur += 1;
                        } else if c == '\n' {
                            cur = 0;
                        } else {
                            at_start = false;
                            min = min.min(cur);
                        }
                    } else if c == '\n' {
                        at_start = true;
                        cur = 0;
                    }
                }
            }
            _ => {
                if at_start {
                    at_start = false;
                    min = min.min(cur);
                }
            }
        }
    }
    min
}
