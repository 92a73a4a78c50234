//! `flake archive --check` (an rflake addition, issue 18.6): exit 0 when every path is in the
//! store, 3 naming the missing ones, 4 when the lock is incomplete or out of sync with
//! `flake.nix`; and no network connection (a loopback registry server sees no request).

use crate::support::HttpServer;
use crate::support::TestEnv;

/// How many inputs the graph has (the acceptance size).
pub const INPUTS: usize = 50;

/// Writes a root flake at `work/root` with `n` `path:` flake inputs `p00`…, each a small
/// directory with a `flake.nix`, plus `extra` lines in its `inputs`.
pub fn write_graph(env: &TestEnv, n: usize, extra: &str) {
    let w = env.path("work").display().to_string();
    let mut inputs = String::new();
    for i in 0..n {
        env.write(
            format!("work/inputs/p{i:02}/flake.nix"),
            "{ outputs = { self }: { }; }\n",
        );
        env.write(
            format!("work/inputs/p{i:02}/data.txt"),
            format!("input {i}\n"),
        );
        inputs.push_str(&format!("    p{i:02}.url = \"path:{w}/inputs/p{i:02}\";\n"));
    }
    inputs.push_str(extra);
    env.write(
        "work/root/flake.nix",
        format!("{{\n  inputs = {{\n{inputs}  }};\n  outputs = {{ self, ... }}: {{ }};\n}}\n"),
    );
}

/// A test environment whose `flake-registry` is a loopback server (which must see no
/// request), with the graph written, locked and archived into the default store.
pub fn archived_graph(n: usize) -> (TestEnv, HttpServer) {
    let server = HttpServer::start();
    let mut env = TestEnv::new();
    env.set_flake_registry(Some(&server.url("/registry.json")));
    write_graph(&env, n, "");
    let out = env.run(&["flake", "archive", "./root"]);
    assert!(out.success(), "{out}");
    assert!(env.try_read("work/root/flake.lock").is_some());
    (env, server)
}

#[test]
fn check_passes_when_every_path_is_present_and_opens_no_connection() {
    let (env, server) = archived_graph(INPUTS);
    let lock = env.read("work/root/flake.lock");
    let out = env.run(&["flake", "archive", "--check", "./root"]);
    assert_eq!(out.status().code(), Some(0), "{out}");
    assert_eq!(out.stdout(), "");
    // --json lists what was checked, as --dry-run --json does.
    let json = env.run(&["flake", "archive", "--check", "--json", "./root"]);
    let dry = env.run(&["flake", "archive", "--dry-run", "--json", "./root"]);
    assert_eq!(json.status().code(), Some(0), "{json}");
    assert_eq!(json.stdout(), dry.stdout());
    assert_eq!(env.read("work/root/flake.lock"), lock);
    assert!(server.requests().is_empty(), "{:?}", server.requests());
}

#[test]
fn check_exits_3_naming_the_missing_paths() {
    let (env, server) = archived_graph(3);
    let other = env.path("other-store").display().to_string();
    let out = env.run(&["flake", "archive", "--check", "--to", &other, "./root"]);
    assert_eq!(out.status().code(), Some(3), "{out}");
    let stderr = out.stderr();
    assert!(
        stderr.starts_with("error: 4 of 4 paths are missing from store '"),
        "{out}"
    );
    assert_eq!(stderr.matches("-source").count(), 4, "{out}");
    // Copy them, then the check passes.
    let copy = env.run(&["flake", "archive", "--to", &other, "./root"]);
    assert!(copy.success(), "{copy}");
    let out = env.run(&["flake", "archive", "--check", "--to", &other, "./root"]);
    assert_eq!(out.status().code(), Some(0), "{out}");
    assert!(server.requests().is_empty(), "{:?}", server.requests());
}

#[test]
fn check_exits_4_when_the_lock_is_missing_an_input_without_resolving_it() {
    let (env, server) = archived_graph(3);
    let lock = env.read("work/root/flake.lock");
    // A new indirect input: locking would look it up in the (loopback) global registry.
    write_graph(&env, 3, "    nixpkgs.url = \"nixpkgs\";\n");
    let out = env.run(&["flake", "archive", "--check", "./root"]);
    assert_eq!(out.status().code(), Some(4), "{out}");
    assert!(
        out.stderr().contains("is incomplete or out of sync with its flake.nix: input 'nixpkgs' ('flake:nixpkgs') is not locked"),
        "{out}"
    );
    assert_eq!(env.read("work/root/flake.lock"), lock);
    assert!(server.requests().is_empty(), "{:?}", server.requests());
}

#[test]
fn check_exits_4_when_an_input_was_removed_or_there_is_no_lock() {
    let (env, _server) = archived_graph(3);
    let lock = env.read("work/root/flake.lock");
    write_graph(&env, 2, "");
    let out = env.run(&["flake", "archive", "--check", "./root"]);
    assert_eq!(out.status().code(), Some(4), "{out}");
    assert!(out.stderr().contains("locking would change it"), "{out}");
    assert_eq!(env.read("work/root/flake.lock"), lock);
    std::fs::remove_file(env.path("work/root/flake.lock")).unwrap();
    let out = env.run(&["flake", "archive", "--check", "./root"]);
    assert_eq!(out.status().code(), Some(4), "{out}");
    assert!(env.try_read("work/root/flake.lock").is_none());
}

#[test]
fn check_exits_1_on_other_errors_and_conflicts_with_dry_run() {
    let env = TestEnv::new();
    let out = env.run(&["flake", "archive", "--check", "./nonexistent"]);
    assert_eq!(out.status().code(), Some(1), "{out}");
    let out = env.run(&["flake", "archive", "--check", "--dry-run", "."]);
    assert_eq!(out.status().code(), Some(1), "{out}");
    assert!(out.stderr().contains("cannot be used with"), "{out}");
}
