//! The settings a client passes on to a Nix daemon with `setOptions` (Nix's
//! `RemoteStore::setOptions` in `src/libstore/remote-store.cc`): the fixed fields (`keep-failed`,
//! `keep-going`, `fallback`, `max-jobs`, `max-silent-time`, `cores`, `substitute`), then every
//! *overridden* setting of the store layer by name, with its current value as Nix prints it
//! (`AbstractSetting::to_string`).
//!
//! The store layer is Nix's `settings` object (`globals.hh` with its local, worker, log-file and
//! NAR-info-cache parts) and `fileTransferSettings` (`filetransfer.hh`); fetcher, flake,
//! evaluator and logger settings stay with the client. Nix leaves out the fixed fields and
//! `show-trace`, `experimental-features`, `use-xdg-base-directories` and `plugin-files`.
//!
//! Values are tracked for every assignment (the system `nix.conf` included, since a later
//! `extra-NAME` appends to what it set), and rendered as Nix renders the parsed value: `true` /
//! `false` for booleans, decimal integers (`1K` becomes `1024`), `auto` as the number of CPUs,
//! canonical paths, lists joined by single spaces (sets sorted, without duplicates).
//!
//! # Deviations
//!
//! - `extra-platforms` and `system-features` have defaults Nix computes from the machine
//!   (`/dev/kvm`, the CPU); rflake does not, so an `extra-` line appended to the default is not
//!   forwarded (forwarding only the extras would replace the daemon's defaults).
//! - A setting marked overridden but never assigned (ignored for want of an experimental
//!   feature) is not forwarded; Nix forwards its default.
//! - Store references (`store`, `substituters`) are forwarded as written, not re-rendered.

use std::collections::BTreeMap;

use super::Error;
use super::known::{Kind, Setting};
use super::value::{canon_path, parse_bool, parse_map, parse_signed, parse_unsigned, tokens};

/// The overridden settings a daemon client forwards, sorted by name (Nix's store-layer settings
/// minus the fixed fields and the exclusions of `RemoteStore::setOptions`).
pub const FORWARDED: &[&str] = &[
    "allow-new-privileges",
    "allow-symlinked-store",
    "allowed-impure-host-deps",
    "always-allow-substitutes",
    "auto-allocate-uids",
    "auto-optimise-store",
    "build-dir",
    "build-hook",
    "build-hook-kill-timeout",
    "build-poll-interval",
    "build-users-group",
    "builders",
    "builders-use-substitutes",
    "compress-build-log",
    "connect-timeout",
    "darwin-log-sandbox-violations",
    "diff-hook",
    "download-buffer-size",
    "download-speed",
    "external-builders",
    "extra-platforms",
    "filetransfer-retry-attempts",
    "filetransfer-retry-delay",
    "filetransfer-retry-delay-rate-limited",
    "filetransfer-retry-jitter",
    "filetransfer-retry-max-delay",
    "filter-syscalls",
    "fsync-metadata",
    "fsync-store-paths",
    "gc-reserved-space",
    "hashed-mirrors",
    "http-connections",
    "http2",
    "http3",
    "id-count",
    "ignored-acls",
    "impersonate-linux-26",
    "impure-env",
    "keep-build-log",
    "keep-derivations",
    "keep-outputs",
    "log-lines",
    "max-build-log-size",
    "max-free",
    "max-substitution-jobs",
    "min-free",
    "min-free-check-interval",
    "nar-buffer-size",
    "narinfo-cache-meta-ttl",
    "narinfo-cache-negative-ttl",
    "narinfo-cache-positive-ttl",
    "netrc-file",
    "post-build-hook",
    "pre-build-hook",
    "print-missing",
    "require-drop-supplementary-groups",
    "require-sigs",
    "run-diff-hook",
    "sandbox",
    "sandbox-build-dir",
    "sandbox-dev-shm-size",
    "sandbox-fallback",
    "sandbox-paths",
    "secret-key-files",
    "ssl-cert-file",
    "stalled-download-timeout",
    "start-id",
    "store",
    "substituters",
    "sync-before-registering",
    "system",
    "system-features",
    "timeout",
    "trusted-public-keys",
    "trusted-substituters",
    "use-cgroups",
    "use-sqlite-wal",
    "user-agent-suffix",
    "warn-large-path-threshold",
];

/// The settings sent as fixed fields of `setOptions`, not by name.
pub const FIXED: &[&str] = &[
    "cores",
    "fallback",
    "keep-failed",
    "keep-going",
    "max-jobs",
    "max-silent-time",
    "substitute",
];

