//! The `flake.lock` file (spec Part C): the node graph, reading versions 5–7, writing
//! version 7 byte for byte as Nix does, follows resolution with cycle detection, and the
//! `• Added input …` diff Nix prints when the lock changes.
//!
//! Mirrors the Nix source's `src/libflake/lockfile.cc` (`LockFile`, `LockedNode`,
//! `LockFile::toJSON`, `LockFile::check`, `LockFile::findInput`, `LockFile::isUnlocked`,
//! `LockFile::getAllInputs`, `LockFile::diff`) and the follows resolution of
//! `src/libflake/flake.cc`.
//!
//! The pieces, one file each:
//!
//! - `read.rs`: [`LockFile::parse`] (spec C2) and [`LockFile::check_locked`];
//! - `write.rs`: key assignment and serialisation, [`LockFile::to_json`] and
//!   [`LockFile::to_text`] (spec C1, C3);
//! - `follows.rs`: [`LockFile::resolve`], [`LockFile::check`], [`LockFile::all_inputs`] and
//!   [`LockFile::find_unlocked`] (spec C6);
//! - `diff.rs`: [`diff()`] and the description of an edge (spec C5).
//!
//! This is a pure format module: no file I/O, no environment, no clock. Callers read and write
//! the file (see `crate::util::fs::write_atomic`).
//!
//! # Deviations
//!
//! - Nix checks each node's lockedness while it builds the graph; rflake does it in a separate
//!   pass, [`LockFile::check_locked`], after the graph is built. When a file has both a
//!   structural error (e.g. a missing node) and an unlocked node, the error reported first can
//!   differ.
//! - Nix marks every node read from a lock file `__final` in memory. rflake does not store the
//!   marker: nodes of a lock file are final by construction, and [`LockFile::find_unlocked`]
//!   does not look at finality. `__final` in a `locked` ref is never written and is ignored by
//!   the diff.
//! - [`LockFile::find_unlocked`] returns the first unlocked node in depth-first, sorted order;
//!   Nix returns one in the (unspecified) pointer order of its node set.
//! - Errors that Nix gets from its JSON library's type checks (e.g. a `flake` that is not a
//!   Boolean) are worded as that library words them (`[json.exception.type_error.302] type must
//!   be boolean, but is number`); JSON syntax errors carry serde_json's message instead of
//!   nlohmann's.
//! - [`diff()`] returns plain text: Nix colours the headings (green/red/bold), which only shows
//!   on a terminal; the CLI layer may add colours.

mod diff;
mod follows;
mod read;
mod write;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use crate::flake::InputPath;
use crate::flakeref::FlakeRef;

pub use diff::{describe_edge, diff};

/// An index into [`LockFile::nodes`].
pub type NodeId = usize;

/// How deep a lock file's inputs may nest. Real flake graphs are a few levels deep; the bound
/// keeps every walk over the graph (locking, `flake archive`, `flake metadata`) in bounded
/// stack, whatever the file says.
pub const MAX_DEPTH: usize = 1000;

/// A lock file: an arena of nodes; [`LockFile::root`] is the root node (no `locked`).
#[derive(Debug, Clone, PartialEq)]
pub struct LockFile {
    /// The nodes. Shared nodes appear once and are referenced by several edges.
    pub nodes: Vec<Node>,
    /// The root node's index (0 in files rflake builds).
    pub root: NodeId,
}

/// A node of the graph.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Node {
    /// The node's inputs, by name.
    pub inputs: BTreeMap<String, Edge>,
    /// What the node locks; `None` for the root.
    pub locked: Option<Locked>,
}

/// The lock of a non-root node (Nix's `LockedNode`).
#[derive(Debug, Clone, PartialEq)]
pub struct Locked {
    /// `locked`: the fetched, pinned reference (attributes in the order Nix sorts them).
    pub locked: FlakeRef,
    /// `original`: the reference as written in `flake.nix`.
    pub original: FlakeRef,
    /// `flake` (false for `flake = false` inputs).
    pub is_flake: bool,
    /// `parent`: for relative path inputs, the input path of the node whose `flake.nix`
    /// declared it (`[]` for the root).
    pub parent: Option<InputPath>,
}

/// An edge: to a node, or a follows path from the root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Edge {
    /// The input is the node with this index.
    Node(NodeId),
    /// The input follows this path (from the root of the lock file; `[]` is the root flake).
    Follows(InputPath),
}

/// Errors reading or checking lock files, worded as Nix words them.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Any error; the message is complete.
    #[error("{0}")]
    Msg(String),
    /// The text is not JSON.
    #[error("Could not parse '{path}': {message}")]
    Parse {
        /// The lock file's name.
        path: String,
        /// The JSON parser's message.
        message: String,
    },
    /// `version` is not 5, 6 or 7.
    #[error("lock file '{path}' has unsupported version {version}")]
    UnsupportedVersion {
        /// The lock file's name.
        path: String,
        /// The version found (0 when absent).
        version: i64,
    },
    /// An edge names a node key that `nodes` does not have.
    #[error("lock file references missing node '{0}'")]
    MissingNode(String),
    /// An edge names the root node.
    #[error("lock file contains cycle to root node")]
    CycleToRoot,
    /// The inputs nest deeper than [`MAX_DEPTH`] levels.
    #[error("lock file nests inputs more than {MAX_DEPTH} levels deep")]
    TooDeep,
    /// A node lacks `locked` or `original`.
    #[error("attribute '{0}' missing in lock file")]
    MissingAttr(&'static str),
    /// A `locked` or `original` ref is invalid (bad attribute type, bad `narHash`, …).
    #[error(transparent)]
    Ref(#[from] crate::flakeref::Error),
    /// A node is neither locked nor relative and has no `narHash`.
    #[error(
        "Lock file contains unlocked input '{0}'. Use '--allow-dirty-locks' to accept this lock file."
    )]
    Unlocked(String),
    /// Resolving a follows path met a path already being resolved; the paths, `/`-joined.
    #[error("follow cycle detected: [{}]", .0.join(" -> "))]
    FollowCycle(Vec<String>),
    /// A follows edge leads nowhere.
    #[error("input '{input}' follows a non-existent input '{follows}'")]
    NonExistentFollows {
        /// The input path of the follows edge.
        input: String,
        /// The path it follows.
        follows: String,
    },
}

impl Default for LockFile {
    fn default() -> LockFile {
        LockFile {
            nodes: vec![Node::default()],
            root: 0,
        }
    }
}

impl LockFile {
    /// Adds a node and returns its index.
    pub fn add(&mut self, node: Node) -> NodeId {
        self.nodes.push(node);
        self.nodes.len() - 1
    }

    /// The lock of node `id`; `None` for the root (or an index out of range).
    pub fn locked(&self, id: NodeId) -> Option<&Locked> {
        self.nodes.get(id).and_then(|n| n.locked.as_ref())
    }

    /// Whether the lock has no inputs at all (Nix writes no lock file for such a flake).
    pub fn is_empty(&self) -> bool {
        self.nodes
            .get(self.root)
            .is_none_or(|root| root.inputs.is_empty())
    }
}

/// Whether `r` is a relative path reference: type `path` whose `path` does not start with `/`
/// (Nix's `Input::isRelative`).
pub fn is_relative(r: &FlakeRef) -> bool {
    crate::flake::relative_path(&r.input).is_some()
}
