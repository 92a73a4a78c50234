//! The environment: every environment variable rflake reads, and the paths and settings built
//! from them. This is the only module that calls `std::env` (STYLE.md §1, "explicit inputs").

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use anyhow::Context as _;

use crate::registry::global::Downloader;
use crate::registry::layers::{GlobalLocation, Locations};
use crate::settings::{self, Settings, Sources};
use crate::util::http::HttpClient;

/// `$HOME`.
pub const HOME: &str = "HOME";
/// Nix's configuration directory, `/etc/nix` by default (`nix.conf`, `registry.json`).
pub const NIX_CONF_DIR: &str = "NIX_CONF_DIR";
/// Colon-separated user configuration files replacing the XDG ones.
pub const NIX_USER_CONF_FILES: &str = "NIX_USER_CONF_FILES";
/// Extra configuration, in `nix.conf` syntax.
pub const NIX_CONFIG: &str = "NIX_CONFIG";
/// Overrides `$XDG_CONFIG_HOME/nix`.
pub const NIX_CONFIG_HOME: &str = "NIX_CONFIG_HOME";
/// Overrides `$XDG_CACHE_HOME/nix`.
pub const NIX_CACHE_HOME: &str = "NIX_CACHE_HOME";
/// Overrides Nix's data directory (`trusted-settings.json`).
pub const NIX_DATA_HOME: &str = "NIX_DATA_HOME";
/// The user's configuration directory (default `~/.config`).
pub const XDG_CONFIG_HOME: &str = "XDG_CONFIG_HOME";
/// Colon-separated system configuration directories (default `/etc/xdg`).
pub const XDG_CONFIG_DIRS: &str = "XDG_CONFIG_DIRS";
/// The user's data directory (default `~/.local/share`), home of the `auto` chroot store.
pub const XDG_DATA_HOME: &str = "XDG_DATA_HOME";
/// The user's cache directory (default `~/.cache`).
pub const XDG_CACHE_HOME: &str = "XDG_CACHE_HOME";
/// The default of the `store` setting (Nix's `NIX_REMOTE`): `daemon` on multi-user installs.
pub const NIX_REMOTE: &str = "NIX_REMOTE";
/// Options for `ssh` when rflake reaches another machine's Nix (shell words).
pub const NIX_SSHOPTS: &str = "NIX_SSHOPTS";
/// The socket of the Nix daemon (default `/nix/var/nix/daemon-socket/socket`).
pub const NIX_DAEMON_SOCKET_PATH: &str = "NIX_DAEMON_SOCKET_PATH";
/// Nix's system state directory (default `/nix/var/nix`): root's profiles live under it.
pub const NIX_STATE_DIR: &str = "NIX_STATE_DIR";
/// Overrides `$XDG_STATE_HOME/nix`, where a user's profiles live.
pub const NIX_STATE_HOME: &str = "NIX_STATE_HOME";
/// The user's state directory (default `~/.local/state`).
pub const XDG_STATE_HOME: &str = "XDG_STATE_HOME";
/// CA bundle for HTTPS, checked first.
pub const NIX_SSL_CERT_FILE: &str = "NIX_SSL_CERT_FILE";
/// CA bundle for HTTPS, checked second.
pub const SSL_CERT_FILE: &str = "SSL_CERT_FILE";

/// Test-only: where the requests of forge inputs go instead of `https://<host>` (see
/// `fetch::Settings::forge_base_url`), like Nix's `_NIX_FORCE_HTTP`.
pub const RFLAKE_FORGE_BASE_URL: &str = "_RFLAKE_FORGE_BASE_URL";

/// Test-only: the URL the default `flake-registry` stands for (instead of
/// `https://channels.nixos.org/flake-registry.json`), so that tests can make the default global
/// registry unreachable without touching the network.
pub const RFLAKE_DEFAULT_FLAKE_REGISTRY: &str = "_RFLAKE_DEFAULT_FLAKE_REGISTRY";

/// Returns the test-only forge base URL, if set.
pub fn forge_base_url() -> Option<String> {
    var(RFLAKE_FORGE_BASE_URL)
}

