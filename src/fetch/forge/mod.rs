//! `forge` inputs (spec Part 7). Not written yet: fetching fails with a clear error.

use super::{Env, Fetched, printed};
use crate::flakeref::Input;

/// Fetches a `forge` input.
pub fn fetch(env: &Env<'_>, input: &Input) -> anyhow::Result<Fetched> {
    let _ = env;
    anyhow::bail!(
        "fetching '{}' inputs is not implemented yet ('{}')",
        input.type_name(),
        printed(input)
    )
}
