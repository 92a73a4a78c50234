//! Downloads for the fetchers (Nix's `src/libstore/filetransfer.cc`): one `GET` at a time over
//! `reqwest::blocking`, redirects followed here so that every URL of the chain and every `Link`
//! header is seen, `If-None-Match` revalidation, retries of transient failures, and the body as
//! a stream that reports progress. `file://` URLs are read from the file system.
//!
//! Headers given by the caller (access tokens) are secrets: they appear in no message, debug
//! line or error, and they are dropped when a redirect leaves the origin of the first URL.
//!
//! # Deviations
//!
//! - With `--offline` no socket is ever opened: a download that is not cached fails at once
//!   with `cannot download '<url>' while offline` (Nix tries anyway, with a one-second connect
//!   timeout and no retries).
//! - Retries wait 250 ms × 2^(n−1) without jitter, and only happen before the body starts; an
//!   interrupted body is not resumed with a `Range` request.
//! - Headers from the caller are dropped on a redirect to another origin (curl drops only
//!   `Authorization`); no `.netrc`, no stalled-download timeout, no HTTP/2 preference, no S3.
//! - A failed request's message names the URL with its user info removed.

use std::io::{self, Read};
use std::time::Duration;

use reqwest::header::{ETAG, IF_NONE_MATCH, LOCATION};

use super::Settings;
use crate::report::{Activity, ActivityType, Field, Reporter, Verbosity};
use crate::util::http::HttpClient;

/// How many redirects one download follows (curl's `CURLOPT_MAXREDIRS` in Nix).
const MAX_REDIRECTS: usize = 10;

/// The first retry waits this long; each further one twice as long.
const RETRY_BASE: Duration = Duration::from_millis(250);

/// Responses of failed requests up to this size are shown in the error (as Nix does).
const ERROR_BODY_LIMIT: usize = 1024;

/// Progress is reported at most once per this many bytes.
const PROGRESS_STEP: u64 = 1 << 20;

/// A download that failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// `--offline` forbids the network and nothing usable is cached.
    #[error("cannot download '{url}' while offline")]
    Offline {
        /// The URL (user info removed).
        url: String,
    },
    /// The server answered with an error status.
    #[error(
        "unable to download '{url}': HTTP error {status}{}{}{}",
        rate_limit_note(*rate_limit_reset),
        hint.as_ref().map_or_else(String::new, |h| format!("\n\nhint: {h}")),
        body_note(body)
    )]
    Status {
        /// The URL (user info removed).
        url: String,
        /// The HTTP status.
        status: u16,
        /// The start of the response body, when it is short text.
        body: Option<String>,
        /// When a rate limit (`X-RateLimit-Remaining: 0`) resets, in Unix seconds.
        rate_limit_reset: Option<u64>,
        /// Advice added by the caller (which access token to set).
        hint: Option<String>,
    },
    /// The request could not be made or the response not read.
    #[error("unable to download '{url}': {message}")]
    Transport {
        /// The URL (user info removed).
        url: String,
        /// What went wrong.
        message: String,
    },
}

impl Error {
    /// Returns whether the server said the file does not exist (404, 410).
    pub fn is_not_found(&self) -> bool {
        matches!(
            self,
            Error::Status {
                status: 404 | 410,
                ..
            }
        )
    }

    /// Returns whether trying again may help (Nix's `Transient`): transport errors, 408, 429
    /// and 5xx other than 501, 505 and 511.
    fn is_transient(&self) -> bool {
        match self {
            Error::Offline { .. } => false,
            Error::Transport { .. } => true,
            Error::Status { status, .. } => {
                matches!(status, 408 | 429)
                    || (*status >= 500 && !matches!(status, 501 | 505 | 511))
            }
        }
    }
}

fn rate_limit_note(reset: Option<u64>) -> String {
    reset.map_or_else(String::new, |t| {
        format!(" (rate limit exceeded; it resets at {})", format_utc(t))
    })
}

fn body_note(body: &Option<String>) -> String {
    body.as_ref()
        .map_or_else(String::new, |b| format!("\n\nresponse body:\n\n{b}"))
}

/// One download to make.
#[derive(Clone, Copy)]
pub struct Request<'a> {
    /// The URL (`http`, `https` or `file`).
    pub url: &'a str,
    /// The `ETag` of a cached copy: sent as `If-None-Match`.
    pub etag: Option<&'a str>,
    /// Extra headers (access tokens): never shown anywhere.
    pub headers: &'a [(String, String)],
}

impl<'a> Request<'a> {
    /// A plain `GET` of `url`.
    pub fn get(url: &'a str) -> Request<'a> {
        Request {
            url,
            etag: None,
            headers: &[],
        }
    }
}

/// What the server said about a download besides its body.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Meta {
    /// The requested URL, then every URL a redirect led to; the last one answered.
    pub urls: Vec<String>,
    /// The `ETag` of the final response.
    pub etag: Option<String>,
    /// The immutable URL of the lockable tarball protocol: from the last `Link` (or
    /// `x-amz-meta-link`) header of the chain that has the form `<URL>; rel="immutable"`.
    pub immutable_url: Option<String>,
}

