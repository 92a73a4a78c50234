//! `ssh://` stores: `nix-store --serve --write` on another machine, reached over SSH (Nix's
//! `LegacySSHStore`, `src/libstore/legacy-ssh-store.cc`, and the serve protocol of
//! `serve-protocol*.cc`). The encoding is the worker protocol's (`store::daemon::wire`); the
//! transport is `store::ssh`.
//!
//! Valid paths are found with one `QueryValidPaths`, path infos with `QueryPathInfos`, paths
//! are added with `AddToStoreNar` (protocol 2.5 and later, which every Nix since 2.4 speaks),
//! and read back with `DumpStorePath` (streamed).
//!
//! # Deviations
//!
//! - Builds: only `BuildDerivation` ([`build`], for remote builders); `BuildPaths` and
//!   `QueryClosure` are not implemented.
//! - One connection per store (Nix's default `max-connections` for `ssh://` is 1 too).

pub mod build;

use std::collections::BTreeSet;
use std::io::{BufReader, BufWriter, Read, Write};
use std::sync::Mutex;

use anyhow::Context as _;

use super::daemon::wire;
use super::ssh::{Process, Target};
use super::{CheckSigs, PathInfo, Store, StoreDir, StorePath};
use crate::hash::{Algo, Hash};

/// The first word a client sends (`SERVE_MAGIC_1`).
const MAGIC_1: u64 = 0x390c_9deb;
/// The first word the server answers (`SERVE_MAGIC_2`).
const MAGIC_2: u64 = 0x5452_eecb;
/// The protocol version rflake speaks: 2.7 (`major << 8 | minor`).
const VERSION: u64 = 2 << 8 | 7;
/// The oldest server version rflake accepts (2.5, the first with `AddToStoreNar`).
const OLDEST: u64 = 2 << 8 | 5;

/// How many `AddToStoreNar` commands are sent before their answers are read (each answer is 8
/// bytes; a pipe holds at least 4 KiB).
const PIPELINED: usize = 256;

/// The serve protocol's commands rflake sends.
mod cmd {
    pub const QUERY_VALID_PATHS: u64 = 1;
    pub const QUERY_PATH_INFOS: u64 = 2;
    pub const DUMP_STORE_PATH: u64 = 3;
    pub const ADD_TO_STORE_NAR: u64 = 9;
}

/// One `nix-store --serve` session.
struct Conn {
    r: BufReader<Box<dyn Read + Send>>,
    w: BufWriter<Box<dyn Write + Send>>,
    version: u64,
    _process: Process,
}

/// A store reached through `nix-store --serve` over SSH.
pub struct ServeStore {
    target: Target,
    command: Vec<String>,
    uri: String,
    dir: StoreDir,
    conn: Mutex<Option<Conn>>,
}

impl ServeStore {
    /// A store on `target` running `command` (`nix-store --serve --write [--store S]`), printed
    /// as `uri`. Nothing is connected until the store is used.
    pub fn new(target: Target, command: Vec<String>, uri: String, dir: StoreDir) -> ServeStore {
        ServeStore {
            target,
            command,
            uri,
            dir,
            conn: Mutex::new(None),
        }
    }

    fn host(&self) -> &str {
        self.target
            .host
            .rsplit_once('@')
            .map_or(&self.target.host, |(_, h)| h)
    }

    fn connect(&self) -> anyhow::Result<Conn> {
        let mut process = self.target.start(&self.command)?;
        let (Some(stdin), Some(stdout)) = (process.stdin.take(), process.stdout.take()) else {
            anyhow::bail!("the SSH process has no standard streams");
        };
        let mut conn = Conn {
            r: BufReader::new(Box::new(stdout)),
            w: BufWriter::new(Box::new(stdin)),
            version: 0,
            _process: process,
        };
        wire::write_u64(&mut conn.w, MAGIC_1)?;
        wire::write_u64(&mut conn.w, VERSION)?;
        conn.w.flush()?;
        let host = self.host();
        let magic = wire::read_u64(&mut conn.r)
            .map_err(|_| anyhow::anyhow!("'nix-store --serve' protocol mismatch from '{host}'"))?;
        if magic != MAGIC_2 {
            anyhow::bail!("'nix-store --serve' protocol mismatch from '{host}'");
        }
        let theirs = wire::read_u64(&mut conn.r)?;
        if theirs & 0xff00 != 0x200 || theirs < OLDEST {
            anyhow::bail!("unsupported 'nix-store --serve' protocol version on '{host}'");
        }
        conn.version = theirs.min(VERSION);
        Ok(conn)
    }

