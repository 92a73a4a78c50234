//! Registry format, matching and resolution (spec §6.1, §6.4, §6.5, §6.9).

use super::resolve::{self, Layer, Mode, Source};
use super::*;
use crate::flakeref::{ParseOptions, parse};
use crate::report::{Collect, Silent};

fn input(s: &str) -> Input {
    parse(s, &ParseOptions::default(), &Silent).unwrap().input
}

fn entry(from: &str, to: &str) -> Entry {
    let to = parse(to, &ParseOptions::default(), &Silent).unwrap();
    Entry {
        from: input(from),
        to: to.input,
        dir: to.subdir,
        exact: false,
    }
}

struct Fixed(Vec<(Layer, Registry)>);

impl Source for Fixed {
    fn layer(&mut self, layer: Layer) -> anyhow::Result<&Registry> {
        static EMPTY: Registry = Registry {
            entries: Vec::new(),
        };
        Ok(self
            .0
            .iter()
            .find(|(l, _)| *l == layer)
            .map_or(&EMPTY, |(_, r)| r))
    }
}

fn resolve_str(s: &str, source: &mut Fixed) -> Result<String, String> {
    let r = parse(s, &ParseOptions::default(), &Silent).map_err(|e| e.to_string())?;
    resolve::resolve(&r, Mode::All, source)
        .map_err(|e| e.to_string())
        .map(|r| r.to_url_string().unwrap())
}

/// Spec §6.9: the file Nix writes after three `registry add`s.
#[test]
fn worked_example_file() {
    let mut reg = Registry::default();
    reg.add(entry("nixpkgs", "github:NixOS/nixpkgs/nixos-20.09"));
    reg.add(entry(
        "flake:foo/bar",
        "git+https://example.org/r?dir=d&ref=main",
    ));
    reg.add(entry("nixpkgs", "github:NixOS/nixpkgs"));
    let expected = r#"{
  "flakes": [
    {
      "from": {
        "id": "foo",
        "ref": "bar",
        "type": "indirect"
      },
      "to": {
        "dir": "d",
        "ref": "main",
        "type": "git",
        "url": "https://example.org/r"
      }
    },
    {
      "from": {
        "id": "nixpkgs",
        "type": "indirect"
      },
      "to": {
        "owner": "NixOS",
        "repo": "nixpkgs",
        "type": "github"
      }
    }
  ],
  "version": 2
}"#;
    assert_eq!(reg.to_json_string(), expected);
    let back = Registry::read(expected.as_bytes(), "x", &Silent);
    assert!(back.error.is_none());
    assert_eq!(back.registry, reg);
}

#[test]
fn empty_registry_is_null() {
    assert_eq!(
        Registry::default().to_json_string(),
        "{\n  \"flakes\": null,\n  \"version\": 2\n}"
    );
}

#[test]
fn exact_survives_and_is_written_first() {
    let text = r#"{"version":2,"flakes":[{"exact":true,"junk":1,"from":{"type":"indirect","id":"a"},"to":{"type":"path","path":"/x"}}]}"#;
    let r = Registry::read(text.as_bytes(), "f", &Silent);
    assert!(r.error.is_none());
    assert!(r.registry.entries[0].exact);
    assert!(
        r.registry
            .to_json_string()
            .contains("\"exact\": true,\n      \"from\"")
    );
    assert!(!r.registry.to_json_string().contains("junk"));
}

#[test]
fn read_errors_keep_entries_before_them() {
    let text = r#"{"version":2,"flakes":[
        {"from":{"type":"indirect","id":"a"},"to":{"type":"path","path":"/x"}},
        {"from":{"type":"indirect","id":"b"},"to":{"type":"github","owner":"o"}},
        {"from":{"type":"indirect","id":"c"},"to":{"type":"path","path":"/y"}}]}"#;
    let r = Registry::read(text.as_bytes(), "/tmp/g.json", &Silent);
    assert_eq!(r.registry.entries.len(), 1);
    assert_eq!(
        r.error.unwrap().to_string(),
        "cannot read flake registry '/tmp/g.json': error: input attribute 'repo' is missing"
    );
}

