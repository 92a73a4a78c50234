//! The `builders` setting (Nix's `Machine` and `getMachines`, `src/libstore/machines.cc`):
//! one machine per line or `;`-separated entry, `#` starting a comment, `@FILE` reading more
//! entries from a file (a missing file is no machines). An entry's columns, separated by
//! blanks, `-` or nothing for the default:
//!
//! 1. the store URI (`ssh://` is prepended to a bare host name);
//! 2. the systems, comma-separated (default: this machine's);
//! 3. the SSH identity file;
//! 4. the maximum number of builds at once (default 1);
//! 5. the speed factor (default 1, at least 1);
//! 6. the supported features, comma-separated;
//! 7. the mandatory features, comma-separated;
//! 8. the SSH host key, base64-encoded.
//!
//! Also which machine fits a derivation ([`Machine::fits`]) and Nix's message when none does
//! ([`no_machine_message`]).

use std::collections::BTreeSet;

/// A build machine.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Machine {
    /// The store URI (`ssh://host`, `ssh-ng://host`, …).
    pub store_uri: String,
    /// The systems it builds for, in the order given.
    pub systems: Vec<String>,
    /// The SSH identity file (empty for none).
    pub ssh_key: String,
    /// How many builds it runs at once.
    pub max_jobs: u64,
    /// How much faster it is than others (at least 1).
    pub speed_factor: u64,
    /// Features it supports.
    pub supported_features: BTreeSet<String>,
    /// Features a derivation must require to be built there.
    pub mandatory_features: BTreeSet<String>,
    /// The SSH host key, base64-encoded (empty for none).
    pub ssh_host_key: String,
}

/// A malformed `builders` entry, worded as Nix words it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// No store URI.
    #[error(
        "bad machine specification: store URL was not found at the first column of a row: '{0}'"
    )]
    NoUri(String),
    /// A column that must be a number.
    #[error(
        "bad machine specification: failed to convert column #{column} in a row: '{line}' to 'unsigned int'"
    )]
    NotANumber {
        /// The column (from 0).
        column: usize,
        /// The entry.
        line: String,
    },
    /// A host key that is not base64.
    #[error(
        "bad machine specification: a column #{column} in a row: '{line}' is not valid base64 string: {reason}"
    )]
    NotBase64 {
        /// The column (from 0).
        column: usize,
        /// The entry.
        line: String,
        /// Why.
        reason: String,
    },
}

impl Machine {
    /// Whether every feature in `required` is supported or mandatory here (Nix's
    /// `allSupported`).
    pub fn all_supported(&self, required: &BTreeSet<String>) -> bool {
        required
            .iter()
            .all(|f| self.supported_features.contains(f) || self.mandatory_features.contains(f))
    }

    /// Whether `required` includes every mandatory feature (Nix's `mandatoryMet`).
    pub fn mandatory_met(&self, required: &BTreeSet<String>) -> bool {
        self.mandatory_features.iter().all(|f| required.contains(f))
    }

    /// Whether a derivation for `system` requiring `features` may be built here (`builtin`
    /// derivations fit any machine).
    pub fn fits(&self, system: &str, features: &BTreeSet<String>) -> bool {
        (system == "builtin" || self.systems.iter().any(|s| s == system))
            && self.all_supported(features)
            && self.mandatory_met(features)
    }
}

/// The entries of a `builders` value, `@FILE` entries expanded with `read` (which answers
/// `None` for a missing file).
fn expand(text: &str, read: &dyn Fn(&str) -> Option<String>, depth: usize) -> Vec<String> {
    let mut out = Vec::new();
    for entry in text.split(['\n', ';']) {
        let entry = entry.split('#').next().unwrap_or("").trim();
        if entry.is_empty() {
            continue;
        }
        if let Some(file) = entry.strip_prefix('@') {
            // A file naming itself would recurse forever; Nix's would too, rflake stops.
            if depth < 16
                && let Some(text) = read(file.trim())
            {
                out.extend(expand(&text, read, depth + 1));
            }
            continue;
        }
        out.push(entry.to_owned());
    }
    out
}

