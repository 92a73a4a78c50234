//! Which store a command uses (issue #13 point 4): `NIX_REMOTE` is the default of the `store`
//! setting, as in Nix (`nix.conf`, `NIX_CONFIG` and `--store` override it), and
//! `NIX_DAEMON_SOCKET_PATH` names the socket of the `daemon` store.

// Helpers outside `#[test]` functions unwrap too: a failure is a test failure.
#![allow(clippy::unwrap_used)]

use crate::support::TestEnv;

/// A one-file tree at `work/src`, and its store path (Nix 2.8's for the same tree).
fn tree(env: &TestEnv) -> String {
    env.write("work/src/hello.txt", "hello\n");
    env.path("work/src").display().to_string()
}

/// Whether the chroot store at `root` holds the printed `path`.
fn holds(root: &std::path::Path, path: &str) -> bool {
    root.join(path.trim_start_matches('/')).exists()
}

/// The store path `flake prefetch --json` printed.
fn prefetched(out: &crate::support::CommandOutput) -> String {
    assert!(out.success(), "{out:?}");
    let v: serde_json::Value = serde_json::from_str(out.stdout()).unwrap();
    v["storePath"].as_str().unwrap().to_owned()
}

#[test]
fn nix_remote_is_the_default_store() {
    let mut env = TestEnv::new();
    let src = tree(&env);
    let remote = env.path("remote-store");
    env.without_store_setting();
    env.add_env("NIX_REMOTE", &remote);
    let path = prefetched(&env.run(&["flake", "prefetch", "--json", &format!("path:{src}")]));
    assert!(holds(&remote, &path), "{path} is not in NIX_REMOTE's store");
}

#[test]
fn the_store_setting_wins_over_nix_remote() {
    let mut env = TestEnv::new();
    let src = tree(&env);
    let remote = env.path("remote-store");
    env.add_env("NIX_REMOTE", &remote);
    let path = prefetched(&env.run(&["flake", "prefetch", "--json", &format!("path:{src}")]));
    assert!(
        holds(&env.path("store"), &path),
        "{path} is not in the store setting's"
    );
    assert!(!remote.exists(), "NIX_REMOTE's store was opened");
}

#[test]
fn nix_daemon_socket_path_names_the_daemon_socket() {
    let mut env = TestEnv::new();
    env.write("work/f/flake.nix", "{\n  outputs = { self }: { };\n}\n");
    env.set_cwd("work/f");
    let socket = env.path("no-daemon/socket");
    env.add_env("NIX_DAEMON_SOCKET_PATH", &socket);
    let out = env.run(&["flake", "archive", "--to", "daemon"]);
    assert_eq!(out.status().code(), Some(1), "{out:?}");
    assert!(
        out.stderr()
            .contains("cannot connect to socket at '$TEST_ENV/no-daemon/socket'"),
        "{out:?}"
    );
}
