//! Opening the store a URI names (Nix's `openStore`, `src/libstore/store-open.cc`), configured
//! from the settings: the logical store directory, `require-sigs`, `trusted-public-keys` (plus
//! the public halves of `secret-key-files`, which Nix trusts too), and the HTTP client for
//! binary caches (`ssl-cert-file`, `connect-timeout`).
//!
//! `daemon`, `unix://<socket>` and `ssh-ng://` open a [`DaemonStore`], `ssh://` a
//! [`super::serve::ServeStore`]; both connect on first use (`max-connections` bounds a daemon
//! store's connections). Stores rflake cannot use (S3, unknown schemes) open as a stand-in that
//! fails on first use, so commands that never touch the store (a locked `--dry-run`) work.
//!
//! # Deviations
//!
//! The logical store directory is always `/nix/store` unless a local store URI says
//! `?store=…`; `NIX_STORE_DIR` is not read.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context as _;

use super::binary_cache;
use super::daemon::{self, ClientOptions, DaemonStore};
use super::local;
use super::local::LocalStore;
use super::signature::{PublicKeys, SecretKey};
use super::uri::{OpenError, StoreUri};
use super::{CheckSigs, PathInfo, Store, StoreDir, StorePath};
use crate::report::Reporter;
use crate::util::http::HttpClient;

/// What opening a store needs besides its URI.
#[derive(Clone)]
pub struct OpenConfig {
    /// The logical store directory.
    pub store_dir: StoreDir,
    /// `require-sigs`.
    pub require_sigs: bool,
    /// Keys whose signatures make a path trusted.
    pub trusted_keys: PublicKeys,
    /// The process's HTTP client, for `http(s)://` binary caches.
    pub http: Arc<HttpClient>,
    /// Where HTTP uploads spool NARs (in memory without one).
    pub temp_dir: Option<PathBuf>,
    /// The settings a daemon store passes on with `setOptions` (the verbosity is the
    /// reporter's).
    pub daemon_client: ClientOptions,
    /// The socket of the `daemon` store; `None` for [`super::uri::DAEMON_SOCKET`].
    pub daemon_socket: Option<PathBuf>,
    /// `NIX_SSHOPTS`, unsplit.
    pub ssh_opts: Option<String>,
}

/// The settings stores are opened with: how they check signatures, where the daemon listens.
#[derive(Debug, Clone, Default)]
pub struct StoreSettings {
    /// `require-sigs`.
    pub require_sigs: bool,
    /// `trusted-public-keys`.
    pub trusted_public_keys: Vec<String>,
    /// `secret-key-files` (Nix trusts the public halves of these keys too).
    pub secret_key_files: Vec<String>,
    /// The socket of the `daemon` store (Nix's `NIX_DAEMON_SOCKET_PATH`); `None` for
    /// [`super::uri::DAEMON_SOCKET`].
    pub daemon_socket: Option<PathBuf>,
    /// `NIX_SSHOPTS`: options for `ssh` (shell words).
    pub ssh_opts: Option<String>,
    /// What a daemon store sends with `setOptions` (the verbosity is the reporter's).
    pub daemon_client: ClientOptions,
}

impl OpenConfig {
    /// Builds the configuration from the store settings. A malformed trusted key is an error;
    /// an unreadable secret key file is skipped, as in Nix.
    pub fn new(settings: &StoreSettings, http: Arc<HttpClient>) -> anyhow::Result<OpenConfig> {
        let mut trusted_keys =
            PublicKeys::parse(settings.trusted_public_keys.iter().map(String::as_str))
                .context("reading the 'trusted-public-keys' setting")?;
        for file in &settings.secret_key_files {
            let Ok(text) = std::fs::read_to_string(file) else {
                continue;
            };
            let key = SecretKey::parse(text.trim())
                .with_context(|| format!("reading secret key file '{file}'"))?;
            trusted_keys.insert(key.to_public());
        }
        Ok(OpenConfig {
            store_dir: StoreDir::default(),
            require_sigs: settings.require_sigs,
            trusted_keys,
            http,
            temp_dir: None,
            daemon_client: settings.daemon_client.clone(),
            daemon_socket: settings.daemon_socket.clone(),
            ssh_opts: settings.ssh_opts.clone(),
        })
    }
}

