use std::path::Path;

use super::*;
use crate::report::Silent;
use crate::store::StoreDir;

fn read(text: &str) -> Result<Manifest, Error> {
    parse(
        text.as_bytes(),
        Path::new("/p/manifest.json"),
        &StoreDir::default(),
        &Silent,
    )
}

/// Spec P4.3: version 2 as Nix 2.8 wrote it after one install.
const V2_ONE: &str = r#"{"elements":[{"active":true,"attrPath":"packages.x86_64-linux.default","originalUrl":"path:/home/alice/flake1","storePaths":["/nix/store/110wni8ja3mn5bfyakpvaqmrjdb9b85p-hello-1.0"],"url":"path:/home/alice/flake1?lastModified=1700000000&narHash=sha256-GaQOHP1tkctDak8caFrNpiPWOT+Y%2fQHIkqbG+yeelCY="}],"version":2}"#;

/// Spec P4.3: the same profile as current Nix writes it.
const V3_ONE: &str = r#"{"elements":{"flake1":{"active":true,"attrPath":"packages.x86_64-linux.default","originalUrl":"path:/home/alice/flake1","outputs":null,"priority":5,"storePaths":["/nix/store/110wni8ja3mn5bfyakpvaqmrjdb9b85p-hello-1.0"],"url":"path:/home/alice/flake1?lastModified=1700000000&narHash=sha256-GaQOHP1tkctDak8caFrNpiPWOT%2BY/QHIkqbG%2ByeelCY%3D"}},"version":3}"#;

/// Spec P4.3: a locked install and a store-path install, version 2.
const V2_MIXED: &str = r#"{"elements":[{"active":true,"attrPath":"packages.x86_64-linux.other","originalUrl":"path:/home/alice/flake2?narHash=sha256-yIz92SFr63VK9x1DV6UXey7wJfqU97NurjxeHk1TAxs=","storePaths":["/nix/store/7rnfcmhhf2p60y617ili49bg0ccdr8nf-other-0.1"],"url":"path:/home/alice/flake2?narHash=sha256-yIz92SFr63VK9x1DV6UXey7wJfqU97NurjxeHk1TAxs="},{"active":true,"storePaths":["/nix/store/z4asv3j07d89ywjf8fxkn7sg6mf5s9q5-dep"]}],"version":2}"#;

#[test]
fn version_2_is_rewritten_as_current_nix_writes_version_3() {
    let m = read(V2_ONE).unwrap();
    assert_eq!(m.elements.keys().collect::<Vec<_>>(), ["flake1"]);
    assert_eq!(to_json(&m, &StoreDir::default()), V3_ONE);
}

#[test]
fn version_3_round_trips_byte_for_byte() {
    let m = read(V3_ONE).unwrap();
    assert_eq!(to_json(&m, &StoreDir::default()), V3_ONE);
}

#[test]
fn mixed_version_2_names_and_identifiers() {
    let m = read(V2_MIXED).unwrap();
    let names: Vec<_> = m.elements.keys().map(String::as_str).collect();
    assert_eq!(names, ["dep", "other"]);
    assert_eq!(m.elements["dep"].identifier(), "dep");
    assert_eq!(m.elements["dep"].versions(), "ε");
    assert_eq!(m.elements["other"].versions(), "0.1");
    assert_eq!(
        to_json(&m, &StoreDir::default()),
        r#"{"elements":{"dep":{"active":true,"priority":5,"storePaths":["/nix/store/z4asv3j07d89ywjf8fxkn7sg6mf5s9q5-dep"]},"other":{"active":true,"attrPath":"packages.x86_64-linux.other","originalUrl":"path:/home/alice/flake2?narHash=sha256-yIz92SFr63VK9x1DV6UXey7wJfqU97NurjxeHk1TAxs%3D","outputs":null,"priority":5,"storePaths":["/nix/store/7rnfcmhhf2p60y617ili49bg0ccdr8nf-other-0.1"],"url":"path:/home/alice/flake2?narHash=sha256-yIz92SFr63VK9x1DV6UXey7wJfqU97NurjxeHk1TAxs%3D"}},"version":3}"#
    );
}

#[test]
fn version_1_uses_uri_fields() {
    let v1 = r#"{"elements":[{"active":true,"attrPath":"packages.x86_64-linux.hello","originalUri":"github:NixOS/nixpkgs","storePaths":["/nix/store/110wni8ja3mn5bfyakpvaqmrjdb9b85p-hello-1.0"],"uri":"github:NixOS/nixpkgs/0123456789abcdef0123456789abcdef01234567"}],"version":1}"#;
    let m = read(v1).unwrap();
    let e = &m.elements["hello"];
    let s = e.source.as_ref().unwrap();
    assert_eq!(s.original_url(), "github:NixOS/nixpkgs");
    assert_eq!(
        e.identifier(),
        "github:NixOS/nixpkgs#packages.x86_64-linux.hello"
    );
}

