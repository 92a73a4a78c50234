//! `rflake registry add|list|remove|resolve|pin` as a user runs them: scenario transcripts,
//! rejections that leave every file as it was, and `--registry FILE`.

use insta::assert_snapshot;

use crate::support::TestEnv;

const GITHUB_NIXPKGS: &str = r#"{"flakes":[{"from":{"type":"indirect","id":"nixpkgs"},"to":{"type":"github","owner":"NixOS","repo":"nixpkgs"}}],"version":2}"#;

#[test]
fn add_list_remove_list() {
    let env = TestEnv::new();
    env.write("global-registry.json", GITHUB_NIXPKGS);
    assert_snapshot!(env.run(&["registry", "add", "nixpkgs", "github:NixOS/nixpkgs/nixos-20.09"]), @"");
    assert_snapshot!(env.run(&["registry", "add", "flake:foo/bar", "git+https://example.org/r?dir=d&ref=main"]), @"");
    assert_snapshot!(env.run(&["registry", "list"]), @r"
    user   flake:nixpkgs github:NixOS/nixpkgs/nixos-20.09
    user   flake:foo/bar git+https://example.org/r?dir=d&ref=main
    global flake:nixpkgs github:NixOS/nixpkgs
    ");
    assert_snapshot!(env.run(&["registry", "remove", "nixpkgs"]), @"");
    assert_snapshot!(env.run(&["registry", "list"]), @r"
    user   flake:foo/bar git+https://example.org/r?dir=d&ref=main
    global flake:nixpkgs github:NixOS/nixpkgs
    ");
    assert_snapshot!(env.run(&["registry", "remove", "flake:foo/bar"]), @"");
    assert_eq!(
        env.read("config/nix/registry.json"),
        "{\n  \"flakes\": null,\n  \"version\": 2\n}"
    );
}

#[test]
fn resolve_through_layers_and_override_flake() {
    let mut env = TestEnv::new();
    env.write("global-registry.json", GITHUB_NIXPKGS);
    env.write("etc/registry.json", r#"{"version":2,"flakes":[{"from":{"type":"indirect","id":"sys"},"to":{"type":"indirect","id":"nixpkgs","ref":"nixos-24.05"}}]}"#);
    std::fs::create_dir_all(env.path("work/local")).unwrap();
    env.write("work/local/flake.nix", "{ outputs = _: {}; }");
    env.set_cwd("work");
    assert_snapshot!(env.run(&["registry", "resolve", "nixpkgs", "nixpkgs/nixos-unstable", "sys", "github:a/b"]), @r"
    github:NixOS/nixpkgs
    github:NixOS/nixpkgs/nixos-unstable
    github:NixOS/nixpkgs/nixos-24.05
    github:a/b
    ");
    assert_snapshot!(env.run(&["registry", "resolve", "--override-flake", "nixpkgs", "./local", "nixpkgs"]), @"path:$TEST_ENV/work/local");
    assert_snapshot!(env.run(&["registry", "resolve", "nosuch"]), @r"
    ------- stderr -------
    error: cannot find flake 'flake:nosuch' in the flake registries
    [exit status: 1]
    ");
}

#[test]
fn rejected_arguments_change_nothing() {
    let env = TestEnv::new();
    env.run(&["registry", "add", "keep", "github:a/b"]);
    let before = env.read("config/nix/registry.json");
    let cases: &[(&[&str], &str)] = &[
        (
            &["registry", "add", "x", "./relative"],
            "error: flake reference './relative' is not an absolute path",
        ),
        (
            &["registry", "add", "x", "foo:bar"],
            "error: input 'foo:bar' is unsupported",
        ),
        (
            &["registry", "add", "x", "github:a/b?tag=v1"],
            "error: URL 'github:a/b?tag=v1' contains unknown parameter 'tag'",
        ),
        (
            &["registry", "add", "x", "git+https://h/r?ref=a..b"],
            "error: invalid Git branch/tag name 'a..b'",
        ),
        (
            &["registry", "add", "x", "path:/p?foo=1"],
            "error: path URL 'path:/p?foo=1' has unsupported parameter 'foo'",
        ),
        (
            &["registry", "add", "1x", "github:a/b"],
            "error: flake reference '1x' is not an absolute path",
        ),
        (
            &["registry", "add", "x", "github:a/b#frag"],
            "error: unexpected fragment 'frag' in flake reference 'github:a/b#frag'",
        ),
        (
            &["registry", "remove", "./relative"],
            "error: flake reference './relative' is not an absolute path",
        ),
        (
            &["registry", "add", "x"],
            "error: the following required arguments were not provided:",
        ),
    ];
    for (args, first_line) in cases {
        let out = env.run(args);
        assert_eq!(out.status().code(), Some(1), "{args:?}: {out}");
        assert_eq!(out.stderr().lines().next(), Some(*first_line), "{args:?}");
        assert_eq!(
            env.read("config/nix/registry.json"),
            before,
            "{args:?} changed the file"
        );
    }
}

#[test]
fn malformed_target_file_is_refused_and_kept() {
    let env = TestEnv::new();
    let cases = [
        ("{ not json", "cannot parse flake registry"),
        (
            r#"{"version":1,"flakes":{"a":{"uri":"github:a/b"}}}"#,
            "cannot read flake registry",
        ),
        (
            r#"{"version":2,"flakes":[{"from":{"type":"indirect","id":"a"},"to":{"type":"github","owner":"o"}}]}"#,
            "cannot read flake registry",
        ),
    ];
    for (contents, msg) in cases {
        env.write("config/nix/registry.json", contents);
        for args in [
            &["registry", "add", "x", "github:a/b"][..],
            &["registry", "remove", "a"][..],
        ] {
            let out = env.run(args);
            assert_eq!(out.status().code(), Some(1), "{contents}: {out}");
            let expected = format!("error: {msg} '$TEST_ENV/config/nix/registry.json': ");
            assert!(out.stderr().starts_with(&expected), "{contents}: {out}");
            assert!(out.stderr().contains("refusing to overwrite it"), "{out}");
            assert_eq!(
                env.read("config/nix/registry.json"),
                contents,
                "file changed"
            );
        }
        // Reading (list) only warns, as Nix does, and goes on.
        let out = env.run(&["registry", "list"]);
        assert!(out.success(), "{out}");
        assert!(
            out.stderr().starts_with(&format!("warning: {msg} '")),
            "{out}"
        );
    }
}

#[test]
fn list_warns_and_keeps_entries_read_before_a_bad_one() {
    let env = TestEnv::new();
    env.write(
        "global-registry.json",
        r#"{"version":2,"flakes":[
        {"from":{"type":"indirect","id":"a"},"to":{"type":"github","owner":"o","repo":"r"}},
        {"from":{"type":"indirect","id":"b"},"to":{"type":"github","owner":"o"}}]}"#,
    );
    assert_snapshot!(env.run(&["registry", "list"]), @r"
    global flake:a github:o/r
    ------- stderr -------
    warning: cannot read flake registry '$TEST_ENV/global-registry.json': error: input attribute 'repo' is missing
    ");
}

#[test]
fn list_fails_on_unsupported_type_after_printing_earlier_lines() {
    let env = TestEnv::new();
    env.write(
        "config/nix/registry.json",
        r#"{"version":2,"flakes":[
        {"from":{"type":"indirect","id":"a"},"to":{"type":"path","path":"/x"}},
        {"from":{"type":"indirect","id":"b"},"to":{"type":"foo","x":1}}]}"#,
    );
    assert_snapshot!(env.run(&["registry", "list"]), @r#"
    user   flake:a path:/x
    ------- stderr -------
    error: cannot show unsupported input '{"type":"foo","x":1}'
    [exit status: 1]
    "#);
}

#[test]
fn custom_registry_file_is_relative_to_the_working_directory() {
    let mut env = TestEnv::new();
    std::fs::create_dir_all(env.path("work/sub")).unwrap();
    env.set_cwd("work/sub");
    assert!(
        env.run(&[
            "registry",
            "add",
            "--registry",
            "custom.json",
            "a",
            "github:o/a"
        ])
        .success()
    );
    assert!(
        env.run(&[
            "registry",
            "add",
            "--registry",
            "./custom.json",
            "b",
            "github:o/b"
        ])
        .success()
    );
    let text = env.read("work/sub/custom.json");
    assert!(
        text.contains("\"id\": \"a\"") && text.contains("\"id\": \"b\""),
        "{text}"
    );
    assert!(
        env.try_read("config/nix/registry.json").is_none(),
        "user registry untouched"
    );
    assert!(
        env.run(&["registry", "remove", "--registry", "custom.json", "a"])
            .success()
    );
    assert!(!env.read("work/sub/custom.json").contains("\"id\": \"a\""));
}

#[test]
fn symlinked_registry_is_written_through_the_link() {
    let env = TestEnv::new();
    env.write("real.json", r#"{"version":2}"#);
    std::fs::create_dir_all(env.path("config/nix")).unwrap();
    std::os::unix::fs::symlink(env.path("real.json"), env.path("config/nix/registry.json"))
        .unwrap();
    assert!(env.run(&["registry", "add", "a", "github:o/a"]).success());
    let meta = std::fs::symlink_metadata(env.path("config/nix/registry.json")).unwrap();
    assert!(meta.file_type().is_symlink());
    assert!(env.read("real.json").contains("\"id\": \"a\""));
}

#[test]
fn parallel_adds_never_lose_an_entry() {
    // Nix (and rflake before it locked) kept all four in a minority of rounds.
    let env = TestEnv::new();
    for round in 0..10 {
        let children: Vec<_> = (0..4)
            .map(|i| {
                env.command(env!("CARGO_BIN_EXE_rflake"))
                    .args(["registry", "add", &format!("r{round}i{i}"), "github:o/r"])
                    .stdout(std::process::Stdio::null())
                    .stderr(std::process::Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        for c in children {
            let out = c.wait_with_output().unwrap();
            assert!(out.status.success(), "{out:?}");
        }
        let text = env.read("config/nix/registry.json");
        for i in 0..4 {
            assert!(
                text.contains(&format!("\"r{round}i{i}\"")),
                "round {round}: r{round}i{i} lost:\n{text}"
            );
        }
    }
}
