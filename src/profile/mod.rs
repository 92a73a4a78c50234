//! Profiles (Nix's `src/libstore/profiles.cc`, `src/nix/profile.cc`,
//! `src/libstore/builtins/buildenv.cc`): where they live, their generations, their
//! `manifest.json`, and the store object each generation points at. Spec Part P.
//!
//! Formats (no I/O): [`manifest`] (versions 1–3, `manifest.nix`), [`drv_name`], [`url_name`],
//! [`buildenv`] (the symlink tree, planned over a [`buildenv::Tree`]), [`matchers`] (the
//! elements a command names), [`history`] (the lines of `profile history`).
//!
//! Effects: [`location`] (the default profile), [`generations`] (listing, creating and
//! switching generations, GC roots, the profile lock), [`read`] (a profile's manifest from
//! disk), [`object`] (building and adding the profile store object).

pub mod drv_name;
pub mod generations;
pub mod history;
pub mod location;
pub mod manifest;
pub mod matchers;
mod nar_tree;
pub mod object;
pub mod read;
pub mod url_name;

// The symlink tree and chroot-store reading live with the builders (`builtin:buildenv` uses
// them too).
pub use crate::build::{buildenv, store_fs};
