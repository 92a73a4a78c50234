//! A store behind a Nix daemon (`daemon`, `unix://<socket>`): rflake as a client of the worker
//! protocol, the way every `nix` command talks to the store of a multi-user installation.
//!
//! Mirrors the Nix source's `src/libstore/remote-store.cc` and `uds-remote-store.cc` (the
//! client), `worker-protocol*.{hh,cc}` (the wire format) and `daemon.cc` (the other end).
//!
//! - [`wire`]: numbers, padded strings, string lists, framed streams (formats only).
//! - [`handshake`]: the version and feature negotiation (up to 1.38, down to 1.18).
//! - [`stderr`]: the side channel of log lines, activities and errors, relayed to the
//!   [`Reporter`].
//! - [`ops`]: the operations and the wire form of path infos and derived paths.
//! - [`build_ops`]: building (`buildPathsWithResults`, `buildDerivation`), build results,
//!   `addTextToStore`, `addIndirectRoot`.
//! - [`conn`]: one connection (the handshake, then `setOptions`).
//!
//! A [`DaemonStore`] connects on first use and keeps its connections for the whole command: a
//! small pool, so that several paths can be added at once, each connection one daemon process
//! on the other end. A connection is dropped when an exchange fails half-way (I/O or protocol
//! error), and kept when the daemon reports an error (it then waits for the next request).
//!
//! Copying into the daemon ([`crate::store::copy`]) sends flake sources (paths whose address
//! is their NAR hash) with `addToStore` (protocol 1.25 on), so that the daemon hashes each tree
//! once as it restores it; other paths go in one `addMultipleToStore` stream (protocol 1.32 on;
//! older daemons get one `addToStoreNar` per path, several at once). A level of many paths is
//! split over up to `max-connections` connections. NARs are streamed, never held whole; while a NAR is sent, what the
//! daemon says meanwhile is read without blocking, so a failing daemon stops the stream early
//! and a chatty one cannot deadlock it.
//!
//! # Deviations
//!
//! (The full list is in `docs/deviations.md`, "Store: the Nix daemon".)
//!
//! - Fetchers add to a local store only: a daemon store is a `--to` destination, not yet a
//!   `--store` to fetch into.
//! - `max-connections` defaults to 4 for a socket, not 1: copies to the daemon overlap.
//! - Flake sources are copied with `addToStore`, not `addMultipleToStore` (see above).
//! - `setOptions` forwards the user's overridden settings as Nix does, except the few of
//!   `crate::settings::forward` (see its deviations).
//! - The daemon's messages lose their terminal colours even on a terminal.
//! - Only the operations rflake needs are implemented (see [`ops`] and [`build_ops`]);
//!   `queryDerivationOutputMap`, GC and signatures are not.

pub mod build_ops;
pub mod conn;
pub mod error;
pub mod handshake;
pub mod ops;
pub mod stderr;
pub mod wire;

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::path::PathBuf;
use std::sync::{Arc, Condvar, Mutex};

pub use conn::{ClientOptions, Connection};
pub use error::Error;
pub use handshake::{Trust, Version};
pub use ops::{BuildMode, DerivedPath, Missing};

use super::uri::DAEMON_SOCKET;
use super::{CheckSigs, PathInfo, Store, StoreDir, StorePath};
use crate::report::Reporter;

/// How many connections a store opens at most unless `max-connections` says otherwise.
pub const DEFAULT_MAX_CONNECTIONS: usize = 4;

/// What opening a daemon store needs.
#[derive(Clone, Debug)]
pub struct Options {
    /// The socket; `None` for the default one ([`DAEMON_SOCKET`]).
    pub socket: Option<PathBuf>,
    /// The logical store directory.
    pub store_dir: StoreDir,
    /// What `setOptions` sends.
    pub client: ClientOptions,
    /// How many connections may be open at once (at least 1).
    pub max_connections: usize,
    /// For `ssh-ng://`: the host and the remote command (`nix-daemon --stdio`), instead of a
    /// socket.
    pub ssh: Option<Ssh>,
}

/// An `ssh-ng://` daemon: where, and what runs there.
#[derive(Clone, Debug)]
pub struct Ssh {
    /// The host and how to reach it.
    pub target: crate::store::ssh::Target,
    /// The remote command: `remote-program` (default `nix-daemon`), `--stdio`, and
    /// `--store <remote-store>` when that parameter is given.
    pub command: Vec<String>,
    /// The URI as printed.
    pub uri: String,
}

impl Options {
    /// Options for the daemon at `socket` with Nix's defaults.
    pub fn new(socket: Option<PathBuf>) -> Options {
        Options {
            socket,
            store_dir: StoreDir::default(),
            client: ClientOptions::default(),
            max_connections: DEFAULT_MAX_CONNECTIONS,
            ssh: None,
        }
    }

