//! `profile list` and `profile history` of a profile Nix 2.8 made: current Nix's format, read
//! offline from the version-2 manifests.

use insta::assert_snapshot;

use super::{Fixture, pin_mtime, visible};

#[test]
fn list_and_history_of_a_nix_2_8_profile() {
    let Some(f) = Fixture::new() else { return };
    let p = f.profile();
    let flake = f.write_flake("flake1", 1);
    f.nix_ok(&[
        "profile",
        "install",
        "--profile",
        &p,
        &format!("path:{}", flake.display()),
    ]);
    f.env.write("work/dep/share/dep.txt", "dep\n");
    let dep = f.add_path("dep", "dep");
    f.nix_ok(&["profile", "install", "--profile", &p, &dep]);
    for n in 1..=2 {
        pin_mtime(&f.env.path(format!("profiles/profile-{n}-link")));
    }
    // Nix 2.8 wrote version 2.
    let manifest = std::fs::read_to_string(f.real(&f.generation(2)).join("manifest.json")).unwrap();
    assert!(manifest.ends_with(r#""version":2}"#), "{manifest}");

    assert_snapshot!(visible(f.rflake(&["profile", "list", "--profile", &p]).stdout()), @r"
    Name:               ␛[1mdep␛[0m
    Store paths:        /nix/store/5fg05gzqb6kwjh72cycgg4h09f4cbapc-dep

    Name:               ␛[1mflake1␛[0m
    Flake attribute:    packages.x86_64-linux.default
    Original flake URL: path:$TEST_ENV/work/flake1
    Locked flake URL:   path:$TEST_ENV/work/flake1?lastModified=1700000000&narHash=sha256-GaQOHP1tkctDak8caFrNpiPWOT%2BY/QHIkqbG%2ByeelCY%3D
    Store paths:        /nix/store/110wni8ja3mn5bfyakpvaqmrjdb9b85p-hello-1.0
    ");
    assert_snapshot!(f.rflake(&["profile", "list", "--profile", &p, "--json"]), @r#"{"elements":{"dep":{"active":true,"priority":5,"storePaths":["/nix/store/5fg05gzqb6kwjh72cycgg4h09f4cbapc-dep"]},"flake1":{"active":true,"attrPath":"packages.x86_64-linux.default","originalUrl":"path:$TEST_ENV/work/flake1","outputs":null,"priority":5,"storePaths":["/nix/store/110wni8ja3mn5bfyakpvaqmrjdb9b85p-hello-1.0"],"url":"path:$TEST_ENV/work/flake1?lastModified=1700000000&narHash=sha256-GaQOHP1tkctDak8caFrNpiPWOT%2BY/QHIkqbG%2ByeelCY%3D"}},"version":3}"#);

    // History: the same text as Nix 2.8 prints (2.8 and current Nix agree on this format).
    let ours = f.rflake(&["profile", "history", "--profile", &p]);
    assert_snapshot!(visible(ours.stdout()), @r"
    Version ␛[1m1␛[0m (2023-11-14):
      path:$TEST_ENV/work/flake1#packages.x86_64-linux.default: ∅ -> 1.0

    Version ␛[32;1m2␛[0m (2023-11-14) <- 1:
      dep: ∅ -> ε
    ");
    assert_eq!(ours, f.nix(&["profile", "history", "--profile", &p]));
}

#[test]
fn missing_or_empty_profiles() {
    let Some(f) = Fixture::new() else { return };
    let p = f.profile();
    assert_snapshot!(f.rflake(&["profile", "list", "--profile", &p]), @"");
    assert_snapshot!(f.rflake(&["profile", "history", "--profile", &p]), @"");
    let gone = f.env.path("nowhere/profile").display().to_string();
    assert_snapshot!(f.rflake(&["profile", "history", "--profile", &gone]), @r#"
    ------- stderr -------
    error: opening directory "$TEST_ENV/nowhere": No such file or directory
    [exit status: 1]
    "#);
}

#[test]
fn damaged_and_unknown_manifests_are_reported() {
    let Some(f) = Fixture::new() else { return };
    let p = f.profile();
    for (text, want) in [
        (
            "{\"version\":4,\"elements\":[]}",
            "has unsupported version 4",
        ),
        ("{\"version\":2,\"elements\":[{}]}", "'active' is missing"),
        ("not json", "is not valid JSON"),
    ] {
        f.env.write("profiles/gen/manifest.json", text);
        let _ = std::fs::remove_file(f.env.path("profiles/profile"));
        std::os::unix::fs::symlink(f.env.path("profiles/gen"), f.env.path("profiles/profile"))
            .unwrap();
        let out = f.rflake(&["profile", "list", "--profile", &p]);
        assert!(!out.success(), "{out}");
        assert!(
            out.stderr().starts_with(
                "error: profile manifest \"$TEST_ENV/profiles/profile/manifest.json\""
            ),
            "{out}"
        );
        assert!(out.stderr().contains(want), "{out}");
    }
}

/// Spec P5 and Nix's `nix-profile.sh` ("upgrading from nix-env"): a profile `nix-env` made is
/// listed from its `manifest.nix`, elements named by their package names.
#[test]
fn nix_env_profile_is_read_from_manifest_nix() {
    let Some(f) = Fixture::new() else { return };
    let p = f.profile();
    f.env.write("work/foo/bin/foo", "foo\n");
    let foo = f.add_path("foo-1.0", "foo");
    let out = f.in_namespace(&["nix-env", "-p", &p, "-i", &foo]);
    assert!(out.success(), "{out}");
    let gen1 = f.generation(1);
    assert!(gen1.ends_with("-user-environment"), "{gen1}");
    pin_mtime(&f.env.path("profiles/profile-1-link"));
    let list = f.rflake(&["profile", "list", "--profile", &p]);
    assert_eq!(
        visible(list.stdout()),
        format!("Name:               ␛[1mfoo␛[0m\nStore paths:        {foo}\n")
    );
    let history = f.rflake(&["profile", "history", "--profile", &p]);
    assert_snapshot!(visible(history.stdout()), @r"
    Version ␛[32;1m1␛[0m (2023-11-14):
      foo: ∅ -> 1.0
    ");
    assert_eq!(history, f.nix(&["profile", "history", "--profile", &p]));
}
