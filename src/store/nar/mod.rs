//! NAR, the Nix ARchive: Nix's canonical serialisation of a file system object (a regular
//! file, executable or not, a symlink, or a directory of them).
//!
//! Mirrors the Nix source's `src/libutil/archive.cc`. [`dump`] writes a NAR of a tree on disk,
//! [`hash_path`] hashes one (reading files in parallel), [`dump_filtered`] writes one leaving
//! out what a filter rejects, [`parse`] reads a NAR strictly and
//! [`restore`] materialises one on disk.
//!
//! # Deviations
//!
//! None known: the reader is as strict as current Nix (sorted names, depth ≤ 64, names ≤ 255
//! bytes, symlink targets ≤ 4095 bytes); Nix 2.8 was laxer.

mod dump;
mod filtered;
mod read;
mod restore;
mod small;

pub use dump::{Copied, DumpError, StoreMeta, copy_tree, dump, hash_path, hash_path_with_mtime};
pub use filtered::{FilterError, Kind, dump_filtered, kind_of};
pub use read::{Check, Entry, ParseError, Visitor, parse};
pub use restore::{RestoreError, restore};
pub use small::{SmallTree, hash_small};

/// The magic string every NAR starts with.
pub const MAGIC: &str = "nix-archive-1";

#[cfg(test)]
mod tests;
