//! The worker protocol's operations rflake uses (Nix's `WorkerProto::Op`, the client side in
//! `src/libstore/remote-store.cc`, the daemon side in `src/libstore/daemon.cc`) and the wire
//! form of their values: store paths as printed paths, path infos (Nix's
//! `UnkeyedValidPathInfo` serialiser in `worker-protocol.cc`), derived paths.
//!
//! Each request is the operation's number and its arguments; the daemon then sends its side
//! channel (see [`super::stderr`]) and, after `STDERR_LAST`, the answer. Operations newer than
//! the negotiated version fail with [`Error::Unsupported`] before anything is sent.

use std::collections::BTreeSet;
use std::io::{self, Read, Write};

use super::conn::Connection;
use super::error::{Error, Result};
use super::handshake::Version;
use super::wire;
use crate::hash::{Algo, Hash};
use crate::report::Reporter;
use crate::store::ca::ContentAddress;
use crate::store::nar;
use crate::store::{PathInfo, StoreDir, StorePath};

/// Operation numbers (Nix's `WorkerProto::Op`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u64)]
pub enum Op {
    /// `isValidPath`.
    IsValidPath = 1,
    /// `buildPaths`.
    BuildPaths = 9,
    /// `ensurePath`.
    EnsurePath = 10,
    /// `addToStore` (content-addressed, from a dump).
    AddToStore = 7,
    /// `addTempRoot`.
    AddTempRoot = 11,
    /// `addIndirectRoot`.
    AddIndirectRoot = 12,
    /// `addTextToStore` (before 1.25).
    AddTextToStore = 8,
    /// `buildDerivation`.
    BuildDerivation = 36,
    /// `buildPathsWithResults`.
    BuildPathsWithResults = 46,
    /// `setOptions`.
    SetOptions = 19,
    /// `queryPathInfo`.
    QueryPathInfo = 26,
    /// `queryPathFromHashPart`.
    QueryPathFromHashPart = 29,
    /// `queryValidPaths`.
    QueryValidPaths = 31,
    /// `narFromPath`.
    NarFromPath = 38,
    /// `addToStoreNar`.
    AddToStoreNar = 39,
    /// `queryMissing`.
    QueryMissing = 40,
    /// `addMultipleToStore`.
    AddMultipleToStore = 44,
}

/// What `queryMissing` answers (Nix's `MissingPaths`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Missing {
    /// Derivations that would be built.
    pub will_build: BTreeSet<StorePath>,
    /// Paths that would be substituted.
    pub will_substitute: BTreeSet<StorePath>,
    /// Paths neither buildable nor substitutable.
    pub unknown: BTreeSet<StorePath>,
    /// Bytes to download.
    pub download_size: u64,
    /// Bytes of NARs to unpack.
    pub nar_size: u64,
}

/// A path to realise (Nix's `DerivedPath`): a store path as it is, or outputs of a derivation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DerivedPath {
    /// An existing store path.
    Opaque(StorePath),
    /// Outputs of a derivation.
    Built {
        /// The `.drv` path.
        drv: StorePath,
        /// The outputs; empty means all of them (`*`).
        outputs: BTreeSet<String>,
    },
}

impl DerivedPath {
    /// The wire form at version `v`: `<path>`, `<drv>!<out>,<out>` or `<drv>!*` (1.30 on).
    fn to_wire(&self, dir: &StoreDir, v: Version) -> Result<String> {
        match self {
            DerivedPath::Opaque(p) => Ok(dir.print(p)),
            DerivedPath::Built { drv, outputs } if outputs.is_empty() => {
                if v < Version::v1(30) {
                    return Err(Error::Protocol(format!(
                        "cannot request all outputs of '{}' from a Nix daemon speaking protocol \
                         {v}",
                        dir.print(drv)
                    )));
                }
                Ok(format!("{}!*", dir.print(drv)))
            }
            DerivedPath::Built { drv, outputs } => {
                let outs: Vec<&str> = outputs.iter().map(String::as_str).collect();
                Ok(format!("{}!{}", dir.print(drv), outs.join(",")))
            }
        }
    }
}

/// How `buildPaths` builds (Nix's `BuildMode`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BuildMode {
    /// Build what is missing.
    Normal = 0,
    /// Rebuild and replace corrupted paths.
    Repair = 1,
    /// Rebuild and compare.
    Check = 2,
}

