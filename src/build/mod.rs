//! Realising derivations: building the outputs that are not valid yet, inputs first (Nix's
//! `Worker` and goals, `src/libstore/build/*`; the local builder of
//! `src/libstore/unix/build/*`; spec E4, E5).
//!
//! - [`goal`]: the goal graph: which derivations must be built for the wanted outputs, in
//!   dependency order, up to `max-jobs` at once; failures as Nix reports them. A goal is one
//!   derivation; how it is realised is the [`goal::Realiser`]'s business, so substitution,
//!   the daemon and remote builders plug in there.
//! - [`daemon`]: realising through a Nix daemon (`buildPathsWithResults`), the `.drv`
//!   closure uploaded first.
//! - [`remote`]: remote builders (the `builders` setting): a build sent to another machine
//!   over `ssh://` or `ssh-ng://`, inputs copied there first and outputs copied back.
//! - [`build_dir`]: build directories, and reclaiming those of killed builds.
//! - [`builder`]: one local build (E4.2's procedure): per-output locks, the system check
//!   ([`platform`]), build directory, environment ([`mod@env`]), logs ([`mod@log`]), output
//!   checks ([`checks`]), canonicalisation, reference scanning ([`scan`]), fixed-output hash
//!   checks, registration, or with `--rebuild` the comparison with the valid outputs
//!   ([`determinism`]).
//! - [`builtins`]: `builtin:fetchurl` and `builtin:buildenv` (whose symlink tree
//!   [`buildenv`] plans, reading packages through [`store_fs`]; profiles use both too).
//! - [`sandbox`]: the Linux sandbox (`sandbox = true`, the default) and build users.
//!
//! # Deviations
//!
//! - See [`sandbox`] for what its sandbox leaves out; a chroot store with `sandbox = false` is
//!   built unsandboxed ([`chroot`]), where Nix forces the sandbox.
//! - Messages are Nix 2.8's (`builder for '…' failed with exit code N;` …), the oracle the
//!   tests run, and `log-lines` defaults to 10 as in 2.8.
//! - After a failed build the unregistered outputs and the output lock files are deleted
//!   (Nix leaves them to the garbage collector).
//! - Floating content-addressed and impure derivations are refused.

pub mod build_dir;
pub mod buildenv;
pub mod builder;
pub mod builtins;
pub mod checks;
pub mod chroot;
pub mod daemon;
pub mod determinism;
pub mod env;
pub mod goal;
pub mod log;
pub mod platform;
pub mod remote;
pub mod sandbox;
pub mod scan;
pub mod store_fs;

use std::collections::BTreeMap;
use std::path::PathBuf;

/// How builds run (the build settings of `nix.conf` and the command line).
#[derive(Clone)]
pub struct Settings {
    /// `max-jobs`: how many builds run at once; 0 forbids local builds.
    pub max_jobs: u64,
    /// `cores` (`NIX_BUILD_CORES`); 0 is the number of CPUs.
    pub cores: u64,
    /// `log-lines`: how many last log lines a failure shows.
    pub log_lines: usize,
    /// `keep-failed`: keep the build directory of a failed build.
    pub keep_failed: bool,
    /// `keep-going`: go on building what does not depend on a failed build.
    pub keep_going: bool,
    /// `keep-build-log`.
    pub keep_build_log: bool,
    /// `compress-build-log`.
    pub compress_build_log: bool,
    /// Where build directories are made (`build-dir`, else `$TMPDIR`, else `/tmp`).
    pub build_dir_parent: PathBuf,
    /// The caller's environment (for the `impureEnvVars` of fixed-output derivations).
    pub caller_env: BTreeMap<String, String>,
    /// The rflake executable, which runs builders for a chroot store ([`chroot`]).
    pub helper: Option<PathBuf>,
    /// Downloads for `builtin:fetchurl`.
    pub fetcher: Option<std::sync::Arc<dyn builtins::Fetcher>>,
    /// The derivations whose (valid) outputs are built again and compared (`--rebuild`).
    pub check: std::collections::BTreeSet<crate::store::StorePath>,
    /// What this machine can build ([`platform`]).
    pub platform: platform::Platform,
    /// `sandbox`, `sandbox-paths`, … and `build-users-group`.
    pub sandbox: sandbox::Config,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            max_jobs: 1,
            cores: 0,
            log_lines: 10,
            keep_failed: false,
            keep_going: false,
            keep_build_log: true,
            compress_build_log: true,
            build_dir_parent: PathBuf::from("/tmp"),
            caller_env: BTreeMap::new(),
            helper: None,
            fetcher: None,
            check: std::collections::BTreeSet::new(),
            platform: platform::Platform::default(),
            sandbox: sandbox::Config::default(),
        }
    }
}

