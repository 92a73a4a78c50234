//! Showing an expression as Nix's `Expr::show` does (`nixexpr.cc`), for the text of
//! `assertion '…' failed`: the parsed form, not the source text — every operator in
//! parentheses, `a - b` as `(__sub a b)`, comparisons through `__lessThan`, string
//! interpolation as `+`, path literals resolved, attributes sorted with `inherit`s first.

use rnix::ast::{self, AstToken, HasEntry, InterpolPart};

use super::print::{float, is_keyword, quote};

/// The shown form of `e`; relative path literals are resolved against `dir`.
pub fn show(e: &ast::Expr, dir: &str) -> String {
    let mut out = String::new();
    Shower { dir }.expr(e, &mut out);
    out
}

struct Shower<'a> {
    dir: &'a str,
}

fn lit(s: &str, out: &mut String) {
    let mut v = Vec::new();
    quote(s.as_bytes(), &mut v);
    out.push_str(&String::from_utf8_lossy(&v));
}

/// A name as Nix's `printIdentifier` writes it, as a string (Nix's error messages print
/// attribute names this way: `called with unexpected argument '"a b"'`).
pub fn identifier(s: &str) -> String {
    let mut out = String::new();
    ident(s, &mut out);
    out
}

/// A name as Nix's `printIdentifier` writes it.
fn ident(s: &str, out: &mut String) {
    let mut chars = s.chars();
    let ok = matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '\'' | '-'));
    if s.is_empty() {
        out.push_str("\"\"");
    } else if is_keyword(s) {
        out.push_str(&format!("\"{s}\""));
    } else if ok {
        out.push_str(s);
    } else {
        lit(s, out);
    }
}

/// One binding level, as `showBindings` orders it.
#[derive(Default)]
struct Group {
    plain: Vec<(String, Val)>,
    inherits: Vec<String>,
    /// Per `inherit (e)`, in source order: the shown `e` and its names.
    from: Vec<(String, Vec<String>)>,
    dynamic: Vec<(String, String)>,
}

enum Val {
    Text(String),
    Nested(Group),
}