    /// Runs `f` on the connection, connecting first; a failed exchange drops the connection.
    fn with<T>(&self, f: impl FnOnce(&mut Conn) -> anyhow::Result<T>) -> anyhow::Result<T> {
        let mut slot = self
            .conn
            .lock()
            .map_err(|_| anyhow::anyhow!("the connection to '{}' was poisoned", self.uri))?;
        if slot.is_none() {
            let conn = self.connect().with_context(|| {
                format!("cannot open connection to remote store '{}'", self.uri)
            })?;
            *slot = Some(conn);
        }
        let conn = slot.as_mut().expect("connected above");
        let result = f(conn);
        if result.is_err() {
            *slot = None;
        }
        result
    }

    fn write_paths(&self, w: &mut dyn Write, paths: &BTreeSet<StorePath>) -> anyhow::Result<()> {
        let printed: Vec<String> = paths.iter().map(|p| self.dir.print(p)).collect();
        wire::write_strs(w, printed.iter().map(String::as_str))?;
        Ok(())
    }

    fn read_paths(&self, r: &mut dyn Read) -> anyhow::Result<BTreeSet<StorePath>> {
        wire::read_strings(r)?
            .iter()
            .map(|p| Ok(self.dir.parse(p)?))
            .collect()
    }
}

impl Store for ServeStore {
    fn uri(&self) -> String {
        self.uri.clone()
    }

    fn store_dir(&self) -> &StoreDir {
        &self.dir
    }

    fn query_path_info(&self, path: &StorePath) -> anyhow::Result<Option<PathInfo>> {
        self.with(|c| {
            wire::write_u64(&mut c.w, cmd::QUERY_PATH_INFOS)?;
            self.write_paths(&mut c.w, &BTreeSet::from([path.clone()]))?;
            c.w.flush()?;
            let mut found = None;
            loop {
                let p = wire::read_string(&mut c.r)?;
                if p.is_empty() {
                    return Ok(found);
                }
                let got = self.dir.parse(&p)?;
                let deriver = wire::read_string(&mut c.r)?;
                let references = self.read_paths(&mut c.r)?;
                let _download_size = wire::read_u64(&mut c.r)?;
                let nar_size = wire::read_u64(&mut c.r)?;
                let mut info = PathInfo::source(got.clone(), Hash::digest(Algo::Sha256, b""), 0);
                info.ca = None;
                info.nar_size = nar_size;
                info.references = references;
                info.deriver = (!deriver.is_empty())
                    .then(|| self.dir.parse(&deriver))
                    .transpose()?;
                if c.version >= (2 << 8 | 4) {
                    let hash = wire::read_string(&mut c.r)?;
                    if !hash.is_empty() {
                        info.nar_hash = Hash::parse_any(&hash, Some(Algo::Sha256))?;
                    }
                    let ca = wire::read_string(&mut c.r)?;
                    info.ca = (!ca.is_empty())
                        .then(|| super::ca::ContentAddress::parse(&ca))
                        .transpose()?;
                    info.sigs = wire::read_strings(&mut c.r)?.into_iter().collect();
                }
                if got == *path {
                    found = Some(info);
                }
            }
        })
    }

    fn query_valid_paths(
        &self,
        paths: &BTreeSet<StorePath>,
    ) -> anyhow::Result<BTreeSet<StorePath>> {
        self.with(|c| {
            wire::write_u64(&mut c.w, cmd::QUERY_VALID_PATHS)?;
            wire::write_bool(&mut c.w, false)?; // lock
            wire::write_bool(&mut c.w, false)?; // substitute
            self.write_paths(&mut c.w, paths)?;
            c.w.flush()?;
            self.read_paths(&mut c.r)
        })
    }

    /// `DumpStorePath`: the server writes the NAR with no length before it, so it is parsed as
    /// it streams through to `sink` to find its end (Nix's `copyNAR`).
    fn nar_from_path(&self, path: &StorePath, sink: &mut dyn Write) -> anyhow::Result<()> {
        let printed = self.dir.print(path);
        self.with(|c| {
            wire::write_u64(&mut c.w, cmd::DUMP_STORE_PATH)?;
            wire::write_str(&mut c.w, &printed)?;
            c.w.flush()?;
            let mut tee = Tee {
                r: &mut c.r,
                w: sink,
            };
            // A server that cannot send the path says why on its standard error (the user's)
            // and ends the session: the NAR is then cut short.
            super::nar::parse(&mut tee, &mut super::nar::Check)
                .with_context(|| format!("reading '{printed}' from '{}'", self.uri))
        })
    }

