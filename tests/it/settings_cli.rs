//! Settings as the command line sees them: `nix.conf` layers, `NIX_CONFIG`, `--option`,
//! `--NAME VALUE` / `--no-NAME` / `--extra-NAME` flags, and unknown-setting warnings.

use crate::support::TestEnv;

fn registry(id: &str) -> String {
    format!(
        r#"{{"version":2,"flakes":[{{"from":{{"type":"indirect","id":"{id}"}},"to":{{"type":"github","owner":"o","repo":"{id}"}}}}]}}"#
    )
}

/// Writes four global registries and returns an env whose `NIX_CONFIG` names none of them.
fn env() -> TestEnv {
    let mut env = TestEnv::new();
    for id in ["sys", "user", "nixconfig", "flag"] {
        env.write(format!("{id}.json"), registry(id));
    }
    env.set_flake_registry(None);
    env
}

fn global_id(env: &TestEnv, args: &[&str]) -> String {
    let mut full = vec!["registry", "list"];
    full.extend_from_slice(args);
    let out = env.run(&full);
    assert!(out.success(), "{out}");
    out.stdout()
        .split_whitespace()
        .nth(1)
        .unwrap_or_default()
        .to_owned()
}

#[test]
fn layers_override_each_other_in_nix_order() {
    let mut env = env();
    let p = |id: &str| env.path(format!("{id}.json")).display().to_string();
    let (sys, user, nixconfig, flag) = (p("sys"), p("user"), p("nixconfig"), p("flag"));
    env.write("etc/nix.conf", format!("flake-registry = {sys}\n"));
    assert_eq!(global_id(&env, &[]), "flake:sys");
    env.write(
        "config/nix/nix.conf",
        format!("# user file\nflake-registry = {user}\n"),
    );
    assert_eq!(global_id(&env, &[]), "flake:user");
    env.add_nix_config(&format!("flake-registry = {nixconfig}"));
    assert_eq!(global_id(&env, &[]), "flake:nixconfig");
    assert_eq!(global_id(&env, &["--flake-registry", &flag]), "flake:flag");
    assert_eq!(
        global_id(&env, &["--option", "flake-registry", &flag]),
        "flake:flag"
    );
}

#[test]
fn xdg_config_dirs_and_includes() {
    let env = env();
    let user = env.path("user.json").display().to_string();
    let sys = env.path("sys.json").display().to_string();
    env.write("xdg-dirs/nix/nix.conf", format!("flake-registry = {sys}\n"));
    assert_eq!(global_id(&env, &[]), "flake:sys");
    env.write(
        "config/nix/extra.conf",
        format!("flake-registry = {user}\n"),
    );
    env.write(
        "config/nix/nix.conf",
        "include extra.conf\n!include missing.conf\n",
    );
    assert_eq!(global_id(&env, &[]), "flake:user");
    env.write("config/nix/nix.conf", "include missing.conf\n");
    let out = env.run(&["registry", "list"]);
    assert_eq!(out.status().code(), Some(1), "{out}");
    assert!(
        out.stderr()
            .starts_with("error: file \"$TEST_ENV/config/nix/missing.conf\" included from"),
        "{out}"
    );
}

#[test]
fn unknown_settings_warn_and_known_ones_are_silent() {
    let mut env = env();
    env.add_nix_config("max-jobs = 4\nsandbox = false\nfoo-bar = 1\nflake-registry =");
    let out = env.run(&[
        "registry",
        "list",
        "--option",
        "baz",
        "2",
        "--extra-substituters",
        "https://c.example",
        "--no-warn-dirty",
    ]);
    assert!(out.success(), "{out}");
    assert_eq!(
        out.stderr(),
        "warning: unknown setting 'baz'\nwarning: unknown setting 'foo-bar'\n"
    );
}

#[test]
fn bad_setting_values_are_errors() {
    let env = env();
    let out = env.run(&["registry", "list", "--tarball-ttl", "soon"]);
    assert_eq!(out.status().code(), Some(1), "{out}");
    assert!(out.stderr().starts_with("error: "), "{out}");
    let out = env.run(&["registry", "list", "--tarball-ttl"]);
    assert_eq!(out.status().code(), Some(1), "{out}");
}
