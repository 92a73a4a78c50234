//! `flake metadata` (Nix's `CmdFlakeMetadata`, `src/nix/flake.cc`): lock a flake and say where
//! its source tree is. Rendering (text or JSON) is the command line's.

use super::lock::LockedFlake;
use super::session::{LockRequest, Session};
use crate::store::Store as _;

/// A locked flake and its source tree's store path, printed (empty for a flake that lives in
/// another flake's tree).
pub struct Metadata {
    /// The locked flake and its lock file.
    pub locked: LockedFlake,
    /// The store path of its source tree, as printed.
    pub path: String,
}

/// Locks the request's flake and finds its store path.
pub fn run(session: &Session<'_>, req: &LockRequest) -> anyhow::Result<Metadata> {
    session.lock(req, |loader, locked| {
        let path = match &locked.flake.store_path {
            Some(p) => {
                session.publish(&std::collections::BTreeSet::from([p.clone()]))?;
                loader.fetch.store.store_dir().print(p)
            }
            None => String::new(),
        };
        Ok(Metadata { locked, path })
    })
}
