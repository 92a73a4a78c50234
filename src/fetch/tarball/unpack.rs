//! Unpacking archives (spec §7.5.4, Nix's `src/libutil/tarfile.cc` `unpackTarfileToSink`): the
//! compression (gzip, bzip2, xz, zstd, none) and the format (tar, zip) are detected from the
//! content, then the entries go to a [`super::tree::Builder`] as they are read, so a download is
//! unpacked while it arrives. Zip needs random access, so a zip archive is first written to a
//! file next to the tree.
//!
//! # Deviations
//!
//! - Compressions other than gzip, bzip2, xz and zstd (lzma, lzip, lz4, `compress`), which
//!   libarchive also detects, are not supported: such archives fail to parse as tar.
//! - A zip entry without an extended timestamp field has its DOS time read as UTC (libarchive
//!   uses the local time zone).
//! - Archives beyond [`Limits`] (64 GiB, 10 million entries by default) are refused.
//! - An entry whose name normalises to the root and is not a directory fails with
//!   `cannot create a file at the root of the archive`.
//! - A tar stream the reader cannot go on with fails with `damaged tar archive (…)` or
//!   `truncated tar archive (…)`; names and details in messages are escaped, never raw bytes.
//! - Sun pax headers (type `X`) and Solaris ACLs (type `A`) are skipped, not applied to the
//!   next entry.
//!
//! The entry types follow libarchive's reader: a "regular" entry whose name ends in `/` and
//! GNU's type `D` are directories, unknown types regular files, a multi-volume continuation
//! (`M`) has the unsupported file type 0, and GNU volume labels (`V`) are no entries.

use std::fs;
use std::io::{self, Cursor, Read};
use std::path::{Path, PathBuf};

use anyhow::Context as _;

use super::sniff;
use super::tree::{Builder, Kind, Limits};
use super::writers::{Pending, Queues};
use crate::util::printable;

/// The result of unpacking.
#[derive(Debug)]
pub struct Unpacked {
    /// The tree: the unpacked root, or its only entry when that is a directory.
    pub tree: PathBuf,
    /// The newest modification time of all entries (0 when there are none).
    pub last_modified: u64,
}

/// The `S_IFMT` bits of the file types the store cannot hold, as Nix prints them.
const S_IFIFO: u32 = 0o010000;
const S_IFCHR: u32 = 0o020000;
const S_IFBLK: u32 = 0o060000;
const S_IFSOCK: u32 = 0o140000;
const S_IFLNK: u32 = 0o120000;
const S_IFDIR: u32 = 0o040000;
const S_IFMT: u32 = 0o170000;

/// Unpacks the archive read from `input` below `dir`, an empty directory owned by the caller
/// (a store temporary directory, so that the tree can be moved into the store).
pub fn unpack(input: &mut dyn Read, dir: &Path, limits: Limits) -> anyhow::Result<Unpacked> {
    let (mut reader, compression) = decompress(input)?;
    let magic = peek(&mut reader, sniff::BLOCK).context("reading the archive")?;
    let is_zip = magic.starts_with(b"PK\x03\x04") || magic.starts_with(b"PK\x05\x06");
    if !is_zip && !sniff::looks_like_tar(&magic) {
        return Err(sniff::NotArchive {
            url: None,
            compression,
            kind: sniff::describe(&magic),
        }
        .into());
    }
    let mut reader = Cursor::new(magic).chain(reader);
    let root = dir.join("unpacked");
    fs::create_dir(&root).with_context(|| format!("creating directory \"{}\"", root.display()))?;
    let zip_file = if is_zip {
        Some(spool(
            &mut reader,
            &dir.join("archive.zip"),
            limits.max_bytes,
        )?)
    } else {
        None
    };
    let workers = std::thread::available_parallelism()
        .map_or(2, usize::from)
        .clamp(1, 8);
    let pending = Pending::default();
    let (tree, last_modified) = std::thread::scope(|s| {
        let queues = Queues::new(s, &pending, workers, 64);
        let mut builder = Builder::new(root, queues, &pending, limits);
        let read = match zip_file {
            Some(file) => read_zip(file, &mut builder),
            None => read_tar(&mut reader, &mut builder),
        };
        // Finishing (or dropping) the builder closes the channel, so the workers stop.
        match read {
            Ok(()) => builder.finish(),
            Err(e) => {
                drop(builder);
                Err(e)
            }
        }
    })?;
    Ok(Unpacked {
        tree,
        last_modified,
    })
}

