//! `registry pin URL [LOCKED-URL]` (Nix's `CmdRegistryPin`, `src/nix/registry.cc`; spec
//! §6.8): resolve LOCKED-URL through all registries, fetch it, and map URL to what was fetched
//! in a registry file.

use std::path::Path;

use super::session::Session;
use crate::flakeref::{FlakeRef, Input, Kind};
use crate::registry::{Entry, Registry, edit, layers};

/// Pins `url` to what `locked` resolves and fetches to, in the registry file `file`; `flag`
/// holds the `--override-flake` entries; `trust_forges` is the
/// `trust-tarballs-from-git-forges` setting (whether a forge input without `narHash` counts as
/// locked).
pub fn run(
    session: &Session<'_>,
    file: &Path,
    url: FlakeRef,
    locked: &FlakeRef,
    flag: Registry,
    trust_forges: bool,
) -> anyhow::Result<()> {
    let report = session.reporter();
    // Read (and validate) the target before fetching anything: a file rflake would refuse to
    // rewrite should not cost a download first. It is read again, locked, to be changed.
    layers::read_strict(file, report)?;
    let resolved = session
        .resolve(std::slice::from_ref(locked), flag)?
        .remove(0);
    let env = session.fetch_env()?;
    let (path, fetched) = crate::fetch::fetch_to_store(&env, &resolved.input)?;
    session.publish(&std::collections::BTreeSet::from([path]))?;
    let fetched = pinned_input(fetched);
    if !fetched.is_locked(trust_forges) {
        report.warn(&format!(
            "flake '{}' is not locked",
            fetched.without_final().to_url_string()?
        ));
    }
    let entry = Entry {
        from: url.input,
        to: fetched,
        dir: url.subdir,
        exact: false,
    };
    edit::update(file, report, |reg| reg.add(entry))
}

/// What a pin records: the fetched input as Nix's fetchers return it, which has no `narHash`
/// for path, git and forge inputs (the pipeline added it), and keeps `__final`.
fn pinned_input(fetched: Input) -> Input {
    match fetched.kind() {
        Some(Kind::Path | Kind::Git | Kind::GitHub | Kind::GitLab | Kind::SourceHut) => {
            fetched.without(&["narHash"])
        }
        _ => fetched,
    }
}
