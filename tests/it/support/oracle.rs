//! Nix 2.8 as the differential oracle: run the same commands with `nix` and with `rflake` in two
//! identical [`TestEnv`]s and require identical output and files.
//!
//! Environment variables read by the harness (not by the commands under test):
//!
//! - `CI`: when set, a missing `nix` fails the differential tests instead of skipping them.
//! - `RFLAKE_IT_NIX_ONLY`: when set, only the Nix side runs. The inline snapshots in the tests
//!   record Nix 2.8's output, so this re-checks them against the installed Nix without rflake.

use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use super::{CommandOutput, TestEnv};

/// Returns whether a `nix` binary on `PATH` runs (`nix --version`).
pub fn nix_available() -> bool {
    static AVAILABLE: OnceLock<bool> = OnceLock::new();
    *AVAILABLE.get_or_init(|| {
        let status = Command::new("nix")
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        status.is_ok_and(|s| s.success())
    })
}

/// Returns whether Nix can be used as the oracle. Without it the calling test is skipped (with
/// a note), except under `CI`, where a missing oracle fails the test: it must not silently
/// vanish.
pub fn require_nix() -> bool {
    if nix_available() {
        return true;
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "`nix` is not on PATH but CI is set: the oracle tests need Nix 2.8 (nix-bin)"
    );
    note_skipped();
    false
}

/// Reports a skipped differential test on stderr (the test harness shows it with `--nocapture`).
#[allow(
    clippy::print_stderr,
    reason = "the note is for the developer running the tests"
)]
fn note_skipped() {
    let test = std::thread::current().name().unwrap_or("?").to_owned();
    eprintln!("note: skipping {test}: `nix` (Nix 2.8, Debian package nix-bin) is not on PATH");
}

/// Two identical environments: one where `nix` runs, one where `rflake` runs.
pub struct Differential {
    nix: TestEnv,
    rflake: TestEnv,
    nix_only: bool,
}

impl Differential {
    /// Creates the pair, or returns `None` after a note when `nix` is missing.
    ///
    /// Panics instead when `nix` is missing and `CI` is set: the oracle must not silently vanish.
    pub fn new() -> Option<Self> {
        if !require_nix() {
            return None;
        }
        let nix_only = std::env::var_os("RFLAKE_IT_NIX_ONLY").is_some();
        Some(Differential {
            nix: TestEnv::new(),
            rflake: TestEnv::new(),
            nix_only,
        })
    }

    /// Applies the same change (cwd, settings, extra env) to both environments.
    pub fn setup(&mut self, change: impl Fn(&mut TestEnv)) {
        change(&mut self.nix);
        change(&mut self.rflake);
    }

    /// Returns the environment where `nix` runs (to read its files, or to build arguments).
    pub fn nix_env(&self) -> &TestEnv {
        &self.nix
    }

    /// Returns the environment where `rflake` runs.
    pub fn rflake_env(&self) -> &TestEnv {
        &self.rflake
    }

    /// Writes the same file into both environments.
    pub fn write(&self, rel: impl AsRef<Path>, contents: impl AsRef<[u8]>) {
        self.nix.write(&rel, &contents);
        self.rflake.write(&rel, &contents);
    }

    /// Runs `args` with both tools, asserts equal stdout, stderr and exit status (after
    /// `$TEST_ENV` normalization), and returns Nix's output for a snapshot.
    pub fn run(&self, args: &[&str]) -> CommandOutput {
        let expected = self.nix.run_nix(args);
        if !self.nix_only {
            let actual = self.rflake.run(args);
            assert_eq!(
                actual,
                expected,
                "`rflake {}` (left) differs from `nix` (right)",
                args.join(" ")
            );
        }
        expected
    }

    /// Runs `args` with both tools without comparing: returns Nix's output, then rflake's (absent
    /// with `RFLAKE_IT_NIX_ONLY`). For outputs the spec pins only in part.
    pub fn run_each(&self, args: &[&str]) -> Vec<CommandOutput> {
        let mut outputs = vec![self.nix.run_nix(args)];
        if !self.nix_only {
            outputs.push(self.rflake.run(args));
        }
        outputs
    }

    /// Returns whether only the Nix side runs (`RFLAKE_IT_NIX_ONLY`).
    pub fn nix_only(&self) -> bool {
        self.nix_only
    }

    /// Asserts that `rel` has the same bytes in both environments (or is absent in both), and
    /// returns Nix's version as text (`None` if absent).
    pub fn assert_same_file(&self, rel: impl AsRef<Path>) -> Option<String> {
        let rel = rel.as_ref();
        let expected = self
            .nix
            .try_read(rel)
            .map(|b| String::from_utf8(b).unwrap());
        if !self.nix_only {
            let actual = self
                .rflake
                .try_read(rel)
                .map(|b| String::from_utf8(b).unwrap());
            assert_eq!(
                actual,
                expected,
                "{} written by rflake (left) and nix (right)",
                rel.display()
            );
        }
        expected
    }
}

/// Points the global registry's `foo` at `to` (registry JSON attributes), runs `registry pin foo`
/// with Nix 2.8 (its own store and registry file) and with rflake (the user registry), and
/// returns rflake's output and the registry files they wrote: `(output, rflake's, Nix's)`.
pub fn pin_with_both(
    env: &TestEnv,
    to: &str,
) -> (CommandOutput, serde_json::Value, serde_json::Value) {
    env.write(
        "global-registry.json",
        format!(
            r#"{{"version":2,"flakes":[{{"from":{{"type":"indirect","id":"foo"}},"to":{to}}}]}}"#
        ),
    );
    let nix_store = env.path("nix-store").display().to_string();
    let nix_reg = env.path("nix-registry.json").display().to_string();
    let nix = env.run_nix(&[
        "registry",
        "pin",
        "--store",
        &nix_store,
        "--registry",
        &nix_reg,
        "foo",
    ]);
    assert!(nix.success(), "{nix}");
    let ours = env.run(&["registry", "pin", "foo"]);
    assert!(ours.success(), "{ours}");
    let read = |rel: &str| serde_json::from_str(&env.read(rel)).unwrap();
    (
        ours,
        read("config/nix/registry.json"),
        read("nix-registry.json"),
    )
}
