//! `tarball` and `file` inputs (spec §7.5). Not written yet: fetching fails with a clear error.

use super::{Env, Fetched, printed};
use crate::flakeref::Input;

/// Fetches a `tarball` input.
pub fn fetch_tarball(env: &Env<'_>, input: &Input) -> anyhow::Result<Fetched> {
    let _ = env;
    anyhow::bail!(
        "fetching 'tarball' inputs is not implemented yet ('{}')",
        printed(input)
    )
}

/// Fetches a `file` input.
pub fn fetch_file(env: &Env<'_>, input: &Input) -> anyhow::Result<Fetched> {
    let _ = env;
    anyhow::bail!(
        "fetching 'file' inputs is not implemented yet ('{}')",
        printed(input)
    )
}