#[test]
fn version_and_syntax_errors() {
    let cases = [
        (
            r#"{"flakes":[]}"#,
            "cannot read flake registry 'f': error: flake registry 'f' has unsupported version 0",
        ),
        (
            r#"{"version":1,"flakes":{"x":{"uri":"y"}}}"#,
            "cannot read flake registry 'f': error: flake registry 'f' has unsupported version 1",
        ),
        (
            "{",
            "cannot parse flake registry 'f': EOF while parsing an object at line 1 column 1",
        ),
    ];
    for (text, msg) in cases {
        let r = Registry::read(text.as_bytes(), "f", &Silent);
        assert_eq!(r.error.unwrap().to_string(), msg, "{text}");
        assert!(r.registry.entries.is_empty());
    }
    let r = Registry::read(br#"{"version":2}"#, "f", &Silent);
    assert!(r.error.is_none());
    let r = Registry::read(br#"{"version":2,"flakes":null}"#, "f", &Silent);
    assert!(r.error.is_none());
}

/// Spec §6.4 consequences.
#[test]
fn matching_and_unification() {
    let mut global = Registry::default();
    global.entries.push(entry("a", "path:/w/plain"));
    global.entries.push(entry("b/x", "path:/w/plain"));
    global.entries.push(Entry {
        exact: true,
        ..entry("f", "path:/w/plain")
    });
    global
        .entries
        .push(entry("g", "git+file:///w/repo?dir=sub"));
    global
        .entries
        .push(entry("nixpkgs", "github:NixOS/nixpkgs/master"));
    let mut src = Fixed(vec![(Layer::Global, global)]);
    let r8 = "8473495b3cf00132dcb08593aa6ba41a1eb0df51";
    let cases: Vec<(String, Result<String, String>)> = vec![
        ("a".into(), Ok("path:/w/plain".into())),
        (
            "a/foo".into(),
            Err("don't know how to set branch/tag name of input 'path:/w/plain' to 'foo'".into()),
        ),
        (
            "b".into(),
            Err("cannot find flake 'flake:b' in the flake registries".into()),
        ),
        ("b/x".into(), Ok("path:/w/plain".into())),
        (
            format!("b/x/{r8}"),
            Err(format!(
                "cannot find flake 'flake:b/x/{r8}' in the flake registries"
            )),
        ),
        ("f".into(), Ok("path:/w/plain".into())),
        (
            "f/x".into(),
            Err("cannot find flake 'flake:f/x' in the flake registries".into()),
        ),
        (
            "g/master".into(),
            Ok("git+file:///w/repo?dir=sub&ref=master".into()),
        ),
        (
            format!("g/master/{r8}"),
            Ok(format!("git+file:///w/repo?dir=sub&ref=master&rev={r8}")),
        ),
        (
            format!("g/{r8}"),
            Err(format!(
                "Git input 'git+file:///w/repo?rev={r8}' has a commit hash but no branch/tag name"
            )),
        ),
        (
            "flake:g?dir=other".into(),
            Ok("git+file:///w/repo?dir=sub".into()),
        ),
        (
            "nixpkgs/nixos-20.09".into(),
            Ok("github:NixOS/nixpkgs/nixos-20.09".into()),
        ),
        ("nixpkgs".into(), Ok("github:NixOS/nixpkgs/master".into())),
        (
            "nosuch".into(),
            Err("cannot find flake 'flake:nosuch' in the flake registries".into()),
        ),
        ("github:x/y".into(), Ok("github:x/y".into())),
    ];
    for (input, expected) in cases {
        assert_eq!(resolve_str(&input, &mut src), expected, "{input}");
    }
}

#[test]
fn chains_cycles_and_layer_order() {
    let mut user = Registry::default();
    user.entries.push(entry("c", "flake:a"));
    user.entries.push(entry("d", "flake:e"));
    user.entries.push(entry("e", "flake:d"));
    user.entries.push(entry("foo", "flake:bar?dir=x"));
    user.entries.push(entry("bar", "git+file:///w/repo"));
    let mut global = Registry::default();
    global.entries.push(entry("a", "path:/w/plain"));
    global.entries.push(entry("c", "path:/never"));
    let mut src = Fixed(vec![(Layer::User, user), (Layer::Global, global)]);
    assert_eq!(resolve_str("c", &mut src), Ok("path:/w/plain".into()));
    assert_eq!(
        resolve_str("d", &mut src),
        Err("cycle detected in flake registry for 'flake:d'".into())
    );
    assert_eq!(
        resolve_str("foo", &mut src),
        Ok("git+file:///w/repo".into())
    );

    let r = parse("c", &ParseOptions::default(), &Silent).unwrap();
    // Limited mode skips the user layer, so the global entry for `c` applies.
    let limited = resolve::resolve(&r, Mode::Limited, &mut src).unwrap();
    assert_eq!(limited.to_url_string().unwrap(), "path:/never");
    let no = resolve::resolve(&r, Mode::No, &mut src).unwrap_err();
    assert_eq!(
        no.to_string(),
        "'flake:c' is an indirect flake reference, but registry lookups are not allowed"
    );
}

#[test]
fn lenient_read_warns() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("r.json");
    std::fs::write(&p, "{\"version\": 3}").unwrap();
    let report = Collect::default();
    let reg = layers::read_lenient(&p, &report).unwrap();
    assert!(reg.entries.is_empty());
    let shown = p.display();
    assert_eq!(
        report.lines(),
        [format!(
            "warning: cannot read flake registry '{shown}': error: flake registry '{shown}' has unsupported version 3"
        )]
    );
    let err = layers::read_strict(&p, &report).unwrap_err().to_string();
    assert!(
        err.starts_with(&format!("cannot read flake registry '{shown}'")),
        "{err}"
    );
    assert!(
        layers::read_lenient(&dir.path().join("missing"), &report)
            .unwrap()
            .entries
            .is_empty()
    );
}
