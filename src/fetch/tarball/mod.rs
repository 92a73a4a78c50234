//! `tarball` and `file` inputs (spec §7.5, Nix's `src/libfetchers/tarball.cc`): a download
//! cached in the fetcher cache for `tarball-ttl` and revalidated by `ETag`, unpacked (tarballs)
//! or kept as one file (`file`), with the lockable tarball protocol (`Link: <URL>;
//! rel="immutable"`) replacing the input by its immutable URL.
//!
//! An archive is unpacked while it downloads ([`unpack`]) into a temporary directory of the
//! store, then moved into place without a copy. Cache entries point at store paths:
//!
//! | Domain | Key | Value |
//! |---|---|---|
//! | `tarball` | `{url}` | `{etag, lastModified, narHash, storePath, [immutableUrl]}` |
//! | `file` | `{name, url}` | `{etag, narHash, storePath, url, [immutableUrl]}` |
//!
//! An entry whose store path is no longer valid is ignored. Every URL of a redirect chain gets
//! the entry.
//!
//! # Deviations
//!
//! - Nix keeps unpacked tarballs in a git repository (`tarball-cache-v2`) keyed by tree hash
//!   and downloaded files as flat store paths; rflake keeps both as the NAR-hashed `source`
//!   paths that fetching ends with, so the values above hold a store path and a NAR hash.
//! - A `narHash` in the immutable URL is checked against the unpacked tree (the manual says so;
//!   Nix's source overwrites it with the computed hash).
//! - A narHash mismatch of a fresh download registers nothing and writes no cache entry.
//! - See [`unpack`] and [`super::http`] for the archive formats and the network.

pub mod sniff;
pub mod tree;
pub mod unpack;
pub mod writers;

use std::io::Read;
use std::path::Path;

use anyhow::Context as _;
use serde_json::{Value, json};

pub use tree::Limits;

use super::cache::{self, Fields};
use super::http::{self, Reply, Request};
use super::{Env, Fetched, HashMismatch, Place, Tree};
use crate::flakeref::attrs::Attr;
use crate::flakeref::{Input, Kind, UrlContext};
use crate::hash::Hash;
use crate::report::Silent;
use crate::store::{PathInfo, StorePath};

/// A tree in the store found in, or written to, the fetcher cache.
#[derive(Clone)]
struct Cached {
    path: StorePath,
    info: PathInfo,
    value: Fields,
    timestamp: u64,
}

impl Cached {
    fn etag(&self) -> Option<&str> {
        // An empty ETag means the server sent none (Nix sends no `If-None-Match` then).
        self.value
            .get("etag")
            .and_then(Value::as_str)
            .filter(|e| !e.is_empty())
    }

    fn immutable_url(&self) -> Option<&str> {
        self.value.get("immutableUrl").and_then(Value::as_str)
    }

    fn last_modified(&self) -> u64 {
        self.value
            .get("lastModified")
            .and_then(Value::as_u64)
            .unwrap_or(0)
    }

    fn into_tree(self, env: &Env<'_>) -> Tree {
        Tree {
            path: env.store.real_path(&self.path),
            place: Place::Stored(self.path, self.info),
        }
    }
}

/// Looks `key` up in `domain`; entries whose store path is no longer valid are ignored.
fn lookup(env: &Env<'_>, domain: &str, key: &Fields) -> anyhow::Result<Option<Cached>> {
    let Some(entry) = env.cache.lookup(domain, key)? else {
        return Ok(None);
    };
    let Some(printed_path) = entry.value.get("storePath").and_then(Value::as_str) else {
        return Ok(None);
    };
    let Ok(path) = crate::store::Store::store_dir(env.store).parse(printed_path) else {
        return Ok(None);
    };
    let Some(info) = env.store.path_info(&path)? else {
        return Ok(None);
    };
    Ok(Some(Cached {
        path,
        info,
        value: entry.value,
        timestamp: entry.timestamp,
    }))
}

/// Returns whether an entry stored at `timestamp` is still fresh (`--offline`: always).
pub(crate) fn is_fresh(env: &Env<'_>, timestamp: u64) -> bool {
    let ttl = env.settings.tarball_ttl;
    env.settings.offline || (ttl > 0 && timestamp.saturating_add(ttl) >= env.now)
}

/// Stores `value` under `key` with `url` replaced by each URL of the redirect chain.
fn upsert_chain(
    env: &Env<'_>,
    domain: &str,
    key: &Fields,
    urls: &[String],
    value: &Fields,
) -> anyhow::Result<()> {
    for url in urls {
        let mut key = key.clone();
        key.insert("url".into(), json!(url));
        env.cache.upsert(domain, &key, value, env.now)?;
    }
    Ok(())
}

/// A tree added to the store, or one whose hash was not the expected one.
pub(crate) enum Added {
    /// In the store.
    Stored(StorePath, PathInfo),
    /// Still in its temporary directory: the NAR hash is not the expected one. The pipeline
    /// reports the mismatch when it tries to add it.
    Mismatch(Tree),
}

