//! The table of every setting Nix knows, so that rflake accepts a Nix user's
//! `nix.conf` silently and offers the same `--NAME` flags.
//!
//! Mirrors the settings registered with Nix's `globalConfig` (Nix 2.35 /
//! master): `libstore/include/nix/store/{globals,local-settings,worker-settings,filetransfer}.hh`,
//! `libfetchers/include/nix/fetchers/fetch-settings.hh`,
//! `libflake/include/nix/flake/settings.hh`, `libexpr/include/nix/expr/eval-settings.hh`,
//! `libcmd/include/nix/cmd/compatibility-settings.hh`, `libmain/plugin.cc`,
//! `libutil/{archive,fs-sink}.cc`, `libutil/include/nix/util/{logging,configuration}.hh`
//! and `nix/{develop,upgrade-nix}.cc`, `nix/nix-env/nix-env.cc`, `nix/unix/daemon.cc`.
//! Per-store settings (`StoreConfig`, e.g. `want-mass-query`) are not global
//! settings, so Nix warns about them in `nix.conf`, and so do we.
//!
//! # Deviations
//!
//! Windows-only differences are not modelled. Settings whose values Nix
//! parses with a custom parser (store references, JSON, enums such as
//! `lint-url-literals`) are [`Kind::Str`] here and are not validated.

/// How a setting's value is parsed, which also decides its command-line flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `true`/`yes`/`1` or `false`/`no`/`0`; flags `--NAME` and `--no-NAME`.
    Bool,
    /// An unsigned 32-bit integer with an optional `K`/`M`/`G`/`T` suffix.
    U32,
    /// An unsigned 64-bit integer with an optional `K`/`M`/`G`/`T` suffix.
    U64,
    /// A signed 64-bit integer with an optional `K`/`M`/`G`/`T` suffix.
    I64,
    /// `max-jobs`: `auto` or an unsigned integer.
    MaxJobs,
    /// `sandbox`: `true`, `false` or `relaxed`; flags `--sandbox`,
    /// `--no-sandbox` and `--relaxed-sandbox`.
    Sandbox,
    /// A non-empty path.
    Path,
    /// A non-empty absolute path.
    AbsPath,
    /// An absolute path, or empty for none.
    OptAbsPath,
    /// Any other single value (strings, store references, enums, JSON).
    Str,
    /// A whitespace-separated collection; appendable with `extra-NAME`.
    List,
}

impl Kind {
    /// Returns whether `extra-NAME` appends to the setting (Nix's `isAppendable`).
    pub fn is_appendable(self) -> bool {
        self == Kind::List
    }
}

/// The operating systems on which Nix defines a setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Platform {
    /// Every platform.
    Any,
    /// Linux only (`#ifdef __linux__`).
    Linux,
    /// macOS only (`#ifdef __APPLE__`).
    Darwin,
    /// Linux and FreeBSD.
    LinuxOrFreeBsd,
}

impl Platform {
    /// Returns whether the setting exists in a Nix built for this target.
    pub fn is_current(self) -> bool {
        match self {
            Platform::Any => true,
            Platform::Linux => cfg!(target_os = "linux"),
            Platform::Darwin => cfg!(target_os = "macos"),
            Platform::LinuxOrFreeBsd => cfg!(any(target_os = "linux", target_os = "freebsd")),
        }
    }
}

/// One Nix setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Setting {
    /// The canonical name, e.g. `tarball-ttl`.
    pub name: &'static str,
    /// How the value is parsed.
    pub kind: Kind,
    /// Deprecated names that Nix still accepts, e.g. `binary-caches`.
    pub aliases: &'static [&'static str],
    /// The experimental feature without which Nix ignores the setting.
    pub experimental_feature: Option<&'static str>,
    /// Where the setting exists.
    pub platform: Platform,
    /// Whether rflake reads the value (a typed field of [`super::Settings`]).
    pub used_by_rflake: bool,
}

