//! Store URIs as `--store` and `--to` accept them (spec A6): `auto`, `daemon`, `unix://…`,
//! `local`, `local?root=R`, a directory (a chroot store), `file://…`, `http(s)://…`, `s3://…`,
//! `ssh://…`, `ssh-ng://…`.
//!
//! Mirrors the Nix source's `src/libstore/store-reference.cc` (`StoreReference::parse`) and
//! `src/libstore/store-open.cc` (`openStore` and the resolution of `auto`). Parsing never
//! fails: as in Nix, an unknown scheme is reported only when the store is opened, so
//! `--to bogus://x --dry-run` succeeds. Formats only: the facts `auto` depends on (daemon
//! socket, writable `/nix/store`, `$XDG_DATA_HOME`) are inputs.
//!
//! # Deviations
//!
//! - `auto` prefers the daemon socket when it exists, even when `/nix/var/nix` is writable
//!   (Nix then opens the store directly): rflake never writes into a daemon-managed store.
//! - S3 stores are not implemented; opening one fails with an error naming `--store`.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};

/// The socket of the Nix daemon of a multi-user installation.
pub const DAEMON_SOCKET: &str = "/nix/var/nix/daemon-socket/socket";

/// Query parameters of a store URI (`?root=/r&compression=zstd`), decoded.
pub type Params = BTreeMap<String, String>;

/// A parsed store URI.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StoreUri {
    /// `auto` or the empty string: see [`StoreUri::resolve_auto`].
    Auto,
    /// `daemon` (the default socket, `None`) or `unix://<socket>`.
    Daemon {
        /// The socket, if given.
        socket: Option<PathBuf>,
        /// Parameters such as `max-connections`.
        params: Params,
    },
    /// `local`, `local?root=R`, `local://R` or a directory `R` (a chroot store).
    Local {
        /// The chroot root; `None` for the real `/nix/store`.
        root: Option<PathBuf>,
        /// Other parameters (`store=` overrides the logical store directory).
        params: Params,
    },
    /// `file://<dir>`: a binary cache in a directory.
    File {
        /// The directory.
        dir: PathBuf,
        /// Parameters such as `compression`.
        params: Params,
    },
    /// `http://…` or `https://…`: an HTTP binary cache.
    Http {
        /// The URL without the parameters that belong to the store.
        url: String,
        /// Parameters such as `compression`.
        params: Params,
    },
    /// `ssh-ng://[user@]host[:port]`: a Nix daemon reached by running `nix-daemon --stdio`
    /// over SSH.
    SshNg {
        /// `[user@]host`.
        host: String,
        /// The port, if given.
        port: Option<u16>,
        /// Parameters such as `ssh-key`, `remote-store`.
        params: Params,
    },
    /// `ssh://[user@]host[:port]`: a Nix store reached by running `nix-store --serve --write`
    /// over SSH.
    Ssh {
        /// `[user@]host`.
        host: String,
        /// The port, if given.
        port: Option<u16>,
        /// Parameters such as `ssh-key`, `remote-store`.
        params: Params,
    },
    /// `s3://…`: known but not supported.
    Unsupported {
        /// The URI as given.
        uri: String,
        /// What kind of store it names, e.g. `S3 binary cache`.
        kind: &'static str,
    },
    /// Anything else.
    Unknown {
        /// The URI as given.
        uri: String,
    },
}

/// Why a store cannot be opened, reported when it is first used.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum OpenError {
    /// No store type has this scheme.
    #[error("don't know how to open Nix store '{0}'")]
    Unknown(String),
    /// A store type rflake does not implement.
    #[error(
        "cannot open Nix store '{uri}': {kind} stores are not supported yet; pass \
         '--store <dir>' or a 'file://' binary cache instead"
    )]
    Unsupported {
        /// The URI.
        uri: String,
        /// The kind of store.
        kind: &'static str,
    },
}

/// What `auto` depends on, gathered by the CLI.
#[derive(Clone, Debug)]
pub struct AutoFacts {
    /// Whether [`DAEMON_SOCKET`] exists.
    pub daemon_socket_exists: bool,
    /// Whether `/nix/store` (and `/nix/var/nix`) can be written by this user.
    pub nix_store_writable: bool,
    /// `$XDG_DATA_HOME` (or `~/.local/share`).
    pub data_home: PathBuf,
}

