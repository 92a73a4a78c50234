//! The default global registry when it cannot be had (offline, unreachable, never cached): the
//! snapshot built into rflake stands in for it, with exactly one warning, and every layer still
//! resolves. An explicitly set `flake-registry` keeps Nix's failure (see `global_registry.rs`).
//!
//! The default URL is made unreachable hermetically: with `--offline` (no socket is opened) or
//! with the test-only `_RFLAKE_DEFAULT_FLAKE_REGISTRY` pointing at a loopback server.

use crate::fetch_tarball::{SAMPLE_HASH, gzip, sample_tar};
use crate::support::{CommandOutput, HttpServer, Response, TestEnv};

const BUILTIN: &str = "using the global registry built into rflake (a snapshot of ";

/// An env with the default `flake-registry` (not set anywhere) and a flake at `work/fl`.
fn default_env() -> TestEnv {
    let mut env = TestEnv::new();
    env.set_flake_registry(None);
    env.write("work/fl/flake.nix", "{ outputs = _: { }; }\n");
    env
}

/// An env as [`default_env`] whose default global registry URL is on `server` (404 there).
fn unreachable_env(server: &HttpServer) -> TestEnv {
    let mut env = default_env();
    env.add_env(
        "_RFLAKE_DEFAULT_FLAKE_REGISTRY",
        server.url("/flake-registry.json"),
    );
    env
}

/// Asserts success with exactly one warning about the global registry: the fallback's.
fn assert_one_builtin_warning(out: &CommandOutput) {
    assert!(out.success(), "{out}");
    let warnings: Vec<&str> = out
        .stderr()
        .lines()
        .filter(|l| l.starts_with("warning:") && l.contains("registry"))
        .collect();
    assert_eq!(warnings.len(), 1, "{out}");
    assert!(warnings[0].contains(BUILTIN), "{out}");
}

#[test]
fn offline_user_registry_commands_work_with_one_warning() {
    let env = default_env();
    let fl = format!("path:{}", env.path("work/fl").display());
    let out = env.run(&["registry", "add", "gd", &fl, "--offline"]);
    assert!(out.success(), "{out}");
    assert_eq!(out.stderr(), "", "add needs no global registry");

    let out = env.run(&["registry", "list", "--offline"]);
    assert_one_builtin_warning(&out);
    assert!(out.stdout().starts_with("user   flake:gd path:"), "{out}");
    assert!(
        out.stdout()
            .contains("global flake:home-manager github:nix-community/home-manager\n"),
        "{out}"
    );
    assert_eq!(
        out.stderr(),
        "warning: unable to download 'https://channels.nixos.org/flake-registry.json': it is not \
         cached and the network is disabled by '--offline'; using the global registry built into \
         rflake (a snapshot of 2026-06-27)\n"
    );

    let out = env.run(&["registry", "resolve", "gd", "--offline"]);
    assert_one_builtin_warning(&out);
    assert_eq!(out.stdout(), "path:$TEST_ENV/work/fl\n", "{out}");

    // Ids of the real global registry resolve through the snapshot.
    let out = env.run(&["registry", "resolve", "flake-utils", "--offline"]);
    assert_one_builtin_warning(&out);
    assert_eq!(out.stdout(), "github:numtide/flake-utils\n", "{out}");

    let out = env.run(&["flake", "metadata", "gd", "--offline"]);
    assert_one_builtin_warning(&out);
    assert!(out.stdout().contains("path:$TEST_ENV/work/fl"), "{out}");

    let out = env.run(&["registry", "pin", "gd", "--offline"]);
    assert_one_builtin_warning(&out);
    let user = env.read("config/nix/registry.json");
    assert!(user.contains("\"lastModified\""), "{user}");

    let out = env.run(&["registry", "remove", "gd", "--offline"]);
    assert_eq!((out.success(), out.stderr()), (true, ""), "{out}");
}

#[test]
fn unreachable_default_registry_falls_back_once() {
    let server = HttpServer::start();
    server.route("/x.tar.gz", Response::ok(gzip(&sample_tar())));
    let env = unreachable_env(&server);
    let url = server.url("/x.tar.gz");
    let out = env.run(&["flake", "prefetch", "--json", &url]);
    assert_one_builtin_warning(&out);
    assert!(out.stdout().contains(SAMPLE_HASH), "{out}");
    let reg = server.url("/flake-registry.json");
    assert!(
        out.stderr().starts_with(&format!(
            "warning: unable to download '{reg}': HTTP error 404;"
        )),
        "{out}"
    );
}

#[test]
fn a_locked_flake_archives_without_the_global_registry() {
    let server = HttpServer::start();
    let env = unreachable_env(&server);
    env.write("work/dep/flake.nix", "{ outputs = _: { }; }\n");
    env.write(
        "work/fl/flake.nix",
        format!(
            "{{ inputs.dep.url = \"path:{}\"; outputs = _: {{ }}; }}\n",
            env.path("work/dep").display()
        ),
    );
    // The first run creates the lock file (and says so), the second archives the locked flake.
    for expect_lock_warning in [true, false] {
        let out = env.run(&["flake", "archive", "--json", "path:./fl"]);
        assert!(out.success(), "{out}");
        assert!(!out.stderr().contains("registry"), "{out}");
        assert_eq!(out.stderr().is_empty(), !expect_lock_warning, "{out}");
        assert!(out.stdout().contains("\"dep\""), "{out}");
        assert!(env.try_read("work/fl/flake.lock").is_some());
    }
    assert_eq!(server.requests().len(), 0);
}

#[test]
fn a_reachable_default_registry_is_used_without_warning() {
    let server = HttpServer::start();
    server.route(
        "/flake-registry.json",
        Response::ok(
            r#"{"flakes":[{"from":{"type":"indirect","id":"nixpkgs"},"to":{"type":"github","owner":"o","repo":"live"}}],"version":2}"#,
        ),
    );
    let env = unreachable_env(&server);
    let out = env.run(&["registry", "resolve", "nixpkgs"]);
    assert_eq!(out.stdout(), "github:o/live\n", "{out}");
    assert_eq!(out.stderr(), "", "{out}");
}

#[test]
fn an_explicit_flake_registry_still_fails_as_in_nix() {
    let env = default_env();
    let url = "https://channels.nixos.org/flake-registry.json";
    let out = env.run(&["registry", "list", "--offline", "--flake-registry", url]);
    assert_eq!(out.status().code(), Some(1), "{out}");
    assert_eq!(
        out.stderr(),
        format!(
            "error: unable to download '{url}': it is not cached and the network is disabled by \
             '--offline'\n"
        )
    );
}