/// Unpacks the archive `body` in a store temporary directory and adds it to the store as
/// `name`, unless its NAR hash is not `expected`. Returns the newest mtime in the archive too.
pub(crate) fn unpack_to_store(
    env: &Env<'_>,
    body: &mut dyn Read,
    name: &str,
    expected: Option<&Hash>,
) -> anyhow::Result<(Added, u64)> {
    let tmp = env.store.temp_dir()?;
    let unpacked = unpack::unpack(body, tmp.path(), Limits::default())?;
    let added = adopt(env, name, tmp, &unpacked.tree, expected)?;
    Ok((added, unpacked.last_modified))
}

fn adopt(
    env: &Env<'_>,
    name: &str,
    tmp: crate::store::local::TempDir,
    tree: &Path,
    expected: Option<&Hash>,
) -> anyhow::Result<Added> {
    match env.store.adopt_tree(name, tree, expected) {
        Ok((path, info)) => Ok(Added::Stored(path, info)),
        Err(crate::store::local::Error::TreeHashMismatch { .. }) => Ok(Added::Mismatch(Tree {
            path: tree.to_owned(),
            place: Place::StoreTemp(tmp),
        })),
        Err(e) => Err(e.into()),
    }
}

/// The friendly errors for `file:` tarball URLs, checked before downloading.
fn check_file_url(url: &str) -> anyhow::Result<()> {
    if !url.starts_with("file:") {
        return Ok(());
    }
    let parsed = crate::flakeref::url::parse(url)?;
    let path = parsed.path_string();
    if !path.starts_with('/') {
        anyhow::bail!(
            "tarball '{url}' must use an absolute path. The 'file' scheme does not support \
             relative paths."
        );
    }
    let path = Path::new(&path);
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(_) => anyhow::bail!("tarball \"{}\" does not exist.", path.display()),
    };
    if meta.is_dir() {
        if path.join(".git").exists() {
            anyhow::bail!(
                "tarball \"{}\" is a git repository, not a tarball. Please use `git+file` as \
                 the scheme.",
                path.display()
            );
        }
        anyhow::bail!("tarball \"{}\" is a directory, not a file.", path.display());
    }
    Ok(())
}

/// Parses the immutable URL of a `Link` header as a flake reference; it must be a tarball.
fn link_input(url: &str) -> anyhow::Result<Input> {
    let parsed = crate::flakeref::url::parse(url)?;
    let input = Input::from_url(&parsed, UrlContext::default(), &Silent)?;
    if input.kind() != Some(Kind::Tarball) {
        anyhow::bail!("tarball 'Link' headers that redirect to non-tarball URLs are not supported");
    }
    Ok(input)
}

/// Fetches a `tarball` input.
pub fn fetch_tarball(env: &Env<'_>, input: &Input) -> anyhow::Result<Fetched> {
    let url = input.get_str("url").unwrap_or_default();
    check_file_url(url)?;
    let key = cache::fields([("url", json!(url))]);
    let cached = lookup(env, "tarball", &key)?;
    let found = match cached {
        Some(c) if is_fresh(env, c.timestamp) => {
            env.reporter.debug(&format!(
                "using the cached download of '{}'",
                http::redact_url(url)
            ));
            c
        }
        cached => match download_tarball(env, input, url, &key, cached)? {
            Ok(found) => found,
            Err(mismatch) => {
                return Ok(Fetched {
                    tree: mismatch,
                    input: input.clone(),
                });
            }
        },
    };
    let mut attrs = match found.immutable_url() {
        Some(link) => link_input(link)?.attrs().clone(),
        None => input.attrs().clone(),
    };
    let last_modified = found.last_modified();
    if last_modified != 0 && !attrs.contains_key("lastModified") {
        attrs.insert("lastModified".into(), Attr::Int(last_modified));
    }
    Ok(Fetched {
        tree: found.into_tree(env),
        input: Input::from_attrs(attrs, &Silent)?,
    })
}

