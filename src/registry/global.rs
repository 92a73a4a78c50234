//! Downloading the global registry, with Nix's caching rules (spec §6.3, §7.5.1).
//!
//! The downloaded file is kept in `<cache>/flake-registry/` (`<cache>` is Nix's cache
//! directory, `$XDG_CACHE_HOME/nix`), next to a small metadata file with the URL, the `ETag`
//! and the time of the last successful check. A copy younger than `tarball-ttl` is used without
//! any request; an older one is revalidated with `If-None-Match`; when the download fails, the
//! cached copy is used with the warning `<error>; using cached version`.
//!
//! # Deviations
//!
//! - Nix adds the download to the store and roots it; rflake keeps it in its cache directory.
//! - With `--offline` and nothing cached, rflake fails without opening a socket (Nix tries the
//!   download with a one-second connect timeout).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::anyhow;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::hash::encode_nix32;
use crate::report::Reporter;
use crate::util::fs;
use crate::util::http::HttpClient;

/// How downloads behave: where they are cached, how long a copy stays fresh, and the network.
#[derive(Debug, Clone)]
pub struct Downloader {
    /// Nix's cache directory (`$XDG_CACHE_HOME/nix`).
    pub cache_dir: PathBuf,
    /// `tarball-ttl` in seconds (0 = always revalidate, as with `--refresh`).
    pub ttl: u64,
    /// `--offline`: never touch the network; cached copies never expire.
    pub offline: bool,
    /// The process's HTTP client (`connect-timeout`, `ssl-cert-file`).
    pub http: Arc<HttpClient>,
    /// The current time (passed in so that nothing below the CLI reads the clock).
    pub now: SystemTime,
}

/// A downloaded (or cached) file.
#[derive(Debug)]
pub struct File {
    /// Its contents.
    pub bytes: Vec<u8>,
    /// Where the cached copy is (named in messages).
    pub path: PathBuf,
}

#[derive(Debug, Serialize, Deserialize)]
struct Meta {
    url: String,
    etag: Option<String>,
    /// Seconds since the epoch of the last successful download or revalidation.
    checked: u64,
}

impl Downloader {
    fn now_secs(&self) -> u64 {
        self.now
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0)
    }
}

enum Outcome {
    Fresh(Vec<u8>, Option<String>),
    NotModified,
}

/// Returns the global registry file at `url`, downloading it unless a fresh copy is cached.
pub fn fetch(url: &str, d: &Downloader, report: &dyn Reporter) -> anyhow::Result<File> {
    let key = encode_nix32(&Sha256::digest(url.as_bytes()))[..32].to_owned();
    let dir = d.cache_dir.join("flake-registry");
    let data_path = dir.join(format!("{key}.json"));
    let meta_path = dir.join(format!("{key}.meta.json"));
    let meta: Option<Meta> = fs::read_if_exists(&meta_path)?
        .and_then(|b| serde_json::from_slice::<Meta>(&b).ok())
        .filter(|m| m.url == url);
    let cached = match &meta {
        Some(_) => fs::read_if_exists(&data_path)?,
        None => None,
    };
    if let (Some(m), Some(bytes)) = (&meta, &cached) {
        let fresh = d.ttl > 0 && m.checked.saturating_add(d.ttl) >= d.now_secs();
        if d.offline || fresh {
            report.debug(&format!("using cached '{url}'"));
            return Ok(File {
                bytes: bytes.clone(),
                path: data_path,
            });
        }
    }
    let etag = meta
        .as_ref()
        .and_then(|m| m.etag.clone())
        .filter(|_| cached.is_some());
    let result = if d.offline {
        Err(anyhow!(
            "it is not cached and the network is disabled by '--offline'"
        ))
    } else {
        download(url, etag.as_deref(), d)
    };
    match (result, cached) {
        (Ok(Outcome::Fresh(bytes, etag)), _) => {
            fs::write_atomic(&data_path, &bytes)?;
            save_meta(&meta_path, url, etag, d)?;
            Ok(File {
                bytes,
                path: data_path,
            })
        }
        (Ok(Outcome::NotModified), Some(bytes)) => {
            save_meta(&meta_path, url, etag, d)?;
            Ok(File {
                bytes,
                path: data_path,
            })
        }
        (Ok(Outcome::NotModified), None) => Err(anyhow!(
            "unable to download '{url}': got '304 Not Modified' without a cached copy"
        )),
        (Err(e), Some(bytes)) => {
            report.warn(&format!(
                "unable to download '{url}': {e:#}; using cached version"
            ));
            Ok(File {
                bytes,
                path: data_path,
            })
        }
        (Err(e), None) => Err(anyhow!("unable to download '{url}': {e:#}")),
    }
}

fn save_meta(
    path: &std::path::Path,
    url: &str,
    etag: Option<String>,
    d: &Downloader,
) -> anyhow::Result<()> {
    let meta = Meta {
        url: url.to_owned(),
        etag,
        checked: d.now_secs(),
    };
    let json = serde_json::to_vec(&meta)?;
    fs::write_atomic(path, &json)?;
    Ok(())
}

fn download(url: &str, etag: Option<&str>, d: &Downloader) -> anyhow::Result<Outcome> {
    if let Some(rest) = url.strip_prefix("file://") {
        let path = crate::flakeref::url::decode(rest).unwrap_or_else(|| rest.to_owned());
        return Ok(Outcome::Fresh(fs::read(std::path::Path::new(&path))?, None));
    }
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return Err(anyhow!(
            "unsupported URL scheme (expected 'file://', 'http://' or 'https://')"
        ));
    }
    let parsed = reqwest::Url::parse(url).map_err(|e| anyhow!("{e}"))?;
    let resp = d
        .http
        .send_following_redirects(parsed, |client, u| {
            let req = client.get(u);
            match etag {
                Some(tag) => req.header(reqwest::header::IF_NONE_MATCH, tag),
                None => req,
            }
        })?
        .map_err(|e| anyhow!("{}", crate::util::describe_http_error(e)))?;
    let status = resp.status();
    if status == reqwest::StatusCode::NOT_MODIFIED {
        return Ok(Outcome::NotModified);
    }
    if !status.is_success() {
        return Err(anyhow!("HTTP error {}", status.as_u16()));
    }
    let new_etag = resp
        .headers()
        .get(reqwest::header::ETAG)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let bytes = resp
        .bytes()
        .map_err(|e| anyhow!("{}", crate::util::describe_http_error(e)))?;
    Ok(Outcome::Fresh(bytes.to_vec(), new_etag))
}
