//! `rflake completions SHELL`: the scripts parse in their shells, and the hidden candidate
//! lister offers registry ids and schemes from local files only.

use std::process::Command;

use crate::support::HttpServer;
use crate::support::TestEnv;

#[allow(clippy::print_stderr)] // a skipped check says so outside CI
fn shell_accepts(shell: &str, script: &str) {
    let env = TestEnv::new();
    env.write("script", script);
    let path = env.path("script");
    let status = Command::new(shell).arg("-n").arg(&path).status();
    match status {
        Ok(s) => assert!(s.success(), "{shell} -n rejected the script"),
        Err(e) if std::env::var_os("CI").is_none() => eprintln!("skipping {shell}: {e}"),
        Err(e) => panic!("{shell} is needed in CI: {e}"),
    }
}

#[test]
fn scripts_parse() {
    let env = TestEnv::new();
    for shell in ["bash", "zsh", "fish"] {
        let out = env.run(&["completions", shell]);
        assert!(out.success(), "{out}");
        assert!(
            out.stdout().contains("__complete flakeref"),
            "{shell}: no flake-ref hook"
        );
        shell_accepts(shell, out.stdout());
    }
    for shell in ["elvish", "powershell"] {
        let out = env.run(&["completions", shell]);
        assert!(out.success() && !out.stdout().is_empty(), "{out}");
    }
    let out = env.run(&["completions", "tcsh"]);
    assert_eq!(out.status().code(), Some(1));
}

#[test]
fn flake_ref_candidates_come_from_local_registries_only() {
    let server = HttpServer::start();
    let mut env = TestEnv::new();
    env.set_flake_registry(Some(&server.url("/never-fetched.json")));
    env.run(&["registry", "add", "nixpkgs", "github:NixOS/nixpkgs"]);
    env.run(&[
        "registry",
        "add",
        "nix-colors",
        "sourcehut:~misterio/nix-colors",
    ]);
    env.write("etc/registry.json", r#"{"version":2,"flakes":[{"from":{"type":"indirect","id":"sysflake"},"to":{"type":"path","path":"/x"}}]}"#);
    let out = env.run(&["__complete", "flakeref", "--", "ni"]);
    assert_eq!(out.stdout(), "nix-colors\nnixpkgs\n", "{out}");
    let out = env.run(&["__complete", "flakeref", "--", "git+"]);
    assert_eq!(
        out.stdout(),
        "git+file://\ngit+http://\ngit+https://\ngit+ssh://\n"
    );
    let out = env.run(&["__complete", "flakeref", "--", "sys"]);
    assert_eq!(out.stdout(), "sysflake\n");
    assert_eq!(server.requests().len(), 0, "completion touched the network");
}

/// rflake's additions (issue 18) are completed in every shell, under their commands.
#[test]
fn additions_are_completed() {
    let env = TestEnv::new();
    for shell in ["bash", "zsh", "fish"] {
        let out = env.run(&["completions", shell]);
        assert!(out.success(), "{out}");
        let script = out.stdout();
        for flag in [
            "explain",
            "dry-run",
            "check",
            "print-paths",
            "json-lines",
            "inputs-only",
            "input",
            "exclude",
        ] {
            let spelled = match shell {
                "fish" => format!("-l {flag}"),
                _ => format!("--{flag}"),
            };
            assert!(script.contains(&spelled), "{shell}: {flag} missing");
        }
    }
    // bash lists each subcommand's options on its own line.
    let bash = env.run(&["completions", "bash"]);
    let archive_opts = bash
        .stdout()
        .lines()
        .find(|l| l.contains("opts=") && l.contains("--no-check-sigs"))
        .expect("flake archive's options");
    for flag in [
        "--check",
        "--print-paths",
        "--json-lines",
        "--inputs-only",
        "--input",
        "--exclude",
    ] {
        assert!(archive_opts.contains(flag), "{flag} not in {archive_opts}");
    }
}

/// `profile upgrade` completes the default profile's element names (Nix 2.35+), offline.
#[test]
fn profile_elements_are_completed_after_upgrade() {
    let env = TestEnv::new();
    let manifest = r#"{"elements":{"hello":{"active":true,"priority":5,"storePaths":[]},"hello-1":{"active":true,"priority":5,"storePaths":[]},"vim":{"active":true,"priority":5,"storePaths":[]}},"version":3}"#;
    env.write("generation/manifest.json", manifest);
    // Root's default profile lives under NIX_STATE_DIR, a user's under XDG_STATE_HOME.
    for dir in ["nix-state/profiles/per-user/root", "state/nix/profiles"] {
        std::fs::create_dir_all(env.path(dir)).unwrap();
        std::os::unix::fs::symlink(env.path("generation"), env.path(format!("{dir}/profile")))
            .unwrap();
    }
    let out = env.run(&["__complete", "profile-element", "--", "he"]);
    assert_eq!(out.stdout(), "hello\nhello-1\n", "{out}");
    let out = env.run(&["__complete", "profile-element", "--", ""]);
    assert_eq!(out.stdout(), "hello\nhello-1\nvim\n", "{out}");
    for shell in ["bash", "zsh", "fish"] {
        let out = env.run(&["completions", shell]);
        assert!(
            out.stdout().contains("__complete profile-element"),
            "{shell}"
        );
    }
    // An unreadable manifest completes nothing, quietly.
    env.write("generation/manifest.json", "{");
    let out = env.run(&["__complete", "profile-element", "--", ""]);
    assert!(
        out.success() && out.stdout().is_empty() && out.stderr().is_empty(),
        "{out}"
    );
}
