//! `registry pin URL [LOCKED-URL]` (Nix's `CmdRegistryPin`, `src/nix/registry.cc`; spec
//! §6.8): resolve LOCKED-URL through all registries, fetch it, and map URL to what was fetched
//! in a registry file.
//!
//! Addition (not in Nix): [`dry_run`] (`registry pin --dry-run`) returns the old and new
//! entries without writing.

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
    let (pin, path) = prepare(session, file, url, locked, flag, trust_forges)?;
    session.publish(&std::collections::BTreeSet::from([path]))?;
    edit::update(file, session.reporter(), |reg| reg.add(pin.new))
}

/// What `registry pin --dry-run` shows (an rflake addition): the entry the pin replaces, if
/// any, and the one it would write.
#[derive(Debug, Clone)]
pub struct Pin {
    /// The entry for the same `from` in the file now.
    pub old: Option<Entry>,
    /// The entry the pin writes.
    pub new: Entry,
}

impl Pin {
    /// Whether the new pin is older than the one it replaces (by `lastModified`).
    pub fn is_downgrade(&self) -> bool {
        let date = |e: &Entry| e.to.get_int("lastModified");
        match (self.old.as_ref().and_then(date), date(&self.new)) {
            (Some(old), Some(new)) => new < old,
            _ => false,
        }
    }
}

/// `registry pin --dry-run`: resolves and fetches as [`run`] does (the fetch is what finds the
/// revision), but writes nothing; returns the old and new entries.
pub fn dry_run(
    session: &Session<'_>,
    file: &Path,
    url: FlakeRef,
    locked: &FlakeRef,
    flag: Registry,
    trust_forges: bool,
) -> anyhow::Result<Pin> {
    Ok(prepare(session, file, url, locked, flag, trust_forges)?.0)
}

/// Everything of a pin but the write (and, for a remote store, the copy of the fetched tree
/// into it): the entries, and the fetched tree's store path.
fn prepare(
    session: &Session<'_>,
    file: &Path,
    url: FlakeRef,
    locked: &FlakeRef,
    flag: Registry,
    trust_forges: bool,
) -> anyhow::Result<(Pin, crate::store::StorePath)> {
    let report = session.reporter();
    // Read (and validate) the target before fetching anything: a file rflake would refuse to
    // rewrite should not cost a download first. It is read again, locked, to be changed.
    let current = layers::read_strict(file, report)?;
    let resolved = session
        .resolve(std::slice::from_ref(locked), flag)?
        .remove(0);
    let env = session.fetch_env()?;
    let (path, fetched) = crate::fetch::fetch_to_store(&env, &resolved.input)?;
    let fetched = pinned_input(fetched);
    if !fetched.is_locked(trust_forges) {
        report.warn(&format!(
            "flake '{}' is not locked",
            fetched.without_final().to_url_string()?
        ));
    }
    let old = current.entries.into_iter().rfind(|e| e.from == url.input);
    let new = Entry {
        from: url.input,
        to: fetched,
        dir: url.subdir,
        exact: false,
    };
    Ok((Pin { old, new }, path))
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
