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
//!   effects     settings (nix.conf), registry::layers, registry::global (downloads),
//!    │          store::local, store::binary_cache, store::copy, store::open
//!   formats     hash, flakeref, registry model (registry.json), store paths, ca, NAR, narinfo
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
//! | store paths, NAR, `ca`, path info (`libstore/path.cc`, `libutil/archive.cc`) | [`store::path`], [`store::nar`], [`store::ca`], [`store::path_info`] |
//! | the local store (`libstore/local-store.cc`), store URIs | [`store::local`], [`store::uri`], [`store::open`] |
//! | binary caches, `.narinfo`, signatures (`libstore/binary-cache-store.cc`) | [`store::binary_cache`], [`store::narinfo`], [`store::signature`], [`store::compression`] |
//! | copying closures (`copyPaths`) | [`store::copy`] |
//! | the `nix` command line | [`cli`] |

pub mod cli;
pub mod fetch;
pub mod flake;
pub mod flakeref;
pub mod hash;
pub mod registry;
pub mod report;
pub mod settings;
pub mod store;
pub mod util;