const fn k(name: &'static str, kind: Kind) -> Setting {
    Setting {
        name,
        kind,
        aliases: &[],
        experimental_feature: None,
        platform: Platform::Any,
        used_by_rflake: false,
    }
}

impl Setting {
    const fn aliases(mut self, aliases: &'static [&'static str]) -> Self {
        self.aliases = aliases;
        self
    }

    const fn xp(mut self, feature: &'static str) -> Self {
        self.experimental_feature = Some(feature);
        self
    }

    const fn only(mut self, platform: Platform) -> Self {
        self.platform = platform;
        self
    }

    const fn used(mut self) -> Self {
        self.used_by_rflake = true;
        self
    }
}

use Kind::{AbsPath, Bool, I64, List, MaxJobs, OptAbsPath, Path, Sandbox, Str, U32, U64};
use Platform::{Darwin, Linux, LinuxOrFreeBsd};

/// Every global Nix setting, sorted by name (including platform-specific ones;
/// use [`all`] for the ones that exist on this platform).
pub static SETTINGS: &[Setting] = &[
    k("abort-on-warn", Bool),
    k("accept-flake-config", Bool).xp("flakes").used(),
    k("access-tokens", List).used(),
    k("allow-dirty", Bool).used(),
    k("allow-dirty-locks", Bool).xp("flakes").used(),
    k("allow-import-from-derivation", Bool),
    k("allow-new-privileges", Bool).only(Linux),
    k("allow-symlinked-store", Bool),
    k("allow-unsafe-native-code-during-evaluation", Bool),
    k("allowed-impure-host-deps", Str),
    k("allowed-uris", List),
    k("allowed-users", List),
    k("always-allow-substitutes", Bool),
    k("auto-allocate-uids", Bool).xp("auto-allocate-uids"),
    k("auto-optimise-store", Bool),
    k("bash-prompt", Str),
    k("bash-prompt-prefix", Str),
    k("bash-prompt-suffix", Str),
    k("build-dir", OptAbsPath),
    k("build-hook", List),
    k("build-hook-kill-timeout", U32),
    k("build-poll-interval", U32),
    k("build-users-group", Str),
    k("builders", Str),
    k("builders-use-substitutes", Bool),
    k("commit-lock-file-summary", Str)
        .aliases(&["commit-lockfile-summary"])
        .xp("flakes"),
    k("compress-build-log", Bool).aliases(&["build-compress-log"]),
    k("connect-timeout", U64).used(),
    k("cores", U32).aliases(&["build-cores"]),
    k("darwin-log-sandbox-violations", Bool).only(Darwin),
    k("debugger-on-trace", Bool),
    k("debugger-on-warn", Bool),
    k("diff-hook", OptAbsPath),
    k("download-buffer-size", U64),
    k("download-speed", U32),
    k("eval-attrset-update-layer-rhs-threshold", U32),
    k("eval-cache", Bool),
    k("eval-profile-file", Path),
    k("eval-profiler", Str),
    k("eval-profiler-frequency", U32),
    k("eval-system", Str),
    k("experimental-features", List).used(),
    k("external-builders", Str),
    k("extra-platforms", List),
    k("fallback", Bool).aliases(&["build-fallback"]),
    k("filetransfer-retry-attempts", U32)
        .aliases(&["download-attempts"])
        .used(),
    k("filetransfer-retry-delay", U32),
    k("filetransfer-retry-delay-rate-limited", U32),
    k("filetransfer-retry-jitter", Bool),
    k("filetransfer-retry-max-delay", U32),
    k("filter-syscalls", Bool).only(Linux),
    k("flake-registry", Str).xp("flakes").used(),
    k("fsync-metadata", Bool),
    k("fsync-store-paths", Bool),
    k("gc-reserved-space", I64),
    k("hashed-mirrors", List),
    k("http-connections", U64)
        .aliases(&["binary-caches-parallel-connections"])
        .used(),
    k("http2", Bool),
    k("http3", Bool),
    k("id-count", U32),
    k("ignore-try", Bool),
    k("ignored-acls", List).only(Linux),
    k("impersonate-linux-26", Bool).aliases(&["build-impersonate-linux-26"]),
    k("impure-env", List).xp("configurable-impure-env"),
    k("json-log-path", OptAbsPath),
    k("keep-build-log", Bool).aliases(&["build-keep-log"]),
    k("keep-derivations", Bool).aliases(&["gc-keep-derivations"]),
    k("keep-env-derivations", Bool).aliases(&["env-keep-derivations"]),
    k("keep-failed", Bool),
    k("keep-going", Bool),
    k("keep-outputs", Bool).aliases(&["gc-keep-outputs"]),
    k("lint-absolute-path-literals", Str),
    k("lint-short-path-literals", Str),
    k("lint-url-literals", Str),
    k("log-lines", U64),
    k("max-build-log-size", U64).aliases(&["build-max-log-size"]),
    k("max-call-depth", U32),
    k("max-free", U64),
    k("max-jobs", MaxJobs).aliases(&["build-max-jobs"]),
    k("max-silent-time", I64).aliases(&["build-max-silent-time"]),
    k("max-substitution-jobs", U32).aliases(&["substitution-max-jobs"]),
    k("min-free", U64),
    k("min-free-check-interval", U64),
    k("nar-buffer-size", U64),
    k("narinfo-cache-meta-ttl", U32),
    k("narinfo-cache-negative-ttl", U32),
    k("narinfo-cache-positive-ttl", U32),
    k("netrc-file", AbsPath),
    k("nix-path", List),
    k("nix-shell-always-looks-for-shell-nix", Bool),
    k("nix-shell-shebang-arguments-relative-to-script", Bool),
    k("plugin-files", Str),
    k("post-build-hook", Str),
    k("pre-build-hook", Str),
    k("preallocate-contents", Bool),
    k("print-missing", Bool),
    k("pure-eval", Bool),
    k("require-drop-supplementary-groups", Bool),
    k("require-sigs", Bool).used(),
    k("restrict-eval", Bool),
    k("run-diff-hook", Bool),
    k("sandbox", Sandbox).aliases(&["build-use-chroot", "build-use-sandbox"]),
    k("sandbox-build-dir", AbsPath).only(LinuxOrFreeBsd),
    k("sandbox-dev-shm-size", Str).only(Linux),
    k("sandbox-fallback", Bool),
    k("sandbox-paths", List).aliases(&["build-chroot-dirs", "build-sandbox-paths"]),
    k("secret-key-files", List).used(),
    k("show-trace", Bool),
    k("ssl-cert-file", OptAbsPath).used(),
    k("stalled-download-timeout", U64),
    k("start-id", U32),
    k("store", Str).used(),
    k("substitute", Bool).aliases(&["build-use-substitutes"]),
    k("substituters", List).aliases(&["binary-caches"]).used(),
    k("sync-before-registering", Bool),
    k("system", Str),
    k("system-features", List),
    k("tarball-ttl", U32).used(),
    k("timeout", I64).aliases(&["build-timeout"]),
    k("trace-function-calls", Bool),
    k("trace-import-from-derivation", Bool),
    k("trace-verbose", Bool),
    k("trust-tarballs-from-git-forges", Bool).used(),
    k("trusted-public-keys", List)
        .aliases(&["binary-cache-public-keys"])
        .used(),
    k("trusted-substituters", List).aliases(&["trusted-binary-caches"]),
    k("trusted-users", List),
    k("upgrade-nix-store-path-url", Str),
    k("use-case-hack", Bool),
    k("use-cgroups", Bool).only(Linux),
    k("use-registries", Bool).xp("flakes").used(),
    k("use-sqlite-wal", Bool),
    k("use-xdg-base-directories", Bool).used(),
    k("user-agent-suffix", Str),
    k("warn-dirty", Bool).used(),
    k("warn-large-path-threshold", U64),
    k("warn-short-path-literals", Bool),
];

