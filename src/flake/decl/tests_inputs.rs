//! `inputs`: URL and attribute forms, `follows`, overrides, `self`, path literals.

use serde_json::{Value as Json, json};

use super::tests::{err, ok, opts_in};
use super::*;

const F: &str = "/nix/store/x-source/flake.nix";

fn attrs(d: &InputDecl) -> Json {
    let r = d.flake_ref.as_ref().expect("a flake reference");
    Json::Object(crate::flakeref::attrs::to_json(&r.to_attrs()))
}

/// `{ inputs.a = <v>; outputs = _: 1; }` → the input `a`.
fn input(v: &str) -> InputDecl {
    ok(&format!("{{\n  inputs.a = {v};\n  outputs = _: 1;\n}}"))
        .inputs
        .remove("a")
        .expect("input a")
}

fn input_err(v: &str) -> String {
    err(&format!("{{\n  inputs.a = {v};\n  outputs = _: 1;\n}}"))
}

#[test]
fn url_form() {
    let a = input("{ url = \"github:NixOS/nixpkgs/nixos-24.05\"; }");
    assert_eq!(
        attrs(&a),
        json!({"owner":"NixOS","ref":"nixos-24.05","repo":"nixpkgs","type":"github"})
    );
    assert!(a.is_flake);
    assert_eq!(a.follows, None);
    assert_eq!(a.pos, Pos { line: 2, column: 3 });
    let a = input("{ url = \"nixpkgs\"; }");
    assert_eq!(attrs(&a), json!({"id":"nixpkgs","type":"indirect"}));
    let a = input("{ url = \"git+https://example.org/r?dir=sub&ref=main\"; }");
    assert_eq!(a.flake_ref.as_ref().unwrap().subdir, "sub");
}

#[test]
fn no_reference() {
    for v in ["{ }", "{ flake = false; }", "{ inputs.x.follows = \"y\"; }"] {
        let a = input(v);
        assert_eq!(a.flake_ref, None, "{v}");
        assert_eq!(a.follows, None, "{v}");
    }
    assert!(!input("{ flake = false; }").is_flake);
}

#[test]
fn non_flake_urls() {
    // Plain http URLs without an archive extension are `file` inputs when `flake = false`.
    let a = input("{ url = \"https://example.org/x.txt\"; flake = false; }");
    assert_eq!(attrs(&a)["type"], "file");
    let a = input("{ flake = false; url = \"https://example.org/x.txt\"; }");
    assert_eq!(attrs(&a)["type"], "file");
    let a = input("{ url = \"https://example.org/x.txt\"; }");
    assert_eq!(attrs(&a)["type"], "tarball");
}

#[test]
fn attribute_form() {
    let a = input("{ type = \"path\"; path = \"/tmp/demo/dep1\"; }");
    assert_eq!(attrs(&a), json!({"path":"/tmp/demo/dep1","type":"path"}));
    let a = input(
        "{ type = \"github\"; owner = \"NixOS\"; repo = \"nix\"; dir = \"sub\"; flake = false; }",
    );
    assert_eq!(
        attrs(&a),
        json!({"dir":"sub","owner":"NixOS","repo":"nix","type":"github"})
    );
    assert_eq!(a.flake_ref.as_ref().unwrap().subdir, "sub");
    assert!(!a.is_flake);
    let a = input(
        "{ type = \"git\"; url = \"https://example.org/r\"; submodules = true; revCount = 3; }",
    );
    assert_eq!(
        attrs(&a),
        json!({"revCount":3,"submodules":true,"type":"git","url":"https://example.org/r"})
    );
}

#[test]
fn attribute_form_errors() {
    let e = input_err("{ type = \"path\"; }");
    assert!(e.ends_with(&format!(", at {F}:2:3")), "{e}");
    assert_eq!(
        input_err("{ type = \"git\"; url = \"x\"; foo = [ 1 ]; }"),
        format!(
            "flake input attribute 'foo' is a thunk while a string, Boolean, or integer is \
             expected, at {F}:2:41"
        )
    );
    assert_eq!(
        input_err("{ type = \"git\"; foo = [ ]; }"),
        format!(
            "flake input attribute 'foo' is a list while a string, Boolean, or integer is \
             expected, at {F}:2:30"
        )
    );
    assert_eq!(
        input_err("{ type = \"git\"; foo = null; }"),
        format!(
            "flake input attribute 'foo' is null while a string, Boolean, or integer is \
             expected, at {F}:2:30"
        )
    );
    assert_eq!(
        input_err("{ type = \"path\"; path = ./x; }"),
        format!(
            "flake input attribute 'path' is a path while a string, Boolean, or integer is \
             expected, at {F}:2:31"
        )
    );
    // `-1` is a call in Nix, so a thunk.
    assert_eq!(
        input_err("{ type = \"git\"; revCount = -1; }"),
        format!(
            "flake input attribute 'revCount' is a thunk while a string, Boolean, or integer \
             is expected, at {F}:2:30"
        )
    );
}