fn list(s: &str) -> impl Iterator<Item = String> + '_ {
    s.split(',').filter(|x| !x.is_empty()).map(str::to_owned)
}

/// Parses one entry; `this_system` is the default system.
fn parse_line(line: &str, this_system: &str) -> Result<Machine, Error> {
    let cols: Vec<&str> = line.split([' ', '\t']).filter(|c| !c.is_empty()).collect();
    let set = |i: usize| cols.get(i).copied().filter(|c| *c != "-");
    let number = |i: usize| -> Result<u64, Error> {
        match set(i) {
            None => Ok(1),
            Some(c) => c
                .parse::<u32>()
                .map(u64::from)
                .map_err(|_| Error::NotANumber {
                    column: i,
                    line: line.to_owned(),
                }),
        }
    };
    let Some(uri) = set(0) else {
        return Err(Error::NoUri(line.to_owned()));
    };
    let store_uri = if uri.contains("://")
        || uri.contains('/')
        || ["auto", "daemon", "local"].contains(&uri)
        || ["auto?", "daemon?", "local?", "?"]
            .iter()
            .any(|p| uri.starts_with(p))
    {
        uri.to_owned()
    } else {
        format!("ssh://{uri}")
    };
    let ssh_host_key = match set(7) {
        None => String::new(),
        Some(k) => {
            use base64::Engine as _;
            base64::engine::general_purpose::STANDARD
                .decode(k)
                .map_err(|e| Error::NotBase64 {
                    column: 7,
                    line: line.to_owned(),
                    reason: e.to_string(),
                })?;
            k.to_owned()
        }
    };
    Ok(Machine {
        store_uri,
        systems: match set(1) {
            Some(s) => list(s).collect(),
            None => vec![this_system.to_owned()],
        },
        ssh_key: set(2).unwrap_or("").to_owned(),
        max_jobs: number(3)?,
        speed_factor: number(4)?.max(1),
        supported_features: set(5).map(|s| list(s).collect()).unwrap_or_default(),
        mandatory_features: set(6).map(|s| list(s).collect()).unwrap_or_default(),
        ssh_host_key,
    })
}

/// Parses the `builders` setting; `read` reads an `@FILE` (`None` when it does not exist).
pub fn parse(
    builders: &str,
    this_system: &str,
    read: &dyn Fn(&str) -> Option<String>,
) -> Result<Vec<Machine>, Error> {
    expand(builders, read, 0)
        .iter()
        .map(|l| parse_line(l, this_system))
        .collect()
}

/// Nix's warning when no machine fits a derivation (`build-remote.cc`).
pub fn no_machine_message(
    drv_base_name: &str,
    system: &str,
    features: &BTreeSet<String>,
    machines: &[Machine],
) -> String {
    let join = |s: &BTreeSet<String>| s.iter().cloned().collect::<Vec<_>>().join(", ");
    let mut msg = format!(
        "Failed to find a machine for remote build!\nderivation: {drv_base_name}\n\
         required (system, features): ({system}, {})\n{} available machines:\n\
         (systems, maxjobs, supportedFeatures, mandatoryFeatures)",
        join(features),
        machines.len()
    );
    for m in machines {
        msg.push_str(&format!(
            "\n({}, {}, {}, {})",
            m.systems.join(", "),
            m.max_jobs,
            join(&m.supported_features),
            join(&m.mandatory_features)
        ));
    }
    msg
}

#[cfg(test)]
mod tests {
    use super::*;

