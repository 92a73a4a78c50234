//! `flake archive --print-paths` and `--json-lines` (rflake additions, issue 18.5): every
//! store path once, one per line, for `cachix push`/`attic push`/`nix copy`; one JSON record
//! per input. Neither opens a network connection on a locked flake.

use std::collections::BTreeSet;

use insta::assert_snapshot;

use super::check::{INPUTS, archived_graph, write_graph};
use super::{normalize, write_inputs, write_root};
use crate::support::TestEnv;

/// Every `path` of a `flake archive --json` document.
fn json_paths(text: &str) -> BTreeSet<String> {
    fn walk(v: &serde_json::Value, out: &mut BTreeSet<String>) {
        if let Some(p) = v.get("path").and_then(|p| p.as_str()) {
            out.insert(p.to_owned());
        }
        if let Some(inputs) = v.get("inputs").and_then(|i| i.as_object()) {
            for i in inputs.values() {
                walk(i, out);
            }
        }
    }
    let v: serde_json::Value = serde_json::from_str(text).unwrap();
    let mut out = BTreeSet::new();
    walk(&v, &mut out);
    out
}

#[test]
fn print_paths_prints_each_path_once_and_opens_no_connection() {
    let (env, server) = archived_graph(INPUTS);
    // A second edge to the same source: its path is printed once.
    let w = env.path("work").display().to_string();
    write_graph(
        &env,
        INPUTS,
        &format!("    again.url = \"path:{w}/inputs/p00\";\n"),
    );
    let dry = env.run(&["flake", "archive", "--dry-run", "--json", "./root"]);
    assert!(dry.success(), "{dry}");
    let expected = json_paths(dry.stdout());
    assert_eq!(expected.len(), INPUTS + 1);
    for args in [
        &["flake", "archive", "--print-paths", "./root"][..],
        &["flake", "archive", "--print-paths", "--dry-run", "./root"],
        &["flake", "archive", "--print-paths", "--check", "./root"],
    ] {
        let out = env.run(args);
        assert!(out.success(), "{args:?}: {out}");
        let lines: Vec<&str> = out.stdout().lines().collect();
        assert_eq!(lines.len(), INPUTS + 1, "{args:?}: {out}");
        let set: BTreeSet<String> = lines.iter().map(|l| (*l).to_owned()).collect();
        assert_eq!(set, expected, "{args:?}");
    }
    assert!(server.requests().is_empty(), "{:?}", server.requests());
}

#[test]
fn json_lines_has_one_record_per_input() {
    let mut env = TestEnv::new();
    write_inputs(&env);
    write_root(
        &env,
        "root",
        r#"{
  inputs = {
    a.url = "path:@W@/a";
    data = { url = "path:@W@/data"; flake = false; };
    again = { url = "path:@W@/data"; flake = false; };
  };
  outputs = { self, ... }: { };
}
"#,
    );
    env.set_cwd("work");
    let out = env.run(&["flake", "archive", "--json-lines", "--dry-run", "./root"]);
    assert!(out.success(), "{out}");
    let mut lines = Vec::new();
    for line in out.stdout().lines() {
        let mut v: serde_json::Value = serde_json::from_str(line).unwrap();
        // The root's source holds its lock file, whose paths vary with the test directory.
        if v["attrPath"].as_array().is_some_and(Vec::is_empty) {
            for key in ["locked", "narHash", "path"] {
                assert!(v[key].is_string(), "{line}");
                v[key] = serde_json::Value::String(format!("<root {key}>"));
            }
        }
        lines.push(serde_json::to_string(&v).unwrap());
    }
    assert_snapshot!(normalize(&env, &lines.join("\n")));
    let both = env.run(&["flake", "archive", "--json", "--json-lines", "./root"]);
    assert_eq!(both.status().code(), Some(1), "{both}");
    let both = env.run(&["flake", "archive", "--json", "--print-paths", "./root"]);
    assert_eq!(both.status().code(), Some(1), "{both}");
}

#[test]
fn print_paths_streams_while_a_slow_input_is_still_downloading() {
    use std::io::BufRead as _;
    use std::process::Stdio;
    use std::time::Duration;

    use crate::support::{HttpServer, Response};

    // A tarball input: any small archive will do.
    let tarball = {
        let mut b = tar::Builder::new(Vec::new());
        let data = vec![b'x'; 20_000];
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_mtime(1_700_000_000);
        h.set_cksum();
        b.append_data(&mut h, "slow/data", &data[..]).unwrap();
        b.into_inner().unwrap()
    };
    let server = HttpServer::start();
    server.route("/slow.tar", Response::ok(tarball.clone()));
    let mut env = TestEnv::new();
    env.write("work/a/flake.nix", "{ outputs = { self }: { }; }\n");
    env.write(
        "work/root/flake.nix",
        format!(
            "{{\n  inputs.a.url = \"path:{}\";\n  inputs.slow = {{ url = \"{}\"; flake = false; }};\n  \
             outputs = {{ self, ... }}: {{ }};\n}}\n",
            env.path("work/a").display(),
            server.url("/slow.tar")
        ),
    );
    env.set_cwd("work/root");
    let out = env.run(&["flake", "archive", "--dry-run"]);
    assert!(out.success(), "{out:?}");

    // Into a fresh store and cache, the tarball now comes 1 KiB every 5 s (100 s in all): the
    // first paths must come long before it is in.
    server.route(
        "/slow.tar",
        Response::ok(tarball).slowly(1024, Duration::from_secs(5)),
    );
    env.add_env("XDG_CACHE_HOME", env.path("cache-2"));
    let fresh = env.path("fresh").display().to_string();
    let mut child = env
        .command(env!("CARGO_BIN_EXE_rflake"))
        .args(["flake", "archive", "--print-paths", "--store", &fresh])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    // The root's and `a`'s paths come while the tarball is still on its way (a generous bound
    // for a busy machine, far below the download's 100 s).
    let first = rx.recv_timeout(Duration::from_secs(40));
    let second = rx.recv_timeout(Duration::from_secs(40));
    let running = child.try_wait().unwrap().is_none();
    let _ = child.kill();
    let _ = child.wait();
    let (first, second) = (first.unwrap(), second.unwrap());
    assert!(
        running,
        "rflake had finished before printing the first paths"
    );
    for p in [&first, &second] {
        assert!(p.starts_with("/nix/store/"), "{p}");
    }
    assert_ne!(first, second);
}
