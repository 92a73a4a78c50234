//! Reading a profile's manifest from disk (the file half of Nix's `ProfileManifest`
//! constructor): `manifest.json` if present, else `manifest.nix`, else an empty manifest.

use std::path::Path;

use super::manifest::{self, Manifest};
use super::store_fs::StoreFs;
use crate::report::Reporter;
use crate::store::StoreDir;
use crate::util::fs;

/// Why a profile's manifest cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file could not be read.
    #[error(transparent)]
    Io(#[from] fs::Error),
    /// A symlink of the profile could not be followed.
    #[error("resolving profile \"{}\": {}", path.display(), fs::strerror(io))]
    Resolve {
        /// The profile (or generation) path.
        path: std::path::PathBuf,
        /// The error (its text is part of the message).
        io: std::io::Error,
    },
    /// The manifest is damaged or of an unknown version.
    #[error(transparent)]
    Manifest(#[from] manifest::Error),
}

/// Reads the manifest of the profile (or generation link) `profile`. `store` maps store paths
/// to where the store keeps them.
pub fn read_manifest(
    profile: &Path,
    store: &StoreFs,
    store_dir: &StoreDir,
    report: &dyn Reporter,
) -> Result<Manifest, Error> {
    let json_path = profile.join("manifest.json");
    let resolve = |p: &Path| {
        store.real(p).map_err(|io| Error::Resolve {
            path: p.to_owned(),
            io,
        })
    };
    if let Some(bytes) = fs::read_if_exists(&resolve(&json_path)?)? {
        return Ok(manifest::parse(&bytes, &json_path, store_dir, report)?);
    }
    let nix_path = profile.join("manifest.nix");
    if let Some(bytes) = fs::read_if_exists(&resolve(&nix_path)?)? {
        let text = String::from_utf8_lossy(&bytes);
        return Ok(manifest::nix_env::parse(&text, &nix_path, store_dir)?);
    }
    Ok(Manifest::default())
}
