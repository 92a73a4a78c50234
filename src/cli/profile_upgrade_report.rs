//! The report of `profile upgrade` that Nix lacks (issue 16.5): with `--json` one JSON document
//! on stdout with the plan (`--dry-run`) or the result, and with `-v` the same plan for people
//! on stderr. Per element: the old and new locked flake reference, the old and new versions
//! (from the store path names, as `nix profile history` shows them), the derivation; for the
//! whole upgrade: what was or would be built and fetched, and the generation before and after.
//!
//! The document is a public interface: its fields keep this order and these names
//! (`docs/profiles.md` describes them).

use serde::Serialize;

use crate::report::{Reporter as _, Verbosity};

/// What became of one selected element.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// A new locked reference: upgraded (or, with `--dry-run`, to be upgraded).
    Upgrade,
    /// Its flake is unchanged.
    Unchanged,
    /// It failed to lock, evaluate or build; it is left as it was.
    Failed,
    /// It was not added from a flake.
    NotFromFlake,
    /// It was added from a locked flake reference.
    Locked,
}

/// One selected element of the report.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Element {
    /// The element's name in the manifest.
    pub name: String,
    /// See [`Status`].
    pub status: Status,
    /// The attribute path it was installed from (`null` for elements not from a flake).
    pub attr_path: Option<String>,
    /// The flake reference it was installed from, as stored.
    pub original_url: Option<String>,
    /// The locked reference before the upgrade.
    pub old_url: Option<String>,
    /// The new locked reference (`null` when unchanged, failed or skipped).
    pub new_url: Option<String>,
    /// The versions of its store paths before (`ε` for an empty version).
    pub old_version: String,
    /// The versions of its new store paths (`null` when not upgraded).
    pub new_version: Option<String>,
    /// Its store paths before.
    pub old_store_paths: Vec<String>,
    /// Its new store paths (empty when not upgraded).
    pub new_store_paths: Vec<String>,
    /// The derivation evaluated for it.
    pub drv_path: Option<String>,
    /// Why it failed.
    pub error: Option<String>,
}

/// The generation the profile pointed at before and after the upgrade.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Generation {
    /// Before (`null`: no generation yet).
    pub before: Option<u64>,
    /// After (`null` for a dry run, or when there was no generation and none was made).
    pub after: Option<u64>,
}

/// The whole report.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    /// Whether this is a plan (`--dry-run`): nothing was built or switched.
    pub dry_run: bool,
    /// The profile upgraded.
    pub profile: String,
    /// The selected elements, in name order.
    pub elements: Vec<Element>,
    /// The derivations built (or that would be built).
    pub built: Vec<String>,
    /// The store paths fetched from substituters (or that would be fetched).
    pub fetched: Vec<String>,
    /// See [`Generation`].
    pub generation: Generation,
    /// Whether every selected element that could be upgraded was.
    pub success: bool,
}

impl Report {
    /// The element named `name`, if it was reported.
    pub fn element_mut(&mut self, name: &str) -> Option<&mut Element> {
        self.elements.iter_mut().find(|e| e.name == name)
    }

    /// Prints the report: as JSON on stdout with `json`; for people at `-v` on stderr.
    pub fn emit(&self, printer: &super::output::Printer, json: bool) -> anyhow::Result<()> {
        if printer.verbosity() >= Verbosity::Talkative as u8 {
            for line in self.human() {
                printer.message(Verbosity::Talkative, &line);
            }
        }
        if json {
            printer.out_line(&serde_json::to_string(self)?)?;
        }
        Ok(())
    }

    /// The plan for people: one line per element, then what is built and fetched.
    fn human(&self) -> Vec<String> {
        let mut lines = Vec::new();
        let (will, did) = match self.dry_run {
            true => ("would be ", "would "),
            false => ("", ""),
        };
        for e in &self.elements {
            let line = match e.status {
                Status::Upgrade => format!(
                    "{}: {did}upgrade {} -> {} (from '{}' to '{}')",
                    e.name,
                    e.old_version,
                    e.new_version.as_deref().unwrap_or("?"),
                    e.old_url.as_deref().unwrap_or(""),
                    e.new_url.as_deref().unwrap_or("")
                ),
                Status::Unchanged => format!("{}: unchanged ({})", e.name, e.old_version),
                Status::Failed => format!(
                    "{}: failed, left at {}: {}",
                    e.name,
                    e.old_version,
                    e.error.as_deref().unwrap_or("")
                ),
                Status::NotFromFlake => format!("{}: not added from a flake", e.name),
                Status::Locked => format!("{}: added from a locked flake reference", e.name),
            };
            lines.push(line);
        }
        if !self.built.is_empty() {
            lines.push(format!(
                "{} {will}built:",
                plural(self.built.len(), "derivation")
            ));
            lines.extend(self.built.iter().map(|p| format!("  {p}")));
        }
        if !self.fetched.is_empty() {
            lines.push(format!(
                "{} {will}fetched:",
                plural(self.fetched.len(), "path")
            ));
            lines.extend(self.fetched.iter().map(|p| format!("  {p}")));
        }
        lines
    }
}

fn plural(n: usize, what: &str) -> String {
    match n {
        1 => format!("1 {what}"),
        _ => format!("{n} {what}s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_field_order_and_names() {
        let r = Report {
            dry_run: true,
            profile: "/p".into(),
            elements: vec![Element {
                name: "a".into(),
                status: Status::NotFromFlake,
                attr_path: None,
                original_url: None,
                old_url: None,
                new_url: None,
                old_version: "1.0".into(),
                new_version: None,
                old_store_paths: vec!["/nix/store/x-a-1.0".into()],
                new_store_paths: vec![],
                drv_path: None,
                error: None,
            }],
            ..Report::default()
        };
        assert_eq!(
            serde_json::to_string(&r).unwrap(),
            r#"{"dryRun":true,"profile":"/p","elements":[{"name":"a","status":"not-from-flake","attrPath":null,"originalUrl":null,"oldUrl":null,"newUrl":null,"oldVersion":"1.0","newVersion":null,"oldStorePaths":["/nix/store/x-a-1.0"],"newStorePaths":[],"drvPath":null,"error":null}],"built":[],"fetched":[],"generation":{"before":null,"after":null},"success":false}"#
        );
        assert_eq!(r.human(), ["a: not added from a flake"]);
    }
}