#[test]
fn url_form_errors() {
    assert_eq!(
        input_err("{ url = \"github:x/y\"; ref = \"x\"; }"),
        format!("unexpected flake input attribute 'ref', at {F}:2:3")
    );
    assert_eq!(
        input_err("{ url = \"github:x/y\"; zzz = 1; rev = \"x\"; }"),
        format!("unexpected flake input attribute 'rev', at {F}:2:3")
    );
    assert_eq!(
        input_err("\"github:x/y\""),
        format!("expected a set but got a string at {F}:2:3")
    );
    assert_eq!(
        input_err("{ url = 1; }"),
        format!("expected a string or a path but got an integer at {F}:2:16")
    );
    assert_eq!(
        err("{\n  inputs.a.url = \"path:\" + \"/x\";\n  outputs = _: 1;\n}"),
        format!("expected a string or a path but got a thunk at {F}:2:3")
    );
    assert_eq!(
        input_err("{ flake = \"no\"; }"),
        format!("expected a Boolean but got a string at {F}:2:16")
    );
    assert_eq!(
        input_err("{ url = \"github:x/y#frag\"; }"),
        format!("unexpected fragment 'frag' in flake reference 'github:x/y#frag', at {F}:2:3")
    );
    assert_eq!(
        input_err("{ url = \"foo?ref=x\"; }"),
        format!("path URL 'path:foo?ref=x' has unsupported parameter 'ref', at {F}:2:3")
    );
    assert_eq!(
        err("{ inputs = \"x\"; outputs = _: 1; }"),
        format!("expected a set but got a string at {F}:1:3")
    );
    assert_eq!(
        err("{ inputs = { ${x} = { }; }; outputs = _: 1; }"),
        format!("expected a set but got a thunk at {F}:1:3")
    );
}

#[test]
fn follows() {
    let a = input("{ follows = \"b/c\"; }");
    assert_eq!(a.follows, Some(vec!["b".to_owned(), "c".to_owned()]));
    assert_eq!(a.flake_ref, None);
    assert_eq!(input("{ follows = \"\"; }").follows, Some(vec![]));
    assert_eq!(
        input_err("{ follows = \"b/c'\"; }"),
        format!("invalid flake input attribute path element 'c'', at {F}:2:16")
    );
    assert_eq!(
        input_err("{ follows = [ ]; }"),
        format!("expected a string but got a list at {F}:2:16")
    );
    assert_eq!(
        input_err("{ url = \"github:x/y\"; follows = \"b\"; }"),
        format!("flake input has both a flake reference and a follows attribute, at {F}:2:3")
    );
    assert_eq!(
        input_err("{ type = \"indirect\"; id = \"x\"; follows = \"b\"; }"),
        format!("flake input has both a flake reference and a follows attribute, at {F}:2:3")
    );
}

#[test]
fn nested_overrides() {
    let d = ok(r#"{
  inputs.mid.url = "github:x/mid";
  inputs.mid.inputs.dep2.inputs.dep1.follows = "dep1";
  inputs.mid.inputs.dep3 = { url = "github:x/dep3"; flake = false; };
  outputs = _: 1;
}"#);
    let mid = &d.inputs["mid"];
    assert_eq!(attrs(mid)["repo"], "mid");
    let dep2 = &mid.overrides["dep2"];
    assert_eq!(dep2.flake_ref, None);
    assert_eq!(dep2.follows, None);
    assert_eq!(dep2.pos, Pos { line: 3, column: 3 });
    assert_eq!(
        dep2.overrides["dep1"].follows,
        Some(vec!["dep1".to_owned()])
    );
    assert!(!mid.overrides["dep3"].is_flake);
    assert_eq!(
        err("{\n  inputs.a.inputs.self.submodules = true;\n  outputs = _: 1;\n}"),
        format!("'self' input attribute not allowed at {F}:2:3")
    );
    assert_eq!(
        input_err("{ inputs = [ ]; }"),
        format!("expected a set but got a list at {F}:2:16")
    );
}

