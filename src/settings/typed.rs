//! The typed settings rflake reads, with Nix's defaults, and how a value is
//! stored into them (Nix's `BaseSetting<T>::appendOrSet`).
//!
//! Defaults follow Nix 2.35: `libfetchers/include/nix/fetchers/fetch-settings.hh`,
//! `libflake/include/nix/flake/settings.hh`, `libstore/include/nix/store/globals.hh`,
//! `libstore/include/nix/store/worker-settings.hh` and
//! `libstore/include/nix/store/filetransfer.hh`.
//!
//! # Deviations
//!
//! Store references (`store`, `substituters`) are kept as written; Nix parses
//! and re-renders them.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use super::Error;
use super::known::{EXPERIMENTAL_FEATURES, Setting};
use super::value::{parse_bool, parse_map, parse_opt_abs_path, parse_unsigned, tokens, validate};

/// The Nix settings rflake uses, with Nix's defaults (see [`Settings::default`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// `flake-registry`: the global flake registry (a URL or path).
    pub flake_registry: String,
    /// `tarball-ttl`: seconds a downloaded tarball or Git ref stays fresh.
    pub tarball_ttl: u64,
    /// `use-registries`: whether flake references are resolved through registries.
    pub use_registries: bool,
    /// `access-tokens`: access token per host (`host=token` pairs).
    pub access_tokens: BTreeMap<String, String>,
    /// `store`: the URL of the Nix store (`auto` by default).
    pub store: String,
    /// `substituters`: binary caches, in order of preference.
    pub substituters: Vec<String>,
    /// `trusted-public-keys`: keys accepted for signed store paths.
    pub trusted_public_keys: Vec<String>,
    /// `secret-key-files`: files with keys used to sign store paths.
    pub secret_key_files: Vec<String>,
    /// `require-sigs`: whether paths copied into a local store need a trusted signature
    /// (content-addressed paths never do).
    pub require_sigs: bool,
    /// `http-connections`: maximum parallel HTTP connections.
    pub http_connections: u64,
    /// `connect-timeout`: seconds allowed to establish a connection.
    pub connect_timeout: u64,
    /// `ssl-cert-file`: the CA bundle for TLS, if any.
    pub ssl_cert_file: Option<PathBuf>,
    /// `warn-dirty`: whether to warn about dirty Git trees.
    pub warn_dirty: bool,
    /// `allow-dirty`: whether dirty Git trees may be used.
    pub allow_dirty: bool,
    /// `accept-flake-config`: whether `nixConfig` in flakes is accepted unasked.
    pub accept_flake_config: bool,
    /// `use-xdg-base-directories`: whether profiles live under XDG directories.
    pub use_xdg_base_directories: bool,
    /// `experimental-features`: enabled features, sorted and deduplicated;
    /// `flakes` implies `fetch-tree`.
    pub experimental_features: Vec<String>,
    /// `trust-tarballs-from-git-forges`: whether forge tarballs are trusted
    /// without a NAR hash.
    pub trust_tarballs_from_git_forges: bool,
    /// `allow-dirty-locks`: whether lock files may record dirty inputs.
    pub allow_dirty_locks: bool,
    /// `commit-lock-file-summary`: the first line of `--commit-lock-file` commits.
    pub commit_lock_file_summary: String,
    /// `filetransfer-retry-attempts` (alias `download-attempts`): how many
    /// times a download is tried.
    pub download_attempts: u64,
    /// `show-trace`: evaluation errors show their whole trace.
    pub show_trace: bool,
    /// `abort-on-warn`: `builtins.warn` raises an error after printing its warning.
    pub abort_on_warn: bool,
    /// `max-call-depth`: how deep evaluation may nest calls.
    pub max_call_depth: u64,
    /// `allow-import-from-derivation`: whether evaluation may build derivations whose
    /// outputs it reads.
    pub allow_import_from_derivation: bool,
    /// `eval-cache`: whether flake attributes are kept in (and taken from) the evaluation
    /// cache.
    pub eval_cache: bool,
    /// `nix-path`: the search path for `<…>` lookups.
    pub nix_path: Vec<String>,
    /// `lint-absolute-path-literals`, `lint-short-path-literals`, `lint-url-literals`:
    /// `ignore`, `warn` or `fatal`.
    pub lint_absolute_path_literals: String,
    /// `lint-short-path-literals`.
    pub lint_short_path_literals: String,
    /// `lint-url-literals`.
    pub lint_url_literals: String,
    /// Canonical names of settings set explicitly: by a user configuration
    /// file, `NIX_CONFIG` or the command line, but not by the system
    /// `nix.conf` (Nix's `overridden` flag, reset after the system file).
    pub explicitly_set: BTreeSet<String>,
    /// What a daemon client tells the daemon (`setOptions`): the fixed fields and the
    /// overridden store settings with their values.
    pub daemon: super::forward::DaemonOptions,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            flake_registry: "https://channels.nixos.org/flake-registry.json".to_owned(),
            tarball_ttl: 60 * 60,
            use_registries: true,
            access_tokens: BTreeMap::new(),
            store: "auto".to_owned(),
            substituters: vec!["https://cache.nixos.org/".to_owned()],
            trusted_public_keys: vec![
                "cache.nixos.org-1:6NCHdD59X431o0gWypbMrAURkbJ16ZPMQFGspcDShjY=".to_owned(),
            ],
            secret_key_files: Vec::new(),
            require_sigs: true,
            http_connections: 25,
            connect_timeout: 15,
            ssl_cert_file: None,
            warn_dirty: true,
            allow_dirty: true,
            accept_flake_config: false,
            use_xdg_base_directories: false,
            experimental_features: Vec::new(),
            trust_tarballs_from_git_forges: true,
            allow_dirty_locks: false,
            commit_lock_file_summary: String::new(),
            download_attempts: 5,
            show_trace: false,
            abort_on_warn: false,
            max_call_depth: 10000,
            allow_import_from_derivation: true,
            eval_cache: true,
            nix_path: Vec::new(),
            lint_absolute_path_literals: "ignore".to_owned(),
            lint_short_path_literals: "ignore".to_owned(),
            lint_url_literals: "ignore".to_owned(),
            explicitly_set: BTreeSet::new(),
            daemon: super::forward::DaemonOptions::default(),
        }
    }
}