/// The experimental features Nix knows (`libutil/experimental-features.cc`).
pub static EXPERIMENTAL_FEATURES: &[&str] = &[
    "auto-allocate-uids",
    "blake3-hashes",
    "ca-derivations",
    "cgroups",
    "configurable-impure-env",
    "daemon-trust-override",
    "dynamic-derivations",
    "external-builders",
    "fetch-closure",
    "fetch-tree",
    "flakes",
    "git-hashing",
    "impure-derivations",
    "local-overlay-store",
    "mounted-ssh-store",
    "nix-command",
    "parse-toml-timestamps",
    "pipe-operators",
    "read-only-local-store",
    "recursive-nix",
    "verified-fetches",
];

/// Returns the settings that exist on this platform.
pub fn all() -> impl Iterator<Item = &'static Setting> {
    SETTINGS.iter().filter(|s| s.platform.is_current())
}

/// Returns the setting called `name`, by canonical name or alias.
pub fn lookup(name: &str) -> Option<&'static Setting> {
    all().find(|s| s.name == name || s.aliases.contains(&name))
}

/// Resolves a name as Nix's `Config::set` does: an exact name or alias first,
/// then `extra-NAME` for an appendable setting. Returns the setting and
/// whether the value is appended.
pub fn resolve(name: &str) -> Option<(&'static Setting, bool)> {
    if let Some(setting) = lookup(name) {
        return Some((setting, false));
    }
    let setting = lookup(name.strip_prefix("extra-")?)?;
    setting.kind.is_appendable().then_some((setting, true))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_sorted_and_unique() {
        for pair in SETTINGS.windows(2) {
            assert!(
                pair[0].name < pair[1].name,
                "{} / {}",
                pair[0].name,
                pair[1].name
            );
        }
        let mut names: Vec<&str> = SETTINGS
            .iter()
            .flat_map(|s| s.aliases.iter().copied())
            .collect();
        names.extend(SETTINGS.iter().map(|s| s.name));
        let count = names.len();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), count, "an alias collides with a name");
    }

    #[test]
    fn resolve_cases() {
        let cases: &[(&str, Option<(&str, bool)>)] = &[
            ("tarball-ttl", Some(("tarball-ttl", false))),
            ("substituters", Some(("substituters", false))),
            ("extra-substituters", Some(("substituters", true))),
            ("binary-caches", Some(("substituters", false))),
            ("extra-binary-caches", Some(("substituters", true))),
            (
                "download-attempts",
                Some(("filetransfer-retry-attempts", false)),
            ),
            // A setting whose own name starts with `extra-`.
            ("extra-platforms", Some(("extra-platforms", false))),
            ("extra-extra-platforms", Some(("extra-platforms", true))),
            // `extra-` only applies to appendable settings.
            ("extra-tarball-ttl", None),
            ("extra-foo", None),
            ("foo", None),
            // Per-store settings are not global settings.
            ("want-mass-query", None),
        ];
        for (name, expected) in cases {
            let got = resolve(name).map(|(s, append)| (s.name, append));
            assert_eq!(got, *expected, "{name}");
        }
    }

    #[test]
    fn used_settings_are_marked() {
        let used: Vec<&str> = SETTINGS
            .iter()
            .filter(|s| s.used_by_rflake)
            .map(|s| s.name)
            .collect();
        assert_eq!(used.len(), 20, "{used:?}");
        assert!(lookup("flake-registry").is_some_and(|s| s.experimental_feature == Some("flakes")));
    }

    #[test]
    fn platform_specific_settings() {
        assert_eq!(lookup("use-cgroups").is_some(), cfg!(target_os = "linux"));
        assert_eq!(
            lookup("darwin-log-sandbox-violations").is_some(),
            cfg!(target_os = "macos")
        );
    }
}
