//! The setting flags (`--NAME VALUE`, `--extra-NAME VALUE`, `--NAME`/`--no-NAME`) in `--help`
//! and in the completion scripts.
//!
//! Nix derives a flag from every setting (`Config::convertToArgs`) and lists them in `nix --help`
//! under "Options to override configuration settings" (`Enable the X setting.`, `Set the X
//! setting.`, …); its command pages point there. rflake parses these flags before clap
//! ([`crate::settings::flags`]), so clap does not know them: this module describes them.
//!
//! # Deviations
//!
//! - The flags of settings rflake reads are described one per entry; the other settings (which
//!   rflake accepts without effect) are listed by name only.

use crate::settings::known::{self, Kind};

/// One setting flag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flag {
    /// The flag without `--`, e.g. `flake-registry`.
    pub name: String,
    /// Whether it takes a value.
    pub takes_value: bool,
    /// What it does, e.g. `Set the flake-registry setting`.
    pub help: String,
    /// Whether rflake reads the setting.
    pub used: bool,
}

/// Returns the setting flags, sorted by name, leaving out the long options clap defines itself
/// (`reserved`, e.g. `store`), which have their own help. Aliases are not listed (Nix neither).
pub fn flags(reserved: &[&str]) -> Vec<Flag> {
    let mut out = Vec::new();
    for s in known::all() {
        let name = s.name;
        let mut add = |flag: String, takes_value: bool, help: String| {
            if !reserved.contains(&flag.as_str()) {
                out.push(Flag {
                    name: flag,
                    takes_value,
                    help,
                    used: s.used_by_rflake,
                });
            }
        };
        match s.kind {
            Kind::Bool => {
                add(name.into(), false, format!("Enable the {name} setting"));
                add(
                    format!("no-{name}"),
                    false,
                    format!("Disable the {name} setting"),
                );
            }
            Kind::Sandbox => {
                add(name.into(), false, "Enable sandboxing".into());
                add(format!("no-{name}"), false, "Disable sandboxing".into());
                add(
                    format!("relaxed-{name}"),
                    false,
                    "Enable sandboxing, but allow builds to disable it".into(),
                );
            }
            kind => {
                add(name.into(), true, format!("Set the {name} setting"));
                if kind.is_appendable() {
                    add(
                        format!("extra-{name}"),
                        true,
                        format!("Append to the {name} setting"),
                    );
                }
            }
        }
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

/// The help section of the top-level `--help` (Nix's "Options to override configuration
/// settings"), wrapped at `width` columns.
pub fn section(reserved: &[&str], width: usize) -> String {
    let all = flags(reserved);
    let mut text = String::from(
        "Options to override configuration settings (every Nix setting is an option of every \
         command; `--option NAME VALUE` works too):\n",
    );
    for f in all.iter().filter(|f| f.used) {
        let value = if f.takes_value { " <VALUE>" } else { "" };
        text.push_str(&format!(
            "      --{}{value}\n          {}\n",
            f.name, f.help
        ));
    }
    text.push_str(
        "\nOther Nix settings, accepted as options (`--NAME VALUE`, `--NAME`/`--no-NAME` for \
         Booleans, `--extra-NAME VALUE` for lists) without effect in rflake:\n",
    );
    let mut names: Vec<&str> = known::all()
        .filter(|s| !s.used_by_rflake && !reserved.contains(&s.name))
        .map(|s| s.name)
        .collect();
    names.sort_unstable();
    text.push_str(&wrap(&names, "  ", width));
    text
}

/// The note at the end of every subcommand's `--help` (current Nix's pages say the same of
/// `nix.conf`).
pub const NOTE: &str = "Every Nix setting is also an option: `--NAME VALUE`, `--NAME`/`--no-NAME` for Booleans, \
     `--extra-NAME VALUE` for lists (e.g. `--flake-registry`, `--tarball-ttl`); `rflake --help` \
     lists them.";

/// Joins `words` with `, ` into lines of at most `width` columns, each starting with `indent`.
fn wrap(words: &[&str], indent: &str, width: usize) -> String {
    let mut out = String::new();
    let mut line = String::from(indent);
    for (i, w) in words.iter().enumerate() {
        let piece = if i + 1 < words.len() {
            format!("{w},")
        } else {
            (*w).to_owned()
        };
        if line.len() > indent.len() && line.len() + 1 + piece.len() > width {
            out.push_str(line.trim_end());
            out.push('\n');
            line = String::from(indent);
        }
        if line.len() > indent.len() {
            line.push(' ');
        }
        line.push_str(&piece);
    }
    if line.len() > indent.len() {
        out.push_str(&line);
        out.push('\n');
    }
    out
}

/// The width of the settings section (the CLI's `max_term_width`).
const WIDTH: usize = 100;

/// Adds the settings section to the top-level long help and [`NOTE`] to every subcommand's.
pub fn decorate(cmd: clap::Command, reserved: &[&str]) -> clap::Command {
    fn note_all(cmd: clap::Command) -> clap::Command {
        cmd.after_long_help(NOTE).mut_subcommands(note_all)
    }
    cmd.after_long_help(section(reserved, WIDTH))
        .mut_subcommands(note_all)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_as_nix_derives_them() {
        let all = flags(&["store"]);
        let find = |n: &str| all.iter().find(|f| f.name == n).cloned();
        let cases = [
            ("flake-registry", true, "Set the flake-registry setting"),
            ("tarball-ttl", true, "Set the tarball-ttl setting"),
            ("warn-dirty", false, "Enable the warn-dirty setting"),
            ("no-warn-dirty", false, "Disable the warn-dirty setting"),
            (
                "extra-substituters",
                true,
                "Append to the substituters setting",
            ),
        ];
        for (name, takes_value, help) in cases {
            let f = find(name).unwrap_or_else(|| panic!("{name} missing"));
            assert_eq!(
                (f.takes_value, f.help.as_str()),
                (takes_value, help),
                "{name}"
            );
        }
        assert_eq!(find("store"), None, "clap's own --store is not repeated");
        assert!(all.windows(2).all(|w| w[0].name < w[1].name), "sorted");
    }

    #[test]
    fn wraps_names() {
        let text = wrap(&["aaa", "bbb", "ccc"], "  ", 12);
        assert_eq!(text, "  aaa, bbb,\n  ccc\n");
    }
}
