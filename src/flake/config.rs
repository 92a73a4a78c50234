//! A flake's `nixConfig` (Nix's `ConfigFile::apply`, `src/libflake/config.cc`): which settings
//! are taken, which are ignored with a warning. A few harmless settings are always taken;
//! the rest only with `accept-flake-config`, or when `trusted-settings.json` in Nix's data
//! directory says so for that value. Nobody is asked: rflake has no prompt, as Nix without a
//! terminal, so an untrusted setting is ignored with Nix's warning.
//!
//! # Deviations
//!
//! - `rflake eval` does not apply the settings that are taken: none of them changes what it
//!   computes (they concern building, substituting and the shell prompt). `profile upgrade`
//!   applies them to the rest of the command (`Settings::set_from_flake`), as Nix does.

use std::collections::BTreeMap;
use std::path::Path;

use super::decl::ConfigValue;
use crate::report::Reporter;

/// Settings any flake may set (Nix's whitelist, without an `extra-` prefix).
const ALWAYS: &[&str] = &[
    "bash-prompt",
    "bash-prompt-prefix",
    "bash-prompt-suffix",
    "flake-registry",
    "commit-lock-file-summary",
    "commit-lockfile-summary",
];

/// A setting's value as `nix.conf` would hold it.
pub fn value_string(v: &ConfigValue) -> String {
    match v {
        ConfigValue::Str(s) => s.clone(),
        ConfigValue::Int(n) => n.to_string(),
        ConfigValue::Bool(b) => b.to_string(),
        ConfigValue::List(l) => {
            let start = l.iter().position(|s| !s.is_empty()).unwrap_or(l.len());
            l[start..].join(" ")
        }
    }
}

/// Decides on each `nixConfig` setting: returns the taken ones as `(name, value)`, and warns
/// about each ignored one. `data_dir` holds `trusted-settings.json`.
pub fn apply(
    config: &BTreeMap<String, ConfigValue>,
    accept_flake_config: bool,
    data_dir: &Path,
    report: &dyn Reporter,
) -> Vec<(String, String)> {
    let mut taken = Vec::new();
    let mut trusted_list: Option<serde_json::Value> = None;
    for (name, value) in config {
        let base = name.strip_prefix("extra-").unwrap_or(name);
        let value = value_string(value);
        if !ALWAYS.contains(&base) && !accept_flake_config {
            let list = trusted_list.get_or_insert_with(|| read_trusted(data_dir));
            let saved = list
                .get(name.as_str())
                .and_then(|by_value| by_value.get(value.as_str()))
                .and_then(serde_json::Value::as_bool);
            let trusted = match saved {
                Some(t) => {
                    report.notice(&format!(
                        "Using saved setting for '{name} = {value}' from ~/.local/share/nix/trusted-settings.json."
                    ));
                    t
                }
                None => false,
            };
            if !trusted {
                report.warn(&format!(
                    "ignoring untrusted flake configuration setting '{name}'.\nPass '--accept-flake-config' to trust it"
                ));
                continue;
            }
        }
        taken.push((name.clone(), value));
    }
    taken
}

/// `trusted-settings.json`: setting → value → trusted; empty when absent or unreadable.
fn read_trusted(data_dir: &Path) -> serde_json::Value {
    std::fs::read(data_dir.join("trusted-settings.json"))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or(serde_json::Value::Null)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::Collect;

    #[test]
    fn untrusted_settings_are_ignored_with_nixs_warning() {
        let dir = tempfile::tempdir().unwrap();
        let config = BTreeMap::from([
            ("bash-prompt".to_owned(), ConfigValue::Str("$ ".into())),
            (
                "extra-substituters".to_owned(),
                ConfigValue::List(vec!["".into(), "https://a".into(), "https://b".into()]),
            ),
            ("sandbox".to_owned(), ConfigValue::Bool(false)),
        ]);
        std::fs::write(
            dir.path().join("trusted-settings.json"),
            r#"{"sandbox":{"false":true}}"#,
        )
        .unwrap();
        let log = Collect::default();
        let taken = apply(&config, false, dir.path(), &log);
        assert_eq!(
            taken,
            [
                ("bash-prompt".to_owned(), "$ ".to_owned()),
                ("sandbox".to_owned(), "false".to_owned())
            ]
        );
        let lines = log.lines().join("\n");
        assert!(lines.contains(
            "ignoring untrusted flake configuration setting 'extra-substituters'.\nPass '--accept-flake-config' to trust it"
        ), "{lines}");
        assert!(
            lines.contains("Using saved setting for 'sandbox = false'"),
            "{lines}"
        );
        let all = apply(&config, true, dir.path(), &Collect::default());
        assert_eq!(all.len(), 3);
        assert_eq!(all[1].1, "https://a https://b");
    }
}