/// Experimental features rflake treats as enabled whatever the configuration says.
pub const ALWAYS_ENABLED: &[&str] = &["flakes", "nix-command", "fetch-tree"];

impl Settings {
    /// Returns whether an experimental feature is enabled.
    ///
    /// `flakes`, `nix-command` and `fetch-tree` are always enabled: every command rflake
    /// implements needs them (spec decision §9.6), so their settings always apply.
    pub fn is_enabled(&self, feature: &str) -> bool {
        ALWAYS_ENABLED.contains(&feature) || self.experimental_features.iter().any(|f| f == feature)
    }

    /// Stores `value` into `setting` (appending when `append`), after parsing
    /// it as Nix would. Warnings from parsing are pushed onto `warnings`.
    pub(crate) fn assign(
        &mut self,
        setting: &Setting,
        value: &str,
        append: bool,
        warnings: &mut Vec<String>,
    ) -> Result<(), Error> {
        let name = setting.name;
        if let Some(field) = self.bool_field(name) {
            *field = parse_bool(name, value)?;
        } else if let Some((field, max)) = self.integer_field(name) {
            *field = parse_unsigned(name, value, max)?;
        } else if let Some(field) = self.list_field(name) {
            let items = tokens(value).map(str::to_owned);
            if !append {
                field.clear();
            }
            field.extend(items);
        } else {
            match name {
                "flake-registry" => self.flake_registry = value.to_owned(),
                "store" => self.store = value.to_owned(),
                "commit-lock-file-summary" => self.commit_lock_file_summary = value.to_owned(),
                "lint-absolute-path-literals"
                | "lint-short-path-literals"
                | "lint-url-literals" => {
                    if !matches!(value, "ignore" | "warn" | "fatal") {
                        return Err(Error::InvalidDiagnose {
                            name: name.to_owned(),
                            value: value.to_owned(),
                        });
                    }
                    let field = match name {
                        "lint-absolute-path-literals" => &mut self.lint_absolute_path_literals,
                        "lint-short-path-literals" => &mut self.lint_short_path_literals,
                        _ => &mut self.lint_url_literals,
                    };
                    *field = value.to_owned();
                }
                "ssl-cert-file" => self.ssl_cert_file = parse_opt_abs_path(name, value)?,
                "access-tokens" => {
                    if !append {
                        self.access_tokens.clear();
                    }
                    for (host, token) in parse_map(value) {
                        // `std::map::insert` keeps an existing key.
                        self.access_tokens.entry(host).or_insert(token);
                    }
                }
                "experimental-features" => {
                    let mut features: BTreeSet<String> = if append {
                        self.experimental_features.iter().cloned().collect()
                    } else {
                        BTreeSet::new()
                    };
                    features.extend(parse_features(value, warnings));
                    self.experimental_features = features.into_iter().collect();
                }
                _ => validate(setting, value)?,
            }
        }
        Ok(())
    }

    fn bool_field(&mut self, name: &str) -> Option<&mut bool> {
        Some(match name {
            "use-registries" => &mut self.use_registries,
            "require-sigs" => &mut self.require_sigs,
            "warn-dirty" => &mut self.warn_dirty,
            "allow-dirty" => &mut self.allow_dirty,
            "accept-flake-config" => &mut self.accept_flake_config,
            "use-xdg-base-directories" => &mut self.use_xdg_base_directories,
            "trust-tarballs-from-git-forges" => &mut self.trust_tarballs_from_git_forges,
            "allow-dirty-locks" => &mut self.allow_dirty_locks,
            "show-trace" => &mut self.show_trace,
            "abort-on-warn" => &mut self.abort_on_warn,
            "allow-import-from-derivation" => &mut self.allow_import_from_derivation,
            "eval-cache" => &mut self.eval_cache,
            _ => return None,
        })
    }