impl Shower<'_> {
    fn expr(&self, e: &ast::Expr, out: &mut String) {
        stacker::maybe_grow(64 * 1024, 1024 * 1024, || self.expr_inner(e, out));
    }

    fn opt(&self, e: Option<ast::Expr>, out: &mut String) {
        if let Some(e) = e {
            self.expr(&e, out);
        }
    }

    fn expr_inner(&self, e: &ast::Expr, out: &mut String) {
        match e {
            ast::Expr::Paren(p) => self.opt(p.expr(), out),
            ast::Expr::Root(r) => self.opt(r.expr(), out),
            ast::Expr::Literal(l) => match l.kind() {
                ast::LiteralKind::Integer(i) => match i.value() {
                    Ok(n) => out.push_str(&n.to_string()),
                    Err(_) => out.push_str(i.syntax().text()),
                },
                ast::LiteralKind::Float(f) => {
                    let t = f.syntax().text();
                    let v = t
                        .parse::<f64>()
                        .or_else(|_| format!("0{t}").parse::<f64>())
                        .unwrap_or(0.0);
                    out.push_str(&float(v));
                }
                ast::LiteralKind::Uri(u) => lit(u.syntax().text(), out),
            },
            ast::Expr::Str(s) => self.string(s.normalized_parts(), out),
            ast::Expr::PathAbs(_) | ast::Expr::PathRel(_) | ast::Expr::PathHome(_) => {
                self.path(e, out)
            }
            ast::Expr::PathSearch(p) => {
                let name = p.content().map(|c| c.text().to_owned()).unwrap_or_default();
                out.push_str("(__findFile __nixPath ");
                lit(name.trim_start_matches('<').trim_end_matches('>'), out);
                out.push(')');
            }
            ast::Expr::Ident(i) => ident(&id_text(i), out),
            ast::Expr::CurPos(_) => out.push_str("__curPos"),
            ast::Expr::List(l) => {
                out.push_str("[ ");
                for i in l.items() {
                    out.push('(');
                    self.expr(&i, out);
                    out.push_str(") ");
                }
                out.push(']');
            }
            ast::Expr::Apply(a) => {
                let mut args = Vec::new();
                let mut f = ast::Expr::Apply(a.clone());
                while let ast::Expr::Apply(a) = &f {
                    args.push(a.argument());
                    match a.lambda() {
                        Some(g) => f = g,
                        None => break,
                    }
                }
                out.push('(');
                self.expr(&f, out);
                for a in args.into_iter().rev() {
                    out.push(' ');
                    self.opt(a, out);
                }
                out.push(')');
            }
            ast::Expr::Select(s) => {
                out.push('(');
                self.opt(s.expr(), out);
                out.push_str(").");
                self.attrpath(s.attrpath(), out);
                if let Some(d) = s.default_expr() {
                    out.push_str(" or (");
                    self.expr(&d, out);
                    out.push(')');
                }
            }
            ast::Expr::HasAttr(h) => {
                out.push_str("((");
                self.opt(h.expr(), out);
                out.push_str(") ? ");
                self.attrpath(h.attrpath(), out);
                out.push(')');
            }
            ast::Expr::IfElse(i) => {
                out.push_str("(if ");
                self.opt(i.condition(), out);
                out.push_str(" then ");
                self.opt(i.body(), out);
                out.push_str(" else ");
                self.opt(i.else_body(), out);
                out.push(')');
            }
            ast::Expr::Assert(a) => {
                out.push_str("assert ");
                self.opt(a.condition(), out);
                out.push_str("; ");
                self.opt(a.body(), out);
            }
            ast::Expr::With(w) => {
                out.push_str("(with ");
                self.opt(w.namespace(), out);
                out.push_str("; ");
                self.opt(w.body(), out);
                out.push(')');
            }
            ast::Expr::UnaryOp(u) => match u.operator() {
                Some(ast::UnaryOpKind::Invert) => {
                    out.push_str("(! ");
                    self.opt(u.expr(), out);
                    out.push(')');
                }
                _ => {
                    out.push_str("(__sub 0 ");
                    self.opt(u.expr(), out);
                    out.push(')');
                }
            },
            ast::Expr::BinOp(b) => self.binop(b, out),
            ast::Expr::Lambda(l) => self.lambda(l, out),
            ast::Expr::LetIn(l) => {
                out.push_str("(let ");
                self.bindings(l, out);
                out.push_str("in ");
                self.opt(l.body(), out);
                out.push(')');
            }
            ast::Expr::LegacyLet(l) => {
                out.push_str("(rec { ");
                self.bindings(l, out);
                out.push_str("}).body");
            }
            ast::Expr::AttrSet(a) => {
                if a.rec_token().is_some() {
                    out.push_str("rec ");
                }
                out.push_str("{ ");
                self.bindings(a, out);
                out.push('}');
            }
            ast::Expr::Error(_) => {}
        }
    }

    fn string(&self, parts: Vec<InterpolPart<String>>, out: &mut String) {
        if let [InterpolPart::Literal(s)] = &parts[..] {
            return lit(s, out);
        }
        if parts.is_empty() {
            return lit("", out);
        }
        out.push('(');
        for (i, p) in parts.iter().enumerate() {
            if i > 0 {
                out.push_str(" + ");
            }
            match p {
                InterpolPart::Literal(s) => lit(s, out),
                InterpolPart::Interpolation(x) => self.opt(x.expr(), out),
            }
        }
        out.push(')');
    }

    fn path(&self, e: &ast::Expr, out: &mut String) {
        let parts = match e {
            ast::Expr::PathAbs(p) => p.parts(),
            ast::Expr::PathRel(p) => p.parts(),
            ast::Expr::PathHome(p) => p.parts(),
            _ => Vec::new(),
        };
        let home = matches!(e, ast::Expr::PathHome(_));
        let n = parts.len();
        if n > 1 {
            out.push('(');
        }
        for (i, p) in parts.into_iter().enumerate() {
            if i > 0 {
                out.push_str(" + ");
            }
            match p {
                InterpolPart::Literal(l) if i == 0 => {
                    let t = l.text();
                    if home || t.starts_with('/') {
                        out.push_str(&super::paths::canonicalise(t));
                    } else {
                        out.push_str(&super::paths::canonicalise(&format!("{}/{t}", self.dir)));
                    }
                }
                InterpolPart::Literal(l) => lit(l.text(), out),
                InterpolPart::Interpolation(x) => self.opt(x.expr(), out),
            }
        }
        if n > 1 {
            out.push(')');
        }
    }

    fn binop(&self, b: &ast::BinOp, out: &mut String) {
        use ast::BinOpKind as K;
        let (l, r) = (b.lhs(), b.rhs());
        let call = |f: &str, x: &Option<ast::Expr>, y: &Option<ast::Expr>, out: &mut String| {
            out.push('(');
            out.push_str(f);
            out.push(' ');
            self.opt(x.clone(), out);
            out.push(' ');
            self.opt(y.clone(), out);
            out.push(')');
        };
        let infix = |op: &str, out: &mut String| {
            out.push('(');
            self.opt(l.clone(), out);
            out.push_str(&format!(" {op} "));
            self.opt(r.clone(), out);
            out.push(')');
        };
        match b.operator() {
            Some(K::Concat) => infix("++", out),
            Some(K::Update) => infix("//", out),
            Some(K::Add) => infix("+", out),
            Some(K::And) => infix("&&", out),
            Some(K::Or) => infix("||", out),
            Some(K::Equal) => infix("==", out),
            Some(K::NotEqual) => infix("!=", out),
            Some(K::Implication) => infix("->", out),
            Some(K::Sub) => call("__sub", &l, &r, out),
            Some(K::Mul) => call("__mul", &l, &r, out),
            Some(K::Div) => call("__div", &l, &r, out),
            Some(K::Less) => call("__lessThan", &l, &r, out),
            Some(K::More) => call("__lessThan", &r, &l, out),
            Some(K::LessOrEq) => {
                out.push_str("(! ");
                call("__lessThan", &r, &l, out);
                out.push(')');
            }
            Some(K::MoreOrEq) => {
                out.push_str("(! ");
                call("__lessThan", &l, &r, out);
                out.push(')');
            }
            Some(K::PipeRight) => {
                out.push('(');
                self.opt(r.clone(), out);
                out.push(' ');
                self.opt(l.clone(), out);
                out.push(')');
            }
            Some(K::PipeLeft) => {
                out.push('(');
                self.opt(l.clone(), out);
                out.push(' ');
                self.opt(r.clone(), out);
                out.push(')');
            }
            None => {}
        }
    }

    fn lambda(&self, l: &ast::Lambda, out: &mut String) {
        out.push('(');
        match l.param() {
            Some(ast::Param::IdentParam(i)) => {
                if let Some(i) = i.ident() {
                    ident(&id_text(&i), out);
                }
            }
            Some(ast::Param::Pattern(p)) => {
                let mut entries: Vec<(String, Option<ast::Expr>)> = p
                    .pat_entries()
                    .filter_map(|e| Some((id_text(&e.ident()?), e.default())))
                    .collect();
                entries.sort_by(|a, b| a.0.cmp(&b.0));
                out.push_str("{ ");
                let mut first = true;
                for (name, d) in entries {
                    if !first {
                        out.push_str(", ");
                    }
                    first = false;
                    ident(&name, out);
                    if let Some(d) = d {
                        out.push_str(" ? ");
                        self.expr(&d, out);
                    }
                }
                if p.ellipsis_token().is_some() {
                    if !first {
                        out.push_str(", ");
                    }
                    out.push_str("...");
                }
                out.push_str(" }");
                if let Some(b) = p.pat_bind().and_then(|b| b.ident()) {
                    out.push_str(" @ ");
                    ident(&id_text(&b), out);
                }
            }
            None => {}
        }
        out.push_str(": ");
        self.opt(l.body(), out);
        out.push(')');
    }

    fn attrpath(&self, p: Option<ast::Attrpath>, out: &mut String) {
        let Some(p) = p else { return };
        for (i, a) in p.attrs().enumerate() {
            if i > 0 {
                out.push('.');
            }
            self.attr_name(&a, out, true);
        }
    }

    /// A name in a path or binding: static names as identifiers, others as `"${…}"`.
    fn attr_name(&self, a: &ast::Attr, out: &mut String, _in_path: bool) {
        match super::lower::static_name_text(a) {
            Some(s) => ident(&s, out),
            None => {
                out.push_str("\"${");
                match a {
                    ast::Attr::Dynamic(d) => self.opt(d.expr(), out),
                    ast::Attr::Str(s) => self.string(s.normalized_parts(), out),
                    ast::Attr::Ident(i) => out.push_str(&id_text(i)),
                }
                out.push_str("}\"");
            }
        }
    }

    fn bindings(&self, n: &impl HasEntry, out: &mut String) {
        let mut g = Group::default();
        for entry in n.entries() {
            match entry {
                ast::Entry::Inherit(i) => {
                    let names: Vec<String> = i
                        .attrs()
                        .filter_map(|a| super::lower::static_name_text(&a))
                        .collect();
                    match i.from().and_then(|f| f.expr()) {
                        Some(f) => {
                            let mut t = String::new();
                            self.expr(&f, &mut t);
                            g.from.push((t, names));
                        }
                        None => g.inherits.extend(names),
                    }
                }
                ast::Entry::AttrpathValue(av) => {
                    let path: Vec<ast::Attr> = av
                        .attrpath()
                        .map(|p| p.attrs().collect())
                        .unwrap_or_default();
                    let mut t = String::new();
                    self.opt(av.value(), &mut t);
                    self.add(&mut g, &path, t);
                }
            }
        }
        self.group(g, out);
    }

    fn add(&self, g: &mut Group, path: &[ast::Attr], value: String) {
        let Some((first, rest)) = path.split_first() else {
            return;
        };
        match super::lower::static_name_text(first) {
            Some(s) if rest.is_empty() => g.plain.push((s, Val::Text(value))),
            Some(s) => {
                let i = match g
                    .plain
                    .iter()
                    .position(|(n, v)| *n == s && matches!(v, Val::Nested(_)))
                {
                    Some(i) => i,
                    None => {
                        g.plain.push((s, Val::Nested(Group::default())));
                        g.plain.len() - 1
                    }
                };
                if let Val::Nested(sub) = &mut g.plain[i].1 {
                    self.add(sub, rest, value);
                }
            }
            None => {
                let mut name = String::new();
                match first {
                    ast::Attr::Dynamic(d) => self.opt(d.expr(), &mut name),
                    ast::Attr::Str(s) => self.string(s.normalized_parts(), &mut name),
                    ast::Attr::Ident(_) => {}
                }
                let value = if rest.is_empty() {
                    value
                } else {
                    let mut sub = Group::default();
                    self.add(&mut sub, rest, value);
                    let mut t = String::from("{ ");
                    self.group(sub, &mut t);
                    t.push('}');
                    t
                };
                g.dynamic.push((name, value));
            }
        }
    }

    fn group(&self, mut g: Group, out: &mut String) {
        g.inherits.sort();
        if !g.inherits.is_empty() {
            out.push_str("inherit");
            for n in &g.inherits {
                out.push(' ');
                ident(n, out);
            }
            out.push_str("; ");
        }
        for (from, mut names) in g.from {
            names.sort();
            out.push_str("inherit (");
            out.push_str(&from);
            out.push(')');
            for n in &names {
                out.push(' ');
                ident(n, out);
            }
            out.push_str("; ");
        }
        g.plain.sort_by(|a, b| a.0.cmp(&b.0));
        for (name, v) in g.plain {
            ident(&name, out);
            out.push_str(" = ");
            match v {
                Val::Text(t) => out.push_str(&t),
                Val::Nested(sub) => {
                    out.push_str("{ ");
                    self.group(sub, out);
                    out.push('}');
                }
            }
            out.push_str("; ");
        }
        for (name, v) in g.dynamic {
            out.push_str("\"${");
            out.push_str(&name);
            out.push_str("}\" = ");
            out.push_str(&v);
            out.push_str("; ");
        }
    }
}