/// Opens the store `uri` names (`auto` must have been resolved).
pub fn open(
    uri: &StoreUri,
    cfg: &OpenConfig,
    reporter: &dyn Reporter,
) -> anyhow::Result<Arc<dyn Store>> {
    if let Some(e) = uri.open_error() {
        return Ok(Arc::new(Unavailable::new(uri, e)));
    }
    match uri {
        StoreUri::Local { .. } => Ok(Arc::new(open_local(uri, cfg)?)),
        StoreUri::File { .. } | StoreUri::Http { .. } => {
            let opts = binary_cache::OpenOptions {
                store_dir: cfg.store_dir.clone(),
                http_client: Some(cfg.http.clone()),
                temp_dir: cfg.temp_dir.clone(),
            };
            Ok(Arc::new(binary_cache::open(
                &uri.to_string(),
                opts,
                reporter,
            )?))
        }
        StoreUri::Daemon { .. } | StoreUri::SshNg { .. } => {
            match open_daemon(uri, cfg, reporter)? {
                Some(store) => Ok(Arc::new(store)),
                None => anyhow::bail!("'{uri}' is not a daemon store"),
            }
        }
        StoreUri::Ssh { .. } => match open_serve(uri, cfg)? {
            Some(store) => Ok(Arc::new(store)),
            None => anyhow::bail!("'{uri}' is not an 'ssh://' store"),
        },
        StoreUri::Auto => anyhow::bail!("the 'auto' store must be resolved before it is opened"),
        other => anyhow::bail!("don't know how to open Nix store '{other}'"),
    }
}

/// Opens an `ssh://` store (`nix-store --serve --write` over SSH); `None` for other kinds.
pub fn open_serve(
    uri: &StoreUri,
    cfg: &OpenConfig,
) -> anyhow::Result<Option<super::serve::ServeStore>> {
    let StoreUri::Ssh { host, port, params } = uri else {
        return Ok(None);
    };
    let ssh = ssh_target(
        uri,
        host,
        *port,
        params,
        cfg,
        "nix-store",
        &["--serve", "--write"],
    )?;
    Ok(Some(super::serve::ServeStore::new(
        ssh.target,
        ssh.command,
        ssh.uri,
        cfg.store_dir.clone(),
    )))
}

/// Opens the store `uri` names as a [`DaemonStore`] when it is one (`daemon`, `unix://…`,
/// `ssh-ng://…`); `None` for other kinds.
pub fn open_daemon(
    uri: &StoreUri,
    cfg: &OpenConfig,
    reporter: &dyn Reporter,
) -> anyhow::Result<Option<DaemonStore>> {
    if let Some(e) = uri.open_error() {
        return Err(e.into());
    }
    match uri {
        StoreUri::Daemon { socket, params } => {
            let mut client = cfg.daemon_client.clone();
            client.verbosity = reporter.verbosity().into();
            let opts = daemon::Options {
                store_dir: cfg.store_dir.clone(),
                client,
                max_connections: max_connections(params, daemon::DEFAULT_MAX_CONNECTIONS)?,
                ..daemon::Options::new(socket.clone().or_else(|| cfg.daemon_socket.clone()))
            };
            Ok(Some(DaemonStore::new(opts, reporter.shared())))
        }
        StoreUri::SshNg { host, port, params } => {
            let mut client = cfg.daemon_client.clone();
            client.verbosity = reporter.verbosity().into();
            // Nix's `ssh-ng://` store leaves the remote daemon's settings alone.
            client.send = false;
            let ssh = ssh_target(uri, host, *port, params, cfg, "nix-daemon", &["--stdio"])?;
            let opts = daemon::Options {
                store_dir: cfg.store_dir.clone(),
                client,
                // Nix's default: each connection is an SSH session of its own, whose setup
                // costs more than what a second import process saves (docs/performance.md).
                max_connections: max_connections(params, 1)?,
                ssh: Some(ssh),
                ..daemon::Options::new(None)
            };
            Ok(Some(DaemonStore::new(opts, reporter.shared())))
        }
        _ => Ok(None),
    }
}

/// The `max-connections` parameter (how many connections a daemon store may open at once; at
/// least 1, as Nix's pool), or `default`.
fn max_connections(params: &super::uri::Params, default: usize) -> anyhow::Result<usize> {
    match params.get("max-connections") {
        None => Ok(default),
        Some(v) => v
            .parse::<i64>()
            .ok()
            .and_then(|n| i32::try_from(n).ok())
            .map(|n| usize::try_from(n).unwrap_or(0).max(1))
            .ok_or_else(|| anyhow::anyhow!("setting 'max-connections' has invalid value '{v}'")),
    }
}

