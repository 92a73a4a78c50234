//! Errors of the local store, worded as Nix words them.

use std::path::PathBuf;

use crate::store::nar;
use crate::util::fs;

/// The schema version rflake reads and writes (Nix's `nixSchemaVersion`).
pub const SCHEMA_VERSION: u32 = 10;

/// Everything that can go wrong while opening, reading or adding to a local store.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file system operation failed; the error names the path.
    #[error(transparent)]
    Io(#[from] fs::Error),
    /// An SQLite operation on the metadata database failed.
    #[error("{action}: {source}")]
    Sqlite {
        /// What was being done, e.g. `querying path info`.
        action: &'static str,
        /// The SQLite error.
        source: rusqlite::Error,
    },
    /// The `schema` file holds something other than a number.
    #[error("\"{0}\" is corrupt")]
    SchemaCorrupt(PathBuf),
    /// The store was created by a newer Nix.
    #[error("current Nix store schema is version {0}, but I only support {SCHEMA_VERSION}")]
    SchemaTooNew(u32),
    /// The store has an old schema that only Nix can upgrade.
    #[error(
        "Nix store schema is version {0}, which rflake cannot upgrade; open the store with \
         Nix once to upgrade it to version {SCHEMA_VERSION}"
    )]
    SchemaTooOld(u32),
    /// A row of `ValidPaths` does not parse.
    #[error("invalid-path entry for '{path}': {msg}")]
    BadEntry {
        /// The printed store path (or the bad value).
        path: String,
        /// What is wrong.
        msg: String,
    },
    /// The path is not valid in this store.
    #[error("path '{0}' is not valid")]
    NotValid(String),
    /// The NAR is not the one its path info describes.
    #[error(transparent)]
    Mismatch(#[from] crate::store::path_info::ImportMismatch),
    /// The content does not hash to the hash of the `ca` field.
    #[error(
        "ca hash mismatch importing path '{path}';\n  specified: {specified}\n  got:       {got}"
    )]
    CaHashMismatch {
        /// The printed store path.
        path: String,
        /// The hash of the content address (`algo:nix32`).
        specified: String,
        /// The hash of the content (`algo:nix32`).
        got: String,
    },
    /// A file system tree did not hash to the NAR hash the caller expected.
    #[error("NAR hash mismatch in '{src}':\n  specified: {specified}\n  got:       {got}")]
    TreeHashMismatch {
        /// The tree that was added.
        src: PathBuf,
        /// The expected hash (SRI).
        specified: String,
        /// The actual hash (SRI).
        got: String,
    },
    /// The `ca` field does not produce the path.
    #[error(
        "cannot add path '{0}' to the Nix store because it claims to be content-addressed but isn't"
    )]
    NotContentAddressed(String),
    /// Signatures are required and none is by a trusted key.
    #[error("cannot add path '{0}' because it lacks a signature by a trusted key")]
    Untrusted(String),
    /// The references of a batch form a cycle.
    #[error("cycle detected in the references of '{path}' from '{parent}'")]
    Cycle {
        /// The path reached again.
        path: String,
        /// The path referring to it.
        parent: String,
    },
    /// A FIFO, socket or device in a tree being added.
    #[error("file \"{0}\" has an unsupported type")]
    UnsupportedType(PathBuf),
    /// A store path or name is invalid.
    #[error(transparent)]
    Path(#[from] crate::store::path::Error),
    /// Restoring a NAR failed (malformed or truncated NAR, or an I/O error).
    #[error(transparent)]
    Restore(#[from] nar::RestoreError),
    /// Serialising a tree failed.
    #[error(transparent)]
    Dump(#[from] nar::DumpError),
}

impl Error {
    /// Returns whether the tree being added changed under the copy: a file listed in its
    /// directory was gone when it was opened, or changed size while it was read.
    pub fn is_tree_changing(&self) -> bool {
        match self {
            Error::Dump(nar::DumpError::Changed(_)) => true,
            Error::Dump(nar::DumpError::Io { source, .. }) => {
                source.kind() == std::io::ErrorKind::NotFound
            }
            _ => false,
        }
    }

    /// Wraps an SQLite error with what was being done.
    pub(super) fn sqlite(action: &'static str) -> impl FnOnce(rusqlite::Error) -> Error {
        move |source| Error::Sqlite { action, source }
    }

    /// Wraps an I/O error with the action and the path.
    pub(super) fn io(
        action: &'static str,
        path: &std::path::Path,
    ) -> impl FnOnce(std::io::Error) -> Error {
        let path = path.to_owned();
        move |io| Error::Io(fs::Error { action, path, io })
    }
}
