//! `rflake flake archive` and `rflake flake metadata` (spec Parts C and D): the D7 fixture at
//! `/tmp/demo` with every value the spec pins, the JSON and `--dry-run`/`--to` semantics of D3–D5,
//! the errors (each leaving every file as it was), and the basics of `flake metadata`.
//!
//! Where Nix 2.8 (the oracle) and current Nix differ (spec E1), the expectations are current
//! Nix's; each such place says so.

// Helpers outside `#[test]` functions unwrap too: a failure is a test failure.
#![allow(clippy::unwrap_used)]

mod check;
mod d7;
mod dry_run;
mod errors;
mod json;
mod metadata;
mod print_paths;
mod select;
mod store_inside;
mod to_store;

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, UNIX_EPOCH};

use crate::support::{CommandOutput, TestEnv, git_in};

/// Where fixture D7 lives: its lock file holds absolute paths, so it must be exactly here.
pub const DEMO: &str = "/tmp/demo";

/// Taken (with `flock`) by every test that builds `/tmp/demo`, in this binary or another.
const DEMO_LOCK: &str = "/tmp/rflake-demo.lock";

/// The modification time of every fixture file (2023-11-14 22:13:20 UTC).
pub const MTIME: u64 = 1_700_000_000;

/// Spec D7, the commands that build the fixture, verbatim up to (not including) the final
/// `cd root && nix flake lock`.
const D7_SCRIPT: &str = r#"set -eu
rm -rf /tmp/demo && mkdir -p /tmp/demo && cd /tmp/demo
export GIT_AUTHOR_NAME=Demo GIT_COMMITTER_NAME=Demo
export GIT_AUTHOR_EMAIL=demo@example.org GIT_COMMITTER_EMAIL=demo@example.org
export GIT_AUTHOR_DATE='@1700000000 +0000' GIT_COMMITTER_DATE='@1700000000 +0000'
mkdir dep1 data dep2 root
printf '{\n  description = "dep1";\n  outputs = { self }: { x = 1; };\n}\n' > dep1/flake.nix
printf 'hello data\n' > data/file.txt
printf '{\n  inputs.dep1.url = "path:/tmp/demo/dep1";\n  outputs = { self, dep1 }: { y = dep1.x + 1; };\n}\n' > dep2/flake.nix
cat > root/flake.nix <<'NIX'
{
  description = "root";
  inputs = {
    dep1.url = "path:/tmp/demo/dep1";
    dep2 = { url = "git+file:///tmp/demo/dep2"; inputs.dep1.follows = "dep1"; };
    data = { url = "path:/tmp/demo/data"; flake = false; };
    mid.url = "git+file:///tmp/demo/dep2";
  };
  outputs = { self, ... }: { };
}
NIX
find dep1 data -exec touch -h -d @1700000000 {} +
git -C dep2 init -q -b main && git -C dep2 add flake.nix && git -C dep2 commit -q -m init
git -C root init -q -b main && git -C root add flake.nix && git -C root commit -q -m init
"#;

/// Spec D7, the step after locking: `git add flake.lock && git commit -q -m lock`, same identity
/// and dates.
const D7_COMMIT_LOCK: &str = r#"set -eu
cd /tmp/demo/root
export GIT_AUTHOR_NAME=Demo GIT_COMMITTER_NAME=Demo
export GIT_AUTHOR_EMAIL=demo@example.org GIT_COMMITTER_EMAIL=demo@example.org
export GIT_AUTHOR_DATE='@1700000000 +0000' GIT_COMMITTER_DATE='@1700000000 +0000'
git add flake.lock && git commit -q -m lock
"#;

/// Spec D7: the lock file Nix 2.8 wrote, verbatim.
pub const D7_LOCK_2_8: &str = include_str!("../../data/d7-flake.lock");