/// Writes a set of store paths.
pub fn write_paths<'a>(
    w: &mut dyn Write,
    dir: &StoreDir,
    paths: impl ExactSizeIterator<Item = &'a StorePath>,
) -> io::Result<()> {
    wire::write_u64(w, paths.len() as u64)?;
    for p in paths {
        wire::write_str(w, &dir.print(p))?;
    }
    Ok(())
}

fn bad(what: &str, value: &str, e: impl std::fmt::Display) -> Error {
    Error::Protocol(format!(
        "the Nix daemon sent an invalid {what} '{value}': {e}"
    ))
}

/// Reads a store path.
pub fn read_path(r: &mut dyn Read, dir: &StoreDir) -> Result<StorePath> {
    let s = wire::read_string(r)?;
    dir.parse(&s).map_err(|e| bad("store path", &s, e))
}

/// Reads an optional store path (the empty string for none).
pub fn read_opt_path(r: &mut dyn Read, dir: &StoreDir) -> Result<Option<StorePath>> {
    let s = wire::read_string(r)?;
    if s.is_empty() {
        return Ok(None);
    }
    dir.parse(&s)
        .map(Some)
        .map_err(|e| bad("store path", &s, e))
}

/// Reads a set of store paths.
pub fn read_paths(r: &mut dyn Read, dir: &StoreDir) -> Result<BTreeSet<StorePath>> {
    let n = wire::read_u64(r)?;
    let mut out = BTreeSet::new();
    for _ in 0..n {
        out.insert(read_path(r, dir)?);
    }
    Ok(out)
}

/// Writes a path info without its path (Nix's `UnkeyedValidPathInfo`) in the format of
/// version `v`: deriver, NAR hash in bare base16, references, registration time, NAR size,
/// and from 1.16 `ultimate`, signatures and content address.
pub fn write_info(
    w: &mut dyn Write,
    dir: &StoreDir,
    info: &PathInfo,
    v: Version,
) -> io::Result<()> {
    let deriver = info
        .deriver
        .as_ref()
        .map(|d| dir.print(d))
        .unwrap_or_default();
    wire::write_str(w, &deriver)?;
    wire::write_str(w, &info.nar_hash.to_base16())?;
    write_paths(w, dir, info.references.iter())?;
    wire::write_u64(w, info.registration_time)?;
    wire::write_u64(w, info.nar_size)?;
    if v >= Version::v1(16) {
        wire::write_bool(w, info.ultimate)?;
        wire::write_strs(w, info.sigs.iter().map(String::as_str))?;
        let ca = info.ca.as_ref().map(|c| c.to_string()).unwrap_or_default();
        wire::write_str(w, &ca)?;
    }
    Ok(())
}

/// Reads the info of `path` (see [`write_info`]).
pub fn read_info(
    r: &mut dyn Read,
    dir: &StoreDir,
    path: StorePath,
    v: Version,
) -> Result<PathInfo> {
    let deriver = read_opt_path(r, dir)?;
    let hash = wire::read_string(r)?;
    let nar_hash =
        Hash::parse_any(&hash, Some(Algo::Sha256)).map_err(|e| bad("NAR hash", &hash, e))?;
    let references = read_paths(r, dir)?;
    let registration_time = wire::read_u64(r)?;
    let nar_size = wire::read_u64(r)?;
    let mut info = PathInfo {
        path,
        nar_hash,
        nar_size,
        references,
        deriver,
        registration_time,
        ultimate: false,
        sigs: BTreeSet::new(),
        ca: None,
    };
    if v >= Version::v1(16) {
        info.ultimate = wire::read_bool(r)?;
        info.sigs = wire::read_strings(r)?.into_iter().collect();
        let ca = wire::read_string(r)?;
        if !ca.is_empty() {
            info.ca = Some(ContentAddress::parse(&ca).map_err(|e| bad("content address", &ca, e))?);
        }
    }
    Ok(info)
}

/// A reader that copies everything it reads into a writer (to pass a NAR on while parsing it
/// to find its end).
struct Tee<'a> {
    from: &'a mut dyn Read,
    to: &'a mut dyn Write,
    write_error: Option<io::Error>,
}

impl Read for Tee<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.from.read(buf)?;
        if let Err(e) = self.to.write_all(&buf[..n]) {
            // Reported as the sink's error, not the connection's.
            self.write_error = Some(e);
            return Err(io::Error::other("the NAR sink failed"));
        }
        Ok(n)
    }
}

impl Connection {
    /// Sends the operation number.
    pub(super) fn op(&mut self, op: Op) -> Result<()> {
        Ok(wire::write_u64(&mut self.w, op as u64)?)
    }

