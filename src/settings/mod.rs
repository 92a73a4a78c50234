//! Nix configuration: `nix.conf`, `NIX_CONFIG`, `--option NAME VALUE` and
//! the `--NAME` setting flags, resolved into typed [`Settings`].
//!
//! Mirrors Nix's configuration machinery: `loadConfFile` in
//! `src/libstore/globals.cc`, `Config::set`, `AbstractConfig::applyConfig` and
//! `warnUnknownSettings` in `src/libutil/configuration.cc`, `GlobalConfig` in
//! `src/libutil/config-global.cc`, and the flags of
//! `src/libmain/common-args.cc` (see the Nix manual, "Configuration file").
//!
//! Sources are applied in order, later ones overriding earlier ones: the
//! system `nix.conf`, the user files, `NIX_CONFIG`, then the command line.
//! Within one file (with its includes) or `NIX_CONFIG`, the
//! `experimental-features` and `extra-experimental-features` lines are applied
//! first. A setting that needs an experimental feature which is not enabled
//! at that moment is ignored with a warning, as in Nix. `extra-NAME` appends
//! to list settings; for other settings `extra-NAME` is an unknown setting.
//! Unknown settings are collected and reported once each, sorted by name, as
//! Nix does after loading plugins.
//!
//! This module reads only the files it is given; the CLI layer computes
//! their paths and passes in the environment (see [`Sources`]).
//!
//! # Deviations
//!
//! - Nix turns an invalid value given with `--option` into a warning (but an
//!   invalid `--NAME VALUE` into an error); [`Sources::overrides`] does not
//!   record which form was used, so both are errors here.
//! - `nix-path` entries are applied even when `NIX_PATH` is set (rflake does
//!   not evaluate Nix code).
//! - Includes nested more than 64 deep are an error (Nix overflows its stack).
//! - An integer whose `K`/`M`/`G`/`T` suffix overflows its type is an error;
//!   Nix truncates it.
//! - See also the deviations of [`known`] and [`flags`].

mod conf;
mod error;
pub mod flags;
mod flake_set;
pub mod forward;
pub mod known;
mod load;
mod typed;
mod value;

use std::path::PathBuf;

pub use error::Error;
pub use load::load;
pub use typed::Settings;

/// Command-line settings as `(name, value)` pairs, in order of appearance.
pub type Overrides = Vec<(String, String)>;

/// Where configuration comes from; computed by the CLI layer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sources {
    /// `$NIX_CONF_DIR/nix.conf` (default `/etc/nix/nix.conf`); read first,
    /// skipped when it cannot be read.
    pub system_file: PathBuf,
    /// User configuration files in application order (lowest precedence
    /// first), i.e. Nix's `nixUserConfFiles()` reversed: `NIX_USER_CONF_FILES`
    /// if set, else `$XDG_CONFIG_HOME/nix/nix.conf` followed by each
    /// `$XDG_CONFIG_DIRS` entry's `nix/nix.conf`, then reversed. Files that
    /// cannot be read are skipped.
    pub user_files: Vec<PathBuf>,
    /// The contents of `NIX_CONFIG`, if set. Applied after the files, with the
    /// same syntax; its includes must be absolute paths.
    pub nix_config: Option<String>,
    /// Command-line settings in order of appearance, as `(name, value)`:
    /// from `--option NAME VALUE` and from [`flags::extract`].
    pub overrides: Overrides,
    /// The default of `store`, from `NIX_REMOTE` (Nix's `storeUri` default), if set.
    pub default_store: Option<String>,
    /// The default of `ssl-cert-file`, computed by the CLI from
    /// `NIX_SSL_CERT_FILE` / `SSL_CERT_FILE` (Nix's `getDefaultSSLCertFile`).
    pub default_ssl_cert_file: Option<PathBuf>,
}

/// The result of [`load`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Loaded {
    /// The resolved settings.
    pub settings: Settings,
    /// Warnings to print, without the `warning: ` prefix, e.g.
    /// `unknown setting 'foo'`.
    pub warnings: Vec<String>,
}
