//! The front end of the Nix language: rnix's parser behind a linear guard ([`guard`]), its
//! errors worded as Nix's bison parser words them, and byte offsets turned into the 1-based
//! line and column positions Nix prints (`libexpr/parser.y`, `nixexpr.cc` `PosTable`).

pub mod guard;
pub mod lexer;

use rnix::{ParseError, SyntaxKind, TextRange};

/// A position in a file, 1-based.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct Pos {
    /// Line, from 1.
    pub line: u32,
    /// Column (in characters), from 1.
    pub column: u32,
}

impl std::fmt::Display for Pos {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

/// A syntax error: Nix's message and the byte offset it is at (none when rnix gave none).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    /// The message, e.g. `syntax error, unexpected '}'`.
    pub msg: String,
    /// Where, as a byte offset.
    pub offset: Option<usize>,
}

/// Parses `text`: the guard first, then rnix; the first error as Nix words it. Line ends
/// are read as Nix's lexer reads them ([`lexer::for_rnix`]), and the lexer's own rejections
/// ([`lexer::check`]) come first when they are earlier in the text.
pub fn parse(text: &str) -> Result<rnix::Root, SyntaxError> {
    if let Err(deep) = guard::check(text) {
        return Err(SyntaxError {
            msg: "syntax error, too deeply nested".to_owned(),
            offset: Some(deep.offset),
        });
    }
    let lexed = lexer::check(text);
    let input = lexer::for_rnix(text);
    let parse = rnix::Root::parse(&input);
    if let Some(e) = parse.errors().first() {
        let (msg, offset) = describe_as_bison(e, &input);
        if let Err((start, l)) = lexed
            && offset.is_none_or(|o| start <= o)
        {
            return Err(l);
        }
        return Err(SyntaxError { msg, offset });
    }
    lexed.map_err(|(_, e)| e)?;
    Ok(parse.tree())
}

/// The text, to turn byte offsets into 1-based lines and columns (columns count characters).
pub struct Lines<'a> {
    text: &'a str,
    /// The byte offset of the start of each line.
    starts: Vec<usize>,
}

impl<'a> Lines<'a> {
    /// The line table of `text`.
    pub fn new(text: &'a str) -> Lines<'a> {
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
pub fn describe(e: &ParseError, text: &str) -> (String, Option<usize>) {
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

/// [`describe`], and where rnix wants an attribute name, what bison expects there (the flake
/// reader keeps rnix's shorter list, see `flake::decl`).
fn describe_as_bison(e: &ParseError, text: &str) -> (String, Option<usize>) {
    if let ParseError::UnexpectedWanted(kind, r, wanted) = e
        && let Some(exp) = bison_expecting(wanted, text, usize::from(r.start()))
    {
        let got = token_name(*kind, &text[*r]);
        return (
            format!("syntax error, unexpected {got}{exp}"),
            Some(usize::from(r.start())),
        );
    }
    describe(e, text)
}

/// What bison expects where rnix wants an attribute name, told by the token before the
/// error: after `.` or `?` an attribute name of any form, at the start of a binding `inherit` (bison
/// names only the first of its many choices there), after `inherit` nothing.
fn bison_expecting(wanted: &[SyntaxKind], text: &str, offset: usize) -> Option<String> {
    if !wanted.contains(&SyntaxKind::TOKEN_IDENT) {
        return None;
    }
    let before = text.get(..offset)?;
    let prev = rnix::tokenize(before)
        .filter(|(k, _)| !matches!(k, SyntaxKind::TOKEN_WHITESPACE | SyntaxKind::TOKEN_COMMENT))
        .last()
        .map(|(k, _)| k)?;
    Some(match prev {
        SyntaxKind::TOKEN_DOT | SyntaxKind::TOKEN_QUESTION => {
            ", expecting identifier or 'or' or '${' or '\"'".to_owned()
        }
        SyntaxKind::TOKEN_L_BRACE | SyntaxKind::TOKEN_SEMICOLON | SyntaxKind::TOKEN_LET => {
            ", expecting 'inherit'".to_owned()
        }
        SyntaxKind::TOKEN_INHERIT => String::new(),
        _ => return None,
    })
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
