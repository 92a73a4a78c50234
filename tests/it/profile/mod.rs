//! Profiles made by Nix 2.8 (`nix profile install`, manifest version 2) read, listed and
//! rebuilt by rflake; rflake's generations checked by Nix.
//!
//! Nix 2.8 builds a profile by reading its packages at their logical paths (`/nix/store/…`),
//! so it cannot use a chroot store for this. [`Fixture::nix`] runs it in a private mount
//! namespace where the test's chroot store (`<root>/store/nix`) is bind-mounted on `/nix`:
//! the machine's `/nix` is hidden, never touched. rflake uses the same store as a chroot store
//! (`store = <root>/store`) and reads it through its real directory.

// Helpers outside `#[test]` functions unwrap too: a failed unwrap is a test failure.
#![allow(clippy::unwrap_used)]

mod default_location;
mod eval_cache;
mod kill_switch;
mod list_history;
mod nix_profile_sh;
mod object_oracle;
mod upgrade;
mod upgrade_checks;
mod upgrade_config;
mod upgrade_daemon;
mod upgrade_report;
mod upgrade_sources;
mod write_generation;

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use crate::support::{CommandOutput, TestEnv, require_nix};

/// W1's flake (spec Part W), byte for byte: `version` 1 gives `hello-1.0` with the narHash
/// `sha256-GaQOHP1tkctDak8caFrNpiPWOT+Y/QHIkqbG+yeelCY=`.
pub fn hello_flake(version: u32) -> String {
    format!(
        r#"{{
  outputs = {{ self }}: {{
    packages.x86_64-linux.default = derivation {{
      name = "hello-{version}.0";
      system = "x86_64-linux";
      builder = "/bin/sh";
      PATH = "/usr/bin:/bin";
      args = [ "-c" "mkdir -p $out/bin; echo 'echo Hello {version}' > $out/bin/hello; chmod +x $out/bin/hello" ];
    }};
  }};
}}
"#
    )
}

/// W1's narHash of version 1 of the flake.
pub const FLAKE1_NAR_HASH: &str = "sha256-GaQOHP1tkctDak8caFrNpiPWOT+Y/QHIkqbG+yeelCY=";

/// Replaces the escape character by `␛`, so that ANSI codes show in snapshots.
pub fn visible(s: &str) -> String {
    s.replace('\u{1b}', "␛")
}

/// `unshare`'s flags for a private mount namespace: root needs none other; another user also
/// gets a user namespace in which it is root (so it may bind-mount on `/nix`).
fn unshare_flags() -> &'static [&'static str] {
    if rustix::process::geteuid().is_root() {
        &["-m", "--propagation", "private"]
    } else {
        &["-r", "-m", "--propagation", "private"]
    }
}

/// Whether Nix can run in a private mount namespace. Without it the calling test is skipped
/// with a note, except under `CI`, where it fails.
fn namespaces_work() -> bool {
    static OK: OnceLock<bool> = OnceLock::new();
    *OK.get_or_init(|| {
        Command::new("unshare")
            .args(unshare_flags())
            .arg("true")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    })
}

/// A test root with a chroot store that Nix 2.8 sees as `/nix`, and a profile directory.
pub struct Fixture {
    pub env: TestEnv,
}

impl Fixture {
    /// Creates the fixture, or `None` (after a note) when Nix or namespaces are missing.
    #[allow(
        clippy::print_stderr,
        reason = "the note is for the developer running the tests"
    )]
    pub fn new() -> Option<Fixture> {
        if !require_nix() {
            return None;
        }
        if !namespaces_work() {
            assert!(
                std::env::var_os("CI").is_none(),
                "the profile oracle tests need `unshare -m` (or `unshare -r -m`) to run Nix 2.8 on a private /nix"
            );
            eprintln!("note: skipping: `unshare -m` is not permitted here");
            return None;
        }
        let mut env = TestEnv::new();
        env.add_nix_config("sandbox = false");
        std::fs::create_dir_all(env.path("store/nix")).unwrap();
        std::fs::create_dir_all(env.path("profiles")).unwrap();
        Some(Fixture { env })
    }

    /// The profile the tests use, `<root>/profiles/profile`.
    pub fn profile(&self) -> String {
        self.env.path("profiles/profile").display().to_string()
    }

    /// Runs Nix 2.8 with `args` on the test store mounted at `/nix`.
    pub fn nix(&self, args: &[&str]) -> CommandOutput {
        let mut all = vec!["nix", "--store", "local"];
        all.extend_from_slice(args);
        self.in_namespace(&all)
    }

    /// Runs `program args…` (a Nix 2.8 tool) with the test store mounted at `/nix` and
    /// `NIX_REMOTE=local`.
    pub fn in_namespace(&self, program_and_args: &[&str]) -> CommandOutput {
        let script =
            "unset NIX_STATE_DIR; export NIX_REMOTE=local; mount --bind \"$0\" /nix && exec \"$@\"";
        let mut cmd = self.env.command("unshare");
        cmd.args(unshare_flags())
            .args(["sh", "-c", script])
            .arg(self.env.path("store/nix"))
            .args(program_and_args);
        self.env.run_command(&mut cmd)
    }

    /// Runs Nix 2.8 and requires success; returns stdout.
    pub fn nix_ok(&self, args: &[&str]) -> String {
        let out = self.nix(args);
        assert!(out.success(), "nix {args:?} failed:\n{out}");
        out.stdout().to_owned()
    }

    /// Runs rflake on the same store (as a chroot store).
    pub fn rflake(&self, args: &[&str]) -> CommandOutput {
        self.env.run(args)
    }

    /// Writes W1's flake at `work/<dir>` with its mtimes pinned, so `lastModified` is fixed.
    pub fn write_flake(&self, dir: &str, version: u32) -> PathBuf {
        let path = self.env.path(format!("work/{dir}"));
        self.env
            .write(format!("work/{dir}/flake.nix"), hello_flake(version));
        pin_mtime(&path.join("flake.nix"));
        pin_mtime(&path);
        path
    }

    /// Adds the directory `work/<dir>` to the store as `name` with Nix; returns the path.
    pub fn add_path(&self, name: &str, dir: &str) -> String {
        let src = self.env.path(format!("work/{dir}"));
        let out = self.nix_ok(&[
            "store",
            "add-path",
            "--name",
            name,
            &src.display().to_string(),
        ]);
        out.trim().to_owned()
    }

    /// The target of generation `n`'s link.
    pub fn generation(&self, n: u64) -> String {
        std::fs::read_link(self.env.path(format!("profiles/profile-{n}-link")))
            .unwrap()
            .display()
            .to_string()
    }

    /// Where the store keeps the logical path `p`.
    pub fn real(&self, p: &str) -> PathBuf {
        self.env.path(format!("store{p}"))
    }
}

/// The store as rflake reads it: `/nix/store` kept at `<root>/store/nix/store`.
pub fn object_oracle_store_fs(f: &Fixture) -> rflake::profile::store_fs::StoreFs {
    rflake::profile::store_fs::StoreFs::new("/nix/store", f.env.path("store/nix/store"))
}

/// Sets the modification time of `path` (not following symlinks) to 1700000000.
pub fn pin_mtime(path: &std::path::Path) {
    let ok = Command::new("touch")
        .args(["-h", "-d", "@1700000000"])
        .arg(path)
        .status()
        .unwrap()
        .success();
    assert!(ok, "touch {}", path.display());
}
