//! Loading the registry layers and editing registry files (effects).
//!
//! The CLI passes every location in explicitly ([`Locations`]); nothing here reads the
//! environment. Layers are loaded on first use, so a command that never looks anything up
//! never downloads the global registry (spec §6.3).

use std::path::{Path, PathBuf};

use anyhow::Context as _;

use super::global::{self, Downloader};
use super::resolve::{Layer, Source};
use super::{Entry, ReadError, Registry};
use crate::report::Reporter;
use crate::util::fs;

/// Where the global registry comes from (the `flake-registry` setting).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GlobalLocation {
    /// The setting is empty: no global registry.
    Disabled,
    /// An absolute path.
    File(PathBuf),
    /// Anything else: a URL to download.
    Url(String),
    /// The default URL (the setting was not set): downloaded, or, when that fails without a
    /// cached copy, the snapshot built into rflake ([`super::builtin`]) with a warning.
    Default(String),
}

impl GlobalLocation {
    /// Interprets the `flake-registry` setting; `default_url` is its default when it was not
    /// set, in which case the built-in snapshot stands in for a download that fails.
    pub fn from_setting(value: &str, default_url: Option<&str>) -> GlobalLocation {
        if let Some(url) = default_url {
            GlobalLocation::Default(url.to_owned())
        } else if value.is_empty() {
            GlobalLocation::Disabled
        } else if value.starts_with('/') {
            GlobalLocation::File(PathBuf::from(value))
        } else {
            GlobalLocation::Url(value.to_owned())
        }
    }
}

/// The files behind the layers.
#[derive(Debug, Clone)]
pub struct Locations {
    /// The user registry file.
    pub user: PathBuf,
    /// The system registry file.
    pub system: PathBuf,
    /// The global registry.
    pub global: GlobalLocation,
}

/// Reads a registry file for lookups: a missing file is empty; a problem is reported as a
/// warning and the entries read before it are kept (as Nix does).
pub fn read_lenient(path: &Path, report: &dyn Reporter) -> anyhow::Result<Registry> {
    let Some(bytes) = fs::read_if_exists(path)? else {
        return Ok(Registry::default());
    };
    let result = Registry::read(&bytes, &path.display().to_string(), report);
    if let Some(e) = result.error {
        report.warn(&e.to_string());
    }
    Ok(result.registry)
}

/// Reads a registry file that is about to be rewritten: a missing file is empty, and any
/// problem is an error, so that the file is never overwritten with fewer entries.
pub fn read_strict(path: &Path, report: &dyn Reporter) -> anyhow::Result<Registry> {
    let Some(bytes) = fs::read_if_exists(path)? else {
        return Ok(Registry::default());
    };
    let result = Registry::read(&bytes, &path.display().to_string(), report);
    match result.error {
        None => Ok(result.registry),
        Some(e) => Err(refusal(e)),
    }
}

fn refusal(e: ReadError) -> anyhow::Error {
    anyhow::anyhow!("{e}; refusing to overwrite it (fix or remove the file first)")
}

/// Writes a registry file atomically, exactly as Nix formats it.
pub fn write(path: &Path, registry: &Registry) -> anyhow::Result<()> {
    fs::write_atomic(path, registry.to_json_string().as_bytes())
        .with_context(|| format!("writing flake registry '{}'", path.display()))
}

/// The layers of one process, each loaded at most once.
pub struct Registries<'a> {
    locations: Locations,
    downloader: &'a Downloader,
    report: &'a dyn Reporter,
    flag: Registry,
    user: Option<Registry>,
    system: Option<Registry>,
    global: Option<Registry>,
}

impl<'a> Registries<'a> {
    /// Makes the layers; `flag` holds the `--override-flake` entries.
    pub fn new(
        locations: Locations,
        flag: Registry,
        downloader: &'a Downloader,
        report: &'a dyn Reporter,
    ) -> Registries<'a> {
        Registries {
            locations,
            downloader,
            report,
            flag,
            user: None,
            system: None,
            global: None,
        }
    }

    fn load_global(&self) -> anyhow::Result<Registry> {
        match &self.locations.global {
            GlobalLocation::Disabled => Ok(Registry::default()),
            GlobalLocation::File(p) => read_lenient(p, self.report),
            GlobalLocation::Url(url) => self.download(url),
            GlobalLocation::Default(url) => self.download(url).or_else(|e| {
                self.report.warn(&format!(
                    "{e:#}; using the global registry built into rflake (a snapshot of {})",
                    super::builtin::date()
                ));
                Ok(super::builtin::registry(self.report))
            }),
        }
    }

    /// Downloads (or takes from the cache) the registry at `url`; a problem in the file is a
    /// warning, and the entries before it are kept.
    fn download(&self, url: &str) -> anyhow::Result<Registry> {
        let file = global::fetch(url, self.downloader, self.report)?;
        let result = Registry::read(&file.bytes, &file.path.display().to_string(), self.report);
        if let Some(e) = result.error {
            self.report.warn(&e.to_string());
        }
        Ok(result.registry)
    }
}

