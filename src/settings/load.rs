//! Applying configuration sources in Nix's order (`loadConfFile` in
//! `src/libstore/globals.cc`, `AbstractConfig::applyConfig` in
//! `src/libutil/configuration.cc`, `GlobalConfig::set` in
//! `src/libutil/config-global.cc`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use super::forward::{self, DaemonOptions};
use super::{Error, Loaded, Settings, Sources, conf, known};

/// Loads the configuration from all `sources`, in Nix's order.
///
/// # Errors
///
/// Returns an error for a syntax error, a missing `include`, or a value that
/// does not parse for its setting (for any setting Nix knows, not only the
/// ones in [`Settings`]).
pub fn load(sources: &Sources) -> Result<Loaded, Error> {
    let mut loader = Loader {
        settings: Settings {
            ssl_cert_file: sources.default_ssl_cert_file.clone(),
            store: sources
                .default_store
                .clone()
                .unwrap_or_else(|| Settings::default().store),
            ..Settings::default()
        },
        warnings: Vec::new(),
        unknown: BTreeSet::new(),
        values: BTreeMap::new(),
    };
    // Nix resets the `overridden` flags after the system file.
    if let Some(contents) = conf::read(&sources.system_file) {
        loader.apply_config(&contents, &sources.system_file, false)?;
    }
    for file in &sources.user_files {
        if let Some(contents) = conf::read(file) {
            loader.apply_config(&contents, file, true)?;
        }
    }
    if let Some(contents) = &sources.nix_config {
        loader.apply_config(contents, Path::new("NIX_CONFIG"), true)?;
    }
    for (name, value) in &sources.overrides {
        loader.set(name, value, true)?;
    }
    Ok(loader.finish())
}

struct Loader {
    settings: Settings,
    warnings: Vec<String>,
    unknown: BTreeSet<String>,
    /// The rendered values of the settings a daemon client passes on
    /// ([`forward::is_tracked`]); `None` when not known.
    values: BTreeMap<&'static str, Option<String>>,
}

impl Loader {
    /// Applies one source as `AbstractConfig::applyConfig` does.
    fn apply_config(&mut self, contents: &str, origin: &Path, explicit: bool) -> Result<(), Error> {
        let entries = conf::parse(contents, origin)?;
        let is_features =
            |name: &str| name == "experimental-features" || name == "extra-experimental-features";
        let (features, others): (Vec<_>, Vec<_>) =
            entries.iter().partition(|(name, _)| is_features(name));
        for (name, value) in features.into_iter().chain(others) {
            self.set(name, value, explicit)?;
        }
        Ok(())
    }

    /// Sets one setting as `GlobalConfig::set` does.
    fn set(&mut self, name: &str, value: &str, explicit: bool) -> Result<(), Error> {
        let Some((setting, append)) = known::resolve(name) else {
            self.unknown.insert(name.to_owned());
            return Ok(());
        };
        match setting.experimental_feature {
            Some(feature) if !self.settings.is_enabled(feature) => {
                self.warnings.push(format!(
                    "Ignoring setting '{}' because experimental feature '{feature}' is not enabled",
                    setting.name
                ));
            }
            _ => {
                self.settings
                    .assign(setting, value, append, &mut self.warnings)?;
                if forward::is_tracked(setting.name) {
                    let rendered = match self.values.get(setting.name) {
                        Some(None) if append => None,
                        prev => forward::render(
                            setting,
                            value,
                            append,
                            prev.cloned().flatten().as_deref(),
                        )?,
                    };
                    self.values.insert(setting.name, rendered);
                }
            }
        }
        // Nix marks the setting overridden even when it was ignored.
        if explicit {
            self.settings.explicitly_set.insert(setting.name.to_owned());
        }
        Ok(())
    }

