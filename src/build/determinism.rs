//! `--rebuild` (Nix's build mode `bmCheck`): the outputs of a derivation that are valid are
//! built again at scratch paths, the scratch hash parts in what was built are rewritten to the
//! real outputs', and each result's NAR hash is compared with the registered one. A difference
//! fails the build with `derivation '…' may not be deterministic: output '…' differs`; with
//! `keep-failed` the new output is kept beside the old one as `<output>.check` (Nix 2.8's
//! wording names it). Nothing is registered either way.

use std::collections::BTreeMap;

use super::Error;
use crate::hash::{Algo, Hash};
use crate::store::StorePath;
use crate::store::local::LocalStore;
use crate::store::local::canon::{canonicalise, delete_path};

/// The message of a rebuild whose outputs are not all valid (there is nothing to compare).
pub fn not_valid(printed: &str) -> Error {
    Error::Other(format!(
        "some outputs of '{printed}' are not valid, so checking is not possible"
    ))
}

/// Compares the rebuilt outputs (at `scratch`) with the valid `outputs`, by output name.
pub fn compare(
    store: &LocalStore,
    printed: &str,
    outputs: &BTreeMap<String, StorePath>,
    scratch: &BTreeMap<String, StorePath>,
    keep_failed: bool,
) -> Result<(), Error> {
    let rewrites: Vec<(String, String)> = scratch
        .iter()
        .filter_map(|(name, s)| {
            let real = outputs.get(name)?;
            (real != s).then(|| (s.hash_part().to_owned(), real.hash_part().to_owned()))
        })
        .collect();
    for (name, s) in scratch {
        let Some(path) = outputs.get(name) else {
            continue;
        };
        let built = store.real_path(s);
        let real = store.real_path(path);
        let real_text = real.to_string_lossy().into_owned();
        if std::fs::symlink_metadata(&built).is_err() {
            return Err(Error::MissingOutput {
                drv: printed.to_owned(),
                output: name.clone(),
                path: built.to_string_lossy().into_owned(),
            });
        }
        canonicalise(&built).map_err(Error::other)?;
        let mut nar = Vec::new();
        crate::store::nar::dump(&built, &mut nar).map_err(Error::other)?;
        for (from, to) in &rewrites {
            nar = super::builder::replace_bytes(&nar, from.as_bytes(), to.as_bytes());
        }
        let old = store
            .path_info(path)
            .map_err(Error::other)?
            .ok_or_else(|| not_valid(printed))?;
        if Hash::digest(Algo::Sha256, &nar) == old.nar_hash {
            continue;
        }
        let kept = if keep_failed {
            let dst = std::path::PathBuf::from(format!("{real_text}.check"));
            delete_path(&dst).map_err(Error::other)?;
            crate::store::nar::restore(&mut nar.as_slice(), &dst).map_err(Error::other)?;
            Some(dst.to_string_lossy().into_owned())
        } else {
            None
        };
        return Err(Error::NotDeterministic {
            drv: printed.to_owned(),
            path: real_text,
            kept,
        });
    }
    Ok(())
}
