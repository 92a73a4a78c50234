//! `http://` and `https://` binary caches (Nix's `src/libstore/http-binary-cache-store.cc`),
//! over the process's HTTP client (`util::http`), following redirects.
//!
//! Keys are resolved against the cache URL with a trailing `/`, so a `.narinfo` `URL` may be
//! relative (with a query) or absolute. `HEAD` tests existence; 404 and 403 both mean absent
//! (S3 answers 403 for missing keys of unlistable buckets), except for `nix-cache-info`, where
//! only 404 does. Uploads are `PUT`s with Nix's content types, and with `Content-Encoding`
//! when `narinfo-compression`, `ls-compression` or `log-compression` apply. A response with a
//! `Content-Encoding` rflake can decode is decoded.

use std::io::Read;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context as _, anyhow};
use reqwest::StatusCode;
use reqwest::blocking::{Body, Response};
use reqwest::header::{CONTENT_ENCODING, CONTENT_TYPE};
use url::Url;

use super::backend::{self, Backend, Spool};
use crate::store::compression::{self, Method};
use crate::util::http::HttpClient;

/// A binary cache behind an HTTP(S) URL.
pub struct HttpBackend {
    /// The cache URL with exactly one trailing `/` (for resolving keys).
    base: Url,
    /// The URL as printed: no trailing `/`, no query.
    display: String,
    client: Arc<HttpClient>,
    temp_dir: Option<PathBuf>,
    narinfo_compression: Option<Method>,
    ls_compression: Option<Method>,
    log_compression: Option<Method>,
}

impl HttpBackend {
    /// Returns the cache at `url` (its query is dropped). NAR files are spooled in `temp_dir`,
    /// or in memory without one.
    pub fn new(url: &Url, client: Arc<HttpClient>, temp_dir: Option<PathBuf>) -> HttpBackend {
        let mut base = url.clone();
        base.set_query(None);
        base.set_fragment(None);
        let trimmed = base.path().trim_end_matches('/').to_owned();
        base.set_path(&format!("{trimmed}/"));
        let display = base.as_str().trim_end_matches('/').to_owned();
        HttpBackend {
            base,
            display,
            client,
            temp_dir,
            narinfo_compression: None,
            ls_compression: None,
            log_compression: None,
        }
    }

    /// Sets the `Content-Encoding` compression of uploaded `.narinfo`, `.ls` and `log/` files.
    pub fn with_upload_compression(
        mut self,
        narinfo: Option<Method>,
        ls: Option<Method>,
        log: Option<Method>,
    ) -> HttpBackend {
        self.narinfo_compression = narinfo;
        self.ls_compression = ls;
        self.log_compression = log;
        self
    }

    fn url(&self, key: &str) -> anyhow::Result<Url> {
        self.base
            .join(key)
            .with_context(|| format!("resolving '{key}' against '{}'", self.display))
    }

    fn upload_compression(&self, key: &str) -> Option<Method> {
        if key.ends_with(".narinfo") {
            self.narinfo_compression
        } else if key.ends_with(".ls") {
            self.ls_compression
        } else if key.starts_with("log/") {
            self.log_compression
        } else {
            None
        }
        .filter(|m| *m != Method::None)
    }

    fn send_get(&self, key: &str) -> anyhow::Result<(Url, Response)> {
        let url = self.url(key)?;
        let resp = self.send(&url, |c, u| c.get(u))?.map_err(|e| {
            anyhow!(
                "unable to download '{url}': {}",
                crate::util::describe_http_error(e)
            )
        })?;
        Ok((url, resp))
    }

    /// Sends a request to `url`, following redirects as Nix's downloads do.
    fn send(
        &self,
        url: &Url,
        make: impl Fn(&reqwest::blocking::Client, Url) -> reqwest::blocking::RequestBuilder,
    ) -> anyhow::Result<Result<Response, reqwest::Error>> {
        self.client.send_following_redirects(url.clone(), make)
    }

    fn upload(
        &self,
        key: &str,
        body: Body,
        content_type: &str,
        encoding: Option<Method>,
    ) -> anyhow::Result<()> {
        let url = self.url(key)?;
        let mut req = self
            .client
            .client()?
            .put(url.clone())
            .header(CONTENT_TYPE, content_type);
        if let Some(m) = encoding {
            req = req.header(CONTENT_ENCODING, m.name());
        }
        let result = req
            .body(body)
            .send()
            .map_err(|e| {
                anyhow!(
                    "unable to upload '{url}': {}",
                    crate::util::describe_http_error(e)
                )
            })
            .and_then(|resp| {
                let status = resp.status();
                if status.is_success() {
                    Ok(())
                } else {
                    Err(anyhow!(
                        "unable to upload '{url}': HTTP error {}",
                        status.as_u16()
                    ))
                }
            });
        result
            .with_context(|| format!("while uploading to HTTP binary cache at '{}'", self.display))
    }
}