    fn add_nar(&self, info: &PathInfo, nar: &mut dyn Read, _: CheckSigs) -> anyhow::Result<()> {
        let printed = self.dir.print(&info.path);
        self.with(|c| {
            self.send_add(&mut c.w, info, &mut |w| {
                let copied = std::io::copy(nar, w)?;
                if copied != info.nar_size {
                    anyhow::bail!(
                        "the NAR of '{printed}' has {copied} bytes, not the {} its info says",
                        info.nar_size
                    );
                }
                Ok(())
            })?;
            c.w.flush()?;
            self.added(&mut c.r, &printed)
        })
    }

    /// Sends every path's `AddToStoreNar` back to back, then reads the answers: one round trip
    /// for the whole batch instead of one per path (the server handles the commands in
    /// order).
    fn add_multiple(
        &self,
        infos: &[PathInfo],
        write_nar: &mut dyn FnMut(&PathInfo, &mut dyn Write) -> anyhow::Result<()>,
        _: CheckSigs,
    ) -> anyhow::Result<bool> {
        self.with(|c| {
            // The answers wait in the server's pipe while more commands are sent: batches
            // small enough that they always fit.
            for batch in infos.chunks(PIPELINED) {
                for info in batch {
                    self.send_add(&mut c.w, info, &mut |w| write_nar(info, w))?;
                }
                c.w.flush()?;
                for info in batch {
                    self.added(&mut c.r, &self.dir.print(&info.path))?;
                }
            }
            Ok(true)
        })
    }
}

/// Reads from `r`, writing every byte read to `w` as well.
struct Tee<'a> {
    r: &'a mut dyn Read,
    w: &'a mut dyn Write,
}

impl Read for Tee<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.r.read(buf)?;
        self.w.write_all(&buf[..n])?;
        Ok(n)
    }
}

impl ServeStore {
    /// Writes one `AddToStoreNar` command: the path's info, then the NAR `write_nar` writes.
    fn send_add(
        &self,
        w: &mut dyn Write,
        info: &PathInfo,
        write_nar: &mut dyn FnMut(&mut dyn Write) -> anyhow::Result<()>,
    ) -> anyhow::Result<()> {
        let printed = self.dir.print(&info.path);
        wire::write_u64(w, cmd::ADD_TO_STORE_NAR)?;
        wire::write_str(w, &printed)?;
        let deriver = info.deriver.as_ref().map(|d| self.dir.print(d));
        wire::write_str(w, deriver.as_deref().unwrap_or(""))?;
        wire::write_str(w, &info.nar_hash.to_base16())?;
        self.write_paths(w, &info.references)?;
        wire::write_u64(w, info.registration_time)?;
        wire::write_u64(w, info.nar_size)?;
        wire::write_bool(w, info.ultimate)?;
        wire::write_strs(w, info.sigs.iter().map(String::as_str))?;
        let ca = info
            .ca
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default();
        wire::write_str(w, &ca)?;
        write_nar(w)
    }