    fn none(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn entries_parse_as_nixs() {
        let text = "nix@a.example x86_64-linux,aarch64-linux /k 4 2 kvm,big-parallel benchmark aGVsbG8=\n\
                    # a comment\n  ssh-ng://b - - - 0 ; c # trailing\n";
        let ms = parse(text, "x86_64-linux", &none).unwrap();
        assert_eq!(ms.len(), 3);
        assert_eq!(ms[0].store_uri, "ssh://nix@a.example");
        assert_eq!(ms[0].systems, ["x86_64-linux", "aarch64-linux"]);
        assert_eq!(ms[0].ssh_key, "/k");
        assert_eq!((ms[0].max_jobs, ms[0].speed_factor), (4, 2));
        assert!(ms[0].supported_features.contains("kvm"));
        assert!(ms[0].mandatory_features.contains("benchmark"));
        assert_eq!(ms[0].ssh_host_key, "aGVsbG8=");
        assert_eq!(ms[1].store_uri, "ssh-ng://b");
        assert_eq!(ms[1].systems, ["x86_64-linux"]);
        assert_eq!((ms[1].max_jobs, ms[1].speed_factor), (1, 1));
        assert_eq!(ms[2].store_uri, "ssh://c");
        for bare in ["daemon", "local?root=/x", "/some/dir", "auto"] {
            assert_eq!(parse(bare, "s", &none).unwrap()[0].store_uri, bare);
        }
    }

    #[test]
    fn files_are_read_and_missing_ones_ignored() {
        let read = |p: &str| match p {
            "/m" => Some("x y\n@/n\n".to_owned()),
            "/n" => Some("z".to_owned()),
            _ => None,
        };
        let ms = parse("@/m; @/missing; w", "s", &read).unwrap();
        let uris: Vec<&str> = ms.iter().map(|m| m.store_uri.as_str()).collect();
        assert_eq!(uris, ["ssh://x", "ssh://z", "ssh://w"]);
        assert_eq!(ms[0].systems, ["y"]);
        // A file including itself stops.
        let looping = |_: &str| Some("@/self\nh".to_owned());
        assert!(!parse("@/self", "s", &looping).unwrap().is_empty());
    }

    #[test]
    fn bad_entries_give_nixs_messages() {
        assert_eq!(
            parse("h s k many", "s", &none).unwrap_err().to_string(),
            "bad machine specification: failed to convert column #3 in a row: 'h s k many' to 'unsigned int'"
        );
        assert_eq!(
            parse("- x", "s", &none).unwrap_err().to_string(),
            "bad machine specification: store URL was not found at the first column of a row: '- x'"
        );
        assert!(
            parse("h - - - - - - !!", "s", &none)
                .unwrap_err()
                .to_string()
                .starts_with("bad machine specification: a column #7 in a row: 'h - - - - - - !!' is not valid base64 string")
        );
    }

    #[test]
    fn machines_fit_by_system_and_features() {
        let m = parse("h x86_64-linux - 1 1 kvm,big benchmark", "s", &none).unwrap();
        let set = |xs: &[&str]| xs.iter().map(|s| (*s).to_owned()).collect::<BTreeSet<_>>();
        assert!(m[0].fits("x86_64-linux", &set(&["benchmark"])));
        assert!(m[0].fits("x86_64-linux", &set(&["benchmark", "kvm"])));
        assert!(m[0].fits("builtin", &set(&["benchmark"])));
        // The mandatory feature must be required.
        assert!(!m[0].fits("x86_64-linux", &set(&["kvm"])));
        assert!(!m[0].fits("x86_64-linux", &set(&["benchmark", "gpu"])));
        assert!(!m[0].fits("aarch64-linux", &set(&["benchmark"])));
        assert_eq!(
            no_machine_message("x.drv", "aarch64-linux", &set(&["a", "b"]), &m),
            "Failed to find a machine for remote build!\nderivation: x.drv\n\
             required (system, features): (aarch64-linux, a, b)\n1 available machines:\n\
             (systems, maxjobs, supportedFeatures, mandatoryFeatures)\n\
             (x86_64-linux, 1, big, kvm, benchmark)"
        );
    }
}