    fn print(&self, p: &StorePath) -> String {
        self.dir.print(p)
    }

    /// `isValidPath`.
    pub fn is_valid_path(&mut self, path: &StorePath, rep: &dyn Reporter) -> Result<bool> {
        self.guard(|c| {
            c.op(Op::IsValidPath)?;
            let printed = c.print(path);
            wire::write_str(&mut c.w, &printed)?;
            c.process(rep)?;
            wire::read_bool(&mut c.r)
        })
    }

    /// `queryValidPaths`: which of `paths` are valid, in one round trip (`substitute` asks the
    /// daemon to substitute the missing ones first, from 1.27).
    pub fn query_valid_paths(
        &mut self,
        paths: &BTreeSet<StorePath>,
        substitute: bool,
        rep: &dyn Reporter,
    ) -> Result<BTreeSet<StorePath>> {
        self.guard(|c| {
            c.op(Op::QueryValidPaths)?;
            write_paths(&mut c.w, &c.dir, paths.iter())?;
            if c.negotiated.at_least(Version::v1(27)) {
                wire::write_bool(&mut c.w, substitute)?;
            }
            c.process(rep)?;
            read_paths(&mut c.r, &c.dir)
        })
    }

    /// `queryPathInfo`: the info of `path`, `None` when it is not valid.
    pub fn query_path_info(
        &mut self,
        path: &StorePath,
        rep: &dyn Reporter,
    ) -> Result<Option<PathInfo>> {
        self.guard(|c| {
            c.op(Op::QueryPathInfo)?;
            let printed = c.print(path);
            wire::write_str(&mut c.w, &printed)?;
            match c.process(rep) {
                // Before 1.17 an invalid path is an error.
                Err(Error::Remote { message, .. }) if message.contains("is not valid") => {
                    return Ok(None);
                }
                other => other?,
            }
            if c.negotiated.at_least(Version::v1(17)) && !wire::read_bool(&mut c.r)? {
                return Ok(None);
            }
            let v = c.version();
            read_info(&mut c.r, &c.dir, path.clone(), v).map(Some)
        })
    }

    /// `queryPathFromHashPart`: the valid path whose hash part is `hash_part`.
    pub fn query_path_from_hash_part(
        &mut self,
        hash_part: &str,
        rep: &dyn Reporter,
    ) -> Result<Option<StorePath>> {
        self.guard(|c| {
            c.op(Op::QueryPathFromHashPart)?;
            wire::write_str(&mut c.w, hash_part)?;
            c.process(rep)?;
            read_opt_path(&mut c.r, &c.dir)
        })
    }

    /// `addTempRoot`: keeps `path` from the garbage collector while the connection lives.
    pub fn add_temp_root(&mut self, path: &StorePath, rep: &dyn Reporter) -> Result<()> {
        self.simple_path_op(Op::AddTempRoot, path, rep)
    }

    /// `ensurePath`: makes `path` valid, substituting it if needed.
    pub fn ensure_path(&mut self, path: &StorePath, rep: &dyn Reporter) -> Result<()> {
        self.simple_path_op(Op::EnsurePath, path, rep)
    }

    fn simple_path_op(&mut self, op: Op, path: &StorePath, rep: &dyn Reporter) -> Result<()> {
        self.guard(|c| {
            c.op(op)?;
            let printed = c.print(path);
            wire::write_str(&mut c.w, &printed)?;
            c.process(rep)?;
            wire::read_u64(&mut c.r).map(drop)
        })
    }

    /// `narFromPath`: streams the NAR of `path` into `sink`. The daemon sends the NAR raw after
    /// the side channel, so it is parsed to find its end.
    pub fn nar_from_path(
        &mut self,
        path: &StorePath,
        sink: &mut dyn Write,
        rep: &dyn Reporter,
    ) -> Result<()> {
        self.guard(|c| {
            c.op(Op::NarFromPath)?;
            let printed = c.print(path);
            wire::write_str(&mut c.w, &printed)?;
            c.process(rep)?;
            let mut tee = Tee {
                from: &mut c.r,
                to: sink,
                write_error: None,
            };
            let parsed = nar::parse(&mut tee, &mut nar::Check);
            if let Some(e) = tee.write_error {
                // The rest of the NAR is still on the wire: the connection is out of step.
                return Err(Error::Sink(e));
            }
            parsed.map_err(|e| match e {
                nar::ParseError::Io(io) => Error::from_io(io),
                other => Error::Protocol(format!(
                    "the Nix daemon sent a bad NAR for '{}': {other}",
                    c.print(path)
                )),
            })
        })
    }

