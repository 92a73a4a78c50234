//! SIGINT, SIGTERM and SIGHUP in the middle of a download: Nix's `error: interrupted by the
//! user`, exit code 1, and no temporary left in the store.

// Fixture builders unwrap too: a failure there is a test failure.
#![allow(clippy::unwrap_used)]

use std::io::Write as _;
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use rustix::process::{Pid, Signal, kill_process};

use crate::support::{HttpServer, KillOnDrop, Response, TestEnv};

/// A gzipped tarball of `files` files of 64 KiB each that gzip cannot shrink, so that its
/// download takes as long as the server wants.
pub fn big_tarball(files: usize) -> Vec<u8> {
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut b = tar::Builder::new(Vec::new());
    for i in 0..files {
        let data: Vec<u8> = (0..64 * 1024)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state as u8
            })
            .collect();
        let mut h = tar::Header::new_ustar();
        h.set_path(format!("big/f{i:04}")).unwrap();
        h.set_mode(0o644);
        h.set_mtime(1_700_000_000);
        h.set_size(data.len() as u64);
        h.set_cksum();
        b.append(&h, &data[..]).unwrap();
    }
    let tar = b.into_inner().unwrap();
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(&tar).unwrap();
    e.finish().unwrap()
}

/// Returns the names of the `tmp-*` entries of the store directory.
pub fn store_temporaries(store: &Path) -> Vec<String> {
    std::fs::read_dir(store.join("nix/store"))
        .map(|d| {
            d.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with("tmp-"))
                .collect()
        })
        .unwrap_or_default()
}

/// Waits until the download has started to land in the store: a `tmp-*` directory with
/// something unpacked in it.
pub fn wait_for_unpacking(store: &Path, child: &mut Child) {
    let end = Instant::now() + Duration::from_secs(60);
    loop {
        let started = store_temporaries(store).iter().any(|t| {
            let dir = store.join("nix/store").join(t);
            walk_count(&dir) > 1
        });
        if started {
            return;
        }
        if let Some(status) = child.try_wait().unwrap() {
            panic!("rflake ended before the download started: {status}");
        }
        assert!(Instant::now() < end, "the download never started");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn walk_count(dir: &Path) -> usize {
    match std::fs::read_dir(dir) {
        Ok(d) => {
            1 + d
                .flatten()
                .map(|e| {
                    if e.file_type().is_ok_and(|t| t.is_dir()) {
                        walk_count(&e.path())
                    } else {
                        1
                    }
                })
                .sum::<usize>()
        }
        Err(_) => 0,
    }
}

/// Starts `rflake flake prefetch <url>` with stderr captured.
pub fn spawn_prefetch(env: &TestEnv, url: &str) -> KillOnDrop {
    KillOnDrop::new(
        env.command(env!("CARGO_BIN_EXE_rflake"))
            .args(["flake", "prefetch", url])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    )
}

/// Sends `signal`, then waits for the process; returns its exit code, stderr and how long it
/// took to end after the signal.
fn interrupt(child: KillOnDrop, signal: Signal) -> (Option<i32>, String, Duration) {
    let sent = Instant::now();
    kill_process(Pid::from_child(&child), signal).unwrap();
    let out = child.into_inner().wait_with_output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        sent.elapsed(),
    )
}

#[test]
fn a_signal_mid_download_stops_cleans_up_and_says_so() {
    let server = HttpServer::start();
    // 8 MiB at about 1 MiB/s: the download is still running when the signal comes.
    server.route(
        "/big.tar.gz",
        Response::ok(big_tarball(128)).slowly(32 * 1024, Duration::from_millis(30)),
    );
    for (name, signal) in [
        ("SIGINT", Signal::INT),
        ("SIGTERM", Signal::TERM),
        ("SIGHUP", Signal::HUP),
    ] {
        let env = TestEnv::new();
        let store = env.path("store");
        let mut child = spawn_prefetch(&env, &server.url("/big.tar.gz"));
        wait_for_unpacking(&store, &mut child);
        let (code, stderr, took) = interrupt(child, signal);
        assert_eq!(code, Some(1), "{name}: {stderr}");
        assert_eq!(
            stderr.lines().last(),
            Some("error: interrupted by the user"),
            "{name}: {stderr}"
        );
        assert_eq!(stderr.matches("interrupted").count(), 1, "{name}: {stderr}");
        assert!(
            store_temporaries(&store).is_empty(),
            "{name} left {:?}",
            store_temporaries(&store)
        );
        // Stopped at a check, well before the signal thread's grace period ends it.
        assert!(took < Duration::from_millis(2500), "{name} took {took:?}");
    }
}

#[test]
fn a_stalled_download_is_ended_by_the_signal_thread() {
    let server = HttpServer::start();
    // Some bytes, then nothing for a minute: the reading thread is blocked and checks nothing.
    server.route(
        "/stalled.tar.gz",
        Response::ok(big_tarball(16)).slowly(256 * 1024, Duration::from_secs(60)),
    );
    let env = TestEnv::new();
    let store = env.path("store");
    let mut child = spawn_prefetch(&env, &server.url("/stalled.tar.gz"));
    wait_for_unpacking(&store, &mut child);
    // Let rflake use up what arrived, so that it is blocked reading when the signal comes.
    std::thread::sleep(Duration::from_secs(1));
    let (code, stderr, took) = interrupt(child, Signal::INT);
    assert_eq!(code, Some(1), "{stderr}");
    assert_eq!(
        stderr.lines().last(),
        Some("error: interrupted by the user"),
        "{stderr}"
    );
    assert!(store_temporaries(&store).is_empty(), "{stderr}");
    // Ended by the signal thread after its grace period (3 s), not by the stalled server.
    assert!(took > Duration::from_secs(2), "took {took:?}");
    assert!(took < Duration::from_secs(10), "took {took:?}");
}

#[test]
fn a_signal_kills_the_git_child_and_stops_at_once() {
    let server = HttpServer::start();
    // git's first request gets a few bytes, then nothing for a minute: git waits, and rflake
    // waits for git.
    server.route(
        "/repo.git/info/refs?service=git-upload-pack",
        Response::ok(vec![b'0'; 4096])
            .header(
                "Content-Type",
                "application/x-git-upload-pack-advertisement",
            )
            .slowly(4, Duration::from_secs(60)),
    );
    let env = TestEnv::new();
    let url = format!("git+{}", server.url("/repo.git"));
    let child = spawn_prefetch(&env, &url);
    let end = Instant::now() + Duration::from_secs(60);
    while !server
        .requests()
        .iter()
        .any(|r| r.path.starts_with("/repo.git/info/refs"))
    {
        assert!(Instant::now() < end, "git never asked for the refs");
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(300));
    let (code, stderr, took) = interrupt(child, Signal::INT);
    assert_eq!(code, Some(1), "{stderr}");
    assert_eq!(
        stderr.lines().last(),
        Some("error: interrupted by the user"),
        "{stderr}"
    );
    // The child was killed at the next poll, long before the signal thread's grace period.
    assert!(took < Duration::from_millis(2500), "took {took:?}");
}
