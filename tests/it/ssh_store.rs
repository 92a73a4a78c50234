//! `ssh-ng://` and `ssh://` stores (issue #13): the worker protocol over `nix-daemon --stdio`
//! and the serve protocol of `nix-store --serve --write`, run by a real OpenSSH server on
//! loopback with temporary keys, reached through `NIX_SSHOPTS`; the remote Nix 2.8 uses a
//! private chroot store, which the oracle then reads directly.

// Helpers outside `#[test]` functions unwrap too: a failure is a test failure.
#![allow(clippy::unwrap_used)]

use crate::support::{SshServer, TestEnv, require_nix};

/// A flake with a `path:` input, and a server; the environment works in the flake.
fn setup() -> (TestEnv, SshServer) {
    let mut env = TestEnv::new();
    env.write("work/dep/flake.nix", "{\n  outputs = { self }: { };\n}\n");
    env.write(
        "work/root/flake.nix",
        format!(
            "{{\n  inputs.dep.url = \"path:{}\";\n  outputs = {{ self, dep }}: {{ }};\n}}\n",
            env.path("work/dep").display()
        ),
    );
    env.set_cwd("work/root");
    let server = SshServer::start(&env.path("ssh"));
    env.add_env("NIX_SSHOPTS", server.ssh_opts());
    (env, server)
}

#[test]
fn archive_to_ssh_ng_copies_every_path_once() {
    archive_copies_every_path_once("ssh-ng://127.0.0.1");
}

#[test]
fn archive_to_ssh_copies_every_path_once() {
    archive_copies_every_path_once("ssh://127.0.0.1");
}

/// Archives the fixture `--to` the server's store at `to` twice: the first run copies both
/// paths, with the local store's NAR hash and `ca`; the second copies nothing.
fn archive_copies_every_path_once(to: &str) {
    if !require_nix() {
        return;
    }
    let (env, server) = setup();
    let out = env.run(&["flake", "archive", "--json", "--to", to]);
    assert!(out.success(), "{out:?}");
    let v: serde_json::Value = serde_json::from_str(out.stdout()).unwrap();
    let paths = [
        v["path"].as_str().unwrap().to_owned(),
        v["inputs"]["dep"]["path"].as_str().unwrap().to_owned(),
    ];
    assert!(out.stderr().contains("copying 2 paths..."), "{out:?}");
    // The remote store has them, with the NAR hash and `ca` the local store recorded.
    let store = server.remote_store.display().to_string();
    let local = env.path("store").display().to_string();
    for p in &paths {
        let remote = env.run_nix(&["path-info", "--json", "--store", &store, p]);
        assert!(remote.success(), "{remote:?}");
        let here = env.run_nix(&["path-info", "--json", "--store", &local, p]);
        let field = |o: &crate::support::CommandOutput, k: &str| {
            let v: serde_json::Value = serde_json::from_str(o.stdout()).unwrap();
            v[0][k].clone()
        };
        assert_eq!(field(&remote, "narHash"), field(&here, "narHash"), "{p}");
        assert_eq!(field(&remote, "ca"), field(&here, "ca"), "{p}");
    }
    // Everything is there: a second run copies nothing.
    let out = env.run(&["flake", "archive", "--to", to]);
    assert!(out.success(), "{out:?}");
    assert_eq!(out.stderr(), "");
}

/// `nix-store --serve` sends NARs back (`DumpStorePath`): each one read through an `ssh://`
/// store hashes to the `narHash` the remote Nix recorded, and the connection stays usable after
/// each (the NAR's end is found by parsing it).
#[test]
fn nars_are_read_back_from_ssh_stores() {
    if !require_nix() {
        return;
    }
    use rflake::hash::{Algo, Hash};
    let (env, server) = setup();
    let out = env.run(&["flake", "archive", "--json", "--to", "ssh://127.0.0.1"]);
    assert!(out.success(), "{out:?}");
    let v: serde_json::Value = serde_json::from_str(out.stdout()).unwrap();
    let paths = [
        v["path"].as_str().unwrap().to_owned(),
        v["inputs"]["dep"]["path"].as_str().unwrap().to_owned(),
    ];
    let settings = rflake::store::open::StoreSettings {
        ssh_opts: Some(server.ssh_opts()),
        ..Default::default()
    };
    let cfg = rflake::store::open::OpenConfig::new(&settings, Default::default()).unwrap();
    let uri = rflake::store::uri::StoreUri::parse("ssh://127.0.0.1", env.root());
    let store = rflake::store::open::open(&uri, &cfg, &rflake::report::Collect::default()).unwrap();
    let remote = server.remote_store.display().to_string();
    for p in paths.iter().chain(&paths) {
        let path = rflake::store::StoreDir::default().parse(p).unwrap();
        let mut nar = Vec::new();
        store.nar_from_path(&path, &mut nar).unwrap();
        let info = env.run_nix(&["path-info", "--json", "--store", &remote, p]);
        let info: serde_json::Value = serde_json::from_str(info.stdout()).unwrap();
        assert_eq!(
            Hash::digest(Algo::Sha256, &nar).to_sri(),
            info[0]["narHash"].as_str().unwrap(),
            "{p}"
        );
        assert_eq!(nar.len() as u64, info[0]["narSize"].as_u64().unwrap());
    }
    // A path the remote does not have: an error naming it, not a hang.
    let missing = rflake::store::StoreDir::default()
        .parse("/nix/store/k30i9rm3dc3almwwl0l6hjpnpx0wjhxz-missing")
        .unwrap();
    let err = store.nar_from_path(&missing, &mut Vec::new()).unwrap_err();
    assert!(
        format!("{err:#}").starts_with(
            "reading '/nix/store/k30i9rm3dc3almwwl0l6hjpnpx0wjhxz-missing' from 'ssh://127.0.0.1'"
        ),
        "{err:#}"
    );
    // The broken session was dropped: the next read opens another.
    let path = rflake::store::StoreDir::default().parse(&paths[0]).unwrap();
    let mut nar = Vec::new();
    store.nar_from_path(&path, &mut nar).unwrap();
    assert!(!nar.is_empty());
}