    fn finish(mut self) -> Loaded {
        let unknown = self
            .unknown
            .iter()
            .map(|name| format!("unknown setting '{name}'"));
        self.warnings.extend(unknown);
        self.settings.daemon =
            DaemonOptions::from_values(&self.values, &self.settings.explicitly_set);
        Loaded {
            settings: self.settings,
            warnings: self.warnings,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::fs;
    use std::path::PathBuf;

    use super::*;

    const FLAKES: &str = "experimental-features = nix-command flakes";

    /// A temporary directory with a system file, two user files (lowest
    /// precedence first) and a `NIX_CONFIG` value.
    struct Fixture {
        dir: tempfile::TempDir,
        sources: Sources,
    }

    fn fixture(system: &str, user_low: &str, user_high: &str, nix_config: Option<&str>) -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, text: &str| {
            let path = dir.path().join(name);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(&path, text).unwrap();
            path
        };
        let sources = Sources {
            system_file: write("etc/nix.conf", system),
            user_files: vec![
                write("xdg-dir/nix.conf", user_low),
                write("home/nix.conf", user_high),
            ],
            nix_config: nix_config.map(str::to_owned),
            ..Sources::default()
        };
        Fixture { dir, sources }
    }

    fn overrides(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn defaults_when_nothing_exists() {
        let sources = Sources {
            system_file: PathBuf::from("/nonexistent/rflake/nix.conf"),
            user_files: vec![PathBuf::from("/nonexistent/rflake/user.conf")],
            default_store: None,
            default_ssl_cert_file: Some(PathBuf::from("/etc/ssl/certs/ca.crt")),
            ..Sources::default()
        };
        let loaded = load(&sources).unwrap();
        let expected = Settings {
            ssl_cert_file: Some(PathBuf::from("/etc/ssl/certs/ca.crt")),
            ..Settings::default()
        };
        assert_eq!(
            loaded,
            Loaded {
                settings: expected,
                warnings: vec![]
            }
        );
    }

    #[test]
    fn precedence_of_layers() {
        // Each layer sets `tarball-ttl` to its rank and a setting of its own.
        let mut f = fixture(
            "tarball-ttl = 1\nconnect-timeout = 1\n",
            "tarball-ttl = 2\nhttp-connections = 2\n",
            "tarball-ttl = 3\nwarn-dirty = false\n",
            Some("tarball-ttl = 4\nstore = /from/env"),
        );
        let s = load(&f.sources).unwrap().settings;
        assert_eq!(
            (s.tarball_ttl, s.connect_timeout, s.http_connections),
            (4, 1, 2)
        );
        assert_eq!((s.warn_dirty, s.store.as_str()), (false, "/from/env"));

        f.sources.overrides = overrides(&[("tarball-ttl", "5"), ("tarball-ttl", "6")]);
        assert_eq!(load(&f.sources).unwrap().settings.tarball_ttl, 6);

        // The highest-precedence user file is the last one.
        f.sources.nix_config = None;
        f.sources.overrides.clear();
        assert_eq!(load(&f.sources).unwrap().settings.tarball_ttl, 3);
        f.sources.user_files.reverse();
        assert_eq!(load(&f.sources).unwrap().settings.tarball_ttl, 2);
    }

    #[test]
    fn extra_appends_across_layers() {
        let f = fixture(
            "substituters = a\nextra-trusted-public-keys = k1\n",
            "extra-substituters = b\n",
            "extra-binary-caches = c\naccess-tokens = h1=t1\n",
            Some("extra-substituters = d e\nextra-access-tokens = h2=t2 h1=ignored"),
        );
        let mut sources = f.sources.clone();
        sources.overrides = overrides(&[("extra-substituters", "f")]);
        let s = load(&sources).unwrap().settings;
        assert_eq!(s.substituters, ["a", "b", "c", "d", "e", "f"]);
        assert_eq!(
            s.trusted_public_keys,
            [
                "cache.nixos.org-1:6NCHdD59X431o0gWypbMrAURkbJ16ZPMQFGspcDShjY=",
                "k1"
            ]
        );
        let tokens: Vec<(&str, &str)> = s
            .access_tokens
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        assert_eq!(tokens, [("h1", "t1"), ("h2", "t2")]);

        sources.overrides = overrides(&[("substituters", "z")]);
        assert_eq!(load(&sources).unwrap().settings.substituters, ["z"]);
    }

    #[test]
    fn includes_relative_to_including_file() {
        let f = fixture(
            "include conf.d/main.conf\n!include absent.conf\n",
            "",
            "",
            None,
        );
        let etc = f.dir.path().join("etc");
        fs::create_dir_all(etc.join("conf.d")).unwrap();
        fs::write(
            etc.join("conf.d/main.conf"),
            "include ../extra.conf\ntarball-ttl = 7\n",
        )
        .unwrap();
        fs::write(etc.join("extra.conf"), "http-connections = 9\n").unwrap();
        let s = load(&f.sources).unwrap().settings;
        assert_eq!((s.tarball_ttl, s.http_connections), (7, 9));

        let f = fixture("", "include nope.conf\n", "", None);
        let err = load(&f.sources).unwrap_err();
        let expected = format!(
            "file \"{}\" included from \"{}\" not found",
            f.dir.path().join("xdg-dir/nope.conf").display(),
            f.sources.user_files[0].display()
        );
        assert_eq!(err.to_string(), expected);
    }

    #[test]
    fn unknown_settings_warn_once_sorted() {
        let f = fixture(
            "zzz = 1\nfoo = 1\nwant-mass-query = true\n",
            "foo = 2\nextra-tarball-ttl = 5\n",
            "",
            Some("extra-foo = x"),
        );
        let mut sources = f.sources.clone();
        sources.overrides = overrides(&[("zzz", "2"), ("bar", "1")]);
        let loaded = load(&sources).unwrap();
        let expected = [
            "unknown setting 'bar'",
            "unknown setting 'extra-foo'",
            "unknown setting 'extra-tarball-ttl'",
            "unknown setting 'foo'",
            "unknown setting 'want-mass-query'",
            "unknown setting 'zzz'",
        ];
        assert_eq!(loaded.warnings, expected);
        assert_eq!(loaded.settings.tarball_ttl, 3600);
    }

    #[test]
    fn invalid_values_are_errors() {
        let cases: &[(&str, &str)] = &[
            (
                "warn-dirty = maybe",
                "Boolean setting 'warn-dirty' has invalid value 'maybe'",
            ),
            (
                "tarball-ttl = 1x",
                "setting 'tarball-ttl' has invalid value '1x'",
            ),
            (
                "tarball-ttl =",
                "setting 'tarball-ttl' has invalid value ''",
            ),
            (
                "download-attempts = -1",
                "setting 'filetransfer-retry-attempts' has invalid value '-1'",
            ),
            (
                "keep-outputs = 2",
                "Boolean setting 'keep-outputs' has invalid value '2'",
            ),
            (
                "ssl-cert-file = cert.pem",
                "not an absolute path: \"cert.pem\"",
            ),
            (
                "bar",
                "syntax error in configuration line 'bar' in \"NIX_CONFIG\"",
            ),
        ];
        for (text, message) in cases {
            let sources = Sources {
                nix_config: Some((*text).to_owned()),
                ..Sources::default()
            };
            assert_eq!(load(&sources).unwrap_err().to_string(), *message, "{text}");
        }
        let sources = Sources {
            overrides: overrides(&[("use-xdg-base-directories", "on")]),
            ..Sources::default()
        };
        let err = load(&sources).unwrap_err();
        let expected = Error::InvalidBool {
            name: "use-xdg-base-directories".into(),
            value: "on".into(),
        };
        assert_eq!(err, expected);
    }

    #[test]
    fn experimental_feature_gates() {
        // rflake always enables `flakes`, so flake settings apply without it.
        let sources = Sources {
            nix_config: Some("use-registries = false".into()),
            ..Sources::default()
        };
        let loaded = load(&sources).unwrap();
        assert!(!loaded.settings.use_registries);
        assert!(loaded.warnings.is_empty());

        // Features are applied first within a source, whatever the line order.
        let text = format!("use-registries = false\n{FLAKES}");
        let sources = Sources {
            nix_config: Some(text),
            ..Sources::default()
        };
        let loaded = load(&sources).unwrap();
        assert!(!loaded.settings.use_registries);
        assert!(loaded.warnings.is_empty());

        // A flake setting in the system file applies even though flakes are enabled later.
        let f = fixture("flake-registry = /etc/registry.json", "", "", Some(FLAKES));
        let loaded = load(&f.sources).unwrap();
        assert_eq!(loaded.settings.flake_registry, "/etc/registry.json");
        assert!(loaded.warnings.is_empty());
        assert_eq!(
            loaded.settings.experimental_features,
            ["fetch-tree", "flakes", "nix-command"]
        );
    }

    #[test]
    fn daemon_options_forward_overridden_store_settings() {
        // The system file sets values (not overridden) that later `extra-` lines append to.
        let f = fixture(
            "substituters = a\nkeep-outputs = true\nmax-jobs = 3\n",
            "extra-substituters = b\ncores = 2K\n",
            "",
            Some("keep-going = yes\nbinary-cache-public-keys = k\ntarball-ttl = 5"),
        );
        let mut sources = f.sources.clone();
        sources.overrides = overrides(&[
            ("connect-timeout", "1K"),
            ("store", "/tmp/x"),
            ("show-trace", "true"),
            ("extra-system-features", "kvm"),
        ]);
        let d = load(&sources).unwrap().settings.daemon;
        assert_eq!(
            (d.keep_going, d.max_jobs, d.cores, d.substitute),
            (true, 3, 2048, true)
        );
        let got: Vec<(&str, &str)> = d
            .overrides
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        // Not `keep-outputs` (system file only), `cores` and `keep-going` (fixed fields),
        // `tarball-ttl` (a fetcher setting), `show-trace` (left out by Nix), nor
        // `system-features` (appended to a default rflake does not compute).
        assert_eq!(
            got,
            [
                ("connect-timeout", "1024"),
                ("store", "/tmp/x"),
                ("substituters", "a b"),
                ("trusted-public-keys", "k"),
            ]
        );
        assert_eq!(Settings::default().daemon.overrides, Vec::new());
    }

    #[test]
    fn explicitly_set_excludes_system_file() {
        let f = fixture(
            &format!("{FLAKES}\ntarball-ttl = 1\nwarn-dirty = false"),
            "binary-caches = x",
            "",
            Some("use-registries = false\nunknown-thing = 1"),
        );
        let mut sources = f.sources.clone();
        sources.overrides = overrides(&[("extra-access-tokens", "a=b")]);
        let s = load(&sources).unwrap().settings;
        let explicit: Vec<&str> = s.explicitly_set.iter().map(String::as_str).collect();
        assert_eq!(
            explicit,
            ["access-tokens", "substituters", "use-registries"]
        );
    }
}
