//! Parsing `flake.nix` with rnix: syntax errors worded like Nix's parser, the checks Nix's
//! parser makes that rnix does not (duplicate attributes, `~/` paths in pure mode, integer
//! overflow), and byte offsets turned into positions.

use rnix::ast;
use rnix::{ParseError, Root, SyntaxKind, SyntaxNode, TextRange};

use super::value::Builder;
use super::{Error, Pos};

/// A parsed `flake.nix`: its syntax tree and its line table.
pub(super) struct Source<'a> {
    root: Root,
    /// Turns offsets into positions.
    pub lines: Lines<'a>,
    /// The file as named in messages.
    pub file: &'a str,
}

impl<'a> Source<'a> {
    /// Parses `text`, failing on the first syntax error (or on a check of Nix's parser).
    pub fn parse(text: &'a str, file: &'a str) -> Result<Source<'a>, Error> {
        let lines = Lines::new(text);
        if let Err(deep) = super::guard::check(text) {
            let at = format!("{file}:{}", lines.pos(deep.offset));
            return Err(Error::Msg(format!(
                "syntax error, too deeply nested, at {at}"
            )));
        }
        let parse = Root::parse(text);
        if let Some(e) = parse.errors().first() {
            let (msg, offset) = describe(e, text);
            let at = match offset {
                Some(o) => format!("{file}:{}", lines.pos(o)),
                None => file.to_owned(),
            };
            return Err(Error::Msg(format!("{msg}, at {at}")));
        }
        let src = Source {
            root: parse.tree(),
            lines,
            file,
        };
        src.check()?;
        Ok(src)
    }

    /// `<file>:<line>:<column>`.
    pub fn at(&self, pos: Pos) -> String {
        format!("{}:{pos}", self.file)
    }

    /// The top-level expression, parentheses removed.
    pub fn top(&self) -> Option<ast::Expr> {
        unparen(self.root.expr())
    }

    /// A value builder over this file.
    pub fn builder(&self) -> Builder<'_> {
        Builder { src: self }
    }

    /// The position of the start of `range`.
    pub fn pos(&self, range: TextRange) -> Pos {
        self.lines.pos(usize::from(range.start()))
    }

    /// What Nix's parser rejects and rnix accepts, first in file order.
    fn check(&self) -> Result<(), Error> {
        let mut first: Option<(usize, String)> = None;
        let mut keep = |offset: usize, msg: String| {
            if first.as_ref().is_none_or(|(o, _)| offset < *o) {
                first = Some((offset, msg));
            }
        };
        for n in node(&self.root).descendants() {
            let start = usize::from(n.text_range().start());
            match n.kind() {
                SyntaxKind::NODE_ATTR_SET
                | SyntaxKind::NODE_LET_IN
                | SyntaxKind::NODE_LEGACY_LET => {
                    if let Err(d) = self.builder().entries(&n) {
                        keep(d.key, d.msg);
                    }
                }
                SyntaxKind::NODE_PATTERN => {
                    let end = usize::from(n.text_range().end());
                    if let Some(msg) = self.duplicate_formal(&n) {
                        keep(end, msg);
                    }
                }
                SyntaxKind::NODE_PATH_HOME => {
                    let literal = n.text().to_string();
                    keep(
                        start,
                        format!(
                            "the path '{literal}' can not be resolved in pure mode, at {}",
                            self.at(self.pos(n.text_range()))
                        ),
                    );
                }
                SyntaxKind::NODE_LITERAL => {
                    let text = n.text().to_string();
                    let is_int = text.bytes().all(|b| b.is_ascii_digit());
                    if is_int && text.parse::<i64>().is_err() {
                        keep(
                            start,
                            format!(
                                "invalid integer '{text}', at {}",
                                self.at(self.pos(n.text_range()))
                            ),
                        );
                    }
                }
                _ => {}
            }
        }
        match first {
            Some((_, msg)) => Err(Error::Msg(msg)),
            None => Ok(()),
        }
    }
}