/// What a realisation reports while it runs.
pub trait Events: Sync {
    /// A build of the derivation `drv` (printed path) starts.
    fn building(&self, drv: &str);
    /// A line of the build log of the derivation named `name`.
    fn log_line(&self, name: &str, line: &str);
    /// An error reported now because a goal waiting for it goes on (Nix's `logError`).
    fn error(&self, msg: &str);
    /// A note (`note: keeping build directory …`).
    fn note(&self, msg: &str);
    /// A rebuild of the derivation `drv` to compare its outputs starts (`--rebuild`).
    fn checking(&self, drv: &str) {
        self.building(drv);
    }
    /// The goal of the derivation `drv` is done (`ok`: its outputs are valid).
    fn finished(&self, drv: &str, ok: bool) {
        let _ = (drv, ok);
    }
    /// A message printed as it is (`building '…' on '…'...`, remote builders' warnings).
    fn info(&self, _msg: &str) {}
}

/// An [`Events`] that reports nothing.
pub struct Quiet;

impl Events for Quiet {
    fn building(&self, _: &str) {}
    fn log_line(&self, _: &str, _: &str) {}
    fn error(&self, _: &str) {}
    fn note(&self, _: &str) {}
}

/// A build failure, worded as Nix 2.8 words it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The builder exited unsuccessfully.
    #[error("builder for '{drv}' {status}{}", tail_text(.drv, .tail, *.log_kept))]
    BuilderFailed {
        /// The derivation.
        drv: String,
        /// `failed with exit code N` or `failed due to signal N (name)`.
        status: String,
        /// The last log lines.
        tail: Vec<String>,
        /// Whether the log was kept (then `nix log` is suggested).
        log_kept: bool,
    },
    /// An output was not created.
    #[error("builder for '{drv}' failed to produce output path for output '{output}' at '{path}'")]
    MissingOutput {
        /// The derivation.
        drv: String,
        /// The output's name.
        output: String,
        /// Where it should be.
        path: String,
    },
    /// An output is group- or world-writable.
    #[error(
        "suspicious ownership or permission on '{path}' for output '{output}'; rejecting this build output"
    )]
    Suspicious {
        /// The output's path on disk.
        path: String,
        /// The output's name.
        output: String,
    },
    /// A flat fixed output that is not a plain file.
    #[error(
        "output path '{path}' should be a non-executable regular file since recursive hashing is not enabled (outputHashMode=flat)"
    )]
    NotRegularFile {
        /// The output's path on disk.
        path: String,
    },
    /// A fixed output whose hash is not the declared one.
    #[error(
        "hash mismatch in fixed-output derivation '{drv}':\n  specified: {specified}\n     got:    {got}"
    )]
    HashMismatch {
        /// The derivation.
        drv: String,
        /// The declared hash (SRI).
        specified: String,
        /// The hash of what was built (SRI).
        got: String,
    },
    /// A fixed output that refers to store paths.
    #[error("illegal path references in fixed-output derivation '{drv}'")]
    IllegalReferences {
        /// The derivation.
        drv: String,
    },
    /// Inputs failed.
    #[error("{count} dependencies of derivation '{drv}' failed to build")]
    DependencyFailed {
        /// How many inputs failed.
        count: usize,
        /// The derivation.
        drv: String,
    },
    /// Several wanted derivations failed.
    #[error("build of {paths} failed")]
    Several {
        /// The failed derivations, quoted and comma-separated.
        paths: String,
    },
    /// `max-jobs = 0` with something to build.
    #[error(
        "unable to start any build; either increase '--max-jobs' or enable remote builds.\nhttps://nixos.org/manual/nix/stable/advanced-topics/distributed-builds.html"
    )]
    NoJobs,
    /// The derivation needs another system or features this machine lacks.
    #[error(
        "a '{platform}' with features {{{required}}} is required to build '{drv}', but I am a '{system}' with features {{{features}}}"
    )]
    WrongSystem {
        /// The derivation's `system`.
        platform: String,
        /// Its `requiredSystemFeatures`, sorted, comma-separated.
        required: String,
        /// The derivation.
        drv: String,
        /// This machine's `system`.
        system: String,
        /// This machine's `system-features`, sorted, comma-separated.
        features: String,
    },
    /// `--rebuild` produced an output different from the valid one.
    #[error("derivation '{drv}' may not be deterministic: output '{path}' differs{}", .kept.as_ref().map(|k| format!(" from '{k}'")).unwrap_or_default())]
    NotDeterministic {
        /// The derivation.
        drv: String,
        /// The output's real path.
        path: String,
        /// Where the differing output was kept (`--keep-failed`).
        kept: Option<String>,
    },
    /// An output's NAR is larger than its `maxSize`.
    #[error("path '{path}' is too large at {size} bytes; limit is {limit} bytes")]
    TooLarge {
        /// The output.
        path: String,
        /// Its NAR size.
        size: u64,
        /// `maxSize`.
        limit: u64,
    },
    /// An output's closure is larger than its `maxClosureSize`.
    #[error("closure of path '{path}' is too large at {size} bytes; limit is {limit} bytes")]
    ClosureTooLarge {
        /// The output.
        path: String,
        /// The closure's total NAR size.
        size: u64,
        /// `maxClosureSize`.
        limit: u64,
    },
    /// `max-jobs = 0` and no remote machine fits: the whole realisation stops (Nix's worker
    /// throws).
    #[error(
        "unable to start any build; remote machines may not have all required system features.\nhttps://nixos.org/manual/nix/stable/advanced-topics/distributed-builds.html"
    )]
    NoMachine,
    /// Anything else (I/O, the store), as its message.
    #[error("{0}")]
    Other(String),
}

