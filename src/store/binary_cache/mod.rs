//! Binary cache stores: `file://DIR` and `http(s)://…` caches of `.narinfo` files and
//! (compressed) NARs, the format of `cache.nixos.org` and of `nix copy --to file://…`.
//!
//! Mirrors the Nix source's `src/libstore/binary-cache-store.cc`, with the backends of
//! `local-binary-cache-store.cc` ([`file`](mod@file)) and `http-binary-cache-store.cc` ([`http`]);
//! spec A5. Layout:
//!
//! ```text
//! nix-cache-info                 StoreDir: /nix/store   (written when missing)
//! <hash part>.narinfo            see narinfo.rs
//! nar/<file hash nix32>.nar<ext> the NAR, compressed with the `compression` parameter
//! ```
//!
//! [`BinaryCacheStore::add_nar`](crate::store::Store::add_nar) streams the NAR once: it parses
//! and hashes it, compresses it into a spool (a file in `nar/` for directory caches) while
//! hashing the compressed bytes, checks `NarHash`/`NarSize` (then that it parsed), uploads the
//! NAR and only then the signed `.narinfo`, so a visible `.narinfo` always names an existing
//! NAR. Binary caches never check signatures of what is added to them (spec A5.6):
//! [`signature::check_trusted`] is for local destinations. Reading verifies the NAR against the
//! `.narinfo` while streaming it.
//!
//! # Deviations
//!
//! - [`nar_from_path`](crate::store::Store::nar_from_path) checks `NarHash` and `NarSize`
//!   while streaming and fails on a mismatch (Nix leaves that to the receiving store). The
//!   sink has received the bytes by then, so callers must discard them on error.
//! - `add_nar` checks the NAR against `NarHash`/`NarSize` before uploading (current Nix has
//!   this check commented out; Nix 2.8 refused with `refusing to copy corrupted path`), using
//!   the local store's `hash mismatch importing path` wording.
//! - `write-nar-listing`, `index-debug-info`, `tls-certificate` and `tls-private-key` are
//!   refused rather than honoured; see [`Config`] for the rest of the parameters.
//! - No narinfo disk cache (`binary-cache-v*.sqlite`): every open reads `nix-cache-info`.
//! - A failure to write a missing `nix-cache-info` reports `'…' does not appear to be a
//!   binary cache` for directory caches too (Nix only for HTTP), with the cause below it.
//!
//! [`signature::check_trusted`]: crate::store::signature::check_trusted

pub mod backend;
pub mod file;
pub mod http;
mod ops;
mod params;

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::path::PathBuf;

use anyhow::Context as _;

pub use backend::{Backend, Spool};
pub use file::FileBackend;
pub use http::HttpBackend;
pub use params::Config;

use super::narinfo::NarInfo;
use super::path::{StoreDir, StorePath};
use super::path_info::PathInfo;
use super::signature::SecretKey;
use super::{CheckSigs, Store};
use crate::report::Reporter;

/// The key of the file describing the cache.
pub const CACHE_INFO: &str = "nix-cache-info";