    /// `addToStoreNar`: adds `info.path` from the NAR read from `nar` (to its end). From 1.23
    /// the NAR is streamed framed; 1.21 and 1.22 send it when the daemon asks
    /// (`STDERR_READ`); older daemons read it raw.
    pub fn add_to_store_nar(
        &mut self,
        info: &PathInfo,
        nar: &mut dyn Read,
        repair: bool,
        dont_check_sigs: bool,
        rep: &dyn Reporter,
    ) -> Result<()> {
        self.guard(|c| {
            c.op(Op::AddToStoreNar)?;
            let printed = c.print(&info.path);
            wire::write_str(&mut c.w, &printed)?;
            write_info(&mut c.w, &c.dir, info, Version::v1(16))?;
            wire::write_bool(&mut c.w, repair)?;
            wire::write_bool(&mut c.w, dont_check_sigs)?;
            if c.negotiated.at_least(Version::v1(23)) {
                c.send_framed(rep, |w| copy_source(nar, w))?;
                c.process(rep)
            } else if c.negotiated.at_least(Version::v1(21)) {
                c.process_with(rep, None, Some(nar))
            } else {
                copy_source(nar, &mut c.w)?;
                c.process(rep)
            }
        })
    }

    /// `addToStore` (1.25 on, Nix's `addCAToStore`): adds the object whose dump `write_dump`
    /// writes (for `fixed:r:<algo>`, its NAR) under `name` with `references`; the daemon hashes
    /// the dump as it restores it and answers with the path and its info. For a NAR-hashed
    /// source this is one pass on the daemon's side, where `addToStoreNar` of a
    /// content-addressed path reads the restored tree back to check its address.
    pub fn add_ca_to_store(
        &mut self,
        name: &str,
        method: &str,
        references: &BTreeSet<StorePath>,
        repair: bool,
        write_dump: &mut dyn FnMut(&mut dyn Write) -> anyhow::Result<()>,
        rep: &dyn Reporter,
    ) -> anyhow::Result<PathInfo> {
        self.require("addToStore", Version::v1(25))?;
        let mut producer_error = None;
        let added = self.guard(|c| {
            c.op(Op::AddToStore)?;
            wire::write_str(&mut c.w, name)?;
            wire::write_str(&mut c.w, method)?;
            let printed: Vec<String> = references.iter().map(|r| c.print(r)).collect();
            wire::write_strs(&mut c.w, printed.iter().map(String::as_str))?;
            wire::write_bool(&mut c.w, repair)?;
            c.send_framed(rep, |w| {
                write_dump(w).map_err(|e| {
                    producer_error = Some(e);
                    io::Error::other("the object to add could not be read")
                })
            })?;
            c.process(rep)?;
            let path = read_path(&mut c.r, &c.dir)?;
            let v = c.version();
            read_info(&mut c.r, &c.dir, path, v)
        });
        match (added, producer_error) {
            (Ok(info), _) => Ok(info),
            (Err(e @ (Error::Remote { .. } | Error::Disconnected)), _) => Err(e.into()),
            (Err(_), Some(producer)) => Err(self.producer_failed(producer)),
            (Err(e), None) => Err(e.into()),
        }
    }

    /// The error of a stream whose producer failed: the daemon's disconnection when the write
    /// failed because it went away (it must not look like a closed stdout), else the
    /// producer's. The connection is out of step either way.
    fn producer_failed(&mut self, producer: anyhow::Error) -> anyhow::Error {
        self.broken = true;
        let gone = producer.chain().any(|c| {
            c.downcast_ref::<io::Error>()
                .is_some_and(|io| super::error::is_disconnection(io.kind()))
        });
        if gone {
            Error::Disconnected.into()
        } else {
            producer
        }
    }