    /// Reads the server's answer to one `AddToStoreNar`.
    fn added(&self, r: &mut dyn Read, printed: &str) -> anyhow::Result<()> {
        if wire::read_u64(r)? != 1 {
            anyhow::bail!(
                "failed to add path '{printed}' to remote host '{}'",
                self.host()
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A store whose "remote" is a local command (a host named `localhost` runs it without
    /// `ssh`, as Nix does).
    fn local(script: &str) -> ServeStore {
        let target = Target {
            host: "localhost".to_owned(),
            ..Target::default()
        };
        let command = vec!["sh".to_owned(), "-c".to_owned(), script.to_owned()];
        ServeStore::new(
            target,
            command,
            "ssh://localhost".into(),
            StoreDir::default(),
        )
    }

    fn valid_err(store: &ServeStore) -> String {
        let p = StorePath::from_base_name("k30i9rm3dc3almwwl0l6hjpnpx0wjhxz-source").unwrap();
        format!(
            "{:#}",
            store.query_valid_paths(&BTreeSet::from([p])).unwrap_err()
        )
    }

    #[test]
    fn a_server_that_is_not_nix_store_serve_is_refused() {
        assert_eq!(
            // The server reads what the client sends in the foreground: a background `cat` of a
            // non-interactive shell reads /dev/null, and the client's handshake would then race
            // the shell's exit (a broken pipe instead of the answer).
            valid_err(&local("printf 'garbage!'; cat >/dev/null")),
            "cannot open connection to remote store 'ssh://localhost': \
             'nix-store --serve' protocol mismatch from 'localhost'"
        );
        // MAGIC_2, then version 2.4: too old for `AddToStoreNar`.
        let old =
            "printf '\\313\\356\\122\\124\\0\\0\\0\\0\\004\\002\\0\\0\\0\\0\\0\\0'; cat >/dev/null";
        assert_eq!(
            valid_err(&local(old)),
            "cannot open connection to remote store 'ssh://localhost': \
             unsupported 'nix-store --serve' protocol version on 'localhost'"
        );
    }

    #[test]
    fn nars_are_read_to_their_end_and_no_further() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::create_dir(tmp.path().join("t")).unwrap();
        std::fs::write(tmp.path().join("t/a"), "hello\n").unwrap();
        let mut nar = Vec::new();
        crate::store::nar::dump(&tmp.path().join("t"), &mut nar).unwrap();
        // The NAR, then bytes that belong to the next answer.
        let file = tmp.path().join("answer");
        let mut answer = nar.clone();
        answer.extend_from_slice(b"NEXT....");
        std::fs::write(&file, &answer).unwrap();
        let script = format!(
            "printf '\\313\\356\\122\\124\\0\\0\\0\\0\\007\\002\\0\\0\\0\\0\\0\\0'; \
             cat '{}'; cat >/dev/null",
            file.display()
        );
        let store = local(&script);
        let p = StorePath::from_base_name("k30i9rm3dc3almwwl0l6hjpnpx0wjhxz-source").unwrap();
        let mut got = Vec::new();
        store.nar_from_path(&p, &mut got).unwrap();
        assert_eq!(got, nar);
        // What followed the NAR is still unread.
        let mut slot = store.conn.lock().unwrap();
        let mut next = [0u8; 8];
        slot.as_mut().unwrap().r.read_exact(&mut next).unwrap();
        assert_eq!(&next, b"NEXT....");
        drop(slot);

        // A server that stops half-way (here: one that sends no NAR at all) is an error. It
        // reads the whole request first (the 16-byte hello, the command and the path: 88
        // bytes; `timeout` in case there are fewer), so the client's write never meets a
        // closed pipe.
        let store = local(
            "printf '\\313\\356\\122\\124\\0\\0\\0\\0\\007\\002\\0\\0\\0\\0\\0\\0'; \
             timeout 2 head -c 88 >/dev/null",
        );
        let err = store.nar_from_path(&p, &mut Vec::new()).unwrap_err();
        assert_eq!(
            format!("{err:#}"),
            "reading '/nix/store/k30i9rm3dc3almwwl0l6hjpnpx0wjhxz-source' from 'ssh://localhost': \
             bad archive: input doesn't look like a Nix archive"
        );
    }

    #[test]
    fn valid_paths_are_asked_in_one_request() {
        // The server answers the handshake (version 2.7) and one set with the path.
        let p = "/nix/store/k30i9rm3dc3almwwl0l6hjpnpx0wjhxz-source";
        let answer = format!(
            "printf '\\313\\356\\122\\124\\0\\0\\0\\0\\007\\002\\0\\0\\0\\0\\0\\0'; \
             printf '\\001\\0\\0\\0\\0\\0\\0\\0'; printf '\\062\\0\\0\\0\\0\\0\\0\\0'; \
             printf '{p}\\0\\0\\0\\0\\0\\0'; cat >/dev/null"
        );
        let store = local(&answer);
        let path = StorePath::from_base_name("k30i9rm3dc3almwwl0l6hjpnpx0wjhxz-source").unwrap();
        let other = StorePath::from_base_name("v8hpgclcsbgm592ngsplbysna5ly96mn-source").unwrap();
        let valid = store
            .query_valid_paths(&BTreeSet::from([path.clone(), other]))
            .unwrap();
        assert_eq!(valid, BTreeSet::from([path]));
    }
}