impl Source<'_> {
    /// Nix's `validateFormals`: a formal argument given twice, or also bound with `@`.
    fn duplicate_formal(&self, pattern: &SyntaxNode) -> Option<String> {
        let pattern = cast::<ast::Pattern>(pattern.clone())?;
        let mut seen = Vec::new();
        for entry in pattern.pat_entries() {
            let ident = entry.ident()?;
            let name = node(&ident).text().to_string();
            if seen.contains(&name) {
                let at = self.at(self.pos(node(&ident).text_range()));
                return Some(format!(
                    "duplicate formal function argument '{name}', at {at}"
                ));
            }
            seen.push(name);
        }
        let bind = pattern.pat_bind()?.ident()?;
        let name = node(&bind).text().to_string();
        if seen.contains(&name) {
            let pat = node(&pattern);
            let lambda = pat.parent().map_or(pat.text_range(), |l| l.text_range());
            return Some(format!(
                "duplicate formal function argument '{name}', at {}",
                self.at(self.pos(lambda))
            ));
        }
        None
    }
}

/// Removes parentheses around an expression.
pub(super) fn unparen(mut e: Option<ast::Expr>) -> Option<ast::Expr> {
    while let Some(ast::Expr::Paren(p)) = e {
        e = p.expr();
    }
    e
}

/// The text, to turn byte offsets into 1-based lines and columns (columns count characters).
pub(super) struct Lines<'a> {
    text: &'a str,
    /// The byte offset of the start of each line.
    starts: Vec<usize>,
}