/// The lock file current Nix writes for D7: 2.8's, except that the two git nodes carry the full
/// ref of the work tree (spec C1, E1).
pub fn d7_lock_current() -> String {
    let short = r#""ref": "main","#;
    assert_eq!(D7_LOCK_2_8.matches(short).count(), 2);
    D7_LOCK_2_8.replace(short, r#""ref": "refs/heads/main","#)
}

/// `dep2`'s commit (spec D7).
pub const D7_DEP2_REV: &str = "0ba6a064a6be7b4692a891142aa1aaa6c97b992b";

/// The root's `HEAD` once 2.8's lock file is committed (spec D7).
pub const D7_ROOT_REV: &str = "63e74011cacdb1cd7e29683c5ae5331be8a56b17";

/// The four source paths of D7 (spec D7's table), and their narinfo signatures with `demo-1`.
pub const D7_ROOT_PATH: &str = "/nix/store/pkidrwywjvgcxddjrfs5lkvb4dj3lvf1-source";
pub const D7_DEP1_PATH: &str = "/nix/store/v8hpgclcsbgm592ngsplbysna5ly96mn-source";
pub const D7_DATA_PATH: &str = "/nix/store/acn6d5q9z6pgssd99b8ci5l7l4zkvf5i-source";
pub const D7_DEP2_PATH: &str = "/nix/store/j6dnks4ry2i54wihyflpp0hxa0fjnr3i-source";

/// Spec D7: `(path, Sig)` for each path written `--to` a cache with key `demo-1`, by path.
pub const D7_SIGS: [(&str, &str); 4] = [
    (
        D7_DATA_PATH,
        "demo-1:+gceG0ZIV73ibKrx3J02rdSFwi2+6EVs5YInzow3NoKkXclztxKPCB0r91SMgg+ifIznyB29dZcAdZSzK1C2DQ==",
    ),
    (
        D7_DEP2_PATH,
        "demo-1:co9SON+cobMnzAu+YiE0ixzGugSy03OE28bbxgkn0JoDQQT7rwXcvrLJJVhHhzPv5gtlicdrvyXVd+r7wewICQ==",
    ),
    (
        D7_ROOT_PATH,
        "demo-1:GbYce3L7Jy1Y5gKBgI1Zc4rdRuRMhC71W3Dum9+veUV4J9BGpKKJGjQ8MzYsM1vMB0lZbz0X/0jjm5Tgue63DQ==",
    ),
    (
        D7_DEP1_PATH,
        "demo-1:pKhyCDE/TmMr9fNefYFXDRGPtz52PCj4yW97530h/jqBhOcrm6jyW1MJ9Xv3V30RhkbaIYa/VRn0IA9n+y9+AQ==",
    ),
];

/// Exclusive use of `/tmp/demo` (fixture D7), removed again when dropped.
///
/// Tests in this binary run in parallel and other test binaries may build the same fixture, so
/// the directory is guarded by an exclusive lock on `/tmp/rflake-demo.lock`, held until drop.
pub struct Demo {
    _lock: fs::File,
}

impl Demo {
    /// Takes the lock and builds D7 from scratch, without a lock file (spec D7's commands).
    pub fn build(env: &TestEnv) -> Demo {
        let lock = fs::OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(false)
            .open(DEMO_LOCK)
            .unwrap();
        // The lock file may be shared with other users of /tmp.
        let _ = fs::set_permissions(DEMO_LOCK, fs::Permissions::from_mode(0o666));
        lock.lock().unwrap();
        let demo = Demo { _lock: lock };
        remove_demo();
        run_script(env, D7_SCRIPT);
        assert_eq!(
            git_in(&Self::path("dep2"), &["rev-parse", "HEAD"]).trim(),
            D7_DEP2_REV
        );
        demo
    }

    /// Builds D7 and commits Nix 2.8's lock file, as the spec did before taking its vectors;
    /// asserts the root's `HEAD` the spec gives.
    pub fn build_locked(env: &TestEnv) -> Demo {
        let demo = Self::build(env);
        fs::write(Self::path("root/flake.lock"), D7_LOCK_2_8).unwrap();
        run_script(env, D7_COMMIT_LOCK);
        assert_eq!(Self::root_head(), D7_ROOT_REV);
        assert_eq!(git_in(&Self::path("root"), &["status", "--porcelain"]), "");
        demo
    }

    /// Returns `/tmp/demo/<rel>`.
    pub fn path(rel: &str) -> PathBuf {
        Path::new(DEMO).join(rel)
    }

    /// Returns the root repository's `HEAD`.
    pub fn root_head() -> String {
        git_in(&Self::path("root"), &["rev-parse", "HEAD"])
            .trim()
            .to_owned()
    }

    /// Reads `/tmp/demo/root/flake.lock`.
    pub fn root_lock() -> String {
        fs::read_to_string(Self::path("root/flake.lock")).unwrap()
    }
}

/// An environment working in `/tmp/demo/root`, and D7 built there (committed with 2.8's lock
/// file if `locked`). The directory is only touched once the fixture's lock is held.
pub fn demo_env(locked: bool) -> (TestEnv, Demo) {
    let mut env = TestEnv::new();
    let demo = if locked {
        Demo::build_locked(&env)
    } else {
        Demo::build(&env)
    };
    env.set_cwd(Demo::path("root"));
    (env, demo)
}

impl Drop for Demo {
    fn drop(&mut self) {
        remove_demo();
    }
}

/// Removes `/tmp/demo`, making read-only directories writable first.
fn remove_demo() {
    if Path::new(DEMO).symlink_metadata().is_ok() {
        make_writable(Path::new(DEMO));
        fs::remove_dir_all(DEMO).unwrap();
    }
}

fn make_writable(p: &Path) {
    let Ok(meta) = p.symlink_metadata() else {
        return;
    };
    if meta.is_dir() {
        let _ = fs::set_permissions(p, fs::Permissions::from_mode(0o755));
        for e in fs::read_dir(p).unwrap() {
            make_writable(&e.unwrap().path());
        }
    }
}

/// Runs `script` with `sh` in a cleared environment (no git configuration of the developer).
fn run_script(env: &TestEnv, script: &str) {
    let mut cmd = Command::new("sh");
    cmd.env_clear()
        .stdin(Stdio::null())
        .env("HOME", env.path("home"))
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_SYSTEM", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .args(["-c", script]);
    if let Some(path) = std::env::var_os("PATH") {
        cmd.env("PATH", path);
    }
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "script failed:\n{script}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Writes `files` (relative path, contents) under `<root>/<dir>` and dates every file and
/// directory of the tree [`MTIME`]; returns the directory.
pub fn write_tree(env: &TestEnv, dir: &str, files: &[(&str, &str)]) -> PathBuf {
    let root = env.path(dir);
    fs::create_dir_all(&root).unwrap();
    for (rel, contents) in files {
        let p = root.join(rel);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(&p, contents).unwrap();
    }
    set_mtimes(&root);
    root
}

/// Sets the modification time of `p` and everything below it to [`MTIME`].
pub fn set_mtimes(p: &Path) {
    if p.is_dir() {
        for e in fs::read_dir(p).unwrap() {
            set_mtimes(&e.unwrap().path());
        }
    }
    fs::File::open(p)
        .unwrap()
        .set_modified(UNIX_EPOCH + Duration::from_secs(MTIME))
        .unwrap();
}

/// Every file, directory and symlink below `dir` except inside `.git`, with its mode and
/// contents (or link target): to check that a failed command changed nothing.
pub fn snapshot(dir: &Path) -> BTreeMap<PathBuf, (u32, Vec<u8>)> {
    fn walk(root: &Path, p: &Path, out: &mut BTreeMap<PathBuf, (u32, Vec<u8>)>) {
        let meta = p.symlink_metadata().unwrap();
        let rel = p.strip_prefix(root).unwrap().to_owned();
        let mode = meta.permissions().mode();
        if meta.is_dir() {
            out.insert(rel, (mode, Vec::new()));
            for e in fs::read_dir(p).unwrap() {
                let e = e.unwrap();
                if e.file_name() != ".git" {
                    walk(root, &e.path(), out);
                }
            }
        } else if meta.is_symlink() {
            let target = fs::read_link(p).unwrap();
            out.insert(rel, (mode, target.into_os_string().into_encoded_bytes()));
        } else {
            out.insert(rel, (mode, fs::read(p).unwrap()));
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

/// Returns the store paths that exist in the chroot store at `store_root` (base names).
pub fn store_contents(store_root: &Path) -> Vec<String> {
    let dir = store_root.join("nix/store");
    let Ok(entries) = fs::read_dir(&dir) else {
        return Vec::new();
    };
    let mut names: Vec<String> = entries
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n != ".links" && !n.ends_with(".lock"))
        .collect();
    names.sort();
    names
}

/// Returns whether the printed store path `printed` (`/nix/store/<base>`) exists in the chroot
/// store at `store_root`.
pub fn in_store(store_root: &Path, printed: &str) -> bool {
    let base = printed.strip_prefix("/nix/store/").unwrap();
    store_root
        .join("nix/store")
        .join(base)
        .symlink_metadata()
        .is_ok()
}

/// Replaces the environment's root in `text` by `$TEST_ENV`, as [`CommandOutput`] does.
pub fn normalize(env: &TestEnv, text: &str) -> String {
    text.replace(&*env.root().to_string_lossy(), "$TEST_ENV")
}

/// Asserts a failed command: the exit code, and `message` as the error's own message.
///
/// rflake prints an error as `error: <outermost>` followed by a `caused by: …` line per cause.
/// The outer lines may be what Nix shows as traces (`while fetching the input '…'`, before the
/// error as in current Nix's output), and the inner ones may be the OS error behind Nix's
/// message. So `message` must be one line of that chain, exactly.
#[track_caller]
pub fn assert_error(out: &CommandOutput, code: i32, message: &str) {
    assert_eq!(out.status().code(), Some(code), "{out:?}");
    let chain: Vec<&str> = out
        .stderr()
        .lines()
        .skip_while(|l| !l.starts_with("error: "))
        .take_while(|l| l.starts_with("error: ") || l.starts_with("caused by: "))
        .filter_map(|l| {
            l.strip_prefix("error: ")
                .or_else(|| l.strip_prefix("caused by: "))
        })
        .collect();
    assert!(chain.contains(&message), "expected `{message}` in {out:?}");
}

/// Input `a` of the small fixtures: a flake with no inputs.
pub const A_NIX: &str = "{\n  description = \"a\";\n  outputs = { self }: { };\n}\n";
/// Input `b`: a flake whose own input `a` is indirect (the fixtures make it follow the root's).
pub const B_NIX: &str = "{\n  inputs.a = { };\n  outputs = { self, a }: { };\n}\n";
/// Input `data`, a non-flake tree.
pub const DATA_TXT: &str = "data\n";

/// NAR hashes and store paths of those trees (from Nix 2.8's `nix hash path` and
/// `nix store add-path --name source` on the same trees).
pub const A_HASH: &str = "sha256-9FFuKn29r2DidQCzcu/G7Y/byUfJzuAryIdbkY8yP7o=";
pub const A_PATH: &str = "/nix/store/vfxdqw0p9n38mmzqjc3v5dq24vsb4ccp-source";
pub const B_PATH: &str = "/nix/store/6fa58a0qvm4s54zqf6niqq9jlfkfjv1v-source";
pub const DATA_HASH: &str = "sha256-HphuOpzbSV394fdn1CGGJOkfh99TjzWj1q+dvwKEGv4=";
pub const DATA_PATH: &str = "/nix/store/ip8c7dqa1ahpf3idb10ic6i28nb5kmq7-source";

/// Writes the inputs `work/a`, `work/b` and `work/data`, dated [`MTIME`].
pub fn write_inputs(env: &TestEnv) {
    write_tree(env, "work/a", &[("flake.nix", A_NIX)]);
    write_tree(env, "work/b", &[("flake.nix", B_NIX)]);
    write_tree(env, "work/data", &[("file.txt", DATA_TXT)]);
}

/// Writes `work/<dir>/flake.nix` from `template`, where `@W@` stands for the `work` directory;
/// returns the flake's directory.
pub fn write_root(env: &TestEnv, dir: &str, template: &str) -> PathBuf {
    let work = env.path("work").display().to_string();
    write_tree(
        env,
        &format!("work/{dir}"),
        &[("flake.nix", &template.replace("@W@", &work))],
    )
}

/// Checks the root path printed by `flake archive --json` for the `path:` flake at `dir`: it
/// exists in the chroot store at `store_root` (`path:` roots are copied even by a dry run,
/// spec D4) and holds the flake's `flake.nix` and `flake.lock` (if any) as they are now.
#[track_caller]
pub fn check_root_path(store_root: &Path, printed: &str, dir: &Path) {
    assert!(
        printed.starts_with("/nix/store/") && printed.ends_with("-source") && printed.len() == 50,
        "{printed}"
    );
    assert!(
        in_store(store_root, printed),
        "{printed} is not in the store"
    );
    let copy = store_root.join(&printed[1..]);
    for file in ["flake.nix", "flake.lock"] {
        assert_eq!(
            fs::read(copy.join(file)).ok(),
            fs::read(dir.join(file)).ok(),
            "{file} of {printed}"
        );
    }
}
