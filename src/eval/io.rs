//! What the evaluator needs from the world, as a trait (STYLE §9: effects stay outside the
//! language core): reading files, adding paths and texts to the store, the environment and
//! the clock. `crate::eval_io` implements it with the store and fetch layers; tests can give
//! a fake.

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
}