#[test]
fn merged_declarations() {
    let d = ok(r#"{
  inputs = {
    a = { url = "github:x/a"; };
    b.url = "github:x/b";
  };
  inputs.a.flake = false;
  inputs.c.follows = "a";
  inputs = { d = { }; };
  outputs = { self, a, e }: { };
}"#);
    assert_eq!(
        d.inputs.keys().collect::<Vec<_>>(),
        ["a", "b", "c", "d", "e"]
    );
    assert!(!d.inputs["a"].is_flake);
    assert_eq!(attrs(&d.inputs["a"])["repo"], "a");
    assert_eq!(d.inputs["b"].pos, Pos { line: 4, column: 5 });
    assert_eq!(
        d.inputs["d"].pos,
        Pos {
            line: 8,
            column: 14
        }
    );
    assert_eq!(
        d.inputs["e"].pos,
        Pos {
            line: 9,
            column: 24
        }
    );
}

#[test]
fn self_attributes() {
    let d = ok("{ inputs.self = { submodules = true; lfs = true; }; outputs = _: 1; }");
    assert!(d.inputs.is_empty());
    assert_eq!(d.self_attrs.len(), 2);
    assert_eq!(d.self_attrs["submodules"], flakeref::Attr::Bool(true));
    assert_eq!(
        err("{ inputs.self.foo = true; outputs = _: 1; }"),
        "flake 'self' attribute 'foo' is not supported"
    );
    assert_eq!(
        err("{ inputs.self = true; outputs = _: 1; }"),
        format!("expected a set but got a Boolean at {F}:1:3")
    );
}

#[test]
fn relative_paths() {
    let url = |d: &FlakeDecl, n: &str| attrs(&d.inputs[n]);
    // B3.7 vector: the root, sub1 and sub2 of relative-paths.sh.
    let root = ok(
        "{\n  inputs.sub0.url = ./sub0;\n  outputs = { self, sub0 }: {\n    x = 2;\n    y = self.x * sub0.x;\n  };\n}\n",
    );
    assert_eq!(url(&root, "sub0"), json!({"path":"sub0","type":"path"}));
    let sub1 = ok(
        "{\n  inputs.root.url = \"../\";\n  outputs = { self, root }: {\n    x = 3;\n    y = self.x * root.x;\n  };\n}\n",
    );
    assert_eq!(url(&sub1, "root"), json!({"path":"../","type":"path"}));
    let sub2 = read(
        "{\n  inputs.root.url = ./..;\n  inputs.sub1.url = \"../sub1\";\n  outputs = { self, root, sub1 }: {\n    x = 5;\n    y = self.x * sub1.x;\n  };\n}\n",
        &opts_in("sub2"),
    )
    .unwrap();
    assert_eq!(url(&sub2, "root"), json!({"path":"..","type":"path"}));
    assert_eq!(url(&sub2, "sub1"), json!({"path":"../sub1","type":"path"}));
    // Other spellings.
    for (v, p) in [
        ("\"./sub\"", "./sub"),
        ("\"path:./sub\"", "./sub"),
        ("\"path:sub\"", "sub"),
        ("./.", "."),
        ("./a/../b/./c", "b/c"),
        ("a/b", "a/b"),
    ] {
        let a = input(&format!("{{ url = {v}; }}"));
        assert_eq!(attrs(&a), json!({"path":p,"type":"path"}), "{v}");
    }
    // follow-paths.sh: a relative non-flake file.
    let d = ok(
        "{\n    inputs = {\n        E.flake = false;\n        E.url = \"./foo.nix\";\n    };\n    outputs = { E, ... }: { e = import E; };\n}",
    );
    assert_eq!(url(&d, "E"), json!({"path":"./foo.nix","type":"path"}));
    assert!(!d.inputs["E"].is_flake);
}