/// What an `ssh://` or `ssh-ng://` store runs and where (Nix's `LegacySSHStore` and
/// `SSHStore`): the parameters `ssh-key`, `base64-ssh-public-host-key`, `compress`,
/// `remote-program` (default `program`, followed by `args`) and `remote-store`.
fn ssh_target(
    uri: &StoreUri,
    host: &str,
    port: Option<u16>,
    params: &super::uri::Params,
    cfg: &OpenConfig,
    program: &str,
    args: &[&str],
) -> anyhow::Result<daemon::Ssh> {
    let ssh_opts = match &cfg.ssh_opts {
        Some(o) => super::ssh::split_ssh_opts(o)?,
        None => Vec::new(),
    };
    let target = super::ssh::Target {
        host: host.to_owned(),
        port,
        key: params
            .get("ssh-key")
            .filter(|k| !k.is_empty())
            .map(PathBuf::from),
        host_key: params
            .get("base64-ssh-public-host-key")
            .filter(|k| !k.is_empty())
            .cloned(),
        compress: params.get("compress").is_some_and(|c| c == "true"),
        ssh_opts,
    };
    let mut command = vec![
        params
            .get("remote-program")
            .cloned()
            .unwrap_or_else(|| program.to_owned()),
    ];
    command.extend(args.iter().map(|a| (*a).to_owned()));
    if let Some(store) = params.get("remote-store").filter(|s| !s.is_empty()) {
        command.push("--store".to_owned());
        command.push(store.clone());
    }
    Ok(daemon::Ssh {
        target,
        command,
        uri: uri.to_string(),
    })
}

/// Opens the local store `uri` names, checking signatures against the configured keys; an
/// error for any other kind of store (fetchers add to local stores only).
pub fn open_local(uri: &StoreUri, cfg: &OpenConfig) -> anyhow::Result<LocalStore> {
    if let Some(e) = uri.open_error() {
        return Err(e.into());
    }
    let Some(mut opts) = local_options(uri) else {
        anyhow::bail!(
            "rflake can only fetch into a local store, not '{uri}'; pass '--store <dir>'"
        );
    };
    opts.require_sigs = cfg.require_sigs;
    opts.sig_checker = Arc::new(cfg.trusted_keys.clone());
    LocalStore::open(opts).with_context(|| format!("opening the Nix store '{uri}'"))
}