/// List settings Nix keeps as sets (`StringSet`, `std::set<StoreReference>`): rendered sorted,
/// without duplicates.
const SETS: &[&str] = &[
    "extra-platforms",
    "ignored-acls",
    "system-features",
    "trusted-substituters",
];

/// Whether the value of `name` is tracked (it is forwarded or a fixed field).
pub fn is_tracked(name: &str) -> bool {
    FORWARDED.binary_search(&name).is_ok() || FIXED.contains(&name)
}

/// Nix's default of a list setting, as `extra-NAME` appends to it; `None` when Nix computes it
/// from the machine.
fn list_default(name: &str) -> Option<Vec<String>> {
    let items: &[&str] = match name {
        "build-hook" => &["nix", "__build-remote"],
        "ignored-acls" => &["security.selinux", "system.nfs4_acl", "security.csm"],
        "substituters" => &["https://cache.nixos.org/"],
        "trusted-public-keys" => {
            &["cache.nixos.org-1:6NCHdD59X431o0gWypbMrAURkbJ16ZPMQFGspcDShjY="]
        }
        "extra-platforms" | "system-features" => return None,
        _ => &[],
    };
    Some(items.iter().map(|s| (*s).to_owned()).collect())
}

/// The value of `setting` after assigning `value` (appending when `append`) to `previous` (its
/// value so far, `None` for Nix's default), rendered as Nix prints it; `None` when the result is
/// not known (an append to a default rflake does not compute). `value` has been validated.
pub fn render(
    setting: &Setting,
    value: &str,
    append: bool,
    previous: Option<&str>,
) -> Result<Option<String>, Error> {
    let name = setting.name;
    let rendered = match setting.kind {
        Kind::Bool => parse_bool(name, value)?.to_string(),
        Kind::U32 => parse_unsigned(name, value, u32::MAX.into())?.to_string(),
        Kind::U64 => parse_unsigned(name, value, u64::MAX)?.to_string(),
        Kind::I64 => parse_signed(name, value)?.to_string(),
        Kind::MaxJobs if value == "auto" => std::thread::available_parallelism()
            .map_or(1, std::num::NonZero::get)
            .to_string(),
        Kind::AbsPath | Kind::OptAbsPath | Kind::Path => {
            match canon_path(std::path::Path::new(value)) {
                Some(p) => p.display().to_string(),
                None => value.to_owned(),
            }
        }
        Kind::MaxJobs | Kind::Sandbox | Kind::Str => value.to_owned(),
        Kind::List => {
            let mut items: Vec<String> = if !append {
                Vec::new()
            } else if let Some(prev) = previous {
                tokens(prev).map(str::to_owned).collect()
            } else if let Some(default) = list_default(name) {
                default
            } else {
                return Ok(None);
            };
            if name == "impure-env" {
                // A `StringMap`: the first value of a name wins; printed sorted by name.
                let mut map: BTreeMap<String, String> = BTreeMap::new();
                let joined = format!("{} {value}", items.join(" "));
                for (k, v) in parse_map(&joined) {
                    map.entry(k).or_insert(v);
                }
                items = map.into_iter().map(|(k, v)| format!("{k}={v}")).collect();
            } else {
                items.extend(tokens(value).map(str::to_owned));
            }
            if SETS.contains(&name) {
                items.sort();
                items.dedup();
            }
            items.join(" ")
        }
    };
    Ok(Some(rendered))
}

/// What a client tells a daemon with `setOptions`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DaemonOptions {
    /// `keep-failed`.
    pub keep_failed: bool,
    /// `keep-going`.
    pub keep_going: bool,
    /// `fallback`.
    pub fallback: bool,
    /// `max-jobs` (`auto` resolved to the number of CPUs).
    pub max_jobs: u64,
    /// `max-silent-time`, as the unsigned word Nix writes (a negative value wraps).
    pub max_silent_time: u64,
    /// `cores`.
    pub cores: u64,
    /// `substitute`.
    pub substitute: bool,
    /// The overridden settings of [`FORWARDED`], `(name, value)` sorted by name.
    pub overrides: Vec<(String, String)>,
}

impl Default for DaemonOptions {
    /// Nix's defaults.
    fn default() -> Self {
        DaemonOptions {
            keep_failed: false,
            keep_going: false,
            fallback: false,
            max_jobs: 1,
            max_silent_time: 0,
            cores: 0,
            substitute: true,
            overrides: Vec::new(),
        }
    }
}

