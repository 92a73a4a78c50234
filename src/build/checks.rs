//! The reference checks a derivation asks for (Nix's `checkOutputs`; spec E4.2 step 11):
//! `allowedReferences`, `allowedRequisites`, `disallowedReferences` and
//! `disallowedRequisites`, each a list of store paths or output names, checked against an
//! output's references (or, for requisites, its closure) before anything is registered.
//!
//! With structured attributes they are per output, in `outputChecks.<output>`, which may also
//! limit the output's NAR size (`maxSize`) and its closure's (`maxClosureSize`); there, unlike
//! the legacy attributes, an output's own path counts among its requisites. Nix 2.8 reads the
//! size limits from `outputChecks` only, so rflake does too.

use std::collections::{BTreeMap, BTreeSet};

use super::Error;
use crate::store::derivation::Derivation;
use crate::store::{PathInfo, StoreDir, StorePath};

/// Returns the references and the NAR size of a path that is not among the new outputs.
pub type RefsOf<'a> = dyn Fn(&StorePath) -> Result<(BTreeSet<StorePath>, u64), Error> + 'a;

/// What to check of one output (Nix's `Checks`).
#[derive(Default)]
struct Checks {
    max_size: Option<u64>,
    max_closure_size: Option<u64>,
    /// (attribute, list) of the four reference lists given.
    lists: Vec<(&'static str, Vec<String>)>,
    /// Whether an output's own path is left out of its requisites (legacy attributes).
    ignore_self_refs: bool,
}

const LISTS: [&str; 4] = [
    "allowedReferences",
    "allowedRequisites",
    "disallowedReferences",
    "disallowedRequisites",
];

/// The checks of each output: from structured attributes' `outputChecks`, else the legacy
/// attributes (the same for every output).
fn checks_of(drv: &Derivation, printed_drv: &str, name: &str) -> Result<Option<Checks>, Error> {
    let Some(json) = drv.env_var("__json") else {
        let mut checks = Checks {
            ignore_self_refs: true,
            ..Checks::default()
        };
        for attr in LISTS {
            if let Some(v) = drv.env_var(attr) {
                let text = String::from_utf8_lossy(v);
                checks
                    .lists
                    .push((attr, text.split_whitespace().map(str::to_owned).collect()));
            }
        }
        return Ok(Some(checks));
    };
    let attrs: serde_json::Value = serde_json::from_slice(json).map_err(Error::other)?;
    let Some(output) = attrs.get("outputChecks").and_then(|c| c.get(name)) else {
        return Ok(None);
    };
    let size = |key: &str| -> Result<Option<u64>, Error> {
        match output.get(key) {
            None => Ok(None),
            Some(v) => v.as_u64().map(Some).ok_or_else(|| {
                Error::Other(format!(
                    "[json.exception.type_error.302] type must be number, but is {}",
                    json_type(v)
                ))
            }),
        }
    };
    let mut checks = Checks {
        max_size: size("maxSize")?,
        max_closure_size: size("maxClosureSize")?,
        ..Checks::default()
    };
    for attr in LISTS {
        let Some(v) = output.get(attr) else {
            continue;
        };
        let items = v.as_array().map(Vec::as_slice).unwrap_or_default();
        let mut list = Vec::new();
        for item in items {
            let Some(s) = item.as_str() else {
                return Err(Error::Other(format!(
                    "attribute '{attr}' of derivation '{printed_drv}' must be a list of strings"
                )));
            };
            list.push(s.to_owned());
        }
        checks.lists.push((attr, list));
    }
    Ok(Some(checks))
}

fn json_type(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "boolean",
        serde_json::Value::Number(_) => "number",
        serde_json::Value::String(_) => "string",
        serde_json::Value::Array(_) => "array",
        serde_json::Value::Object(_) => "object",
    }
}

/// Checks the new outputs `infos` (by output name) of `drv` (printed as `printed_drv`) against
/// its reference lists and size limits.
pub fn check_outputs(
    dir: &StoreDir,
    drv: &Derivation,
    printed_drv: &str,
    infos: &BTreeMap<String, PathInfo>,
    refs_of: &RefsOf<'_>,
) -> Result<(), Error> {
    let by_path: BTreeMap<&StorePath, &PathInfo> = infos.values().map(|i| (&i.path, i)).collect();
    for (name, info) in infos {
        let Some(checks) = checks_of(drv, printed_drv, name)? else {
            continue;
        };
        if let Some(limit) = checks.max_size
            && info.nar_size > limit
        {
            return Err(Error::TooLarge {
                path: dir.print(&info.path),
                size: info.nar_size,
                limit,
            });
        }
        if let Some(limit) = checks.max_closure_size {
            let (_, size) = closure(&info.path, &by_path, refs_of)?;
            if size > limit {
                return Err(Error::ClosureTooLarge {
                    path: dir.print(&info.path),
                    size,
                    limit,
                });
            }
        }
        for (attr, list) in &checks.lists {
            let allowed = attr.starts_with("allowed");
            let recursive = attr.ends_with("Requisites");
            let spec = specifiers(dir, drv, list)?;
            let used = if recursive {
                let mut c = closure(&info.path, &by_path, refs_of)?.0;
                if checks.ignore_self_refs {
                    c.remove(&info.path);
                }
                c
            } else {
                info.references.clone()
            };
            let bad: Vec<&StorePath> = used
                .iter()
                .filter(|p| spec.contains(*p) != allowed)
                .collect();
            if !bad.is_empty() {
                let list: String = bad
                    .iter()
                    .map(|p| format!("\n  {}", dir.print(p)))
                    .collect();
                return Err(Error::Other(format!(
                    "output '{}' is not allowed to refer to the following paths:{list}",
                    dir.print(&info.path)
                )));
            }
        }
    }
    Ok(())
}

/// Parses a list of store paths and output names (Nix's `parseReferenceSpecifiers`).
fn specifiers(
    dir: &StoreDir,
    drv: &Derivation,
    list: &[String],
) -> Result<BTreeSet<StorePath>, Error> {
    let mut out = BTreeSet::new();
    for item in list.iter().map(String::as_str) {
        if let Ok(p) = dir.parse(item) {
            out.insert(p);
        } else if let Some(p) = drv.outputs.get(item).and_then(|o| o.path()) {
            out.insert(p.clone());
        } else {
            return Err(Error::Other(format!(
                "derivation contains an illegal reference specifier '{item}'"
            )));
        }
    }
    Ok(out)
}

/// The closure of `start` and its total NAR size, new outputs' references taken from `new`.
fn closure(
    start: &StorePath,
    new: &BTreeMap<&StorePath, &PathInfo>,
    refs_of: &RefsOf<'_>,
) -> Result<(BTreeSet<StorePath>, u64), Error> {
    let mut seen = BTreeSet::new();
    let mut size = 0;
    let mut todo = vec![start.clone()];
    while let Some(p) = todo.pop() {
        if !seen.insert(p.clone()) {
            continue;
        }
        let (refs, nar_size) = match new.get(&p) {
            Some(info) => (info.references.clone(), info.nar_size),
            None => refs_of(&p)?,
        };
        size += nar_size;
        todo.extend(refs.into_iter().filter(|r| !seen.contains(r)));
    }
    Ok((seen, size))
}