/// Downloads and unpacks a tarball (revalidating `cached`); `Err` carries an unpacked tree
/// whose hash is not the requested one.
fn download_tarball(
    env: &Env<'_>,
    input: &Input,
    url: &str,
    key: &Fields,
    cached: Option<Cached>,
) -> anyhow::Result<Result<Cached, Tree>> {
    let client = http::Client::new(&env.settings, env.http, env.reporter, env.now);
    let req = Request {
        url,
        etag: cached.as_ref().and_then(Cached::etag),
        headers: &[],
    };
    match client.get(req)? {
        Reply::NotModified(meta) => {
            let c = cached.context("the server answered '304 Not Modified' to a fresh request")?;
            upsert_chain(env, "tarball", key, &meta.urls, &c.value)?;
            Ok(Ok(c))
        }
        Reply::Body(meta, mut body) => {
            let requested = input.nar_hash()?;
            let link = meta.immutable_url.as_deref().map(link_input).transpose()?;
            let link_hash = link.as_ref().map(Input::nar_hash).transpose()?.flatten();
            let expected = requested.as_ref().or(link_hash.as_ref());
            let name = input.store_name();
            let (added, last_modified) =
                unpack_to_store(env, &mut body, name, expected).map_err(|e| match e
                    .downcast::<sniff::NotArchive>(
                ) {
                    Ok(e) => sniff::NotArchive {
                        url: Some(http::redact_url(url)),
                        ..e
                    }
                    .into(),
                    Err(e) => e.context(format!("unpacking '{}'", http::redact_url(url))),
                })?;
            let (path, info) = match added {
                Added::Stored(path, info) => (path, info),
                Added::Mismatch(tree) if requested.is_some() => return Ok(Err(tree)),
                Added::Mismatch(tree) => {
                    let got = crate::store::nar::hash_path(&tree.path)?.0;
                    return Err(HashMismatch {
                        input: link.as_ref().map(Input::to_display).unwrap_or_default(),
                        expected: link_hash.map(|h| h.to_sri()).unwrap_or_default(),
                        got: got.to_sri(),
                    }
                    .into());
                }
            };
            let mut value = cache::fields([
                ("etag", json!(meta.etag.clone().unwrap_or_default())),
                ("lastModified", json!(last_modified)),
                ("narHash", json!(info.nar_hash.to_sri())),
                (
                    "storePath",
                    json!(crate::store::Store::store_dir(env.store).print(&path)),
                ),
            ]);
            if let Some(link) = &meta.immutable_url {
                value.insert("immutableUrl".into(), json!(link));
            }
            upsert_chain(env, "tarball", key, &meta.urls, &value)?;
            Ok(Ok(Cached {
                path,
                info,
                value,
                timestamp: env.now,
            }))
        }
    }
}

/// Fetches a `file` input: the downloaded file as a one-file tree.
pub fn fetch_file(env: &Env<'_>, input: &Input) -> anyhow::Result<Fetched> {
    let url = input.get_str("url").unwrap_or_default();
    let name = input.store_name();
    let key = cache::fields([("name", json!(name)), ("url", json!(url))]);
    let cached = lookup(env, "file", &key)?;
    let found = match cached {
        Some(c) if is_fresh(env, c.timestamp) => c,
        cached => match download_file(env, input, url, &key, cached)? {
            Ok(found) => found,
            Err(mismatch) => {
                return Ok(Fetched {
                    tree: mismatch,
                    input: input.clone(),
                });
            }
        },
    };
    Ok(Fetched {
        tree: found.into_tree(env),
        input: input.clone(),
    })
}

fn download_file(
    env: &Env<'_>,
    input: &Input,
    url: &str,
    key: &Fields,
    cached: Option<Cached>,
) -> anyhow::Result<Result<Cached, Tree>> {
    let client = http::Client::new(&env.settings, env.http, env.reporter, env.now);
    let req = Request {
        url,
        etag: cached.as_ref().and_then(Cached::etag),
        headers: &[],
    };
    let reply = match (client.get(req), cached) {
        (Ok(Reply::NotModified(meta)), Some(c)) => {
            upsert_chain(env, "file", key, &meta.urls, &c.value)?;
            return Ok(Ok(c));
        }
        (Ok(Reply::NotModified(_)), None) => {
            anyhow::bail!("the server answered '304 Not Modified' to a fresh request")
        }
        (Ok(Reply::Body(meta, body)), _) => (meta, body),
        (Err(e), Some(c)) => {
            env.reporter.warn(&format!("{e:#}; using cached version"));
            return Ok(Ok(c));
        }
        (Err(e), None) => return Err(e),
    };
    let (meta, mut body) = reply;
    let name = input.store_name();
    let tmp = env.store.temp_dir()?;
    let file = tmp.path().join(name);
    write_file(&file, &mut body)?;
    let expected = input.nar_hash()?;
    let (path, info) = match adopt(env, name, tmp, &file, expected.as_ref())? {
        Added::Stored(path, info) => (path, info),
        Added::Mismatch(tree) => return Ok(Err(tree)),
    };
    let mut value = cache::fields([
        ("etag", json!(meta.etag.clone().unwrap_or_default())),
        ("narHash", json!(info.nar_hash.to_sri())),
        (
            "storePath",
            json!(crate::store::Store::store_dir(env.store).print(&path)),
        ),
        ("url", json!(meta.final_url())),
    ]);
    if let Some(link) = &meta.immutable_url {
        value.insert("immutableUrl".into(), json!(link));
    }
    upsert_chain(env, "file", key, &meta.urls, &value)?;
    Ok(Ok(Cached {
        path,
        info,
        value,
        timestamp: env.now,
    }))
}

fn write_file(path: &Path, body: &mut dyn Read) -> anyhow::Result<()> {
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o444)
        .open(path)
        .with_context(|| format!("creating file \"{}\"", path.display()))?;
    std::io::copy(body, &mut f)
        .with_context(|| format!("writing to file \"{}\"", path.display()))?;
    Ok(())
}