/// Errors of binary cache stores, worded as Nix words them where it has a wording.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// `nix-cache-info` names another store directory.
    #[error("binary cache '{uri}' is for Nix stores with prefix '{found}', not '{expected}'")]
    WrongStoreDir {
        /// The cache.
        uri: String,
        /// The cache's `StoreDir`.
        found: String,
        /// Ours.
        expected: String,
    },
    /// `nix-cache-info` is missing and could not be written.
    #[error("'{uri}' does not appear to be a binary cache")]
    NotABinaryCache {
        /// The cache.
        uri: String,
    },
    /// The NAR is not the one its path info describes.
    #[error(transparent)]
    Mismatch(#[from] crate::store::path_info::ImportMismatch),
    /// A NAR read from the cache does not match its `.narinfo`.
    #[error("{0}")]
    CorruptNar(Box<NarMismatch>),
    /// A reference of a path being added is not in the cache.
    #[error(
        "cannot add '{path}' to the binary cache because the reference '{reference}' is not valid"
    )]
    MissingReference {
        /// The full store path being added.
        path: String,
        /// The full path of the missing reference.
        reference: String,
    },
    /// The path is not in the cache.
    #[error("path '{path}' is not valid")]
    InvalidPath {
        /// The full store path.
        path: String,
    },
    /// A file a `.narinfo` names is missing.
    #[error("file '{key}' does not exist in binary cache '{uri}'")]
    NoSuchFile {
        /// The file's key.
        key: String,
        /// The cache.
        uri: String,
    },
    /// A key that would leave a directory cache.
    #[error("local binary cache path '{key}' {reason}")]
    BadKey {
        /// The key.
        key: String,
        /// Why it is refused.
        reason: &'static str,
    },
    /// A store parameter with a bad value.
    #[error("{message}")]
    BadParam {
        /// Nix's message for it.
        message: String,
    },
    /// A store parameter rflake does not implement, set to a value that matters.
    #[error("store parameter '{name}' is not supported by rflake")]
    UnsupportedParam {
        /// The parameter.
        name: String,
    },
    /// A URI that is not `file://`, `http://` or `https://`.
    #[error("don't know how to open Nix store '{uri}'")]
    UnknownScheme {
        /// The URI.
        uri: String,
    },
}

/// The details of [`Error::CorruptNar`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{what} mismatch in NAR '{url}' of path '{path}' from binary cache '{uri}';\n  \
     specified: {specified}\n  got:       {got}"
)]
pub struct NarMismatch {
    /// `hash` or `size`.
    pub what: &'static str,
    /// The NAR file's key.
    pub url: String,
    /// The full store path.
    pub path: String,
    /// The cache.
    pub uri: String,
    /// What the `.narinfo` says.
    pub specified: String,
    /// What the NAR has.
    pub got: String,
}

/// Returns whether `uri` names a binary cache (`file://`, `http://`, `https://`).
pub fn is_binary_cache_uri(uri: &str) -> bool {
    ["file://", "http://", "https://"]
        .iter()
        .any(|s| uri.starts_with(s))
}

/// Explicit inputs for [`open`], besides the URI.
#[derive(Clone, Debug, Default)]
pub struct OpenOptions {
    /// The logical store directory (the `store` setting), `/nix/store` by default.
    pub store_dir: StoreDir,
    /// The process's HTTP client for `http(s)://` caches (`ssl-cert-file`,
    /// `connect-timeout`); without one, a client with the defaults is made.
    pub http_client: Option<std::sync::Arc<crate::util::http::HttpClient>>,
    /// Where HTTP uploads spool compressed NARs; in memory without one.
    pub temp_dir: Option<PathBuf>,
}

/// Opens the binary cache `uri` (`file:///dir?params`, `http(s)://host/path?params`):
/// parses its parameters (warning about unknown ones through `reporter`), reads the secret
/// keys they name, and reads or creates `nix-cache-info`.
pub fn open(
    uri: &str,
    opts: OpenOptions,
    reporter: &dyn Reporter,
) -> anyhow::Result<BinaryCacheStore> {
    let (base, query) = uri.split_once('?').unwrap_or((uri, ""));
    let params: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    let config = Config::from_params(
        params.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        reporter,
    )?;
    let backend: Box<dyn Backend> = if let Some(dir) = base.strip_prefix("file://") {
        let dir = percent_encoding::percent_decode_str(dir).decode_utf8_lossy();
        if dir.is_empty() {
            return Err(Error::BadKey {
                key: String::new(),
                reason: "must not be empty",
            }
            .into());
        }
        Box::new(FileBackend::new(dir.into_owned()))
    } else if base.starts_with("http://") || base.starts_with("https://") {
        let url = url::Url::parse(base).with_context(|| format!("parsing store URI '{uri}'"))?;
        let client = opts.http_client.unwrap_or_default();
        Box::new(
            HttpBackend::new(&url, client, opts.temp_dir).with_upload_compression(
                config.narinfo_compression,
                config.ls_compression,
                config.log_compression,
            ),
        )
    } else {
        return Err(Error::UnknownScheme {
            uri: uri.to_owned(),
        }
        .into());
    };
    BinaryCacheStore::new(backend, opts.store_dir, config)
}

