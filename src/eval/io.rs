//! What the evaluator needs from the world, as a trait (STYLE §9: effects stay outside the
//! language core): reading files, adding paths and texts to the store, the environment and
//! the clock, fetching trees and flakes. `crate::eval_host` implements it with the store,
//! fetch and flake layers; tests can give a fake.

use crate::flakeref::Input;
use crate::hash::Hash;

use super::value::Value;

/// A tree fetched into the store: its store path and the locked input (Nix's `fetchTree`
/// result before it becomes attributes, see [`super::builtins::tree_attrs`]).
#[derive(Clone, Debug)]
pub struct FetchedTree {
    /// The store path, printed.
    pub path: String,
    /// The locked input (`narHash`, `rev`, `lastModified`, … as the fetcher learned them).
    pub input: Input,
}

/// What `fetchurl` and `fetchTarball` ask for.
#[derive(Clone, Debug)]
pub struct UrlFetch<'a> {
    /// The URL.
    pub url: &'a str,
    /// The store path name.
    pub name: &'a str,
    /// `sha256`: the flat (file) or NAR (tarball) hash expected.
    pub sha256: Option<&'a Hash>,
    /// Unpack an archive (`fetchTarball`) rather than keep the file (`fetchurl`).
    pub unpack: bool,
}

/// What `builtins.path` and `builtins.filterSource` add to the store.
#[derive(Clone, Debug)]
pub struct AddPath<'a> {
    /// The file or tree.
    pub path: &'a str,
    /// The store path name.
    pub name: &'a str,
    /// The NAR serialisation (`true`) or the flat bytes of a regular file.
    pub recursive: bool,
    /// `sha256`: the content hash the result must have (a valid path with it is used as is).
    pub expected: Option<&'a Hash>,
    /// Compute the path only (`--read-only`).
    pub dry: bool,
}

/// A path filter: called with each entry's path and type, true to keep it. Its error is a
/// complete message (empty when the caller keeps the real error itself).
pub type PathFilter<'a> = &'a mut dyn FnMut(&str, FileType) -> Result<bool, String>;

const NO_FETCH: &str = "fetching is not available in this evaluation";

/// A file's type.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum FileType {
    /// A regular file.
    Regular,
    /// A directory.
    Directory,
    /// A symbolic link.
    Symlink,
    /// Anything else (a device, a socket, …).
    Unknown,
}

impl FileType {
    /// Nix's name (`readDir`, `readFileType`).
    pub fn name(self) -> &'static str {
        match self {
            FileType::Regular => "regular",
            FileType::Directory => "directory",
            FileType::Symlink => "symlink",
            FileType::Unknown => "unknown",
        }
    }
}

/// The evaluator's access to the world. Errors are complete messages.
pub trait Io {
    /// The store directory, e.g. `/nix/store`.
    fn store_dir(&self) -> &str;
    /// A file's bytes.
    fn read_file(&self, path: &str) -> Result<Vec<u8>, String>;
    /// A path's type (following symlinks when `follow`), or `None` when it does not exist.
    fn file_type(&self, path: &str) -> Result<Option<FileType>, String>;
    /// The type of a path itself (not following a final symlink).
    fn lstat_type(&self, path: &str) -> Result<Option<FileType>, String>;
    /// A symbolic link's target.
    fn read_link(&self, path: &str) -> Result<String, String> {
        Err(format!("'{path}' is not a symlink"))
    }
    /// A directory's entries, with their types.
    fn read_dir(&self, path: &str) -> Result<Vec<(String, FileType)>, String>;
    /// Adds the file or tree at `path` to the store as a `source` path named `name`
    /// (computing the path only when `dry`); the store path.
    fn add_path(&self, path: &str, name: &str, dry: bool) -> Result<String, String>;
    /// Adds a text with references as a `text` store object; the store path.
    fn add_text(
        &self,
        name: &str,
        text: &[u8],
        refs: &[String],
        dry: bool,
    ) -> Result<String, String>;
    /// An environment variable (impure evaluation).
    fn get_env(&self, name: &str) -> Option<String>;
    /// `$HOME`.
    fn home(&self) -> Option<String>;
    /// Seconds since the epoch.
    fn now(&self) -> i64;
    /// Shows a line of `trace`/`warn` output (on stderr, in order with other messages).
    fn message(&self, line: &str);

    /// Adds a file or tree as a fixed-output (content-addressed) path, leaving out what
    /// `filter` rejects (Nix's `addPath`); the store path.
    fn add_path_filtered(
        &self,
        req: &AddPath<'_>,
        filter: Option<PathFilter<'_>>,
    ) -> Result<String, String> {
        let _ = (req, filter);
        Err("adding paths is not available in this evaluation".into())
    }

    /// Fetches a direct or (in impure evaluation) indirect input into the store (Nix's
    /// `fetchTree` after the arguments are checked); `is_final` for the inputs of a lock file.
    /// The tree becomes readable in pure evaluation.
    fn fetch_tree(&self, input: &Input, is_final: bool) -> Result<FetchedTree, String> {
        let _ = (input, is_final);
        Err(NO_FETCH.into())
    }

    /// Downloads a URL into the store (`fetchurl`, `fetchTarball`): the store path.
    fn fetch_url(&self, req: &UrlFetch<'_>) -> Result<String, String> {
        let _ = req;
        Err(NO_FETCH.into())
    }

    /// Builds (or finds valid) the outputs `(derivation path, output name)` an evaluation
    /// is about to read (import from derivation, Nix's `realiseContext`).
    fn realise(&self, outputs: &[(String, String)]) -> Result<(), String> {
        match outputs.first() {
            None => Ok(()),
            Some((drv, _)) => Err(format!(
                "cannot build '{drv}' during evaluation: building is not available in this evaluation"
            )),
        }
    }

    /// Locks the flake `flake_ref` (a flake reference, or an absolute path when `is_path`)
    /// without writing its lock file, and calls its outputs (`builtins.getFlake`).
    fn get_flake(&self, flake_ref: &str, is_path: bool) -> Result<Value, String> {
        let _ = (flake_ref, is_path);
        Err(NO_FETCH.into())
    }
}