impl Meta {
    /// Returns the URL that finally answered.
    pub fn final_url(&self) -> &str {
        self.urls.last().map_or("", String::as_str)
    }
}

/// The outcome of a download.
pub enum Reply<'a> {
    /// `304 Not Modified` (or a `200` with the expected `ETag`): the cached copy is current.
    NotModified(Meta),
    /// The body follows.
    Body(Meta, Body<'a>),
}

/// A response body being read; reports progress as it goes.
pub struct Body<'a> {
    inner: Box<dyn Read + Send + 'a>,
    label: String,
    reporter: &'a dyn Reporter,
    done: u64,
    total: Option<u64>,
    reported: u64,
    /// Nix's `actFileTransfer` for this download.
    activity: Activity<'a>,
}

impl Read for Body<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        crate::util::interrupt::check_io()?;
        let n = self.inner.read(buf)?;
        self.done += n as u64;
        if n == 0 || self.done - self.reported >= PROGRESS_STEP {
            self.reported = self.done;
            self.reporter
                .progress_bytes(&self.label, self.done, self.total);
            // Nix reports 0 as the expected size when it is unknown, and the size once done.
            let expected = match (self.total, n) {
                (Some(t), _) => t,
                (None, 0) => self.done,
                (None, _) => 0,
            };
            self.activity.progress(self.done, expected);
        }
        Ok(n)
    }
}

impl Drop for Body<'_> {
    fn drop(&mut self) {
        // A reader that stops at the end of its data (a gzip stream) never reads the EOF.
        if self.done > self.reported {
            self.activity
                .progress(self.done, self.total.unwrap_or(self.done));
        }
        self.reporter.progress_done(&self.label);
    }
}

/// The downloader: settings, reporter and the process's HTTP client.
pub struct Client<'a> {
    settings: &'a Settings,
    reporter: &'a dyn Reporter,
    now: u64,
    inner: &'a HttpClient,
}

