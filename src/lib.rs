//! rflake: a drop-in, Rust re-implementation of a part of Nix's command line:
//! `nix flake archive`, `nix registry add|list|pin|remove|resolve` and
//! `nix profile upgrade`.
//!
//! # Layers
//!
//! A module may use only the layers beneath it:
//!
//! ```text
//!   cli         clap, Printer, error rendering, exit codes, env vars, XDG dirs
//!    │
//!   operations  (later issues) locking, flake archive, registry pin, profile upgrade
//!    │
//!   effects     settings (nix.conf), registry::layers, registry::global (downloads)
//!    │
//!   formats     hash, flakeref, registry model (registry.json), no I/O
//! ```
//!
//! # Nix concept → module
//!
//! | Nix concept | Module |
//! |---|---|
//! | hashes (`nix32`, SRI, base16/base64) | [`hash`] |
//! | flake references, inputs, URL syntax (`libflake/flakeref.cc`, `libfetchers/*`) | [`flakeref`] |
//! | flake registries (`libflake/flake-registry`, `nix registry`) | [`registry`] |
//! | configuration (`nix.conf`, `NIX_CONFIG`, `--option`) | [`settings`] |
//! | the `nix` command line | [`cli`] |

pub mod cli;
pub mod flakeref;
pub mod hash;
pub mod registry;
pub mod report;
pub mod settings;
pub mod store;
pub mod util;