    /// The socket connected to.
    pub fn socket_path(&self) -> PathBuf {
        self.socket
            .clone()
            .unwrap_or_else(|| PathBuf::from(DAEMON_SOCKET))
    }
}

/// Idle connections and how many exist.
#[derive(Default)]
struct Pool {
    idle: Vec<Connection>,
    live: usize,
}

/// A store reached through a Nix daemon.
pub struct DaemonStore {
    opts: Options,
    pool: Mutex<Pool>,
    freed: Condvar,
    reporter: Arc<dyn Reporter + Send + Sync>,
}

impl DaemonStore {
    /// A store for the daemon `opts` names, reporting the daemon's messages to `reporter`.
    /// Nothing is connected until the store is used.
    pub fn new(opts: Options, reporter: Arc<dyn Reporter + Send + Sync>) -> DaemonStore {
        DaemonStore {
            opts,
            pool: Mutex::new(Pool::default()),
            freed: Condvar::new(),
            reporter,
        }
    }

    fn connect(&self) -> anyhow::Result<Connection> {
        if let Some(ssh) = &self.opts.ssh {
            return Connection::open_ssh(
                &ssh.target,
                &ssh.command,
                &self.opts.store_dir,
                &self.opts.client,
                &*self.reporter,
            )
            .map_err(|e| {
                e.context(format!(
                    "cannot open connection to remote store '{}'",
                    ssh.uri
                ))
            });
        }
        let socket = self.opts.socket_path();
        Connection::open(
            &socket,
            &self.opts.store_dir,
            &self.opts.client,
            &*self.reporter,
        )
        .map_err(|e| match e {
            Error::Connect { .. } => anyhow::Error::new(e),
            e => anyhow::anyhow!(
                "cannot open connection to remote store '{}': {e}",
                self.uri()
            ),
        })
    }

    /// Runs `f` on a connection from the pool (opening one if none is idle and fewer than
    /// `max-connections` exist, else waiting for one).
    pub fn with_connection<T>(
        &self,
        f: impl FnOnce(&mut Connection, &dyn Reporter) -> anyhow::Result<T>,
    ) -> anyhow::Result<T> {
        let mut conn = {
            let mut pool = self
                .pool
                .lock()
                .map_err(|_| anyhow::anyhow!("the daemon connection pool is poisoned"))?;
            loop {
                if let Some(c) = pool.idle.pop() {
                    break Some(c);
                }
                if pool.live < self.opts.max_connections.max(1) {
                    pool.live += 1;
                    break None;
                }
                pool = self
                    .freed
                    .wait(pool)
                    .map_err(|_| anyhow::anyhow!("the daemon connection pool is poisoned"))?;
            }
        };
        if conn.is_none() {
            match self.connect() {
                Ok(c) => conn = Some(c),
                Err(e) => {
                    self.release(None);
                    return Err(e);
                }
            }
        }
        let mut conn = conn.expect("set just above");
        let res = f(&mut conn, &*self.reporter);
        self.release(conn.is_usable().then_some(conn));
        res
    }

    fn release(&self, conn: Option<Connection>) {
        if let Ok(mut pool) = self.pool.lock() {
            match conn {
                Some(c) => pool.idle.push(c),
                None => pool.live -= 1,
            }
        }
        self.freed.notify_one();
    }

    /// The negotiated protocol version (connecting if needed).
    pub fn protocol_version(&self) -> anyhow::Result<Version> {
        self.with_connection(|c, _| Ok(c.version()))
    }

    /// The daemon's Nix version, if it says (protocol 1.33 on).
    pub fn daemon_nix_version(&self) -> anyhow::Result<Option<String>> {
        self.with_connection(|c, _| Ok(c.info.nix_version.clone()))
    }

    /// Whether the daemon trusts this client, if it says (protocol 1.35 on).
    pub fn trust(&self) -> anyhow::Result<Option<Trust>> {
        self.with_connection(|c, _| Ok(c.info.trust))
    }

    /// `isValidPath`.
    pub fn is_valid_path(&self, path: &StorePath) -> anyhow::Result<bool> {
        self.with_connection(|c, r| Ok(c.is_valid_path(path, r)?))
    }

    /// `queryPathFromHashPart`.
    pub fn query_path_from_hash_part(&self, hash_part: &str) -> anyhow::Result<Option<StorePath>> {
        self.with_connection(|c, r| Ok(c.query_path_from_hash_part(hash_part, r)?))
    }