/// Returns the options of a local store URI (`root`, and `store` for the logical store
/// directory), with Nix's other defaults; `None` for other kinds.
pub fn local_options(uri: &StoreUri) -> Option<local::Options> {
    let StoreUri::Local { root, params } = uri else {
        return None;
    };
    let mut opts = local::Options::new(root.clone());
    if let Some(dir) = params.get("store") {
        opts.store_dir = StoreDir::new(dir);
    }
    let dir = |name: &str| {
        params
            .get(name)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    opts.state_dir = dir("state");
    opts.log_dir = dir("log");
    opts.real_store_dir = dir("real");
    Some(opts)
}

/// A store that cannot be opened: every operation fails with the same [`OpenError`], so that
/// commands that never touch the store (`--dry-run`) still succeed, as with Nix.
pub struct Unavailable {
    uri: String,
    store_dir: StoreDir,
    error: OpenError,
}

impl Unavailable {
    /// Makes the stand-in for `uri`, failing with `error`.
    pub fn new(uri: &StoreUri, error: OpenError) -> Unavailable {
        Unavailable {
            uri: uri.to_string(),
            store_dir: StoreDir::default(),
            error,
        }
    }
}

impl Store for Unavailable {
    fn uri(&self) -> String {
        self.uri.clone()
    }

    fn store_dir(&self) -> &StoreDir {
        &self.store_dir
    }

    fn query_path_info(&self, _: &StorePath) -> anyhow::Result<Option<PathInfo>> {
        Err(self.error.clone().into())
    }

    fn nar_from_path(&self, _: &StorePath, _: &mut dyn Write) -> anyhow::Result<()> {
        Err(self.error.clone().into())
    }

    fn add_nar(&self, _: &PathInfo, _: &mut dyn Read, _: CheckSigs) -> anyhow::Result<()> {
        Err(self.error.clone().into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    use crate::hash::{Algo, Hash};
    use crate::report::Silent;
    use crate::settings::Settings;
    use crate::store::path::References;
    use crate::store::signature;
    use crate::store::{CheckSigs, PathInfo};

    #[test]
    fn secret_key_files_are_trusted_and_stand_ins_fail_late() {
        let tmp = tempfile::tempdir().unwrap();
        let secret = SecretKey::from_seed("demo-1", &std::array::from_fn(|i| i as u8));
        let key_file = tmp.path().join("key");
        std::fs::write(&key_file, secret.to_file_text()).unwrap();
        let settings = Settings {
            secret_key_files: vec![
                key_file.display().to_string(),
                tmp.path().join("missing").display().to_string(),
            ],
            ..Settings::default()
        };
        let store_settings = StoreSettings {
            require_sigs: settings.require_sigs,
            trusted_public_keys: settings.trusted_public_keys.clone(),
            secret_key_files: settings.secret_key_files.clone(),
            daemon_socket: None,
            ssh_opts: None,
            daemon_client: ClientOptions::default(),
        };
        let cfg = OpenConfig::new(&store_settings, Arc::default()).unwrap();
        assert!(cfg.trusted_keys.get("demo-1").is_some());
        assert!(cfg.trusted_keys.get("cache.nixos.org-1").is_some());

        // A local store checks signatures with those keys.
        let root = tmp.path().join("root");
        let uri = StoreUri::parse(root.to_str().unwrap(), tmp.path());
        let store = open(&uri, &cfg, &Silent).unwrap();
        let nar = b"\x0d\0\0\0\0\0\0\0nix-archive-1\0\0\0\x01\0\0\0\0\0\0\0(\0\0\0\0\0\0\0\x04\0\0\0\0\0\0\0type\0\0\0\0\x07\0\0\0\0\0\0\0regular\0\x08\0\0\0\0\0\0\0contents\0\0\0\0\0\0\0\0\x01\0\0\0\0\0\0\0)\0\0\0\0\0\0\0";
        let h = Hash::digest(Algo::Sha256, nar);
        let dir = StoreDir::default();
        let path = dir
            .make_source_path(&h, "x", &References::default())
            .unwrap();
        let mut info = PathInfo::source(path, h, nar.len() as u64);
        info.ca = None;
        let err = store
            .add_nar(&info, &mut &nar[..], CheckSigs::Check)
            .unwrap_err();
        assert!(
            format!("{err:#}").contains("lacks a signature by a trusted key"),
            "{err:#}"
        );
        signature::sign_path_info(&mut info, &dir, &secret);
        store
            .add_nar(&info, &mut &nar[..], CheckSigs::Check)
            .unwrap();
        assert!(store.query_path_info(&info.path).unwrap().is_some());

        // Fetchers need a local store: a daemon is refused with a hint.
        let Err(err) = open_local(&StoreUri::parse("daemon", tmp.path()), &cfg) else {
            panic!("a daemon store was opened as a local one");
        };
        assert!(format!("{err:#}").contains("--store"), "{err:#}");
        // A daemon store connects on first use.
        let missing = tmp.path().join("no-socket");
        let uri = format!("unix://{}", missing.display());
        let daemon = open(&StoreUri::parse(&uri, tmp.path()), &cfg, &Silent).unwrap();
        assert_eq!(daemon.uri(), uri);
        let err = daemon.query_path_info(&info.path).unwrap_err();
        assert_eq!(
            format!("{err:#}"),
            format!(
                "cannot connect to socket at '{}': No such file or directory",
                missing.display()
            )
        );
        let bogus = open(&StoreUri::parse("bogus://x", tmp.path()), &cfg, &Silent).unwrap();
        let err = bogus.query_path_info(&info.path).unwrap_err();
        assert_eq!(
            format!("{err:#}"),
            "don't know how to open Nix store 'bogus://x'"
        );
    }

    #[test]
    fn local_options_from_uri() {
        let uri = StoreUri::parse("local?root=/r&store=/gnu/store", Path::new("/"));
        let opts = local_options(&uri).unwrap();
        assert_eq!(opts.root.as_deref(), Some(Path::new("/r")));
        assert_eq!(opts.store_dir.as_str(), "/gnu/store");
        assert!(opts.require_sigs);
        assert!(local_options(&StoreUri::parse("daemon", Path::new("/"))).is_none());
    }
}
