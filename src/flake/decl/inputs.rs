//! `inputs` and `inputs.<name>` declarations (Nix's `parseFlakeInputs`, `parseFlakeInput` and
//! `parseFlakeInputAttr`, spec B3).

use std::collections::BTreeMap;

use crate::flakeref::{self, Attr, Attrs, FlakeRef, ParseOptions, UrlContext};
use crate::report::Silent;

use super::value::{Set, Value};
use super::{Error, InputDecl, Pos, Reader};

/// Reads an `inputs` set: the inputs and, where `allow_self`, the `self` attributes.
pub(super) fn inputs(
    r: &Reader<'_>,
    value: &Value,
    pos: Pos,
    allow_self: bool,
) -> Result<(BTreeMap<String, InputDecl>, Attrs), Error> {
    let set = expect_set(r, value, pos)?;
    let mut inputs = BTreeMap::new();
    let mut self_attrs = Attrs::new();
    for (name, b) in &set.attrs {
        if name == "self" {
            if !allow_self {
                return Err(r.err(format!(
                    "'self' input attribute not allowed at {}",
                    r.at(b.pos)
                )));
            }
            for (k, a) in &expect_set(r, &b.value, b.pos)?.attrs {
                fetcher_attr(r, k, &a.value, a.pos, &mut self_attrs)?;
            }
        } else {
            inputs.insert(name.clone(), input(r, &b.value, b.pos)?);
        }
    }
    Ok((inputs, self_attrs))
}

/// Reads one `inputs.<name>` set.
fn input(r: &Reader<'_>, value: &Value, pos: Pos) -> Result<InputDecl, Error> {
    let set = expect_set(r, value, pos)?;
    let mut decl = InputDecl {
        flake_ref: None,
        follows: None,
        is_flake: true,
        overrides: BTreeMap::new(),
        pos,
    };
    let mut attrs = Attrs::new();
    let mut url = None;
    for (name, b) in &set.attrs {
        match name.as_str() {
            "url" => {
                let u = match &b.value {
                    Value::Str(s) => s.clone(),
                    Value::Path { text, absolute } => path_url(r, text, *absolute, b.pos)?,
                    v => {
                        return Err(r.err(format!(
                            "expected a string or a path but got {} at {}",
                            v.forced_type(),
                            r.at(b.pos)
                        )));
                    }
                };
                attrs.insert("url".into(), Attr::Str(u.clone()));
                url = Some(u);
            }
            "flake" => match &b.value {
                Value::Bool(f) => decl.is_flake = *f,
                v => return Err(r.expected("a Boolean", v, b.pos)),
            },
            "inputs" => decl.overrides = inputs(r, &b.value, b.pos, false)?.0,
            "follows" => match &b.value {
                Value::Str(s) => {
                    let path = crate::flake::parse_path(s)
                        .map_err(|e| r.err(format!("{e}, at {}", r.at(b.pos))))?;
                    decl.follows = Some(path);
                }
                v => return Err(r.expected("a string", v, b.pos)),
            },
            _ => fetcher_attr(r, name, &b.value, b.pos, &mut attrs)?,
        }
    }
    let with_pos = |e: flakeref::Error| r.err(format!("{e}, at {}", r.at(pos)));
    if attrs.contains_key("type") {
        decl.flake_ref = Some(FlakeRef::from_attrs(attrs, &Silent).map_err(with_pos)?);
    } else {
        attrs.remove("url");
        if let Some(name) = attrs.keys().next() {
            return Err(r.err(format!(
                "unexpected flake input attribute '{name}', at {}",
                r.at(pos)
            )));
        }
        if let Some(url) = url {
            let opts = ParseOptions {
                allow_missing: true,
                keep_relative: true,
                ctx: UrlContext {
                    non_flake: !decl.is_flake,
                },
                ..ParseOptions::default()
            };
            decl.flake_ref = Some(flakeref::parse(&url, &opts, &Silent).map_err(with_pos)?);
        }
    }
    if decl.flake_ref.is_some() && decl.follows.is_some() {
        return Err(r.err(format!(
            "flake input has both a flake reference and a follows attribute, at {}",
            r.at(pos)
        )));
    }
    Ok(decl)
}

/// A fetcher attribute (attribute form, or `inputs.self`): a string, Boolean or non-negative
/// integer. Nix does not force these, so a list or set literal is "a thunk" here.
fn fetcher_attr(
    r: &Reader<'_>,
    name: &str,
    value: &Value,
    pos: Pos,
    attrs: &mut Attrs,
) -> Result<(), Error> {
    let attr = match value {
        Value::Str(s) => Attr::Str(s.clone()),
        Value::Bool(b) => Attr::Bool(*b),
        Value::Int(i) => match u64::try_from(*i) {
            Ok(n) => Attr::Int(n),
            Err(_) => {
                return Err(r.err(format!(
                    "negative value given for flake input attribute {name}: {i}, at {}",
                    r.at(pos)
                )));
            }
        },
        v => {
            return Err(r.err(format!(
                "flake input attribute '{name}' is {} while a string, Boolean, or integer is \
                 expected, at {}",
                v.unforced_type(),
                r.at(pos)
            )));
        }
    };
    attrs.insert(name.to_owned(), attr);
    Ok(())
}

/// The set a value must be.
fn expect_set<'v>(r: &Reader<'_>, value: &'v Value, pos: Pos) -> Result<&'v Set, Error> {
    match value {
        Value::Set(s) if s.dynamic.is_none() => Ok(s),
        v => Err(r.expected("a set", v, pos)),
    }
}

/// `url = ./sub;`: a `path:` URL relative to the directory of `flake.nix`, which must stay
/// inside the source tree.
fn path_url(r: &Reader<'_>, text: &str, absolute: bool, pos: Pos) -> Result<String, Error> {
    let outside = || {
        let file = &r.opts.file_label;
        let dir = file.rsplit_once('/').map_or(".", |(d, _)| d);
        r.err(format!(
            "input attribute path '{text}' at {} must be in the same source tree as {dir}",
            r.at(pos)
        ))
    };
    if absolute {
        return Err(outside());
    }
    let base: Vec<&str> = segments(&r.opts.subdir).collect();
    let mut target = base.clone();
    for s in text.split('/') {
        match s {
            "" | "." => {}
            ".." => {
                if target.pop().is_none() {
                    return Err(outside());
                }
            }
            s => target.push(s),
        }
    }
    Ok(format!("path:{}", make_relative(&base, &target)))
}

fn segments(path: &str) -> impl Iterator<Item = &str> {
    path.split('/').filter(|s| !s.is_empty() && *s != ".")
}

/// `target` relative to `base`, without a leading `./` (Nix's `CanonPath::makeRelative`).
fn make_relative(base: &[&str], target: &[&str]) -> String {
    let common = base.iter().zip(target).take_while(|(a, b)| a == b).count();
    let mut parts: Vec<&str> = vec![".."; base.len() - common];
    parts.extend_from_slice(&target[common..]);
    if parts.is_empty() {
        ".".to_owned()
    } else {
        parts.join("/")
    }
}