impl<'a> Lines<'a> {
    fn new(text: &'a str) -> Lines<'a> {
        let starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        Lines { text, starts }
    }

    /// The position of byte `offset`.
    pub fn pos(&self, offset: usize) -> Pos {
        let offset = offset.min(self.text.len());
        let line = self.starts.partition_point(|&s| s <= offset);
        let start = self.starts.get(line.wrapping_sub(1)).copied().unwrap_or(0);
        let column = self.text[start..offset].chars().count() + 1;
        Pos {
            line: u32::try_from(line).unwrap_or(u32::MAX),
            column: u32::try_from(column).unwrap_or(u32::MAX),
        }
    }
}

/// Nix's wording of an rnix error (bison's "detailed" syntax errors) and its offset.
fn describe(e: &ParseError, text: &str) -> (String, Option<usize>) {
    let start = |r: &TextRange| usize::from(r.start());
    let got = |kind: SyntaxKind, r: &TextRange| token_name(kind, &text[*r]);
    match e {
        ParseError::Unexpected(r) => {
            let what = first_token(text, r);
            (format!("syntax error, unexpected {what}"), Some(start(r)))
        }
        ParseError::UnexpectedExtra(r) => {
            let what = first_token(text, r);
            (
                format!("syntax error, unexpected {what}, expecting end of file"),
                Some(start(r)),
            )
        }
        // An unterminated string or comment runs to the end of the file.
        ParseError::UnexpectedWanted(SyntaxKind::TOKEN_ERROR, r, _)
            if usize::from(r.end()) == text.len() =>
        {
            (
                "syntax error, unexpected end of file".to_owned(),
                Some(text.len()),
            )
        }
        ParseError::UnexpectedWanted(kind, r, wanted) => (
            format!(
                "syntax error, unexpected {}{}",
                got(*kind, r),
                expecting(wanted)
            ),
            Some(start(r)),
        ),
        ParseError::UnexpectedDoubleBind(r) => {
            ("syntax error, unexpected '@'".to_owned(), Some(start(r)))
        }
        ParseError::UnexpectedEOF => (
            "syntax error, unexpected end of file".to_owned(),
            Some(text.len()),
        ),
        ParseError::UnexpectedEOFWanted(wanted) => (
            format!("syntax error, unexpected end of file{}", expecting(wanted)),
            Some(text.len()),
        ),
        ParseError::DuplicatedArgs(r, name) => (
            format!("duplicate formal function argument '{name}'"),
            Some(start(r)),
        ),
        ParseError::RecursionLimitExceeded => ("syntax error, too deeply nested".to_owned(), None),
        other => (format!("syntax error, {other}"), None),
    }
}

/// `, expecting A or B` (bison lists at most four expected tokens).
fn expecting(wanted: &[SyntaxKind]) -> String {
    if wanted.is_empty() || wanted.len() > 4 {
        return String::new();
    }
    let mut names: Vec<String> = Vec::new();
    for k in wanted {
        let name = token_name(*k, "");
        if !names.contains(&name) {
            names.push(name);
        }
    }
    format!(", expecting {}", names.join(" or "))
}

/// Names the first token of `range` (the text of an error node).
fn first_token(text: &str, range: &TextRange) -> String {
    let s = text[*range].trim_start();
    let mut tokens = rnix::tokenize(s);
    match tokens.next() {
        Some((kind, t)) => token_name(kind, t),
        None => "end of file".to_owned(),
    }
}

/// A token as Nix's grammar names it.
fn token_name(kind: SyntaxKind, text: &str) -> String {
    use SyntaxKind::*;
    let name = match kind {
        TOKEN_IDENT | TOKEN_CUR_POS => "identifier",
        TOKEN_INTEGER => "integer",
        TOKEN_FLOAT => "floating-point literal",
        TOKEN_PATH_ABS | TOKEN_PATH_REL => "path",
        TOKEN_PATH_HOME => "'~/…' path",
        TOKEN_PATH_SEARCH => "'<…>' path",
        TOKEN_URI => "URI",
        TOKEN_STRING_CONTENT => "string",
        TOKEN_STRING_START if text == "''" => "start of an indented string",
        TOKEN_STRING_END if text == "''" => "end of an indented string",
        TOKEN_STRING_START | TOKEN_STRING_END => "'\"'",
        TOKEN_INTERPOL_START => "'${'",
        TOKEN_INTERPOL_END => "'}'",
        TOKEN_ERROR => {
            let c = text.chars().next().map_or(String::new(), String::from);
            return format!("'{c}'");
        }
        _ => {
            let quoted = match kind {
                TOKEN_ADD => "+",
                TOKEN_AND_AND => "&&",
                TOKEN_ASSIGN => "=",
                TOKEN_ASSERT => "assert",
                TOKEN_AT => "@",
                TOKEN_COLON => ":",
                TOKEN_COMMA => ",",
                TOKEN_CONCAT => "++",
                TOKEN_DIV => "/",
                TOKEN_DOT => ".",
                TOKEN_ELLIPSIS => "...",
                TOKEN_ELSE => "else",
                TOKEN_EQUAL => "==",
                TOKEN_IF => "if",
                TOKEN_IMPLICATION => "->",
                TOKEN_IN => "in",
                TOKEN_INHERIT => "inherit",
                TOKEN_INVERT => "!",
                TOKEN_L_BRACE => "{",
                TOKEN_L_BRACK => "[",
                TOKEN_L_PAREN => "(",
                TOKEN_LESS => "<",
                TOKEN_LESS_OR_EQ => "<=",
                TOKEN_LET => "let",
                TOKEN_MORE => ">",
                TOKEN_MORE_OR_EQ => ">=",
                TOKEN_MUL => "*",
                TOKEN_NOT_EQUAL => "!=",
                TOKEN_OR => "or",
                TOKEN_OR_OR => "||",
                TOKEN_PIPE_LEFT => "<|",
                TOKEN_PIPE_RIGHT => "|>",
                TOKEN_QUESTION => "?",
                TOKEN_R_BRACE => "}",
                TOKEN_R_BRACK => "]",
                TOKEN_R_PAREN => ")",
                TOKEN_REC => "rec",
                TOKEN_SEMICOLON => ";",
                TOKEN_SUB => "-",
                TOKEN_THEN => "then",
                TOKEN_UPDATE => "//",
                TOKEN_WITH => "with",
                _ if !text.is_empty() => text,
                _ => return format!("{kind:?}"),
            };
            return format!("'{quoted}'");
        }
    };
    name.to_owned()
}

/// The syntax node of a typed node (rnix's `AstNode` is rowan's, which is not a dependency).
pub(super) fn node<T: ast::AstNode>(n: &T) -> &SyntaxNode {
    n.syntax()
}

/// A syntax node as a typed node.
pub(super) fn cast<T: ast::AstNode>(n: SyntaxNode) -> Option<T> {
    T::cast(n)
}