    /// `addMultipleToStore` (1.32 on): adds several paths through one framed stream holding
    /// the count, then each path's info (1.16 format) and NAR. `next` yields the paths in
    /// order, each with a reader of its NAR.
    pub fn add_multiple_to_store(
        &mut self,
        count: u64,
        next: &mut dyn FnMut(&mut dyn Write) -> anyhow::Result<()>,
        repair: bool,
        dont_check_sigs: bool,
        rep: &dyn Reporter,
    ) -> anyhow::Result<()> {
        self.require("addMultipleToStore", Version::v1(32))?;
        let mut producer_error = None;
        let sent = self.guard(|c| {
            c.op(Op::AddMultipleToStore)?;
            wire::write_bool(&mut c.w, repair)?;
            wire::write_bool(&mut c.w, dont_check_sigs)?;
            c.send_framed(rep, |w| {
                wire::write_u64(w, count)?;
                for _ in 0..count {
                    if let Err(e) = next(w) {
                        producer_error = Some(e);
                        return Err(io::Error::other("the paths to add could not be read"));
                    }
                }
                Ok(())
            })?;
            c.process(rep)
        });
        match (sent, producer_error) {
            (Ok(()), _) => Ok(()),
            // The daemon's own error (it stopped the stream), or its disconnection.
            (Err(e @ (Error::Remote { .. } | Error::Disconnected)), _) => Err(e.into()),
            (Err(_), Some(producer)) => Err(self.producer_failed(producer)),
            (Err(e), None) => Err(e.into()),
        }
    }

    /// Writes one entry of [`Connection::add_multiple_to_store`]'s stream: the path, its
    /// info, and the NAR `write_nar` writes, which must be `info.nar_size` bytes (the daemon
    /// reads exactly that many).
    pub fn write_multiple_entry(
        w: &mut dyn Write,
        dir: &StoreDir,
        info: &PathInfo,
        write_nar: &mut dyn FnMut(&mut dyn Write) -> anyhow::Result<()>,
    ) -> anyhow::Result<()> {
        wire::write_str(w, &dir.print(&info.path))?;
        write_info(w, dir, info, Version::v1(16))?;
        let mut counted = Counting { to: w, n: 0 };
        write_nar(&mut counted)?;
        if counted.n != info.nar_size {
            anyhow::bail!(
                "the NAR of '{}' has {} bytes, not the {} its info says",
                dir.print(&info.path),
                counted.n,
                info.nar_size
            );
        }
        Ok(())
    }

    /// `queryMissing` (1.19 on): what building or substituting `targets` would do.
    pub fn query_missing(
        &mut self,
        targets: &[DerivedPath],
        rep: &dyn Reporter,
    ) -> Result<Missing> {
        self.require("queryMissing", Version::v1(19))?;
        self.guard(|c| {
            c.op(Op::QueryMissing)?;
            c.write_derived_paths(targets)?;
            c.process(rep)?;
            Ok(Missing {
                will_build: read_paths(&mut c.r, &c.dir)?,
                will_substitute: read_paths(&mut c.r, &c.dir)?,
                unknown: read_paths(&mut c.r, &c.dir)?,
                download_size: wire::read_u64(&mut c.r)?,
                nar_size: wire::read_u64(&mut c.r)?,
            })
        })
    }

    /// `buildPaths`: builds or substitutes `targets` (the request and its answer only).
    pub fn build_paths(
        &mut self,
        targets: &[DerivedPath],
        mode: BuildMode,
        rep: &dyn Reporter,
    ) -> Result<()> {
        self.guard(|c| {
            c.op(Op::BuildPaths)?;
            c.write_derived_paths(targets)?;
            wire::write_u64(&mut c.w, mode as u64)?;
            c.process(rep)?;
            wire::read_u64(&mut c.r).map(drop)
        })
    }

    pub(super) fn write_derived_paths(&mut self, targets: &[DerivedPath]) -> Result<()> {
        let v = self.version();
        let strs = targets
            .iter()
            .map(|t| t.to_wire(&self.dir, v))
            .collect::<Result<Vec<_>>>()?;
        Ok(wire::write_strs(
            &mut self.w,
            strs.iter().map(String::as_str),
        )?)
    }
}

/// A writer that counts what passes through it.
struct Counting<'a> {
    to: &'a mut dyn Write,
    n: u64,
}

impl Write for Counting<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.to.write(buf)?;
        self.n += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.to.flush()
    }
}

/// Copies a source into the connection, keeping the source's read errors apart from the
/// connection's write errors (a failed source is not a broken daemon).
fn copy_source(from: &mut dyn Read, to: &mut dyn Write) -> io::Result<()> {
    let mut buf = vec![0u8; wire::FRAME_SIZE];
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) => return Ok(()),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                return Err(io::Error::other(format!(
                    "reading the NAR to send: {}",
                    crate::util::fs::strerror(&e)
                )));
            }
        };
        to.write_all(&buf[..n])?;
    }
}

#[cfg(test)]
mod tests;