fn id_text(i: &ast::Ident) -> String {
    i.ident_token()
        .map(|t| t.text().to_owned())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shows_as_nix_does() {
        let cases = [
            ("a == \"y\"", "(a == \"y\")"),
            ("[ 1 0 ] == [ 10 ]", "([ (1) (0) ] == [ (10) ])"),
            (
                "{ a.b = [ { c.d = true; } ]; } == x",
                "({ a = { b = [ ({ c = { d = true; }; }) ]; }; } == x)",
            ),
            ("a - b < c * d", "(__lessThan (__sub a b) (__mul c d))"),
            ("a >= -b", "(! (__lessThan a (__sub 0 b)))"),
            (
                "{ y, x ? 1, ... } @ z: f x.a or 2",
                "({ x ? 1, y, ... } @ z: (f (x).a or (2)))",
            ),
            ("\"a${b}c\" + 1.5", "((\"a\" + b + \"c\") + 1.5)"),
            (
                "let inherit (p) b a; inherit c; d = 1; in d",
                "(let inherit c; inherit (p) a b; d = 1; in d)",
            ),
            (
                "{ \"if\" = 1; \"a b\" = 2; }",
                "{ \"a b\" = 2; \"if\" = 1; }",
            ),
            ("/a/../b", "/b"),
            ("./c", "/dir/c"),
        ];
        for (src, want) in cases {
            let root = rnix::Root::parse(src).tree();
            let e = root.expr().expect("an expression");
            assert_eq!(show(&e, "/dir"), want, "{src}");
        }
    }
}