/// Reads up to `n` bytes (fewer only at the end of the stream).
fn peek(r: &mut dyn Read, n: usize) -> io::Result<Vec<u8>> {
    let mut buf = Vec::with_capacity(n);
    r.take(n as u64).read_to_end(&mut buf)?;
    Ok(buf)
}

/// Wraps `input` in the decompressor its first bytes call for, and names the compression.
fn decompress<'a>(
    input: &'a mut dyn Read,
) -> anyhow::Result<(Box<dyn Read + 'a>, Option<&'static str>)> {
    let magic = peek(input, 6).context("reading the archive")?;
    let r = Cursor::new(magic.clone()).chain(input);
    Ok(if magic.starts_with(&[0x1f, 0x8b]) {
        (Box::new(flate2::read::MultiGzDecoder::new(r)), Some("gzip"))
    } else if magic.starts_with(b"BZh") {
        (Box::new(bzip2::read::MultiBzDecoder::new(r)), Some("bzip2"))
    } else if magic.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0]) {
        let d = liblzma::read::XzDecoder::new_multi_decoder(r);
        (Box::new(d), Some("xz"))
    } else if magic.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        let d = zstd::stream::read::Decoder::new(r).context("starting zstd decompression")?;
        (Box::new(d), Some("zstd"))
    } else {
        (Box::new(r), None)
    })
}

/// Writes the rest of `reader` to `path` and opens it for reading.
fn spool(reader: &mut dyn Read, path: &Path, max: u64) -> anyhow::Result<fs::File> {
    let mut f = fs::File::create_new(path)
        .with_context(|| format!("creating file \"{}\"", path.display()))?;
    let n = io::copy(&mut reader.take(max + 1), &mut f).context("reading the archive")?;
    if n > max {
        anyhow::bail!("the archive is larger than {max} bytes, the most rflake unpacks");
    }
    fs::File::open(path).with_context(|| format!("opening file \"{}\"", path.display()))
}

fn unsupported(path: &[u8], ty: u32) -> anyhow::Error {
    anyhow::anyhow!(
        "file '{}' in tarball has unsupported file type {ty}",
        printable(path)
    )
}

fn read_tar(reader: &mut dyn Read, b: &mut Builder<'_, '_>) -> anyhow::Result<()> {
    let mut archive = tar::Archive::new(reader);
    let entries = archive
        .entries()
        .map_err(damaged)
        .context("reading the tar archive")?;
    for entry in entries {
        crate::util::interrupt::check()?;
        let mut entry = entry.map_err(damaged).context("reading the tar archive")?;
        let path = entry.path_bytes().into_owned();
        let header = entry.header();
        let mtime = header.mtime().unwrap_or(0);
        let mode = header.mode().unwrap_or(0);
        let size = entry.size();
        let ty = header.entry_type();
        let link = entry.link_name_bytes().map(|l| l.into_owned());
        let mtime = pax_mtime(&mut entry).unwrap_or(mtime);
        use tar::EntryType as T;
        let kind = match ty {
            // 'D' is GNU's incremental-backup directory.
            T::Directory => Kind::Dir,
            _ if ty.as_byte() == b'D' => Kind::Dir,
            T::Symlink => Kind::Symlink(link.as_deref().unwrap_or_default()),
            T::Link => Kind::HardLink(link.as_deref().unwrap_or_default()),
            T::Char => return Err(unsupported(&path, S_IFCHR)),
            T::Block => return Err(unsupported(&path, S_IFBLK)),
            T::Fifo => return Err(unsupported(&path, S_IFIFO)),
            // A multi-volume continuation gets no file type from libarchive.
            _ if ty.as_byte() == b'M' => return Err(unsupported(&path, 0)),
            // Headers that describe the next entry, and GNU's volume label: no entry.
            T::XGlobalHeader | T::XHeader | T::GNULongName | T::GNULongLink => continue,
            _ if matches!(ty.as_byte(), b'X' | b'A' | b'V') => continue,
            // libarchive reads a "regular" entry whose name ends in '/' as a directory.
            _ if path.ends_with(b"/") => Kind::Dir,
            // Regular, contiguous and sparse files; libarchive reads unknown types as files.
            _ => Kind::File(size, mode & 0o100 != 0, &mut entry),
        };
        b.add(&path, mtime, kind)
            .with_context(|| format!("unpacking '{}'", printable(&path)))?;
    }
    Ok(())
}

