//! rflake: a drop-in, Rust re-implementation of a part of Nix's command line:
//! `nix flake archive`, `nix registry add|list|pin|remove|resolve` and
//! `nix profile upgrade`.
//!
//! This page is the one map of the code: the layers, then every Nix concept and the file that
//! holds it. `docs/architecture.md` follows one `flake archive` and one `registry pin` through
//! it.
//!
//! # Layers
//!
//! A module uses only its own layer and the layers beneath it, and no two top-level modules
//! import each other:
//!
//! ```text
//!   cli         clap types, one file per command (parse, call one operation, render), Printer,
//!    │          error rendering, exit codes; the only reader of env vars, cwd, clock (cli/env.rs)
//!    │
//!   operations  flake::session   the store, fetcher cache, fetch env and registries of a command
//!    │          flake::lock      locking (computeLocks), the lock flags, writing flake.lock
//!    │          flake::load      getting a flake: resolve, fetch, read flake.nix
//!    │          flake::archive   flake archive        flake::metadata   flake metadata
//!    │          flake::prefetch  flake prefetch       flake::pin        registry pin
//!    │          eval_host       the evaluator's world (files, store)
//!    │          eval_trace      what an evaluation observed; the cache of `build -f`
//!    │          build           realising derivations: the goal graph, the local builder
//!    │          profile          profiles: generations, the profile object (effects);
//!    │                           manifests and buildenv planning are formats;
//!    │                           profile upgrade (cli/profile_upgrade*.rs)
//!    │
//!   language    eval: parse, lower, machine, builtins, print; the world only through
//!    │          eval::io::Io (implemented above it by eval_host); uses formats, not effects
//!    │
//!   effects     settings (nix.conf)   registry (layers, global download, edit)
//!    │          fetch (path, git, tarball/file, github/gitlab/sourcehut, hg)
//!    │          store (local, binary caches, the Nix daemon, ssh/serve, copy, open)   report
//!    │
//!   formats     hash, flakeref, registry model (registry.json), store paths, ca, NAR, narinfo,
//!    │          store derivations (ATerm, hash modulo),
//!    │          flake::decl (flake.nix inputs), flake::lockfile (flake.lock); no I/O, no clock
//!    │
//!   util        fs (errors naming the path, atomic writes, FsProbe), http (the one HTTP
//!               client), time, xattr: imports nothing of the crate
//! ```
//!
//! # Nix concept → module
//!
//! | Nix concept (Nix source) | Module |
//! |---|---|
//! | hashes: nix32, base16, base64, SRI (`libutil/hash.cc`) | [`hash`] |
//! | URL syntax under flake references (`libutil/url.cc`) | [`flakeref::url`] |
//! | flake reference parsing, path-like references (`libflake/flakeref.cc`) | [`flakeref`] (`parse.rs`, `local.rs`) |
//! | inputs and their vocabulary: `__final`, `narHash`, store name, display (`libfetchers/fetchers.cc`) | [`flakeref::Input`] |
//! | **a new flake-ref type**: URL ↔ attributes, validation, lockedness | [`flakeref::types`] (one file per type) and [`flakeref::Kind`]; its fetcher in [`fetch`] |
//! | legal git ref names (`libfetchers/git-utils.cc`) | [`flakeref::refname`] |
//! | installables `FLAKE#attr` | [`flakeref::installable`] |
//! | configuration: `nix.conf`, `NIX_CONFIG`, `--option`, `--<setting>` (`libutil/configuration.cc`, `libstore/globals.cc`) | [`settings`] (`known.rs` lists every setting) |
//! | registry file format and resolution (`libflake/flake-registry.cc`) | [`registry`], [`registry::resolve`] |
//! | registry layers, the global registry download | [`registry::layers`], [`registry::global`] |
//! | the built-in snapshot of the default global registry (rflake only: used when it cannot be had) | [`registry::builtin`] (`default-registry.json`) |
//! | **a new `registry` subcommand** | `cli/registry.rs` (arguments, rendering) and its operation: [`registry::edit`] for file edits, [`flake::pin`] or a new `flake/` file when it fetches |
//! | fetching: the pipeline, `checkLocks` (`libfetchers/fetchers.cc`, `fetch-to-store.cc`) | [`fetch`] |
//! | the fetcher cache (`libfetchers/cache.cc`) | [`fetch::cache`] |
//! | `path`, `git`, `tarball`/`file`, `github`/`gitlab`/`sourcehut`, `hg` inputs (`libfetchers/*.cc`) | [`fetch::path`], [`fetch::git`], [`fetch::tarball`], [`fetch::forge`], [`fetch::hg`] |
//! | downloads: redirects, retries, offline (`libstore/filetransfer.cc`) | [`fetch::http`] over [`util::http`] |
//! | store paths, `makeStorePath` (`libstore/path.cc`, `store-api.cc`) | [`store::path`] |
//! | NAR (`libutil/archive.cc`), content addresses, path info | [`store::nar`], [`store::ca`], [`store::path_info`] |
//! | the local store: layout, DB, locks, temp roots (`libstore/local-store.cc`) | [`store::local`] |
//! | binary caches, `.narinfo`, signatures, compression | [`store::binary_cache`], [`store::narinfo`], [`store::signature`], [`store::compression`] |
//! | the Nix daemon (`daemon`, `unix://`): the worker protocol (`libstore/remote-store.cc`, `worker-protocol*.cc`, `daemon.cc`) | [`store::daemon`] (a new operation goes in [`store::daemon::ops`]) |
//! | SSH to another machine's Nix (`ssh-ng://`, `ssh://`; `libstore/ssh.cc`, `ssh-store.cc`, `legacy-ssh-store.cc`, `serve-protocol*.cc`) | [`store::ssh`] (the transport), [`store::daemon`] (`ssh-ng://`), [`store::serve`] (`ssh://`) |
//! | **a new store URI scheme**: parsing, `auto` (`libstore/store-reference.cc`) | [`store::uri`]; opening it (`libstore/store-open.cc`) in [`store::open`]; the store itself implements [`store::Store`] |
//! | copying closures (`copyPaths`), their byte progress | [`store::copy`], [`store::meter`] |
//! | `flake.nix` inputs, follows, `nixConfig`, read without evaluating (`libflake/flake.cc`) | [`flake::decl`] |
//! | what a `flake.nix` in the store declares, kept between runs (beyond Nix) | [`flake::decl_cache`] |
//! | `flake.lock`: read v5–7, write v7, follows, diff (`libflake/lockfile.cc`) | [`flake::lockfile`] |
//! | what a flake command sets up (`MixFlakeOptions`, `--inputs-from`) | [`flake::session`] |
//! | getting a flake (`getFlake`) | [`flake::load`] |
//! | locking (`lockFlake`, `computeLocks`) | [`flake::lock`] |
//! | **a new lock flag**: its clap argument in `cli/args.rs` (`FlakeArgs`), translated in `cli/lock_args.rs`, obeyed through [`flake::lock::Flags`] | `cli/args.rs`, `cli/lock_args.rs`, [`flake::lock`] |
//! | `flake archive` (`CmdFlakeArchive`) | [`flake::archive`], `cli/flake_archive.rs` |
//! | rflake additions to `flake archive` (`--check`, `--print-paths`, `--json-lines`, `--inputs-only`, `--input`, `--exclude`; `docs/deviations.md` "Additions") | [`flake::archive::check`], [`flake::archive::run_streaming`], [`flake::selection`]; the frozen lock check in [`flake::lock::Flags::frozen`] |
//! | rflake additions to `registry` (`list --json`/`--registry`, `resolve --explain`, `pin --dry-run`) | [`registry::resolve::explain`] (rendered by `cli/registry_explain.rs`), [`flake::pin::dry_run`], `cli/registry.rs` |
//! | `flake metadata` (`CmdFlakeMetadata`) | [`flake::metadata`], `cli/flake_metadata.rs` |
//! | `flake prefetch` (`CmdFlakePrefetch`) | [`flake::prefetch`], `cli/flake.rs` |
//! | `registry add`/`remove`/`list`/`resolve`/`pin` (`src/nix/registry.cc`) | [`registry::edit`], [`registry::layers::Registries`], [`flake::pin`], `cli/registry.rs` |
//! | warnings, notices, progress (`Logger`), activities, `--log-format` | [`report`], [`report::activity`]; rendered by `cli/output.rs`, `cli/log_json.rs` (`internal-json`) |
//! | the `nix` command line, shell completions | [`cli`] (`completions.rs`, `completions_zsh.rs`) |
//! | setting flags in `--help`, `hint:` lines, usage lines of usage errors (`convertToArgs`, `args.cc`) | `cli/settings_help.rs`, `cli/hints.rs`, `cli/usage.rs` |
//! | store derivations: the `.drv` ATerm, `DerivationOutput` kinds, `hashDerivationModulo`, output paths and placeholders, `derivationStrict`'s outputs, derivation names (`libstore/derivations.cc`, `libstore/derivation/*.cc`) | [`store::derivation`] |
//! | the Nix language: parsing, `bindVars`, `EvalState` (`libexpr/parser.y`, `nixexpr.cc`, `eval.cc`) | [`eval::parse`], [`eval::lower`], [`eval::machine`] |
//! | values, string context, printing (`value.hh`, `value/context.cc`, `print.cc`) | [`eval::value`], [`eval::context`], [`eval::print`](mod@eval::print) |
//! | **a new builtin** (`primops.cc`, `primops/*.cc`) | a `PrimOp` in the family's file under [`eval::builtins`], chained in `builtins/mod.rs` |
//! | `derivation`, `derivationStrict` (`derivation.nix`, `primops.cc`) | [`eval::builtins::prelude`], `eval/builtins/derivation.rs` |
//! | what the evaluator needs from the world (files, store, environment) | [`eval::io::Io`], implemented by [`eval_host`] |
//! | `nix eval` (`src/nix/eval.cc`) | `cli/eval.rs` |
//! | the cache of `build -f`/`--expr` installables (beyond Nix: its eval cache is for flakes) | [`eval_trace`], `cli/build/cached.rs` |
//! | calling a locked flake's `outputs` (`callFlake`, `call-flake.nix`) | [`flake::call`] |
//! | the fetch builtins and `getFlake` (`primops/fetchTree.cc`, `flake-primops.cc`) | checks in `eval/builtins/fetch.rs`, fetching in [`flake::builtins`], reached through [`eval_host`] |
//! | `nixConfig` of a flake (`ConfigFile::apply`, `libflake/config.cc`) | [`flake::config`] |
//! | flake installables of `eval` (`InstallableFlake`, default attribute paths) | `cli/eval_flake.rs` |
//! | profiles on disk: the default profile, generations, GC roots (`libstore/profiles.cc`) | [`profile::location`], [`profile::generations`] |
//! | `manifest.json` v1–3, `manifest.nix`, element names (`src/nix/profile.cc`, `libflake/url-name.cc`, `names.cc`) | [`profile::manifest`], [`profile::url_name`], [`profile::drv_name`] |
//! | the profile object: buildenv, priorities, conflicts (`builtins/buildenv.cc`, `ProfileManifest::build`) | [`profile::buildenv`], [`profile::object`] |
//! | `profile list`, `history`, `upgrade`'s matchers (`src/nix/profile.cc`) | `cli/profile*.rs` (upgrading from a flake: `cli/profile_upgrade*.rs`), [`profile::matchers`], [`profile::history`] |
//! | realising derivations: goals, scheduling, `max-jobs` (`libstore/build/worker.cc`, `derivation-goal.cc`) | [`build::goal`] |
//! | the local builder: environment, logs, output checks, registration (`libstore/unix/build/*`) | [`build::builder`], [`build::env`], [`build::log`], [`build::scan`]; a chroot store's mount namespace in [`build::chroot`] |
//! | substitution: trying the substituters before building, `queryMissing` (`libstore/build/substitution-goal.cc`, `derivation-goal.cc`, `misc.cc`) | [`build::substitute`], `cli/build_subst.rs` |
//! | the Linux sandbox and build users (`linux-derivation-builder.cc`, `user-lock.cc`) | [`build::sandbox`] |
//! | `nix build`, result links as GC roots (`src/nix/build.cc`, `addPermRoot`) | `cli/build.rs`, `store::local::LocalStore::add_perm_root` |
//! | building through the daemon (`RemoteStore::buildPathsWithResults`, `BuildResult`) | [`build::daemon`], [`store::daemon::build_ops`], `cli/build/remote.rs` |
//! | remote builders (`machines.cc`, `build-remote.cc`, `buildDerivation`) | [`build::remote`], [`build::remote::machines`], [`store::serve::build`], `cli/build/builders.rs` |

pub mod build;
pub mod cli;
pub mod eval;
pub mod eval_host;
pub mod eval_trace;
pub mod fetch;
pub mod flake;
pub mod flakeref;
pub mod fuzzing;
pub mod hash;
pub mod profile;
pub mod registry;
pub mod report;
pub mod settings;
pub mod store;
pub mod util;