impl StoreUri {
    /// Parses a store URI; a relative directory is resolved against `cwd`.
    pub fn parse(s: &str, cwd: &Path) -> StoreUri {
        let (base, query) = s.split_once('?').unwrap_or((s, ""));
        let mut params = parse_params(query);
        if let Some((scheme, rest)) = base.split_once("://") {
            return match scheme {
                "unix" => StoreUri::Daemon {
                    socket: (!rest.is_empty()).then(|| PathBuf::from(rest)),
                    params,
                },
                "local" => StoreUri::Local {
                    root: params
                        .remove("root")
                        .or_else(|| (!rest.is_empty()).then(|| rest.to_owned()))
                        .map(PathBuf::from),
                    params,
                },
                "file" => StoreUri::File {
                    dir: PathBuf::from(rest),
                    params,
                },
                "http" | "https" => StoreUri::Http {
                    url: base.to_owned(),
                    params,
                },
                "s3" => unsupported(s, "S3 binary cache"),
                "ssh" | "ssh-ng" => {
                    let (host, port) = match rest.rsplit_once(':') {
                        Some((h, p)) if p.parse::<u16>().is_ok() => (h, p.parse().ok()),
                        _ => (rest, None),
                    };
                    let host = host.to_owned();
                    if scheme == "ssh" {
                        StoreUri::Ssh { host, port, params }
                    } else {
                        StoreUri::SshNg { host, port, params }
                    }
                }
                _ => StoreUri::Unknown { uri: s.to_owned() },
            };
        }
        match base {
            "" | "auto" => StoreUri::Auto,
            "daemon" => StoreUri::Daemon {
                socket: None,
                params,
            },
            "local" => StoreUri::Local {
                root: params.remove("root").map(PathBuf::from),
                params,
            },
            _ if base.contains('/') => StoreUri::Local {
                root: Some(
                    params
                        .remove("root")
                        .map_or_else(|| cwd.join(base), PathBuf::from),
                ),
                params,
            },
            _ => StoreUri::Unknown { uri: s.to_owned() },
        }
    }

    /// Resolves `auto`: the daemon if its socket exists, else `/nix/store` if it is writable,
    /// else the chroot store `<data home>/nix/root`. Other URIs are returned unchanged.
    pub fn resolve_auto(self, facts: &AutoFacts) -> StoreUri {
        if self != StoreUri::Auto {
            return self;
        }
        if facts.daemon_socket_exists {
            StoreUri::Daemon {
                socket: None,
                params: Params::new(),
            }
        } else if facts.nix_store_writable {
            StoreUri::Local {
                root: None,
                params: Params::new(),
            }
        } else {
            StoreUri::Local {
                root: Some(facts.data_home.join("nix/root")),
                params: Params::new(),
            }
        }
    }

    /// Returns why this store cannot be opened by rflake, if it cannot.
    pub fn open_error(&self) -> Option<OpenError> {
        match self {
            StoreUri::Unsupported { uri, kind } => Some(OpenError::Unsupported {
                uri: uri.clone(),
                kind,
            }),
            StoreUri::Unknown { uri } => Some(OpenError::Unknown(uri.clone())),
            _ => None,
        }
    }
}

fn unsupported(uri: &str, kind: &'static str) -> StoreUri {
    StoreUri::Unsupported {
        uri: uri.to_owned(),
        kind,
    }
}

fn parse_params(query: &str) -> Params {
    query
        .split('&')
        .filter(|kv| !kv.is_empty())
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            let dec = |s: &str| percent_decode_str(s).decode_utf8_lossy().into_owned();
            (dec(k), dec(v))
        })
        .collect()
}

/// Characters escaped in rendered parameters (`/` stays readable in paths).
const QUERY: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'/')
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

fn render_params(f: &mut fmt::Formatter<'_>, params: &Params) -> fmt::Result {
    for (i, (k, v)) in params.iter().enumerate() {
        let sep = if i == 0 { '?' } else { '&' };
        let (k, v) = (utf8_percent_encode(k, QUERY), utf8_percent_encode(v, QUERY));
        write!(f, "{sep}{k}={v}")?;
    }
    Ok(())
}

impl fmt::Display for StoreUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreUri::Auto => f.write_str("auto"),
            StoreUri::Daemon { socket, params } => {
                match socket {
                    None => f.write_str("daemon")?,
                    Some(s) => write!(f, "unix://{}", s.display())?,
                }
                render_params(f, params)
            }
            StoreUri::Local { root, params } => {
                let mut all = params.clone();
                if let Some(r) = root {
                    all.insert("root".to_owned(), r.display().to_string());
                }
                f.write_str("local")?;
                render_params(f, &all)
            }
            StoreUri::File { dir, params } => {
                write!(f, "file://{}", dir.display())?;
                render_params(f, params)
            }
            StoreUri::Http { url, params } => {
                f.write_str(url)?;
                render_params(f, params)
            }
            StoreUri::Ssh { host, port, params } | StoreUri::SshNg { host, port, params } => {
                let scheme = if matches!(self, StoreUri::Ssh { .. }) {
                    "ssh"
                } else {
                    "ssh-ng"
                };
                write!(f, "{scheme}://{host}")?;
                if let Some(p) = port {
                    write!(f, ":{p}")?;
                }
                render_params(f, params)
            }
            StoreUri::Unsupported { uri, .. } | StoreUri::Unknown { uri } => f.write_str(uri),
        }
    }
}

#[cfg(test)]
mod tests;
