//! `flake prefetch` (Nix's `CmdFlakePrefetch`, `src/nix/flake.cc`): resolve a reference
//! through the registries, fetch it into the store, and say where it went.

use super::session::Session;
use crate::flakeref::FlakeRef;
use crate::registry::Registry;
use crate::store::Store as _;

/// What was fetched.
pub struct Prefetched {
    /// The reference as given.
    pub original: FlakeRef,
    /// The locked reference (with the resolved reference's `dir`).
    pub locked: FlakeRef,
    /// The store path, printed.
    pub store_path: String,
    /// The tree's NAR hash in SRI form (empty when the fetcher gave none).
    pub hash: String,
}

/// Resolves `original` through all registry layers (`flag` on top) and fetches it.
pub fn run(
    session: &Session<'_>,
    original: &FlakeRef,
    flag: Registry,
) -> anyhow::Result<Prefetched> {
    let resolved = session
        .resolve(std::slice::from_ref(original), flag)?
        .remove(0);
    let env = session.fetch_env()?;
    let (path, locked) = crate::fetch::fetch_to_store(&env, &resolved.input)?;
    session.publish(&std::collections::BTreeSet::from([path.clone()]))?;
    Ok(Prefetched {
        original: original.clone(),
        locked: FlakeRef {
            input: locked.without_final(),
            subdir: resolved.subdir.clone(),
        },
        store_path: env.store.store_dir().print(&path),
        hash: locked.nar_hash()?.map(|h| h.to_sri()).unwrap_or_default(),
    })
}
