//! Helpers shared by the integration tests.
//!
//! - [`TestEnv`]: an isolated home, XDG directories, Nix configuration and store, and a way to run
//!   `rflake` (or the real `nix`) inside it.
//! - [`CommandOutput`]: what a command printed, rendered for insta snapshots.
//! - [`Differential`]: two identical `TestEnv`s, one for Nix 2.8 (the oracle) and one for rflake.
//! - [`HttpServer`]: a loopback HTTP server for download tests (the global registry).
//! - [`GitRepo`]: git fixtures with fixed identity and dates; [`GitDaemon`] and
//!   [`GitHttpServer`] serve them over `git://` and smart HTTP.
//! - [`NixDaemon`]: a real `nix-daemon` on a private store.
//! - [`SshServer`]: a real OpenSSH server on loopback whose sessions use a private Nix store.
//! - [`KillOnDrop`]: a child process killed when the test ends, also on a failed assertion.

// Each test file uses a different subset of the helpers.
#![allow(dead_code, unused_imports)]
// `allow-unwrap-in-tests` covers only `#[test]` functions; in helpers, too, a failed unwrap is a
// test failure.
#![allow(clippy::unwrap_used)]

mod env;
mod git;
mod git_server;
mod http;
mod kill_on_drop;
mod nix_daemon;
mod oracle;
mod output;
mod ssh_server;

pub use env::{GLOBAL_REGISTRY, TestEnv, USER_REGISTRY};
pub use git::{FIRST_COMMIT_TIME, GitRepo, git_command, git_in};
pub use git_server::{GitDaemon, GitHttpServer};
pub use http::{HttpServer, Request, Response};
pub use kill_on_drop::KillOnDrop;
pub use nix_daemon::NixDaemon;
pub use oracle::{Differential, nix_available, pin_with_both, require_nix};
pub use output::CommandOutput;
pub use ssh_server::SshServer;