impl Error {
    /// Wraps any error as [`Error::Other`].
    pub fn other(e: impl std::fmt::Display) -> Error {
        Error::Other(e.to_string())
    }
}

fn tail_text(drv: &str, tail: &[String], log_kept: bool) -> String {
    if tail.is_empty() {
        return String::new();
    }
    let mut s = format!(";\nlast {} log lines:", tail.len());
    for l in tail {
        s.push_str("\n> ");
        s.push_str(l);
    }
    if log_kept {
        s.push_str(&format!("\nFor full logs, run 'nix log {drv}'."));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builder_failure_reads_as_nix_2_8() {
        let e = Error::BuilderFailed {
            drv: "/nix/store/x-a.drv".to_owned(),
            status: "failed with exit code 3".to_owned(),
            tail: vec!["one".to_owned(), "two".to_owned()],
            log_kept: true,
        };
        assert_eq!(
            e.to_string(),
            "builder for '/nix/store/x-a.drv' failed with exit code 3;\nlast 2 log lines:\n> one\n> two\nFor full logs, run 'nix log /nix/store/x-a.drv'."
        );
        let e = Error::BuilderFailed {
            drv: "/nix/store/x-a.drv".to_owned(),
            status: "failed with exit code 1".to_owned(),
            tail: vec![],
            log_kept: true,
        };
        assert_eq!(
            e.to_string(),
            "builder for '/nix/store/x-a.drv' failed with exit code 1"
        );
    }
}
