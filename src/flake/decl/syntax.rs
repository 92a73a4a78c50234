//! Parsing `flake.nix` with rnix: syntax errors worded like Nix's parser, the checks Nix's
//! parser makes that rnix does not (duplicate attributes, `~/` paths in pure mode, integer
//! overflow), and byte offsets turned into positions.

use rnix::ast;
use rnix::{Root, SyntaxKind, SyntaxNode, TextRange};

use super::value::Builder;
use super::{Error, Pos};
use crate::eval::parse::{Lines, describe};

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
        if let Err(deep) = crate::eval::parse::guard::check(text) {
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

/// The syntax node of a typed node (rnix's `AstNode` is rowan's, which is not a dependency).
pub(super) fn node<T: ast::AstNode>(n: &T) -> &SyntaxNode {
    n.syntax()
}

/// A syntax node as a typed node.
pub(super) fn cast<T: ast::AstNode>(n: SyntaxNode) -> Option<T> {
    T::cast(n)
}
