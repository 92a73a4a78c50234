//! The process's one HTTP client (Nix's `FileTransfer`, `src/libstore/filetransfer.cc`, of
//! which Nix also keeps one per process): built on first use, because loading the system's root
//! certificates costs milliseconds that commands which never download should not pay.
//!
//! Redirects are never followed by the client itself: the fetchers record each hop of a
//! redirect chain (the lockable tarball protocol reads `Link` headers on the way), and callers
//! that only want the final answer use [`HttpClient::send_following_redirects`].

use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;

use anyhow::Context as _;
use reqwest::blocking::{Client, RequestBuilder, Response};

/// How many redirects [`HttpClient::send_following_redirects`] follows (curl's default
/// `CURLOPT_MAXREDIRS` in Nix is 10).
const MAX_REDIRECTS: usize = 10;

/// What the client is configured from (the `connect-timeout` and `ssl-cert-file` settings).
#[derive(Debug, Clone, Default)]
pub struct HttpConfig {
    /// Seconds to wait for a connection; 0 for no limit.
    pub connect_timeout: u64,
    /// Extra root certificates (PEM bundle), used when the file exists.
    pub ssl_cert_file: Option<PathBuf>,
}

/// A lazily built HTTP client shared by every download of a process.
#[derive(Debug, Default)]
pub struct HttpClient {
    config: HttpConfig,
    inner: OnceLock<Client>,
}

impl HttpClient {
    /// A client for `config`, built on first use.
    pub fn new(config: HttpConfig) -> HttpClient {
        HttpClient {
            config,
            inner: OnceLock::new(),
        }
    }

    /// Returns the client if it was built already.
    pub fn get(&self) -> Option<&Client> {
        self.inner.get()
    }

    /// Returns the client, building it on first use.
    pub fn client(&self) -> anyhow::Result<&Client> {
        if let Some(c) = self.inner.get() {
            return Ok(c);
        }
        let client = self.build()?;
        Ok(self.inner.get_or_init(|| client))
    }

    fn build(&self) -> anyhow::Result<Client> {
        // A download may stall where no interrupt check runs.
        super::interrupt::watch();
        let mut b = Client::builder()
            .user_agent(concat!("rflake/", env!("CARGO_PKG_VERSION")))
            .redirect(reqwest::redirect::Policy::none())
            .timeout(None::<Duration>);
        if self.config.connect_timeout > 0 {
            b = b.connect_timeout(Duration::from_secs(self.config.connect_timeout));
        }
        if let Some(path) = &self.config.ssl_cert_file
            && path.exists()
        {
            let pem = super::fs::read(path)?;
            let certs = reqwest::Certificate::from_pem_bundle(&pem)
                .with_context(|| format!("reading CA certificates from '{}'", path.display()))?;
            for cert in certs {
                b = b.add_root_certificate(cert);
            }
        }
        b.build().context("setting up the HTTP client")
    }

    /// Sends the request `make(client, url)` builds, following up to ten redirects (each
    /// `Location` resolved against the URL that answered) and returning the final response.
    pub fn send_following_redirects(
        &self,
        url: reqwest::Url,
        make: impl Fn(&Client, reqwest::Url) -> RequestBuilder,
    ) -> anyhow::Result<Result<Response, reqwest::Error>> {
        let client = self.client()?;
        let mut url = url;
        for _ in 0..MAX_REDIRECTS {
            let resp = match make(client, url.clone()).send() {
                Ok(r) => r,
                Err(e) => return Ok(Err(e)),
            };
            if !resp.status().is_redirection() {
                return Ok(Ok(resp));
            }
            let next = resp
                .headers()
                .get(reqwest::header::LOCATION)
                .and_then(|l| l.to_str().ok())
                .and_then(|l| url.join(l).ok());
            match next {
                Some(n) => url = n,
                None => return Ok(Ok(resp)),
            }
        }
        Ok(make(client, url).send())
    }
}
