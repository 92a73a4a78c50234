//! `TestEnv`: a temporary root holding everything a command may read or write (jj's
//! `cli/tests/common/test_environment.rs`, uv's `TestContext`).

use std::ffi::{OsStr, OsString};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::CommandOutput;

/// The directories created under every test root.
const DIRS: [&str; 9] = [
    "home", "config", "cache", "data", "state", "xdg-dirs", "etc", "store", "work",
];

/// The user registry, relative to the root (`$XDG_CONFIG_HOME/nix/registry.json`).
pub const USER_REGISTRY: &str = "config/nix/registry.json";

/// The global registry the default `flake-registry` setting names, relative to the root.
pub const GLOBAL_REGISTRY: &str = "global-registry.json";

/// An isolated environment: `home/`, `config/` (`XDG_CONFIG_HOME`), `cache/`, `data/`, `state/`,
/// `xdg-dirs/` (`XDG_CONFIG_DIRS`), `etc/` (`NIX_CONF_DIR`), `store/` (the Nix store root) and
/// `work/` (the default current directory), in a temporary directory removed on drop.
///
/// Commands run with a cleared environment, so nothing of the developer's configuration, files or
/// network settings leaks in. The global registry is `<root>/global-registry.json` (absent, hence
/// empty, until a test writes it).
pub struct TestEnv {
    temp: tempfile::TempDir,
    root: PathBuf,
    cwd: PathBuf,
    flake_registry: Option<String>,
    store_setting: bool,
    extra_nix_config: Vec<String>,
    extra_env: Vec<(OsString, OsString)>,
}

impl Default for TestEnv {
    fn default() -> Self {
        Self::new()
    }
}

impl TestEnv {
    /// Creates a fresh root with all the directories.
    pub fn new() -> Self {
        let temp = tempfile::Builder::new()
            .prefix("rflake-it-")
            .tempdir()
            .unwrap();
        // Canonical, so that paths printed by the commands match the `$TEST_ENV` replacement.
        let root = temp.path().canonicalize().unwrap();
        for dir in DIRS {
            fs::create_dir(root.join(dir)).unwrap();
        }
        let flake_registry = Some(root.join(GLOBAL_REGISTRY).display().to_string());
        TestEnv {
            temp,
            cwd: root.join("work"),
            root,
            flake_registry,
            store_setting: true,
            extra_nix_config: vec![],
            extra_env: vec![],
        }
    }

    /// Returns the (canonical) root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The entries of directory `rel` (none if it does not exist), in the order read.
    pub fn entries(&self, rel: impl AsRef<Path>) -> Vec<PathBuf> {
        match fs::read_dir(self.path(rel)) {
            Ok(rd) => rd.map(|e| e.unwrap().path()).collect(),
            Err(_) => Vec::new(),
        }
    }

    /// Returns `rel` resolved against the root.
    pub fn path(&self, rel: impl AsRef<Path>) -> PathBuf {
        self.root.join(rel)
    }

    /// Returns the user registry, `$XDG_CONFIG_HOME/nix/registry.json`.
    pub fn user_registry_path(&self) -> PathBuf {
        self.path(USER_REGISTRY)
    }

    /// Returns the system registry, `$NIX_CONF_DIR/registry.json`.
    pub fn system_registry_path(&self) -> PathBuf {
        self.path("etc/registry.json")
    }

    /// Returns the file the default `flake-registry` setting points at.
    pub fn global_registry_path(&self) -> PathBuf {
        self.path(GLOBAL_REGISTRY)
    }