/// The error for a tar stream the reader cannot go on with (libarchive: `Damaged tar archive`,
/// `Truncated tar archive`). The reader's own words can quote a header's bytes, so they are
/// shown escaped and cut short.
fn damaged(e: io::Error) -> anyhow::Error {
    let text = e.to_string();
    let what = if e.kind() == io::ErrorKind::UnexpectedEof || text.contains("unexpected EOF") {
        "truncated tar archive"
    } else {
        "damaged tar archive"
    };
    let mut detail: String = text.chars().take(80).collect();
    if detail.len() < text.len() {
        detail.push('…');
    }
    anyhow::anyhow!("{what} ({})", printable(detail.as_bytes()))
}

/// The `mtime` of a pax extended header (seconds, fraction dropped), which overrides the
/// header's.
fn pax_mtime<R: Read>(entry: &mut tar::Entry<'_, R>) -> Option<u64> {
    let exts = entry.pax_extensions().ok()??;
    for ext in exts.flatten() {
        if ext.key_bytes() == b"mtime" {
            let v = ext.value().ok()?;
            let secs = v.split('.').next()?;
            return Some(secs.parse::<i64>().ok()?.max(0) as u64);
        }
    }
    None
}

fn read_zip(file: fs::File, b: &mut Builder<'_, '_>) -> anyhow::Result<()> {
    let mut zip =
        zip::ZipArchive::new(io::BufReader::new(file)).context("reading the zip archive")?;
    for i in 0..zip.len() {
        crate::util::interrupt::check()?;
        let mut f = zip.by_index(i).context("reading the zip archive")?;
        let path = f.name_raw().to_vec();
        let mtime = zip_mtime(&f);
        let mode = f.unix_mode().unwrap_or(0);
        let ty = mode & S_IFMT;
        let size = f.size();
        let kind_of = |ty: u32| match ty {
            S_IFCHR | S_IFBLK | S_IFIFO | S_IFSOCK => Err(unsupported(&path, ty)),
            _ => Ok(()),
        };
        kind_of(ty)?;
        let result = if f.is_dir() || ty == S_IFDIR {
            b.add(&path, mtime, Kind::Dir)
        } else if ty == S_IFLNK {
            let mut target = Vec::new();
            f.by_ref()
                .take(64 * 1024)
                .read_to_end(&mut target)
                .context("reading the zip archive")?;
            b.add(&path, mtime, Kind::Symlink(&target))
        } else {
            b.add(&path, mtime, Kind::File(size, mode & 0o100 != 0, &mut f))
        };
        result.with_context(|| format!("unpacking '{}'", printable(&path)))?;
    }
    Ok(())
}

/// A zip entry's modification time: the extended timestamp field if present, else the DOS
/// time read as UTC.
fn zip_mtime<R: Read>(f: &zip::read::ZipFile<'_, R>) -> u64 {
    for field in f.extra_data_fields() {
        if let zip::extra_fields::ExtraField::ExtendedTimestamp(ts) = field
            && let Some(t) = ts.mod_time()
        {
            return u64::from(t);
        }
    }
    let Some(dt) = f.last_modified() else {
        return 0;
    };
    let days = days_from_civil(
        i64::from(dt.year()),
        u32::from(dt.month()),
        u32::from(dt.day()),
    );
    let secs = days * 86_400
        + i64::from(dt.hour()) * 3600
        + i64::from(dt.minute()) * 60
        + i64::from(dt.second());
    secs.max(0) as u64
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
#[path = "unpack_tests.rs"]
mod tests;
