//! `manifest.nix`, the manifest of a profile `nix-env` made (spec P5).
//!
//! Nix evaluates it (`queryInstalled`) and makes one source-less element per entry from its
//! `outPath`. The file `nix-env` writes is a list of attribute-set literals, so rflake reads
//! that literal subset without an evaluator: a list of attribute sets whose `outPath` is a
//! plain string. Anything else is reported, not guessed.

use std::collections::BTreeSet;
use std::path::Path;

use rnix::ast::{self, HasEntry as _, InterpolPart};

use super::{Element, Error, Manifest};
use crate::store::StoreDir;

/// Reads the text of the `manifest.nix` at `path` (named in errors).
pub fn parse(text: &str, path: &Path, store_dir: &StoreDir) -> Result<Manifest, Error> {
    let fail = |message: String| Error::NixEnv {
        path: path.to_owned(),
        message,
    };
    let root = rnix::Root::parse(text);
    if let Some(e) = root.errors().first() {
        return Err(fail(format!("syntax error: {e}")));
    }
    let Some(ast::Expr::List(list)) = root.tree().expr() else {
        return Err(fail("it is not a list literal".into()));
    };
    let mut manifest = Manifest::default();
    for (i, item) in list.items().enumerate() {
        let out_path = out_path(&item).ok_or_else(|| {
            fail(format!(
                "entry {i} is not an attribute set with a literal 'outPath'"
            ))
        })?;
        let path = store_dir
            .parse(&out_path)
            .map_err(|e| fail(e.to_string()))?;
        manifest.add(Element::from_paths(BTreeSet::from([path])));
    }
    Ok(manifest)
}

/// The `outPath` string of an attribute-set literal.
fn out_path(item: &ast::Expr) -> Option<String> {
    let ast::Expr::AttrSet(set) = item else {
        return None;
    };
    for kv in set.attrpath_values() {
        let attrs: Vec<ast::Attr> = kv.attrpath()?.attrs().collect();
        let [ast::Attr::Ident(name)] = attrs.as_slice() else {
            continue;
        };
        if name.ident_token()?.text() != "outPath" {
            continue;
        }
        let ast::Expr::Str(s) = kv.value()? else {
            return None;
        };
        let mut text = String::new();
        for part in s.normalized_parts() {
            match part {
                InterpolPart::Literal(l) => text.push_str(&l),
                InterpolPart::Interpolation(_) => return None,
            }
        }
        return Some(text);
    }
    None
}