#[test]
fn unreachable_hosts_and_missing_remote_programs_are_errors() {
    let (mut env, server) = setup();
    // Nothing listens on port 1.
    env.add_env(
        "NIX_SSHOPTS",
        server
            .ssh_opts()
            .replace(&format!("-p {}", server.port), "-p 1"),
    );
    let out = env.run(&["flake", "archive", "--to", "ssh-ng://127.0.0.1"]);
    assert_eq!(out.status().code(), Some(1), "{out:?}");
    assert!(
        out.stderr()
            .contains("failed to start SSH connection to '127.0.0.1'"),
        "{out:?}"
    );
    // The host answers, but has no such program.
    env.add_env("NIX_SSHOPTS", server.ssh_opts());
    let out = env.run(&[
        "flake",
        "archive",
        "--to",
        "ssh-ng://127.0.0.1?remote-program=/no/such/nix-daemon",
    ]);
    assert_eq!(out.status().code(), Some(1), "{out:?}");
    // The remote shell's own complaint comes through (ssh's standard error is the user's),
    // then rflake's error naming the store.
    assert!(
        out.stderr()
            .contains("/no/such/nix-daemon: No such file or directory\n"),
        "{out:?}"
    );
    assert!(
        out.stderr().contains(
            "error: cannot open connection to remote store \
             'ssh-ng://127.0.0.1?remote-program=/no/such/nix-daemon'"
        ),
        "{out:?}"
    );
}

#[test]
fn store_parameters_name_the_key_and_the_host_key() {
    if !require_nix() {
        return;
    }
    let (mut env, server) = setup();
    // No identity and strict host-key checking in NIX_SSHOPTS: the URI's `ssh-key` and
    // `base64-ssh-public-host-key` (the host's `.pub` file, base64-encoded) must do it.
    env.add_env(
        "NIX_SSHOPTS",
        format!(
            "-p {} -o IdentitiesOnly=yes -o BatchMode=yes -o StrictHostKeyChecking=yes \
             -o LogLevel=ERROR -F /dev/null",
            server.port
        ),
    );
    let host_key = {
        use base64::Engine as _;
        let pubkey = std::fs::read(env.path("ssh/host_key.pub")).unwrap();
        base64::engine::general_purpose::STANDARD.encode(pubkey)
    };
    let key = env.path("ssh/user_key").display().to_string();
    let to = format!(
        "ssh-ng://127.0.0.1?ssh-key={key}&base64-ssh-public-host-key={host_key}&compress=true"
    );
    let out = env.run(&["flake", "archive", "--to", &to]);
    assert!(out.success(), "{out:?}");
    assert!(out.stderr().contains("copying 2 paths..."), "{out:?}");
    // Another host key is refused by ssh.
    let wrong = {
        use base64::Engine as _;
        let pubkey = std::fs::read(env.path("ssh/user_key.pub")).unwrap();
        base64::engine::general_purpose::STANDARD.encode(pubkey)
    };
    let to = format!("ssh://127.0.0.1?ssh-key={key}&base64-ssh-public-host-key={wrong}");
    let out = env.run(&["flake", "archive", "--to", &to]);
    assert_eq!(out.status().code(), Some(1), "{out:?}");
    assert!(
        out.stderr()
            .contains("failed to start SSH connection to '127.0.0.1'"),
        "{out:?}"
    );
}