    /// Writes `contents` to `rel` (relative to the root), creating parent directories.
    pub fn write(&self, rel: impl AsRef<Path>, contents: impl AsRef<[u8]>) {
        let path = self.path(rel);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, contents).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
    }

    /// Reads `rel` (relative to the root) as UTF-8, panicking with the path if that fails.
    pub fn read(&self, rel: impl AsRef<Path>) -> String {
        let path = self.path(rel);
        fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
    }

    /// Reads `rel` (relative to the root), or returns `None` if it does not exist.
    pub fn try_read(&self, rel: impl AsRef<Path>) -> Option<Vec<u8>> {
        fs::read(self.path(rel)).ok()
    }

    /// Sets the current directory of later commands to `rel` (relative to the root), creating it.
    pub fn set_cwd(&mut self, rel: impl AsRef<Path>) {
        self.cwd = self.path(rel);
        fs::create_dir_all(&self.cwd).unwrap();
    }

    /// Sets the `flake-registry` line of `NIX_CONFIG` to `value`, or drops the line with `None`
    /// (Nix then uses its default, a network URL: only do that with a failing `--flake-registry`).
    pub fn set_flake_registry(&mut self, value: Option<&str>) {
        self.flake_registry = value.map(str::to_owned);
    }

    /// Leaves the `store` line out of `NIX_CONFIG`, so that the `store` setting has its default
    /// (from `NIX_REMOTE`, else `auto`): only with a `NIX_REMOTE` or `--store` that keeps the
    /// machine's `/nix` out of reach.
    pub fn without_store_setting(&mut self) {
        self.store_setting = false;
    }

    /// Appends a line to `NIX_CONFIG` (later lines override earlier ones).
    pub fn add_nix_config(&mut self, line: &str) {
        self.extra_nix_config.push(line.to_owned());
    }

    /// Sets an extra environment variable (it overrides the defaults).
    pub fn add_env(&mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) {
        self.extra_env
            .push((key.as_ref().to_owned(), value.as_ref().to_owned()));
    }

    /// Returns the `NIX_CONFIG` value commands see.
    pub fn nix_config(&self) -> String {
        let mut lines = vec![
            "experimental-features = nix-command flakes".to_owned(),
            "build-users-group =".to_owned(),
            "substituters =".to_owned(),
        ];
        if self.store_setting {
            lines.push(format!("store = {}", self.path("store").display()));
        }
        lines.extend(
            self.flake_registry
                .iter()
                .map(|r| format!("flake-registry = {r}")),
        );
        lines.extend(self.extra_nix_config.iter().cloned());
        lines.join("\n")
    }

    /// Runs the `rflake` binary under test with `args`.
    pub fn run(&self, args: &[&str]) -> CommandOutput {
        self.run_command(self.command(env!("CARGO_BIN_EXE_rflake")).args(args))
    }

    /// Runs the real `nix` (Nix 2.8 from `PATH`, the differential oracle) with `args`.
    pub fn run_nix(&self, args: &[&str]) -> CommandOutput {
        self.run_command(self.command("nix").args(args))
    }

    /// Returns a `Command` for `program` with this environment, current directory and null stdin.
    pub fn command(&self, program: impl AsRef<OsStr>) -> Command {
        let mut cmd = Command::new(program);
        cmd.env_clear().current_dir(&self.cwd).stdin(Stdio::null());
        if let Some(path) = std::env::var_os("PATH") {
            cmd.env("PATH", path);
        }
        let dirs = [
            ("HOME", "home"),
            ("XDG_CONFIG_HOME", "config"),
            ("XDG_CACHE_HOME", "cache"),
            ("XDG_DATA_HOME", "data"),
            ("XDG_STATE_HOME", "state"),
            ("XDG_CONFIG_DIRS", "xdg-dirs"),
            ("NIX_CONF_DIR", "etc"),
        ];
        for (var, dir) in dirs {
            cmd.env(var, self.path(dir));
        }
        // Nix's system state directory: root's default profile lives under it, so a profile
        // command run as root never touches the machine's `/nix/var/nix/profiles`.
        cmd.env("NIX_STATE_DIR", self.path("nix-state"));
        // Local times (`flake metadata`'s `Last modified:`) in UTC whatever the machine's zone.
        cmd.env("NO_COLOR", "1")
            .env("TZ", "UTC")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_CONFIG_SYSTEM", "/dev/null")
            .env("NIX_CONFIG", self.nix_config());
        cmd.envs(self.extra_env.iter().map(|(k, v)| (k, v)));
        cmd
    }

    /// Runs `cmd` to completion and captures its output, normalizing the root.
    pub fn run_command(&self, cmd: &mut Command) -> CommandOutput {
        let output = cmd
            .output()
            .unwrap_or_else(|e| panic!("spawning {cmd:?}: {e}"));
        CommandOutput::new(output, &[&self.root, self.temp.path()])
    }
}