    /// `addTempRoot`: the root lasts while the connection it was added on is open, which is
    /// the life of this store (its connections are kept until it is dropped).
    pub fn add_temp_root(&self, path: &StorePath) -> anyhow::Result<()> {
        self.with_connection(|c, r| Ok(c.add_temp_root(path, r)?))
    }

    /// `ensurePath`.
    pub fn ensure_path(&self, path: &StorePath) -> anyhow::Result<()> {
        self.with_connection(|c, r| Ok(c.ensure_path(path, r)?))
    }

    /// `queryMissing`.
    pub fn query_missing(&self, targets: &[DerivedPath]) -> anyhow::Result<Missing> {
        self.with_connection(|c, r| Ok(c.query_missing(targets, r)?))
    }

    /// `buildPaths`.
    pub fn build_paths(&self, targets: &[DerivedPath], mode: BuildMode) -> anyhow::Result<()> {
        self.with_connection(|c, r| Ok(c.build_paths(targets, mode, r)?))
    }
}

impl Store for DaemonStore {
    fn uri(&self) -> String {
        if let Some(ssh) = &self.opts.ssh {
            return ssh.uri.clone();
        }
        match &self.opts.socket {
            None => "daemon".to_owned(),
            Some(s) => format!("unix://{}", s.display()),
        }
    }

    fn store_dir(&self) -> &StoreDir {
        &self.opts.store_dir
    }

    fn query_path_info(&self, path: &StorePath) -> anyhow::Result<Option<PathInfo>> {
        self.with_connection(|c, r| Ok(c.query_path_info(path, r)?))
    }

    fn query_valid_paths(
        &self,
        paths: &BTreeSet<StorePath>,
    ) -> anyhow::Result<BTreeSet<StorePath>> {
        if paths.is_empty() {
            return Ok(BTreeSet::new());
        }
        self.with_connection(|c, r| Ok(c.query_valid_paths(paths, false, r)?))
    }

    fn nar_from_path(&self, path: &StorePath, sink: &mut dyn Write) -> anyhow::Result<()> {
        self.with_connection(|c, r| Ok(c.nar_from_path(path, sink, r)?))
    }

    fn add_nar(&self, info: &PathInfo, nar: &mut dyn Read, check: CheckSigs) -> anyhow::Result<()> {
        self.with_connection(|c, r| {
            Ok(c.add_to_store_nar(info, nar, false, check == CheckSigs::NoCheck, r)?)
        })
    }

    fn parallel_requests(&self) -> usize {
        self.opts.max_connections.max(1)
    }

    /// One `addMultipleToStore` request (protocol 1.32 on) streaming every NAR in turn.
    fn add_multiple(
        &self,
        infos: &[PathInfo],
        write_nar: &mut dyn FnMut(&PathInfo, &mut dyn Write) -> anyhow::Result<()>,
        check: CheckSigs,
    ) -> anyhow::Result<bool> {
        let dir = self.opts.store_dir.clone();
        self.with_connection(|c, r| {
            if c.negotiated.at_least(Version::v1(25)) && infos.iter().all(by_content) {
                for info in infos {
                    let method = format!("fixed:r:{}", info.nar_hash.algo().name());
                    let added = c.add_ca_to_store(
                        info.path.name(),
                        &method,
                        &info.references,
                        false,
                        &mut |w| write_nar(info, w),
                        r,
                    )?;
                    if added.path != info.path || added.nar_hash != info.nar_hash {
                        anyhow::bail!(
                            "the Nix daemon added '{}' as '{}' with NAR hash '{}'",
                            dir.print(&info.path),
                            dir.print(&added.path),
                            added.nar_hash.to_sri()
                        );
                    }
                }
                return Ok(true);
            }
            if !c.negotiated.at_least(Version::v1(32)) {
                return Ok(false);
            }
            let mut it = infos.iter();
            c.add_multiple_to_store(
                infos.len() as u64,
                &mut |w: &mut dyn Write| {
                    let info = it.next().expect("called once per info");
                    Connection::write_multiple_entry(w, &dir, info, &mut |w| write_nar(info, w))
                },
                false,
                check == CheckSigs::NoCheck,
                r,
            )?;
            Ok(true)
        })
    }
}

/// Whether `info` can be added as its content (`addToStore`) with nothing lost: a NAR-hashed
/// (`fixed:r:sha256`) path whose address is its NAR hash, with no deriver, signatures or
/// self-reference (every flake source).
fn by_content(info: &PathInfo) -> bool {
    info.ca
        .as_ref()
        .is_some_and(|ca| ca.method == super::ca::Method::Recursive && ca.hash == info.nar_hash)
        && info.deriver.is_none()
        && info.sigs.is_empty()
        && !info.references.contains(&info.path)
}

#[cfg(test)]
mod tests;
