//! What can go wrong talking to a Nix daemon, worded as Nix words it.

use std::io;
use std::path::PathBuf;

use super::handshake::Version;
use crate::util::fs::strerror;

/// An error of the worker-protocol client.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The socket could not be connected to (Nix's `connect` in `unix-domain-socket.cc`).
    #[error("cannot connect to socket at '{socket}': {msg}", msg = strerror(io))]
    Connect {
        /// The socket.
        socket: PathBuf,
        /// Why (its text is part of the message).
        io: io::Error,
    },
    /// The daemon closed the connection (or reset it) in the middle of an exchange.
    #[error("Nix daemon disconnected unexpectedly (maybe it crashed?)")]
    Disconnected,
    /// Another I/O error on the connection (its text only, so that a broken pipe is never
    /// mistaken for a closed stdout).
    #[error("error talking to the Nix daemon: {0}")]
    Io(String),
    /// The sink a NAR from the daemon was written to failed (kept as the source, so that a
    /// closed pipe is seen as one by whoever reads the error).
    #[error("writing the NAR received from the Nix daemon")]
    Sink(#[source] io::Error),
    /// Padding bytes that are not zero.
    #[error("non-zero padding")]
    NonZeroPadding,
    /// A string longer than the reader accepts.
    #[error("string is too long")]
    TooLong,
    /// The other side does not speak the worker protocol.
    #[error("protocol mismatch, got '{0}'")]
    Mismatch(String),
    /// The daemon speaks another major version of the protocol.
    #[error("Nix daemon protocol version not supported")]
    MajorVersion,
    /// The daemon's protocol is older than the oldest rflake speaks (1.18, as Nix).
    #[error("the Nix daemon version is too old")]
    TooOld,
    /// A frame or value the protocol does not allow.
    #[error("{0}")]
    Protocol(String),
    /// The daemon reported an error (`STDERR_ERROR`): its message as Nix shows it.
    #[error("{}", render_remote(message, traces))]
    Remote {
        /// The message, without terminal escapes.
        message: String,
        /// The exit status the daemon attached (protocol < 1.26), or 1.
        status: u64,
        /// The `… while …` traces, outermost last.
        traces: Vec<String>,
    },
    /// An operation the negotiated protocol version does not have.
    #[error(
        "the Nix daemon speaks protocol {version}, which has no '{op}' operation (it needs \
         {needed} or newer)"
    )]
    Unsupported {
        /// The operation.
        op: &'static str,
        /// The negotiated version.
        version: Version,
        /// The first version that has it.
        needed: Version,
    },
}

/// Whether an I/O error of this kind on the connection means the daemon went away.
pub fn is_disconnection(kind: io::ErrorKind) -> bool {
    matches!(
        kind,
        io::ErrorKind::UnexpectedEof
            | io::ErrorKind::BrokenPipe
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::NotConnected
    )
}

fn render_remote(message: &str, traces: &[String]) -> String {
    let mut s = message.to_owned();
    for t in traces.iter().rev() {
        s.push_str("\n… ");
        s.push_str(t);
    }
    s
}

impl Error {
    /// Classifies an I/O error on the connection: a closed or reset connection means the
    /// daemon went away.
    pub fn from_io(e: io::Error) -> Error {
        if is_disconnection(e.kind()) {
            Error::Disconnected
        } else {
            Error::Io(strerror(&e))
        }
    }

    /// Returns whether the connection can still be used after this error: only when the
    /// daemon itself reported it (it then waits for the next request).
    pub fn keeps_connection(&self) -> bool {
        matches!(self, Error::Remote { .. } | Error::Unsupported { .. })
    }
}

impl From<io::Error> for Error {
    fn from(e: io::Error) -> Error {
        Error::from_io(e)
    }
}

/// The result type of the client.
pub type Result<T> = std::result::Result<T, Error>;