/// A binary cache as a [`Store`].
pub struct BinaryCacheStore {
    backend: Box<dyn Backend>,
    store_dir: StoreDir,
    config: Config,
    signers: Vec<SecretKey>,
    want_mass_query: bool,
    priority: i32,
}

impl BinaryCacheStore {
    /// Opens the cache behind `backend`: reads the secret key files of `config`, prepares the
    /// backend, and reads `nix-cache-info` (checking its `StoreDir`) or writes it.
    pub fn new(
        backend: Box<dyn Backend>,
        store_dir: StoreDir,
        config: Config,
    ) -> anyhow::Result<BinaryCacheStore> {
        let mut signers = vec![];
        for path in &config.secret_key_files {
            let text = crate::util::fs::read(path)?;
            let key = SecretKey::parse(&String::from_utf8_lossy(&text))
                .with_context(|| format!("reading secret key file '{}'", path.display()))?;
            signers.push(key);
        }
        let mut store = BinaryCacheStore {
            backend,
            store_dir,
            signers,
            want_mass_query: false,
            priority: 50,
            config,
        };
        store.init()?;
        Ok(store)
    }

    fn init(&mut self) -> anyhow::Result<()> {
        self.backend.init()?;
        let uri = self.backend.uri();
        match self.backend.get_cache_info()? {
            None => {
                let text = format!("StoreDir: {}\n", self.store_dir);
                self.backend
                    .put(CACHE_INFO, text.as_bytes(), "text/x-nix-cache-info")
                    .context(Error::NotABinaryCache { uri })?;
            }
            Some(bytes) => self.read_cache_info(&String::from_utf8_lossy(&bytes), &uri)?,
        }
        if let Some(w) = self.config.want_mass_query {
            self.want_mass_query = w;
        }
        if let Some(p) = self.config.priority {
            self.priority = p;
        }
        Ok(())
    }

