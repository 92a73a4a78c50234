//! Git fixtures: a repository builder driving the `git` command with a fixed identity and fixed
//! dates (cargo's `cargo-test-support/src/git.rs`, jj's `lib/testutils/src/git.rs`), so that
//! revisions, NAR hashes and store paths are the same on every run.
//!
//! Every `git` runs with `GIT_CONFIG_GLOBAL`/`GIT_CONFIG_SYSTEM` set to `/dev/null`, so the
//! developer's configuration never leaks in, and `protocol.file.allow=always` so that local
//! submodules can be added.

use std::cell::Cell;
use std::ffi::OsStr;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The date of the first commit of every fixture (2023-11-14T22:13:20Z); each later commit of
/// the same repository is 100 seconds later.
pub const FIRST_COMMIT_TIME: u64 = 1_700_000_000;

/// Returns a `git` command with the hermetic environment (identity, dates left to the caller).
pub fn git_command() -> Command {
    let mut cmd = Command::new("git");
    cmd.env_clear()
        .stdin(Stdio::null())
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_SYSTEM", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_AUTHOR_NAME", "rflake test")
        .env("GIT_AUTHOR_EMAIL", "test@example.invalid")
        .env("GIT_COMMITTER_NAME", "rflake test")
        .env("GIT_COMMITTER_EMAIL", "test@example.invalid")
        .env("GIT_CONFIG_COUNT", "1")
        .env("GIT_CONFIG_KEY_0", "protocol.file.allow")
        .env("GIT_CONFIG_VALUE_0", "always");
    if let Some(path) = std::env::var_os("PATH") {
        cmd.env("PATH", path);
    }
    if let Some(home) = std::env::var_os("HOME") {
        cmd.env("HOME", home);
    }
    cmd
}

/// Runs `git` with `args` in `dir`, panicking with its stderr on failure; returns stdout.
pub fn git_in(dir: &Path, args: &[&str]) -> String {
    git_with(dir, args, FIRST_COMMIT_TIME)
}

fn git_with(dir: &Path, args: &[&str], time: u64) -> String {
    let date = format!("{time} +0000");
    let out = git_command()
        .current_dir(dir)
        .env("GIT_AUTHOR_DATE", &date)
        .env("GIT_COMMITTER_DATE", &date)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("running git {args:?}: {e}"));
    assert!(
        out.status.success(),
        "git {args:?} in {} failed:\n{}",
        dir.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// A repository with a work tree (or a bare one), built step by step.
pub struct GitRepo {
    path: PathBuf,
    commits: Cell<u64>,
}

impl GitRepo {
    /// Creates a repository at `path` whose branch is `master`.
    pub fn init(path: impl Into<PathBuf>) -> GitRepo {
        let path = path.into();
        fs::create_dir_all(&path).unwrap();
        git_in(&path, &["init", "-q", "-b", "master"]);
        GitRepo {
            path,
            commits: Cell::new(0),
        }
    }

    /// Creates a bare repository at `path` (a remote to push to).
    pub fn init_bare(path: impl Into<PathBuf>) -> GitRepo {
        let path = path.into();
        fs::create_dir_all(&path).unwrap();
        git_in(&path, &["init", "-q", "--bare", "-b", "master"]);
        GitRepo {
            path,
            commits: Cell::new(0),
        }
    }

    /// Returns the repository's directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Returns `git+file://<path>` plus `query` (`""` or `?…`).
    pub fn url(&self, query: &str) -> String {
        format!("git+file://{}{query}", self.path.display())
    }

    /// Writes `contents` to `rel`, creating parent directories.
    pub fn write(&self, rel: &str, contents: impl AsRef<[u8]>) -> &Self {
        let file = self.path.join(rel);
        fs::create_dir_all(file.parent().unwrap()).unwrap();
        fs::write(&file, contents).unwrap();
        self
    }

    /// Makes `rel` executable.
    pub fn make_executable(&self, rel: &str) -> &Self {
        use std::os::unix::fs::PermissionsExt as _;
        fs::set_permissions(self.path.join(rel), fs::Permissions::from_mode(0o755)).unwrap();
        self
    }

    /// Creates a symlink `rel` → `target`.
    pub fn symlink(&self, rel: &str, target: &str) -> &Self {
        std::os::unix::fs::symlink(target, self.path.join(rel)).unwrap();
        self
    }

    /// Runs `git` in the repository (dates of the next commit).
    pub fn git(&self, args: &[&str]) -> String {
        git_with(&self.path, args, self.next_time())
    }

    /// Stages everything (`git add -A`).
    pub fn add_all(&self) -> &Self {
        self.git(&["add", "-A"]);
        self
    }

    /// Commits what is staged with message `msg`; returns the new commit's hash.
    pub fn commit(&self, msg: &str) -> String {
        self.git(&["commit", "-q", "--allow-empty", "-m", msg]);
        self.commits.set(self.commits.get() + 1);
        self.rev("HEAD")
    }

    /// Stages everything and commits; returns the new commit's hash.
    pub fn commit_all(&self, msg: &str) -> String {
        self.add_all();
        self.commit(msg)
    }

    /// Returns the commit `spec` names.
    pub fn rev(&self, spec: &str) -> String {
        git_in(&self.path, &["rev-parse", spec]).trim().to_owned()
    }

    /// Creates the lightweight tag `name` at `HEAD`.
    pub fn tag(&self, name: &str) -> &Self {
        self.git(&["tag", name]);
        self
    }

    /// Creates the annotated tag `name` at `HEAD`.
    pub fn annotated_tag(&self, name: &str) -> &Self {
        self.git(&["tag", "-a", "-m", name, name]);
        self
    }

    /// Pushes `refspec` to the repository at `remote`.
    pub fn push(&self, remote: &GitRepo, refspec: &str) -> &Self {
        let remote = remote.path.display().to_string();
        self.git(&["push", "-q", "--force", &remote, refspec]);
        self
    }

    /// The date the next commit gets.
    fn next_time(&self) -> u64 {
        FIRST_COMMIT_TIME + 100 * self.commits.get()
    }
}

/// Returns whether `p` exists (not following a final symlink).
pub fn exists(p: impl AsRef<OsStr>) -> bool {
    Path::new(&p).symlink_metadata().is_ok()
}
