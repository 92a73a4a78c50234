//! The snapshot of Nix's default global registry built into rflake.
//!
//! Nix downloads its global registry from `https://channels.nixos.org/flake-registry.json`
//! (the `flake-registry` setting's default; spec §6.3) and fails when it cannot. rflake uses
//! this snapshot instead when the *default* location cannot be had (offline, unreachable, never
//! cached), with one warning; a `flake-registry` set explicitly keeps Nix's behaviour.
//!
//! The data file `default-registry.json` is the file of the `NixOS/flake-registry` repository
//! (the source of the channels.nixos.org copy) at the commit and date in its `snapshot` object;
//! registry readers ignore that extra key.

use serde_json::Value;

use super::Registry;
use crate::report::Reporter;

/// The snapshot: a version-2 registry file plus a `snapshot` object naming its source.
const SNAPSHOT: &str = include_str!("default-registry.json");

/// The name under which the snapshot appears in messages.
pub const NAME: &str = "<built-in snapshot of the default global registry>";

/// Returns the date (`YYYY-MM-DD`) of the snapshot.
pub fn date() -> String {
    serde_json::from_str::<Value>(SNAPSHOT)
        .ok()
        .and_then(|v| v.pointer("/snapshot/date")?.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// Returns the snapshot's entries.
pub fn registry(report: &dyn Reporter) -> Registry {
    let result = Registry::read(SNAPSHOT.as_bytes(), NAME, report);
    if let Some(e) = result.error {
        report.warn(&e.to_string());
    }
    result.registry
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::Silent;

    #[test]
    fn snapshot_reads_completely_and_has_a_date() {
        let result = Registry::read(SNAPSHOT.as_bytes(), NAME, &Silent);
        assert_eq!(result.error, None);
        assert!(result.registry.entries.len() > 40);
        let ids: Vec<_> = result
            .registry
            .entries
            .iter()
            .filter_map(|e| e.from.get_str("id"))
            .collect();
        for id in ["nixpkgs", "home-manager", "flake-utils", "templates"] {
            assert!(ids.contains(&id), "{id} missing");
        }
        let d = date();
        assert_eq!(d.len(), 10, "{d:?}");
        assert!(d.starts_with("20"), "{d:?}");
    }
}
