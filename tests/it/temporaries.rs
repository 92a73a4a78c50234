//! Temporaries of dead processes (killed, crashed) are reclaimed the next time their place is
//! written: `tmp-<pid>-<n>` directories in the store, `.<file>.tmp-<pid>` beside a registry or
//! lock file. Never those of a live process.

// Fixture builders unwrap too: a failure there is a test failure.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use rustix::process::{Pid, Signal, kill_process};

use crate::fetch_tarball::{SAMPLE_PATH, gzip, prefetch, sample_tar};
use crate::interrupt::{big_tarball, spawn_prefetch, store_temporaries, wait_for_unpacking};
use crate::support::{HttpServer, KillOnDrop, Response, TestEnv, USER_REGISTRY};

/// Returns the pid of a process that has ended.
fn dead_pid() -> u32 {
    let mut child = Command::new("true").spawn().unwrap();
    let pid = child.id();
    child.wait().unwrap();
    pid
}

/// A process that lives until it is killed (when the test ends).
fn live() -> KillOnDrop {
    KillOnDrop::new(Command::new("sleep").arg("300").spawn().unwrap())
}

/// Makes a temporary directory as a process would have left it: a partial tree, read-only.
fn leftover_dir(store: &Path, name: &str) -> PathBuf {
    let dir = store.join("nix/store").join(name);
    std::fs::create_dir_all(dir.join("source/sub")).unwrap();
    std::fs::write(dir.join("source/sub/half"), vec![7u8; 100_000]).unwrap();
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(
        dir.join("source/sub"),
        std::fs::Permissions::from_mode(0o555),
    )
    .unwrap();
    dir
}

#[test]
fn store_temporaries_of_dead_processes_go_at_the_next_write() {
    let server = HttpServer::start();
    server.route("/sample.tar.gz", Response::ok(gzip(&sample_tar())));
    let env = TestEnv::new();
    let store = env.path("store");
    let live = live();
    let dead = leftover_dir(&store, &format!("tmp-{}-0", dead_pid()));
    let of_live = leftover_dir(&store, &format!("tmp-{}-3", live.id()));
    let (out, json) = prefetch(&env, &[&server.url("/sample.tar.gz")]);
    assert!(out.success(), "{out}");
    assert_eq!(json["storePath"], SAMPLE_PATH);
    assert!(!dead.exists(), "{out}");
    assert!(of_live.exists());
    assert_eq!(out.stderr(), "", "reclaiming is silent");
    // Once the live one has ended, the next write takes its directory too.
    drop(live);
    server.route("/other.tar.gz", Response::ok(big_tarball(1)));
    let (out, _) = prefetch(&env, &[&server.url("/other.tar.gz")]);
    assert!(out.success(), "{out}");
    assert_eq!(store_temporaries(&store), Vec::<String>::new());
}

#[test]
fn a_killed_download_leaves_nothing_after_the_next_write() {
    let server = HttpServer::start();
    server.route(
        "/big.tar.gz",
        Response::ok(big_tarball(64)).slowly(32 * 1024, Duration::from_millis(30)),
    );
    server.route("/sample.tar.gz", Response::ok(gzip(&sample_tar())));
    let env = TestEnv::new();
    let store = env.path("store");
    let mut child = spawn_prefetch(&env, &server.url("/big.tar.gz"));
    wait_for_unpacking(&store, &mut child);
    kill_process(Pid::from_child(&child), Signal::KILL).unwrap();
    child.wait().unwrap();
    let left = store_temporaries(&store);
    assert_eq!(left.len(), 1, "kill -9 cannot clean up: {left:?}");
    let (out, _) = prefetch(&env, &[&server.url("/sample.tar.gz")]);
    assert!(out.success(), "{out}");
    assert_eq!(store_temporaries(&store), Vec::<String>::new());
}

#[test]
fn registry_temporaries_of_dead_writers_go_at_the_next_write() {
    let env = TestEnv::new();
    let live = live();
    let dir = env.path(USER_REGISTRY).parent().unwrap().to_owned();
    std::fs::create_dir_all(&dir).unwrap();
    let dead = dir.join(format!(".registry.json.tmp-{}", dead_pid()));
    let of_live = dir.join(format!(".registry.json.tmp-{}", live.id()));
    std::fs::write(&dead, b"{\"version\":2,\"flakes\":[").unwrap();
    std::fs::write(&of_live, b"{\"version\":2,").unwrap();
    let out = env.run(&["registry", "add", "foo", "github:a/b"]);
    assert!(out.success(), "{out}");
    assert!(env.read(USER_REGISTRY).contains("github"));
    assert!(!dead.exists());
    assert!(of_live.exists());
}