    fn read_cache_info(&mut self, text: &str, uri: &str) -> Result<(), Error> {
        for line in text.split('\n').filter(|l| !l.is_empty()) {
            let Some((name, value)) = line.split_once(':') else {
                continue;
            };
            let value = value.trim();
            match name {
                "StoreDir" if value != self.store_dir.as_str() => {
                    return Err(Error::WrongStoreDir {
                        uri: uri.to_owned(),
                        found: value.to_owned(),
                        expected: self.store_dir.to_string(),
                    });
                }
                "WantMassQuery" => self.want_mass_query = value == "1",
                "Priority" => {
                    if let Ok(p) = value.parse() {
                        self.priority = p;
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// Returns the parameters the store was opened with.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Returns whether the cache wants to be queried in bulk (`WantMassQuery`, or the
    /// `want-mass-query` parameter).
    pub fn want_mass_query(&self) -> bool {
        self.want_mass_query
    }

    /// Returns the substituter priority (`Priority`, or the `priority` parameter; default 50).
    pub fn priority(&self) -> i32 {
        self.priority
    }

    /// Returns the backend (for reading raw files).
    pub fn backend(&self) -> &dyn Backend {
        self.backend.as_ref()
    }

    /// Returns whether the cache has a `.narinfo` for `path`'s hash part (one `HEAD` over
    /// HTTP). Like Nix, the name is not checked.
    pub fn is_valid_path(&self, path: &StorePath) -> anyhow::Result<bool> {
        self.backend.exists(&narinfo_key(path))
    }

    /// Returns the `.narinfo` of `path`, or `None` if the cache has none for it (or one for
    /// another name with the same hash part).
    pub fn query_nar_info(&self, path: &StorePath) -> anyhow::Result<Option<NarInfo>> {
        let key = narinfo_key(path);
        let Some(bytes) = backend::read_all(self.backend.get(&key)?)
            .with_context(|| format!("reading '{key}' from '{}'", self.backend.uri()))?
        else {
            return Ok(None);
        };
        let ni = NarInfo::parse(&self.store_dir, &String::from_utf8_lossy(&bytes), &key)?;
        Ok((ni.info.path == *path).then_some(ni))
    }
}

impl BinaryCacheStore {
    /// Streams the NAR that `ni` (a `.narinfo` of this cache) describes into `sink`,
    /// decompressing it and checking `NarHash` and `NarSize` (the part of
    /// [`nar_from_path`](Store::nar_from_path) after the `.narinfo` is read). A missing NAR
    /// file is [`Error::NoSuchFile`] (Nix's `SubstituteGone`).
    pub fn nar_from_info(&self, ni: &NarInfo, sink: &mut dyn Write) -> anyhow::Result<()> {
        ops::nar_from_info(self, ni, sink)
    }

    /// Whether this is a `file://` cache (where reading a `.narinfo` costs no request).
    fn is_local(&self) -> bool {
        self.backend.uri().starts_with("file://")
    }

    /// Whether the cache really holds `path`, as a copy to it decides (Nix's `queryValidPaths`,
    /// which reads each `.narinfo` through `queryPathInfo`): a `.narinfo` that cannot be
    /// parsed is an error (`NAR info file '…' is corrupt`); one for another path with the same
    /// hash part means absent; and in a `file://` cache, so does a `.narinfo` whose NAR file is
    /// missing (a half-written cache, which Nix would trust).
    pub fn holds(&self, path: &StorePath) -> anyhow::Result<bool> {
        let Some(ni) = self.query_nar_info(path)? else {
            return Ok(false);
        };
        if self.is_local() && !self.backend.exists(&ni.url)? {
            return Ok(false);
        }
        Ok(true)
    }
}

/// Returns the key of `path`'s `.narinfo`: `<hash part>.narinfo`.
pub fn narinfo_key(path: &StorePath) -> String {
    format!("{}.narinfo", path.hash_part())
}

impl Store for BinaryCacheStore {
    fn uri(&self) -> String {
        self.backend.uri()
    }

    fn store_dir(&self) -> &StoreDir {
        &self.store_dir
    }

    fn query_path_info(&self, path: &StorePath) -> anyhow::Result<Option<PathInfo>> {
        Ok(self.query_nar_info(path)?.map(|ni| ni.info))
    }

    fn query_valid_paths(
        &self,
        paths: &BTreeSet<StorePath>,
    ) -> anyhow::Result<BTreeSet<StorePath>> {
        let mut valid = BTreeSet::new();
        for p in paths {
            if self.is_valid_path(p)? && (!self.is_local() || self.holds(p)?) {
                valid.insert(p.clone());
            }
        }
        Ok(valid)
    }

    fn nar_from_path(&self, path: &StorePath, sink: &mut dyn Write) -> anyhow::Result<()> {
        ops::nar_from_path(self, path, sink)
    }

    fn add_nar(&self, info: &PathInfo, nar: &mut dyn Read, check: CheckSigs) -> anyhow::Result<()> {
        // Binary cache destinations never check signatures (spec A5.6).
        let _ = check;
        // Nix's `isValidPath` (a `HEAD`), then, in a `file://` cache, what a copy checks of a
        // `.narinfo` that is there: another path's, or one without its NAR file, is replaced.
        if self.is_valid_path(&info.path)? && (!self.is_local() || self.holds(&info.path)?) {
            return Ok(());
        }
        ops::check_references(self, info)?;
        let mut ni = ops::upload_nar(self, info, nar)?;
        for key in &self.signers {
            super::signature::sign_path_info(&mut ni.info, &self.store_dir, key);
        }
        let text = ni.render(&self.store_dir);
        self.backend.put(
            &narinfo_key(&info.path),
            text.as_bytes(),
            "text/x-nix-narinfo",
        )
    }
}