/// `$HOME` (a leading `~` in installables).
pub fn home() -> Option<PathBuf> {
    var(HOME).map(PathBuf::from)
}

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// Returns the command-line arguments.
pub fn args() -> Vec<OsString> {
    std::env::args_os().collect()
}

/// Returns the working directory.
pub fn current_dir() -> anyhow::Result<PathBuf> {
    std::env::current_dir().context("getting the current directory")
}

/// Returns the local time zone as the C library finds it: `$TZ`, else `/etc/localtime`, else
/// UTC (Nix prints `Last modified:` with `localtime`).
pub fn local_time_zone() -> jiff::tz::TimeZone {
    jiff::tz::TimeZone::system()
}

/// Returns the current time.
pub fn now() -> SystemTime {
    SystemTime::now()
}

/// The directories Nix derives from the environment.
#[derive(Debug, Clone)]
pub struct Dirs {
    /// `$NIX_CONF_DIR` or `/etc/nix`.
    pub nix_conf_dir: PathBuf,
    /// `$NIX_CONFIG_HOME`, or `$XDG_CONFIG_HOME/nix`, or `~/.config/nix`.
    pub config_home: PathBuf,
    /// `$NIX_CACHE_HOME`, or `$XDG_CACHE_HOME/nix`, or `~/.cache/nix`.
    pub cache_home: PathBuf,
    /// `$NIX_DATA_HOME`, or `$XDG_DATA_HOME/nix`, or `~/.local/share/nix`.
    pub data_home: PathBuf,
}

impl Dirs {
    /// Reads the directories from the environment.
    pub fn from_env() -> Dirs {
        let home = PathBuf::from(var(HOME).unwrap_or_else(|| "/".into()));
        let xdg =
            |name: &str, default: &str| var(name).map_or_else(|| home.join(default), PathBuf::from);
        Dirs {
            nix_conf_dir: var(NIX_CONF_DIR).map_or_else(|| "/etc/nix".into(), PathBuf::from),
            config_home: var(NIX_CONFIG_HOME).map_or_else(
                || xdg(XDG_CONFIG_HOME, ".config").join("nix"),
                PathBuf::from,
            ),
            cache_home: var(NIX_CACHE_HOME)
                .map_or_else(|| xdg(XDG_CACHE_HOME, ".cache").join("nix"), PathBuf::from),
            data_home: var(NIX_DATA_HOME).map_or_else(
                || xdg(XDG_DATA_HOME, ".local/share").join("nix"),
                PathBuf::from,
            ),
        }
    }

    /// Returns the user registry file.
    pub fn user_registry(&self) -> PathBuf {
        self.config_home.join("registry.json")
    }

    /// Returns the system registry file.
    pub fn system_registry(&self) -> PathBuf {
        self.nix_conf_dir.join("registry.json")
    }

    /// Returns the user configuration files in application order (lowest precedence first).
    fn user_conf_files(&self) -> Vec<PathBuf> {
        let mut files: Vec<PathBuf> = match var(NIX_USER_CONF_FILES) {
            Some(list) => list
                .split(':')
                .filter(|s| !s.is_empty())
                .map(PathBuf::from)
                .collect(),
            None => {
                let dirs = var(XDG_CONFIG_DIRS).unwrap_or_else(|| "/etc/xdg".into());
                std::iter::once(self.config_home.join("nix.conf"))
                    .chain(
                        dirs.split(':')
                            .filter(|s| !s.is_empty())
                            .map(|d| Path::new(d).join("nix/nix.conf")),
                    )
                    .collect()
            }
        };
        // Nix applies them last to first, so that the first one wins.
        files.reverse();
        files
    }
}

/// Loads the settings: `nix.conf` files, `NIX_CONFIG`, then the command line.
pub fn load_settings(
    dirs: &Dirs,
    overrides: settings::Overrides,
) -> anyhow::Result<settings::Loaded> {
    let sources = Sources {
        system_file: dirs.nix_conf_dir.join("nix.conf"),
        user_files: dirs.user_conf_files(),
        nix_config: std::env::var(NIX_CONFIG).ok(),
        overrides,
        default_store: var(NIX_REMOTE),
        default_ssl_cert_file: var(NIX_SSL_CERT_FILE)
            .or_else(|| var(SSL_CERT_FILE))
            .map(PathBuf::from),
    };
    Ok(settings::load(&sources)?)
}