impl DaemonOptions {
    /// Builds the options from the tracked values (`None`: an unknown value) and the names of
    /// the settings that were explicitly set.
    pub(crate) fn from_values(
        values: &BTreeMap<&'static str, Option<String>>,
        overridden: &std::collections::BTreeSet<String>,
    ) -> DaemonOptions {
        let get = |name: &str| values.get(name).and_then(Option::as_deref);
        let flag = |name: &str, default: bool| get(name).map_or(default, |v| v == "true");
        let number = |name: &str, default: u64| {
            get(name).map_or(default, |v| {
                v.parse::<u64>()
                    .or_else(|_| v.parse::<i64>().map(|n| n as u64))
                    .unwrap_or(default)
            })
        };
        let defaults = DaemonOptions::default();
        let overrides = FORWARDED
            .iter()
            .filter(|name| overridden.contains(**name))
            .filter_map(|name| Some(((*name).to_owned(), get(name)?.to_owned())))
            .collect();
        DaemonOptions {
            keep_failed: flag("keep-failed", defaults.keep_failed),
            keep_going: flag("keep-going", defaults.keep_going),
            fallback: flag("fallback", defaults.fallback),
            max_jobs: number("max-jobs", defaults.max_jobs),
            max_silent_time: number("max-silent-time", defaults.max_silent_time),
            cores: number("cores", defaults.cores),
            substitute: flag("substitute", defaults.substitute),
            overrides,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::known::{lookup, resolve};

    #[test]
    fn forwarded_settings_are_sorted_known_and_not_fixed() {
        assert!(FORWARDED.windows(2).all(|w| w[0] < w[1]));
        for name in FORWARDED.iter().chain(FIXED) {
            assert!(
                crate::settings::known::SETTINGS
                    .iter()
                    .any(|s| s.name == *name),
                "{name}"
            );
        }
        for name in FIXED {
            assert!(!FORWARDED.contains(name), "{name}");
        }
        for name in [
            "experimental-features",
            "show-trace",
            "use-xdg-base-directories",
            "plugin-files",
            "tarball-ttl",
            "flake-registry",
            "access-tokens",
        ] {
            assert!(!is_tracked(name), "{name}");
        }
    }

    #[test]
    fn values_render_as_nix_prints_them() {
        let r = |name: &str, value: &str, append: bool, prev: Option<&str>| {
            let (setting, _) = resolve(name).unwrap();
            render(setting, value, append, prev).unwrap()
        };
        /// Name, value, whether appended, the previous value, the expected rendering.
        type Case<'a> = (&'a str, &'a str, bool, Option<&'a str>, Option<&'a str>);
        let cases: &[Case] = &[
            ("keep-outputs", "yes", false, None, Some("true")),
            ("require-sigs", "0", false, None, Some("false")),
            ("connect-timeout", "1K", false, None, Some("1024")),
            ("timeout", "-2", false, None, Some("-2")),
            (
                "netrc-file",
                "/etc//nix/./netrc",
                false,
                None,
                Some("/etc/nix/netrc"),
            ),
            ("sandbox", "relaxed", false, None, Some("relaxed")),
            (
                "builders",
                "@/etc/machines",
                false,
                None,
                Some("@/etc/machines"),
            ),
            ("substituters", " a   b ", false, None, Some("a b")),
            (
                "substituters",
                "b",
                true,
                None,
                Some("https://cache.nixos.org/ b"),
            ),
            ("substituters", "c", true, Some("a b"), Some("a b c")),
            ("trusted-substituters", "z a a", false, None, Some("a z")),
            ("hashed-mirrors", "m", true, None, Some("m")),
            ("system-features", "kvm", true, None, None),
            (
                "system-features",
                "kvm",
                true,
                Some("big-parallel"),
                Some("big-parallel kvm"),
            ),
            ("system-features", "kvm x", false, None, Some("kvm x")),
            ("impure-env", "B=1 A=2 B=3", false, None, Some("A=2 B=1")),
            (
                "impure-env",
                "A=9 C=1",
                true,
                Some("A=2 B=1"),
                Some("A=2 B=1 C=1"),
            ),
        ];
        for (name, value, append, prev, expected) in cases {
            assert_eq!(
                r(name, value, *append, *prev).as_deref(),
                *expected,
                "{name} {value}"
            );
        }
        let jobs = r("max-jobs", "auto", false, None).unwrap();
        assert!(jobs.parse::<u64>().unwrap() >= 1);
        assert!(lookup("max-jobs").is_some());
    }
}