impl Registries<'_> {
    /// Resolves `r` through every layer (Nix's `lookupInRegistries` with all registries; the
    /// top-level reference of a command).
    pub fn resolve(
        &mut self,
        r: &crate::flakeref::FlakeRef,
    ) -> anyhow::Result<crate::flakeref::FlakeRef> {
        Ok(super::resolve::resolve(r, super::resolve::Mode::All, self)?)
    }

    /// Resolves `r` through every layer and returns each rewrite (`registry resolve --explain`,
    /// an rflake addition).
    pub fn explain(
        &mut self,
        r: &crate::flakeref::FlakeRef,
    ) -> anyhow::Result<super::resolve::Trace> {
        Ok(super::resolve::explain(r, super::resolve::Mode::All, self)?)
    }

    /// Every entry of every layer, in order of precedence (`registry list`). Every layer is
    /// loaded (the global one downloaded) before any entry is returned, as Nix does before it
    /// prints anything.
    pub fn list(&mut self) -> anyhow::Result<Vec<(Layer, Entry)>> {
        for layer in Layer::ALL {
            self.layer(layer)?;
        }
        let mut out = Vec::new();
        for layer in Layer::ALL {
            out.extend(
                self.layer(layer)?
                    .entries
                    .iter()
                    .map(|e| (layer, e.clone())),
            );
        }
        Ok(out)
    }
}

/// The user, system and global registries from local files only: the global one from the
/// download cache, never the network (completions, which must answer at once and offline).
/// Unreadable layers are skipped.
pub fn read_offline(locations: &Locations, downloader: &Downloader) -> Vec<Registry> {
    let silent = &crate::report::Silent;
    let mut regs = Vec::new();
    for path in [&locations.user, &locations.system] {
        regs.extend(read_lenient(path, silent).ok());
    }
    match &locations.global {
        GlobalLocation::File(p) => regs.extend(read_lenient(p, silent).ok()),
        GlobalLocation::Url(url) | GlobalLocation::Default(url) => {
            let offline = Downloader {
                offline: true,
                ..downloader.clone()
            };
            match global::fetch(url, &offline, silent) {
                Ok(file) => regs.push(Registry::read(&file.bytes, "", silent).registry),
                Err(_) if matches!(locations.global, GlobalLocation::Default(_)) => {
                    regs.push(super::builtin::registry(silent));
                }
                Err(_) => {}
            }
        }
        GlobalLocation::Disabled => {}
    }
    regs
}

impl Source for Registries<'_> {
    fn origin(&self, layer: Layer) -> Option<String> {
        match layer {
            Layer::Flag => None,
            Layer::User => Some(self.locations.user.display().to_string()),
            Layer::System => Some(self.locations.system.display().to_string()),
            Layer::Global => match &self.locations.global {
                GlobalLocation::Disabled => None,
                GlobalLocation::File(p) => Some(p.display().to_string()),
                GlobalLocation::Url(u) | GlobalLocation::Default(u) => Some(u.clone()),
            },
        }
    }

    fn layer(&mut self, layer: Layer) -> anyhow::Result<&Registry> {
        Ok(match layer {
            Layer::Flag => &self.flag,
            Layer::User => {
                if self.user.is_none() {
                    self.user = Some(read_lenient(&self.locations.user, self.report)?);
                }
                self.user.get_or_insert_with(Registry::default)
            }
            Layer::System => {
                if self.system.is_none() {
                    self.system = Some(read_lenient(&self.locations.system, self.report)?);
                }
                self.system.get_or_insert_with(Registry::default)
            }
            Layer::Global => {
                if self.global.is_none() {
                    self.global = Some(self.load_global()?);
                }
                self.global.get_or_insert_with(Registry::default)
            }
        })
    }
}