#[test]
fn path_literals_in_subdirectories() {
    let sub = |v: &str, dir: &str| {
        read(
            &format!("{{ inputs.a.url = {v}; outputs = _: 1; }}"),
            &opts_in(dir),
        )
        .map(|mut d| attrs(&d.inputs.remove("a").unwrap())["path"].clone())
        .map_err(|e| e.to_string())
    };
    assert_eq!(sub("./x", "a/b"), Ok(json!("x")));
    assert_eq!(sub("../../x", "a/b"), Ok(json!("../../x")));
    assert_eq!(sub("../c", "a/b"), Ok(json!("../c")));
    assert_eq!(sub("./..", "a"), Ok(json!("..")));
    assert_eq!(
        sub("./../..", "a"),
        Err(format!(
            "input attribute path './../..' at {F}:1:3 must be in the same source tree as \
             /nix/store/x-source"
        ))
    );
    assert_eq!(
        sub("/abs/x", ""),
        Err(format!(
            "input attribute path '/abs/x' at {F}:1:3 must be in the same source tree as \
             /nix/store/x-source"
        ))
    );
}

/// The flake.nix texts of Nix's functional tests (`follow-paths.sh`, `non-flake-inputs.sh`).
#[test]
fn nix_functional_test_flakes() {
    let a = ok(r#"{
    description = "Flake A";
    inputs = {
        B = {
            url = "path:./flakeB";
            inputs.foobar.follows = "foobar";
        };

        foobar.url = "path:/tmp/follows/flakeA/flakeE";
    };
    outputs = { ... }: {};
}"#);
    assert_eq!(
        attrs(&a.inputs["B"]),
        json!({"path":"./flakeB","type":"path"})
    );
    assert_eq!(
        a.inputs["B"].overrides["foobar"].follows,
        Some(vec!["foobar".to_owned()])
    );
    let cycle = ok(r#"{
    description = "Flake A";
    inputs = {
        foo.follows = "bar";
        bar.follows = "baz";
        baz.follows = "foo";
    };
    outputs = { ... }: {};
}"#);
    assert_eq!(cycle.inputs["baz"].follows, Some(vec!["foo".to_owned()]));
    let deep = ok(r#"{
  inputs.B.url = "path:/tmp/flakeB";
  inputs.D.url = "path:/tmp/flakeD";
  inputs.B.inputs.C.inputs.D.follows = "D";
  outputs = _: {};
}"#);
    assert_eq!(
        deep.inputs["B"].overrides["C"].overrides["D"].follows,
        Some(vec!["D".to_owned()])
    );
    let nf = read(
        r#"{
  inputs = {
    flake1 = {};
    flake2 = {};
    nonFlake = {
      url = "git+file:///tmp/nonFlake";
      flake = false;
    };
    nonFlakeFile = {
      url = "path:///tmp/nonFlake/README.md";
      flake = false;
    };
    nonFlakeFile2 = {
      url = "/tmp/nonFlake/README.md";
      flake = false;
    };
    nonFlakeFile3 = {
      url = "/tmp/nonFlake?dir=README.md";
      flake = false;
    };
    relativeNonFlakeFile = {
      url = ./config.nix;
      flake = false;
    };
  };

  description = "Fnord";

  outputs = inputs: rec {
    inherit inputs;
    packages.x86_64-linux.fnord =
      with import ./config.nix;
      mkDerivation { name = "fnord"; };
  };
}"#,
        &opts_in(""),
    )
    .unwrap();
    assert_eq!(nf.description.as_deref(), Some("Fnord"));
    assert_eq!(nf.inputs["flake1"].flake_ref, None);
    assert_eq!(
        attrs(&nf.inputs["nonFlakeFile"]),
        json!({"path":"/tmp/nonFlake/README.md","type":"path"})
    );
    assert_eq!(
        attrs(&nf.inputs["nonFlakeFile2"]),
        json!({"path":"/tmp/nonFlake/README.md","type":"path"})
    );
    assert_eq!(
        attrs(&nf.inputs["nonFlakeFile3"]),
        json!({"dir":"README.md","path":"/tmp/nonFlake","type":"path"})
    );
    assert_eq!(
        attrs(&nf.inputs["relativeNonFlakeFile"]),
        json!({"path":"config.nix","type":"path"})
    );
    assert!(nf.inputs.values().filter(|i| !i.is_flake).count() == 5);
}

#[test]
fn quoted_and_odd_input_names() {
    // Nix does not check declared input names.
    let d = ok("{ inputs.\"a'b\".flake = false; outputs = _: 1; }");
    assert!(d.inputs.contains_key("a'b"));
}