/// Returns whether `status` means "no such file" (404, or 403 as S3 answers).
fn is_absent(status: StatusCode) -> bool {
    status == StatusCode::NOT_FOUND || status == StatusCode::FORBIDDEN
}

/// Returns the method to decode a response's `Content-Encoding` with (`None` = as is).
fn content_encoding(resp: &Response) -> anyhow::Result<Option<Method>> {
    let Some(v) = resp.headers().get(CONTENT_ENCODING) else {
        return Ok(None);
    };
    let v = v.to_str().unwrap_or_default().trim().to_ascii_lowercase();
    let name = match v.as_str() {
        "" | "identity" => return Ok(None),
        "x-gzip" => "gzip",
        other => other,
    };
    let m = name
        .parse::<Method>()
        .map_err(|_| anyhow!("unsupported Content-Encoding '{v}'"))?;
    Ok(Some(m))
}

impl Backend for HttpBackend {
    fn uri(&self) -> String {
        self.display.clone()
    }

    fn exists(&self, key: &str) -> anyhow::Result<bool> {
        let url = self.url(key)?;
        let resp = self.send(&url, |c, u| c.head(u))?.map_err(|e| {
            anyhow!(
                "unable to download '{url}': {}",
                crate::util::describe_http_error(e)
            )
        })?;
        let status = resp.status();
        if status.is_success() {
            Ok(true)
        } else if is_absent(status) {
            Ok(false)
        } else {
            Err(anyhow!(
                "unable to download '{url}': HTTP error {}",
                status.as_u16()
            ))
        }
    }

    fn get(&self, key: &str) -> anyhow::Result<Option<Box<dyn Read + '_>>> {
        let (url, resp) = self.send_get(key)?;
        let status = resp.status();
        if is_absent(status) {
            return Ok(None);
        }
        if !status.is_success() {
            return Err(anyhow!(
                "unable to download '{url}': HTTP error {}",
                status.as_u16()
            ));
        }
        match content_encoding(&resp)? {
            None => Ok(Some(Box::new(resp))),
            Some(m) => Ok(Some(compression::decoder(m, resp)?)),
        }
    }

    fn get_cache_info(&self) -> anyhow::Result<Option<Vec<u8>>> {
        let (url, resp) = self.send_get(super::CACHE_INFO)?;
        let status = resp.status();
        if status == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        if !status.is_success() {
            return Err(anyhow!(
                "unable to download '{url}': HTTP error {}",
                status.as_u16()
            ));
        }
        let reader: Box<dyn Read> = match content_encoding(&resp)? {
            None => Box::new(resp),
            Some(m) => compression::decoder(m, resp)?,
        };
        Ok(backend::read_all(Some(reader))?)
    }

    fn put(&self, key: &str, data: &[u8], content_type: &str) -> anyhow::Result<()> {
        match self.upload_compression(key) {
            Some(m) => {
                let compressed = compression::compress(m, data, None)?;
                self.upload(key, Body::from(compressed), content_type, Some(m))
            }
            None => self.upload(key, Body::from(data.to_vec()), content_type, None),
        }
    }

    fn spool(&self) -> anyhow::Result<Spool> {
        match &self.temp_dir {
            Some(dir) => Ok(Spool::file(
                dir.join(format!("rflake-nar.tmp.{}", backend::tmp_suffix())),
            )?),
            None => Ok(Spool::memory()),
        }
    }

    fn put_spool(&self, key: &str, spool: Spool, content_type: &str) -> anyhow::Result<()> {
        let len = spool.len();
        let reader = spool.into_reader()?;
        self.upload(key, Body::sized(reader, len), content_type, None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_resolve_against_the_cache_url() {
        let cases = [
            (
                "http://h/cache",
                "nix-cache-info",
                "http://h/cache/nix-cache-info",
            ),
            ("http://h/cache/", "x.narinfo", "http://h/cache/x.narinfo"),
            (
                "http://h/cache//?priority=1",
                "nar/a.nar.xz",
                "http://h/cache/nar/a.nar.xz",
            ),
            ("http://h", "nar/a.nar?hash=b", "http://h/nar/a.nar?hash=b"),
            ("https://h/c", "https://other/n.nar", "https://other/n.nar"),
        ];
        for (base, key, want) in cases {
            let b = HttpBackend::new(&Url::parse(base).unwrap(), Arc::default(), None);
            assert_eq!(b.url(key).unwrap().as_str(), want, "{base} {key}");
        }
        let b = HttpBackend::new(
            &Url::parse("http://h/c/?x=1").unwrap(),
            Arc::default(),
            None,
        );
        assert_eq!(b.uri(), "http://h/c");
        let b = HttpBackend::new(&Url::parse("http://h").unwrap(), Arc::default(), None);
        assert_eq!(b.uri(), "http://h");
    }
}
