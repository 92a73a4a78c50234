//! The reference checks a derivation asks for (Nix's `checkOutputs`; spec E4.2 step 11):
//! `allowedReferences`, `allowedRequisites`, `disallowedReferences` and
//! `disallowedRequisites`, each a list of store paths or output names, checked against an
//! output's references (or, for requisites, its closure) before anything is registered.

use std::collections::{BTreeMap, BTreeSet};

use super::Error;
use crate::store::derivation::Derivation;
use crate::store::{PathInfo, StoreDir, StorePath};

/// Returns the references of a path that is not among the new outputs.
pub type RefsOf<'a> = dyn Fn(&StorePath) -> Result<BTreeSet<StorePath>, Error> + 'a;

/// Checks the new outputs `infos` (by output name) of `drv` against its reference lists.
pub fn check_outputs(
    dir: &StoreDir,
    drv: &Derivation,
    infos: &BTreeMap<String, PathInfo>,
    refs_of: &RefsOf<'_>,
) -> Result<(), Error> {
    if drv.env_var("__json").is_some() {
        // Structured attributes keep these in `outputChecks` (not checked yet).
        return Ok(());
    }
    let by_path: BTreeMap<&StorePath, &PathInfo> = infos.values().map(|i| (&i.path, i)).collect();
    for info in infos.values() {
        for (attr, allowed, recursive) in [
            ("allowedReferences", true, false),
            ("allowedRequisites", true, true),
            ("disallowedReferences", false, false),
            ("disallowedRequisites", false, true),
        ] {
            let Some(value) = drv.env_var(attr) else {
                continue;
            };
            let spec = specifiers(dir, drv, value)?;
            let used = if recursive {
                closure(&info.path, &by_path, refs_of)?
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
    value: &[u8],
) -> Result<BTreeSet<StorePath>, Error> {
    let text = String::from_utf8_lossy(value);
    let mut out = BTreeSet::new();
    for item in text.split_whitespace() {
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

/// The closure of `start`, new outputs' references taken from `new`.
fn closure(
    start: &StorePath,
    new: &BTreeMap<&StorePath, &PathInfo>,
    refs_of: &RefsOf<'_>,
) -> Result<BTreeSet<StorePath>, Error> {
    let mut seen = BTreeSet::new();
    let mut todo = vec![start.clone()];
    while let Some(p) = todo.pop() {
        if !seen.insert(p.clone()) {
            continue;
        }
        let refs = match new.get(&p) {
            Some(info) => info.references.clone(),
            None => refs_of(&p)?,
        };
        todo.extend(refs.into_iter().filter(|r| !seen.contains(r)));
    }
    Ok(seen)
}