#[test]
fn duplicate_names_get_suffixes_in_array_order() {
    let e = r#"{"active":true,"storePaths":["/nix/store/z4asv3j07d89ywjf8fxkn7sg6mf5s9q5-dep"]}"#;
    let text = format!(r#"{{"elements":[{e},{e},{e}],"version":2}}"#);
    let m = read(&text).unwrap();
    let names: Vec<_> = m.elements.keys().map(String::as_str).collect();
    assert_eq!(names, ["dep", "dep-1", "dep-2"]);
}

#[test]
fn outputs_and_priorities_are_kept() {
    let text = r#"{"elements":{"x":{"active":false,"attrPath":"packages.x86_64-linux.complex","originalUrl":"path:/w/nixpkgs","outputs":["man","bin"],"priority":-3,"storePaths":["/nix/store/110wni8ja3mn5bfyakpvaqmrjdb9b85p-hello-1.0","/nix/store/z4asv3j07d89ywjf8fxkn7sg6mf5s9q5-dep"],"url":"path:/w/nixpkgs?narHash=sha256-yIz92SFr63VK9x1DV6UXey7wJfqU97NurjxeHk1TAxs%3D"},"y":{"active":true,"attrPath":"a","originalUrl":"path:/w/y","outputs":["*"],"priority":5,"storePaths":[],"url":"path:/w/y?narHash=sha256-yIz92SFr63VK9x1DV6UXey7wJfqU97NurjxeHk1TAxs%3D"}},"version":3}"#;
    let m = read(text).unwrap();
    assert_eq!(
        to_json(&m, &StoreDir::default()),
        text.replace(r#""man","bin""#, r#""bin","man""#)
    );
    assert_eq!(
        m.elements["x"].identifier(),
        "path:/w/nixpkgs#packages.x86_64-linux.complex^bin,man"
    );
    assert_eq!(m.elements["y"].identifier(), "path:/w/y#a^*");
    assert_eq!(m.elements["y"].versions(), "∅");
}

#[test]
fn strings_are_escaped_as_nlohmann_does() {
    let mut m = Manifest::default();
    m.add_named("a\"b\\c\u{1}\n/é", Element::from_paths(Default::default()));
    assert_eq!(
        to_json(&m, &StoreDir::default()),
        "{\"elements\":{\"a\\\"b\\\\c\\u0001\\n/é\":{\"active\":true,\"priority\":5,\"storePaths\":[]}},\"version\":3}"
    );
}

#[test]
fn rejections_name_the_file() {
    let cases = [
        ("{", "is not valid JSON"),
        (r#"{"elements":[]}"#, "has unsupported version 0"),
        (
            r#"{"elements":[],"version":4}"#,
            "has unsupported version 4",
        ),
        (
            r#"{"elements":[],"version":"2"}"#,
            "has unsupported version \"2\"",
        ),
        (
            r#"{"elements":[{"storePaths":[]}],"version":2}"#,
            "'active' is missing",
        ),
        (
            r#"{"elements":[{"active":1,"storePaths":[]}],"version":2}"#,
            "'active' is a number, not a Boolean",
        ),
        (
            r#"{"elements":[{"active":true,"storePaths":["/tmp/x"]}],"version":2}"#,
            "damaged",
        ),
        (
            r#"{"elements":[{"active":true,"url":"path:/x?narHash=sha256-yIz92SFr63VK9x1DV6UXey7wJfqU97NurjxeHk1TAxs%3D"}],"version":2}"#,
            "'originalUrl' is missing",
        ),
        (
            r#"{"elements":{"a":{"active":true,"attrPath":"x","originalUrl":"path:/x","url":"path:/x","outputs":[]}},"version":3}"#,
            "'outputs' is an empty list",
        ),
    ];
    for (text, want) in cases {
        let e = read(text).unwrap_err().to_string();
        assert!(e.contains("\"/p/manifest.json\""), "{text}: {e}");
        assert!(e.contains(want), "{text}: {e}");
    }
}

#[test]
fn nix_env_manifest_literals() {
    // Spec P5, as nix-env wrote it.
    let text = r#"[ { meta = { description = "foo pkg"; }; name = "foo-1.0"; out = { outPath = "/nix/store/b41y5xq85f8wc3w0yb1nd1a356bw2y6q-foo-1.0"; }; outPath = "/nix/store/b41y5xq85f8wc3w0yb1nd1a356bw2y6q-foo-1.0"; outputs = [ "out" ]; system = "x86_64-linux"; type = "derivation"; } ]"#;
    let m = nix_env::parse(text, Path::new("/p/manifest.nix"), &StoreDir::default()).unwrap();
    assert_eq!(m.elements.keys().collect::<Vec<_>>(), ["foo"]);
    assert!(m.elements["foo"].source.is_none());
    assert_eq!(m.elements["foo"].versions(), "1.0");
    for bad in [
        "{ }",
        "[ 1 ]",
        "[ { outPath = \"${x}\"; } ]",
        "[ { name = \"x\"; } ]",
        "[ (",
    ] {
        let e = nix_env::parse(bad, Path::new("/p/manifest.nix"), &StoreDir::default())
            .unwrap_err()
            .to_string();
        assert!(e.contains("\"/p/manifest.nix\""), "{bad}: {e}");
    }
}