    /// Returns the field and the maximum of the setting's C++ type.
    fn integer_field(&mut self, name: &str) -> Option<(&mut u64, u64)> {
        let u32_max = u64::from(u32::MAX);
        Some(match name {
            "tarball-ttl" => (&mut self.tarball_ttl, u32_max),
            "http-connections" => (&mut self.http_connections, u64::MAX),
            "connect-timeout" => (&mut self.connect_timeout, u64::MAX),
            "filetransfer-retry-attempts" => (&mut self.download_attempts, u32_max),
            "max-call-depth" => (&mut self.max_call_depth, u32_max),
            _ => return None,
        })
    }

    fn list_field(&mut self, name: &str) -> Option<&mut Vec<String>> {
        Some(match name {
            "substituters" => &mut self.substituters,
            "trusted-public-keys" => &mut self.trusted_public_keys,
            "secret-key-files" => &mut self.secret_key_files,
            "nix-path" => &mut self.nix_path,
            _ => return None,
        })
    }
}

/// Parses `experimental-features` as Nix's
/// `BaseSetting<std::set<ExperimentalFeature>>::parse` does: unknown names
/// are dropped with a warning, and `flakes` implies `fetch-tree`.
fn parse_features(value: &str, warnings: &mut Vec<String>) -> BTreeSet<String> {
    let mut features = BTreeSet::new();
    for token in tokens(value).collect::<BTreeSet<_>>() {
        if EXPERIMENTAL_FEATURES.contains(&token) {
            features.insert(token.to_owned());
            if token == "flakes" {
                features.insert("fetch-tree".to_owned());
            }
        } else if token == "no-url-literals" {
            warnings.push(format!(
                "experimental feature '{token}' has been stabilized and renamed; \
                 use 'lint-url-literals = fatal' setting instead"
            ));
        } else {
            warnings.push(format!("unknown experimental feature '{token}'"));
        }
    }
    features
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::known::lookup;

    fn assign(settings: &mut Settings, name: &str, value: &str, append: bool) -> Vec<String> {
        let mut warnings = Vec::new();
        settings
            .assign(lookup(name).unwrap(), value, append, &mut warnings)
            .unwrap();
        warnings
    }

    #[test]
    fn lists_set_and_append() {
        let mut s = Settings::default();
        assign(&mut s, "substituters", "  a   b ", false);
        assert_eq!(s.substituters, ["a", "b"]);
        assign(&mut s, "substituters", "c a", true);
        assert_eq!(s.substituters, ["a", "b", "c", "a"]);
        assign(&mut s, "substituters", "", false);
        assert!(s.substituters.is_empty());
    }

    #[test]
    fn access_tokens_keep_first_value() {
        let mut s = Settings::default();
        assign(
            &mut s,
            "access-tokens",
            "github.com=one junk gitlab.com=two",
            false,
        );
        assign(
            &mut s,
            "access-tokens",
            "github.com=new example.org=x=y",
            true,
        );
        let expected: BTreeMap<String, String> = [
            ("example.org", "x=y"),
            ("github.com", "one"),
            ("gitlab.com", "two"),
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .into();
        assert_eq!(s.access_tokens, expected);
        assign(&mut s, "access-tokens", "github.com=new", false);
        assert_eq!(s.access_tokens.len(), 1);
    }

    #[test]
    fn experimental_features() {
        let mut s = Settings::default();
        let warnings = assign(
            &mut s,
            "experimental-features",
            "nix-command flakes bogus",
            false,
        );
        assert_eq!(
            s.experimental_features,
            ["fetch-tree", "flakes", "nix-command"]
        );
        assert_eq!(warnings, ["unknown experimental feature 'bogus'"]);
        assign(
            &mut s,
            "experimental-features",
            "ca-derivations flakes",
            true,
        );
        assert_eq!(
            s.experimental_features,
            ["ca-derivations", "fetch-tree", "flakes", "nix-command"]
        );
        assert!(s.is_enabled("flakes"));
        assign(&mut s, "experimental-features", "nix-command", false);
        assert_eq!(s.experimental_features, ["nix-command"]);
    }

    #[test]
    fn typed_fields() {
        let mut s = Settings::default();
        assign(&mut s, "tarball-ttl", "1K", false);
        assign(&mut s, "warn-dirty", "no", false);
        assign(&mut s, "ssl-cert-file", "/etc/ssl/../ssl/cert.pem", false);
        assign(&mut s, "filetransfer-retry-attempts", "9", false);
        assert_eq!(
            (s.tarball_ttl, s.warn_dirty, s.download_attempts),
            (1024, false, 9)
        );
        assert_eq!(s.ssl_cert_file, Some(PathBuf::from("/etc/ssl/cert.pem")));
        assign(&mut s, "ssl-cert-file", "", false);
        assert_eq!(s.ssl_cert_file, None);
    }

    #[test]
    fn bad_values_leave_settings_unchanged() {
        let mut s = Settings::default();
        let mut warnings = Vec::new();
        for (name, value) in [("tarball-ttl", "4294967296"), ("warn-dirty", "x")] {
            let setting = lookup(name).unwrap();
            assert!(
                s.assign(setting, value, false, &mut warnings).is_err(),
                "{name}"
            );
        }
        assert_eq!(s, Settings::default());
    }
}
