//! Moving NARs in and out of a binary cache: streaming, hashing, (de)compressing, checking.

use std::io::{self, Read, Write};

use anyhow::Context as _;

use super::{BinaryCacheStore, Error, NarMismatch};
use crate::hash::{Algo, Hasher};
use crate::store::compression::{self, Encoder};
use crate::store::nar;
use crate::store::narinfo::NarInfo;
use crate::store::path::StorePath;
use crate::store::path_info::PathInfo;

/// A writer that passes everything to `inner` and hashes it on the way.
struct Tee<W> {
    inner: W,
    hasher: Hasher,
}

impl<W: Write> Write for Tee<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// A reader that passes what it reads from `inner` to `sink` and `hasher`, keeping a write
/// error apart from read errors.
struct TeeReader<'a, W> {
    inner: &'a mut dyn Read,
    sink: &'a mut W,
    hasher: &'a mut Hasher,
    write_error: Option<io::Error>,
}

impl<W: Write> Read for TeeReader<'_, W> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        if let Err(e) = self.sink.write_all(&buf[..n]) {
            let msg = e.to_string();
            self.write_error = Some(e);
            return Err(io::Error::other(msg));
        }
        Ok(n)
    }
}

/// What went wrong while pumping bytes from a reader to a writer.
enum PumpError {
    Read(io::Error),
    Write(io::Error),
}

/// Copies `from` to `to` in chunks, also feeding `hasher`; tells read and write errors apart.
fn pump(from: &mut dyn Read, to: &mut dyn Write, hasher: &mut Hasher) -> Result<(), PumpError> {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) => return Ok(()),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(PumpError::Read(e)),
        };
        hasher.update(&buf[..n]);
        to.write_all(&buf[..n]).map_err(PumpError::Write)?;
    }
}

/// Fails unless every reference of `info` (other than itself) is in the cache: a `.narinfo`
/// must never name a path the cache lacks.
pub(super) fn check_references(store: &BinaryCacheStore, info: &PathInfo) -> anyhow::Result<()> {
    for r in info.references.iter().filter(|r| **r != info.path) {
        if !store.is_valid_path(r)? {
            return Err(Error::MissingReference {
                path: store.store_dir.print(&info.path),
                reference: store.store_dir.print(r),
            }
            .into());
        }
    }
    Ok(())
}

/// Compresses the NAR read from `nar` into a spool while hashing both forms, checks it
/// against `info`, uploads it as `nar/<file hash>.nar<ext>` unless that exists, and returns
/// the `.narinfo` to write (unsigned beyond `info`'s signatures).
pub(super) fn upload_nar(
    store: &BinaryCacheStore,
    info: &PathInfo,
    nar: &mut dyn Read,
) -> anyhow::Result<NarInfo> {
    let method = store.config.compression;
    let spool = store.backend.spool()?;
    let file = Tee {
        inner: spool,
        hasher: Hasher::new(Algo::Sha256),
    };
    let mut encoder = Encoder::new(method, file, store.config.compression_level)?;
    let mut nar_hasher = Hasher::new(info.nar_hash.algo());
    let full_path = store.store_dir.print(&info.path);
    let parsed = compress_checked(nar, &mut encoder, &mut nar_hasher)?;
    let file = encoder.finish().context("writing the compressed NAR")?;
    let nar_size = nar_hasher.len();
    let nar_hash = nar_hasher.finish();
    info.check_nar(&store.store_dir, &nar_hash, nar_size)
        .map_err(Error::from)?;
    // A NAR that has the claimed hash but does not parse (e.g. unsorted, which Nix 2.8
    // accepted) is refused too, as Nix's upload parses it.
    parsed.with_context(|| format!("importing path '{full_path}'"))?;
    let file_size = file.hasher.len();
    let file_hash = file.hasher.finish();
    let url = format!("nar/{}.nar{}", file_hash.to_nix32(), method.nar_extension());
    if !store.backend.exists(&url)? {
        store
            .backend
            .put_spool(&url, file.inner, "application/x-nix-nar")?;
    }
    let mut info = info.clone();
    info.ultimate = false;
    Ok(NarInfo {
        info,
        url,
        compression: method,
        file_hash: Some(file_hash),
        file_size,
    })
}

