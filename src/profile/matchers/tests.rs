use std::collections::BTreeSet;
use std::path::Path;

use super::*;
use crate::profile::manifest;
use crate::report::Silent;

const V2: &str = r#"{"elements":[{"active":true,"attrPath":"packages.x86_64-linux.hello","originalUrl":"flake:nixpkgs","storePaths":["/nix/store/110wni8ja3mn5bfyakpvaqmrjdb9b85p-hello-1.0"],"url":"path:/w/np?narHash=sha256-yIz92SFr63VK9x1DV6UXey7wJfqU97NurjxeHk1TAxs%3D"},{"active":true,"storePaths":["/nix/store/z4asv3j07d89ywjf8fxkn7sg6mf5s9q5-dep"]}],"version":2}"#;

fn manifest() -> Manifest {
    manifest::parse(V2.as_bytes(), Path::new("m"), &StoreDir::default(), &Silent).unwrap()
}

fn run(pos: &[&str], regex: &[&str], all: bool) -> Result<Matched, Error> {
    let pos: Vec<String> = pos.iter().map(|s| s.to_string()).collect();
    let regex: Vec<String> = regex.iter().map(|s| s.to_string()).collect();
    let m = parse(&pos, &regex, all, &StoreDir::default())?;
    select(&manifest(), &m)
}

fn names(m: &Matched) -> Vec<&str> {
    m.names.iter().map(String::as_str).collect()
}

#[test]
fn checks_in_nix_order() {
    let cases: [(&[&str], &[&str], bool, &str); 4] = [
        (&[], &[], false, "No packages specified."),
        (
            &["hello"],
            &[],
            true,
            "--all cannot be used with package names or regular expressions.",
        ),
        (
            &[],
            &["x"],
            true,
            "--all cannot be used with package names or regular expressions.",
        ),
        (
            &["hello", "3"],
            &[],
            false,
            "'nix profile' no longer supports indices ('3')",
        ),
    ];
    for (pos, re, all, want) in cases {
        assert_eq!(
            run(pos, re, all).unwrap_err().to_string(),
            want,
            "{pos:?} {re:?} {all}"
        );
    }
    assert!(Error::NoneGiven.is_usage() && !Error::Index(0).is_usage());
}

#[test]
fn names_store_paths_regexes_and_all() {
    let m = run(&["hello", "nope"], &[], false).unwrap();
    assert_eq!(names(&m), ["hello"]);
    assert_eq!(
        m.warnings,
        ["Package name 'nope' does not match any packages in the profile."]
    );

    let m = run(
        &[
            "/nix/store/z4asv3j07d89ywjf8fxkn7sg6mf5s9q5-dep",
            "/nix/store/00000000000000000000000000000000-x",
        ],
        &[],
        false,
    )
    .unwrap();
    assert_eq!(names(&m), ["dep"]);
    assert_eq!(
        m.warnings,
        [
            "Store path '00000000000000000000000000000000-x' does not match any packages in the profile."
        ]
    );

    // The whole identifier, case-insensitively.
    let m = run(&[], &["hello", ".*HELLO", "DEP"], false).unwrap();
    assert_eq!(names(&m), ["dep", "hello"]);
    assert_eq!(
        m.warnings,
        ["Regex 'hello' does not match any packages in the profile."]
    );

    let m = run(&[], &[], true).unwrap();
    assert_eq!(names(&m), ["dep", "hello"]);
    assert!(m.warnings.is_empty());

    // '.*' is a name since Nix 2.21.
    let m = run(&[".*"], &[], false).unwrap();
    assert_eq!(m.names, BTreeSet::new());
    assert_eq!(
        m.warnings,
        ["Package name '.*' does not match any packages in the profile."]
    );
}

#[test]
fn empty_profile_warns_once() {
    let m = parse(&["x".into()], &[], false, &StoreDir::default()).unwrap();
    let got = select(&Manifest::default(), &m).unwrap();
    assert_eq!(got.warnings, ["There are no packages in the profile."]);
}