/// Returns the registry locations for the settings.
pub fn registry_locations(dirs: &Dirs, settings: &Settings) -> Locations {
    Locations {
        user: dirs.user_registry(),
        system: dirs.system_registry(),
        global: GlobalLocation::from_setting(
            &settings.flake_registry,
            default_flake_registry(settings).as_deref(),
        ),
    }
}

/// Returns the URL of the default global registry when `flake-registry` has its default value
/// and was not set explicitly (Nix's `overridden` flag), else `None`.
fn default_flake_registry(settings: &Settings) -> Option<String> {
    let default = Settings::default().flake_registry;
    (settings.flake_registry == default && !settings.explicitly_set.contains("flake-registry"))
        .then(|| var(RFLAKE_DEFAULT_FLAKE_REGISTRY).unwrap_or(default))
}

/// Returns the downloader for the settings and the `--offline`/`--refresh` flags.
pub fn downloader(
    dirs: &Dirs,
    settings: &Settings,
    offline: bool,
    refresh: bool,
    http: Arc<HttpClient>,
) -> Downloader {
    let ttl = if refresh { 0 } else { settings.tarball_ttl };
    Downloader {
        cache_dir: dirs.cache_home.clone(),
        ttl,
        offline,
        http,
        now: now(),
    }
}

/// Gathers where profiles live (Nix's `getDefaultProfile` inputs): the home directory, the
/// user's and the system's state directories, whether the effective user is root, and the
/// `use-xdg-base-directories` setting.
pub fn profile_dirs(settings: &Settings) -> crate::profile::location::Dirs {
    let home = PathBuf::from(var(HOME).unwrap_or_else(|| "/".into()));
    let user_state_dir = var(NIX_STATE_HOME).map_or_else(
        || {
            var(XDG_STATE_HOME)
                .map_or_else(|| home.join(".local/state"), PathBuf::from)
                .join("nix")
        },
        PathBuf::from,
    );
    crate::profile::location::Dirs {
        user_state_dir,
        nix_state_dir: var(NIX_STATE_DIR).map_or_else(|| "/nix/var/nix".into(), PathBuf::from),
        is_root: rustix::process::geteuid().is_root(),
        use_xdg: settings.use_xdg_base_directories,
        home,
    }
}

/// Returns `NIX_SSHOPTS`, if set.
pub fn nix_sshopts() -> Option<String> {
    var(NIX_SSHOPTS)
}

/// Returns the daemon's socket if `NIX_DAEMON_SOCKET_PATH` names one.
pub fn daemon_socket() -> Option<PathBuf> {
    var(NIX_DAEMON_SOCKET_PATH).map(PathBuf::from)
}

/// Gathers what the `auto` store depends on: whether the daemon socket exists, whether
/// `/nix/store` and `/nix/var/nix` can be written, and `$XDG_DATA_HOME`.
pub fn auto_store_facts() -> crate::store::uri::AutoFacts {
    use rustix::fs::{Access, access};
    let writable = |p: &str| access(p, Access::WRITE_OK).is_ok();
    let home = PathBuf::from(var(HOME).unwrap_or_else(|| "/".into()));
    crate::store::uri::AutoFacts {
        daemon_socket_exists: daemon_socket()
            .unwrap_or_else(|| PathBuf::from(crate::store::uri::DAEMON_SOCKET))
            .exists(),
        nix_store_writable: writable("/nix/store") && writable("/nix/var/nix"),
        data_home: var(XDG_DATA_HOME).map_or_else(|| home.join(".local/share"), PathBuf::from),
    }
}

/// Every environment variable (for the evaluator's `getEnv`).
pub fn all_vars() -> std::collections::HashMap<String, String> {
    std::env::vars_os()
        .map(|(k, v)| {
            (
                k.to_string_lossy().into_owned(),
                v.to_string_lossy().into_owned(),
            )
        })
        .collect()
}