/// Reads the whole NAR from `nar` into `encoder` and `hasher` while parsing it. Returns the
/// parse result separately: the hash check comes first, as it explains more.
fn compress_checked<W: Write>(
    nar: &mut dyn Read,
    encoder: &mut W,
    hasher: &mut Hasher,
) -> anyhow::Result<Result<(), nar::ParseError>> {
    let mut tee = TeeReader {
        inner: nar,
        sink: encoder,
        hasher,
        write_error: None,
    };
    let mut buffered = io::BufReader::with_capacity(64 * 1024, &mut tee);
    let parsed = nar::parse(&mut buffered, &mut nar::Check);
    // Bytes after the NAR count towards its size (and so fail the check).
    let drained = io::copy(&mut buffered, &mut io::sink());
    drop(buffered);
    if let Some(e) = tee.write_error {
        return Err(anyhow::Error::new(e).context("writing the compressed NAR"));
    }
    drained.context("reading the NAR")?;
    match parsed {
        // A failing source, not a bad NAR (a short one is left to the hash check).
        Err(nar::ParseError::Io(e)) if e.kind() != io::ErrorKind::UnexpectedEof => {
            Err(anyhow::Error::new(e).context("reading the NAR"))
        }
        parsed => Ok(parsed),
    }
}

/// Streams the NAR of `path` into `sink`, decompressing it and checking it against the
/// `.narinfo` as it goes.
pub(super) fn nar_from_path(
    store: &BinaryCacheStore,
    path: &StorePath,
    sink: &mut dyn Write,
) -> anyhow::Result<()> {
    let ni = store
        .query_nar_info(path)?
        .ok_or_else(|| Error::InvalidPath {
            path: store.store_dir.print(path),
        })?;
    nar_from_info(store, &ni, sink)
}

/// Streams the NAR `ni` describes into `sink`, decompressing it and checking it against `ni`.
pub(super) fn nar_from_info(
    store: &BinaryCacheStore,
    ni: &NarInfo,
    sink: &mut dyn Write,
) -> anyhow::Result<()> {
    let uri = store.backend.uri();
    let full_path = store.store_dir.print(&ni.info.path);
    let file = store
        .backend
        .get(&ni.url)
        .with_context(|| format!("fetching '{}' from binary cache '{uri}'", ni.url))?
        .ok_or_else(|| Error::NoSuchFile {
            key: ni.url.clone(),
            uri: uri.clone(),
        })?;
    let mut decoder = compression::decoder(ni.compression, file)?;
    let mut hasher = Hasher::new(ni.info.nar_hash.algo());
    pump(&mut decoder, sink, &mut hasher).map_err(|e| match e {
        PumpError::Read(e) => anyhow::Error::new(e).context(format!(
            "reading NAR '{}' ({} compression) from binary cache '{uri}'",
            ni.url, ni.compression
        )),
        PumpError::Write(e) => {
            anyhow::Error::new(e).context(format!("writing the NAR of '{full_path}'"))
        }
    })?;
    let corrupt = |what, specified: String, got: String| {
        Error::CorruptNar(Box::new(NarMismatch {
            what,
            url: ni.url.clone(),
            path: full_path.clone(),
            uri: uri.clone(),
            specified,
            got,
        }))
    };
    let size = hasher.len();
    let hash = hasher.finish();
    if hash != ni.info.nar_hash {
        return Err(corrupt("hash", ni.info.nar_hash.to_sri(), hash.to_sri()).into());
    }
    if size != ni.info.nar_size {
        return Err(corrupt("size", ni.info.nar_size.to_string(), size.to_string()).into());
    }
    Ok(())
}