impl<'a> Client<'a> {
    /// A downloader for these settings over `http`; `now` (Unix seconds) dates rate-limit
    /// messages.
    pub fn new(
        settings: &'a Settings,
        http: &'a HttpClient,
        reporter: &'a dyn Reporter,
        now: u64,
    ) -> Client<'a> {
        Client {
            settings,
            reporter,
            now,
            inner: http,
        }
    }

    /// Returns the fetch settings.
    pub fn settings(&self) -> &Settings {
        self.settings
    }

    fn client(&self) -> anyhow::Result<&reqwest::blocking::Client> {
        self.inner.client()
    }

    /// Downloads `req.url`, retrying transient failures up to `download-attempts` times.
    pub fn get(&self, req: Request<'_>) -> anyhow::Result<Reply<'a>> {
        if req.url.starts_with("file:") {
            return Ok(self.open_file(req.url)?);
        }
        if self.settings.offline {
            return Err(Error::Offline {
                url: redact_url(req.url),
            }
            .into());
        }
        let attempts = self.settings.download_attempts.max(1);
        let mut attempt = 1;
        loop {
            crate::util::interrupt::check()?;
            match self.get_once(req) {
                Err(e)
                    if e.is_transient()
                        && attempt < attempts
                        && !crate::util::interrupt::is_interrupted() =>
                {
                    let wait = RETRY_BASE * 2u32.saturating_pow((attempt - 1).min(16) as u32);
                    self.reporter.warn(&format!(
                        "{e}; retrying in {} ms (attempt {attempt}/{attempts})",
                        wait.as_millis()
                    ));
                    crate::util::interrupt::sleep(wait)?;
                    attempt += 1;
                }
                other => return Ok(other?),
            }
        }
    }

    fn open_file(&self, url: &str) -> Result<Reply<'a>, Error> {
        let path = crate::flakeref::url::parse(url)
            .map_err(|e| Error::Transport {
                url: redact_url(url),
                message: e.to_string(),
            })?
            .path_string();
        let file = std::fs::File::open(&path).map_err(|e| Error::Transport {
            url: redact_url(url),
            message: format!("opening file \"{path}\": {}", crate::util::fs::strerror(&e)),
        })?;
        let total = file.metadata().ok().map(|m| m.len());
        let meta = Meta {
            urls: vec![url.to_owned()],
            ..Meta::default()
        };
        Ok(Reply::Body(meta, self.body(Box::new(file), url, total)))
    }

    fn body(&self, inner: Box<dyn Read + Send + 'a>, url: &str, total: Option<u64>) -> Body<'a> {
        let shown = redact_url(url);
        let label = format!("downloading '{shown}'");
        let activity = Activity::start(
            self.reporter,
            Verbosity::Talkative,
            ActivityType::FileTransfer,
            &label,
            &[Field::Str(shown)],
        );
        Body {
            inner,
            label,
            reporter: self.reporter,
            done: 0,
            total,
            reported: 0,
            activity,
        }
    }

    /// One attempt: the request and its redirects, up to the start of the body.
    fn get_once(&self, req: Request<'_>) -> Result<Reply<'a>, Error> {
        let transport = |url: &str, message: String| Error::Transport {
            url: redact_url(url),
            message,
        };
        let client = self
            .client()
            .map_err(|e| transport(req.url, format!("{e:#}")))?;
        let first = url::Url::parse(req.url).map_err(|e| transport(req.url, e.to_string()))?;
        let mut current = first.clone();
        let mut meta = Meta {
            urls: vec![req.url.to_owned()],
            ..Meta::default()
        };
        for _ in 0..=MAX_REDIRECTS {
            self.reporter
                .debug(&format!("downloading '{}'", redact_url(current.as_str())));
            let mut builder = client.get(current.clone());
            if let Some(etag) = req.etag {
                builder = builder.header(IF_NONE_MATCH, etag);
            }
            if current.origin() == first.origin() {
                for (name, value) in req.headers {
                    builder = builder.header(name.as_str(), value.as_str());
                }
            }
            let resp = builder
                .send()
                .map_err(|e| transport(current.as_str(), crate::util::describe_http_error(e)))?;
            let headers = resp.headers();
            for name in ["link", "x-amz-meta-link"] {
                for value in headers.get_all(name) {
                    match value.to_str().ok().and_then(parse_immutable_link) {
                        Some(u) => meta.immutable_url = Some(u),
                        None => self.reporter.debug(&format!(
                            "got invalid link header '{}'",
                            String::from_utf8_lossy(value.as_bytes())
                        )),
                    }
                }
            }
            meta.etag = headers
                .get(ETAG)
                .and_then(|v| v.to_str().ok())
                .map(|v| v.trim().to_owned());
            let status = resp.status().as_u16();
            if matches!(status, 301 | 302 | 303 | 307 | 308)
                && let Some(location) = headers.get(LOCATION).and_then(|v| v.to_str().ok())
            {
                current = current
                    .join(location)
                    .map_err(|e| transport(current.as_str(), format!("bad redirect: {e}")))?;
                meta.urls.push(current.to_string());
                continue;
            }
            let not_modified = status == 304
                || (status == 200 && req.etag.is_some() && meta.etag.as_deref() == req.etag);
            if not_modified {
                return Ok(Reply::NotModified(meta));
            }
            if !(200..300).contains(&status) {
                return Err(self.status_error(current.as_str(), resp));
            }
            let total = resp.content_length();
            let url = current.to_string();
            return Ok(Reply::Body(meta, self.body(Box::new(resp), &url, total)));
        }
        Err(transport(
            req.url,
            format!("too many redirects (more than {MAX_REDIRECTS})"),
        ))
    }

    fn status_error(&self, url: &str, resp: reqwest::blocking::Response) -> Error {
        let status = resp.status().as_u16();
        let header = |name: &str| {
            resp.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(|v| v.trim().to_owned())
        };
        let rate_limit_reset = match header("x-ratelimit-remaining").as_deref() {
            Some("0") if matches!(status, 403 | 429) => header("x-ratelimit-reset")
                .and_then(|t| t.parse().ok())
                .or(Some(self.now)),
            _ => None,
        };
        let mut buf = Vec::new();
        let _ = resp.take(ERROR_BODY_LIMIT as u64 + 1).read_to_end(&mut buf);
        let body = String::from_utf8(buf)
            .ok()
            .filter(|b| b.len() <= ERROR_BODY_LIMIT && !b.trim().is_empty())
            .map(|b| b.trim_end().to_owned());
        Error::Status {
            url: redact_url(url),
            status,
            body,
            rate_limit_reset,
            hint: None,
        }
    }
}

/// Parses a `Link` header value of the lockable tarball protocol: exactly
/// `<URL>; rel="immutable"` after trimming (case-insensitive), as Nix's regular expression.
pub fn parse_immutable_link(value: &str) -> Option<String> {
    let v = value.trim();
    let rest = v.strip_prefix('<')?;
    let end = rest.find('>')?;
    let (url, tail) = (&rest[..end], &rest[end + 1..]);
    tail.eq_ignore_ascii_case("; rel=\"immutable\"")
        .then(|| url.to_owned())
}

/// Removes the user info (`user:password@`) from a URL for messages.
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if !u.username().is_empty() || u.password().is_some() => {
            let _ = u.set_username("");
            let _ = u.set_password(None);
            u.to_string()
        }
        _ => url.to_owned(),
    }
}

/// Formats Unix seconds as `YYYY-MM-DD HH:MM:SS UTC`.
pub fn format_utc(secs: u64) -> String {
    format!("{} UTC", crate::util::time::date_time(secs))
}

#[cfg(test)]
#[path = "http_tests.rs"]
mod tests;
