//! The top level, literals, positions, syntax errors, `outputs` and `nixConfig`.

use super::*;

const F: &str = "/nix/store/x-source/flake.nix";

pub(super) fn opts_in(subdir: &str) -> ReadOptions {
    ReadOptions {
        file_label: F.into(),
        flake_label: "path:/tmp/f".into(),
        subdir: subdir.into(),
    }
}

pub(super) fn ok(text: &str) -> FlakeDecl {
    read(text, &opts_in("")).unwrap_or_else(|e| panic!("{text}: {e}"))
}

pub(super) fn err(text: &str) -> String {
    match read(text, &opts_in("")) {
        Ok(d) => panic!("{text}: unexpectedly read {d:?}"),
        Err(e) => e.to_string(),
    }
}

/// `{ description = <v>; outputs = _: { }; }` → the description or the error.
fn description(v: &str) -> Result<Option<String>, String> {
    read(
        &format!("{{ description = {v}; outputs = _: {{ }}; }}"),
        &opts_in(""),
    )
    .map(|d| d.description)
    .map_err(|e| e.to_string())
}

#[test]
fn minimal() {
    let d = ok("{ outputs = { self }: { }; }");
    assert_eq!(d, FlakeDecl::default());
    let d = ok("rec { outputs = _: { }; }");
    assert_eq!(d, FlakeDecl::default());
    let d = ok("({ outputs = x: x; })");
    assert_eq!(d, FlakeDecl::default());
}

#[test]
fn must_be_an_attribute_set() {
    let msg = format!("file '{F}' must be an attribute set");
    for text in [
        "let x = 1; in { outputs = _: { }; }",
        "import ./x.nix",
        "{ self }: { }",
        "{ a = 1; } // { }",
        "let { body = { }; }",
        "with x; { }",
    ] {
        assert_eq!(err(text), msg, "{text}");
    }
}

#[test]
fn lacks_outputs() {
    assert_eq!(
        err("{ description = \"x\"; }"),
        "flake 'path:/tmp/f' lacks attribute 'outputs'"
    );
    assert_eq!(err("{ }"), "flake 'path:/tmp/f' lacks attribute 'outputs'");
}

#[test]
fn outputs_must_be_a_function() {
    let cases = [
        ("import ./o.nix", "a thunk"),
        ("{ }", "a set"),
        ("\"x\"", "a string"),
        ("1", "an integer"),
        ("[ ]", "a list"),
        ("null", "null"),
        ("let f = x: x; in f", "a thunk"),
        ("(x: x) (y: y)", "a thunk"),
    ];
    for (v, ty) in cases {
        assert_eq!(
            err(&format!("{{\n  outputs = {v};\n}}")),
            format!("expected a function but got {ty} at {F}:2:3"),
            "{v}"
        );
    }
}

#[test]
fn unsupported_attributes() {
    assert_eq!(
        err("{\n  outputs = _: { };\n  foo = 1;\n}"),
        format!("flake 'path:/tmp/f' has an unsupported attribute 'foo', at {F}:3:3")
    );
    // `rec` helpers too, and the first one written is reported.
    assert_eq!(
        err("rec {\n  x = 1;\n  y = 2;\n  outputs = _: { z = x; };\n}"),
        format!("flake 'path:/tmp/f' has an unsupported attribute 'x', at {F}:2:3")
    );
    assert_eq!(
        err("{ outputs = _: { }; inherit (x) a; }"),
        format!("flake 'path:/tmp/f' has an unsupported attribute 'a', at {F}:1:33")
    );
    assert_eq!(
        err("{ outputs = _: { }; \"my attr\" = 1; }"),
        format!("flake 'path:/tmp/f' has an unsupported attribute 'my attr', at {F}:1:21")
    );
    // The checks of description, inputs and outputs come first, as in Nix.
    assert_eq!(
        err("{ foo = 1; }"),
        "flake 'path:/tmp/f' lacks attribute 'outputs'"
    );
    assert_eq!(
        err("{ foo = 1; description = 2; outputs = _: 1; }"),
        format!("expected a string but got an integer at {F}:1:12")
    );
}

#[test]
fn dynamic_top_level_attribute() {
    assert_eq!(
        err("{ outputs = _: { }; ${\"a\" + \"b\"} = 1; }"),
        format!(
            "flake 'path:/tmp/f' has a dynamic attribute, which cannot be read without \
             evaluation, at {F}:1:21"
        )
    );
    // `${"…"}` with a plain string is a static name in Nix.
    let d = ok("{ ${\"description\"} = \"d\"; outputs = _: { }; }");
    assert_eq!(d.description.as_deref(), Some("d"));
}

#[test]
fn description_values() {
    assert_eq!(description("\"root\""), Ok(Some("root".into())));
    assert_eq!(description("(\"p\")"), Ok(Some("p".into())));
    let bad = |ty: &str| Err(format!("expected a string but got {ty} at {F}:1:3"));
    assert_eq!(description("1"), bad("an integer"));
    assert_eq!(description("1.5"), bad("a float"));
    assert_eq!(description("true"), bad("a Boolean"));
    assert_eq!(description("null"), bad("null"));
    assert_eq!(description("./x"), bad("a path"));
    assert_eq!(description("[ ]"), bad("a list"));
    assert_eq!(description("[ \"a\" ]"), bad("a list"));
    assert_eq!(description("{ }"), bad("a set"));
    assert_eq!(description("x: x"), bad("a function"));
    assert_eq!(description("-1"), bad("a thunk"));
    for thunk in [
        "\"a\" + \"b\"",
        "\"a${\"b\"}\"",
        "\"${\"b\"}\"",
        "x",
        "builtins.readFile ./d",
        "let a = \"x\"; in a",
        "with x; \"a\"",
        "if true then \"a\" else \"b\"",
        "<nixpkgs>",
        "./a${\"b\"}",
        "{ ${x} = 1; }",
        "__curPos",
        "''a''$b''",
        "''a$''",
        "''a'${\"b\"}''",
    ] {
        assert_eq!(description(thunk), bad("a thunk"), "{thunk}");
    }
}

#[test]
fn string_literals() {
    let s = |v: &str| description(v).unwrap().unwrap();
    assert_eq!(s(r#""a\nb\tc\rd\\e\"f\$g\qh""#), "a\nb\tc\rd\\e\"f$gqh");
    assert_eq!(s(r#""$${x}""#), "$${x}");
    assert_eq!(s(r#""a$""#), "a$");
    assert_eq!(s("\"\""), "");
    assert_eq!(s("\"a\r\nb\rc\""), "a\nb\nc");
    assert_eq!(s("''''"), "");
    assert_eq!(s("''\n    a\n      b\n    c\n  ''"), "a\n  b\nc\n");
    assert_eq!(s("''  \n  x\n''"), "x\n");
    assert_eq!(s("''\n\n  x\n\n   y''"), "\nx\n\n y");
    assert_eq!(s("''a 'b' $x $$ c''"), "a 'b' $x $$ c");
    // A single escape is a single piece; so is an interpolated plain string.
    assert_eq!(s("''''$''"), "$");
    assert_eq!(s("''''\\n''"), "\n");
    assert_eq!(s("'''''''"), "''");
    assert_eq!(s("''${\"x\"}''"), "x");
    assert_eq!(s("''  ${\"x\"}''"), "x");
    // URL literals are strings.
    assert_eq!(s("github:NixOS/nixpkgs"), "github:NixOS/nixpkgs");
}

#[test]
fn positions_count_characters() {
    assert_eq!(
        err("{\n\t\"é\" = 1; description = 2;\n  outputs = _: 1; }"),
        format!("expected a string but got an integer at {F}:2:11")
    );
}

#[test]
fn syntax_errors() {
    assert_eq!(
        err("{\n  outputs = _: { }\n}"),
        format!("syntax error, unexpected '}}', expecting ';', at {F}:3:1")
    );
    let e = err("{ outputs = _: { };");
    assert!(
        e.starts_with("syntax error, unexpected end of file")
            && e.ends_with(&format!(", at {F}:1:20")),
        "{e}"
    );
    let e = err("{ outputs = ; }");
    assert!(e.starts_with("syntax error, unexpected ';'"), "{e}");
    assert!(e.ends_with(&format!(", at {F}:1:13")), "{e}");
    let e = err("{ } }");
    assert!(e.starts_with("syntax error, unexpected '}'"), "{e}");
    let e = err("{ description = \"abc; }");
    assert!(e.starts_with("syntax error, unexpected"), "{e}");
}

#[test]
fn parser_checks() {
    assert_eq!(
        err("{\n  description = \"a\";\n  description = \"b\";\n  outputs = _: 1;\n}"),
        format!("attribute 'description' already defined at {F}:2:3, at {F}:3:3")
    );
    assert_eq!(
        err(
            "{\n  inputs.a.url = \"x\";\n  inputs = { a = { url = \"y\"; }; };\n  outputs = _: 1;\n}"
        ),
        format!("attribute 'inputs.a.url' already defined at {F}:2:3, at {F}:3:20")
    );
    assert_eq!(
        err("{\n  inputs = 1;\n  inputs.a.url = \"y\";\n  outputs = _: 1;\n}"),
        format!("attribute 'inputs' already defined at {F}:2:3, at {F}:3:3")
    );
    // Duplicates inside `outputs` are parse errors too.
    assert_eq!(
        err("{\n  outputs = _: {\n    a = 1;\n    a = 2;\n  };\n}"),
        format!("attribute 'a' already defined at {F}:3:5, at {F}:4:5")
    );
    assert_eq!(
        err("{ outputs = _: let a = 1; inherit a; in a; }"),
        format!("attribute 'a' already defined at {F}:1:20, at {F}:1:35")
    );
    assert_eq!(
        err("{ outputs = { self, a, a }: 1; }"),
        format!("duplicate formal function argument 'a', at {F}:1:24")
    );
    assert_eq!(
        err("{ description = ~/x; outputs = _: 1; }"),
        format!("the path '~/x' can not be resolved in pure mode, at {F}:1:17")
    );
    assert_eq!(
        err("{ outputs = _: 99999999999999999999; }"),
        format!("invalid integer '99999999999999999999', at {F}:1:16")
    );
    assert_eq!(
        err("{ outputs = _: { inherit ${x}; }; }"),
        format!("dynamic attributes not allowed in inherit, at {F}:1:26")
    );
}

#[test]
fn implicit_inputs_from_formals() {
    let d = ok(
        "{\n  inputs.a.url = \"github:x/y\";\n  outputs = { self, a, nixpkgs, foo ? null, ... }@inputs: { };\n}",
    );
    assert_eq!(d.inputs.keys().collect::<Vec<_>>(), ["a", "foo", "nixpkgs"]);
    let nixpkgs = &d.inputs["nixpkgs"];
    assert_eq!(
        nixpkgs
            .flake_ref
            .as_ref()
            .map(|r| r.to_url_string().unwrap()),
        Some("flake:nixpkgs".to_owned())
    );
    assert_eq!(nixpkgs.follows, None);
    assert!(nixpkgs.is_flake);
    assert!(nixpkgs.overrides.is_empty());
    assert_eq!(
        nixpkgs.pos,
        Pos {
            line: 3,
            column: 24
        }
    );
    assert_eq!(
        d.inputs["foo"].pos,
        Pos {
            line: 3,
            column: 33
        }
    );
    // The declared input keeps its declaration.
    assert!(d.inputs["a"].flake_ref.is_some());
    assert_eq!(d.inputs["a"].pos, Pos { line: 2, column: 3 });
    // `inputs@{ … }` too; a plain lambda and `self` add nothing.
    let d = ok("{ outputs = inputs@{ self, b }: { }; }");
    assert_eq!(d.inputs.keys().collect::<Vec<_>>(), ["b"]);
    assert!(ok("{ outputs = inputs: { }; }").inputs.is_empty());
    assert!(ok("{ outputs = { self }: { }; }").inputs.is_empty());
    assert!(ok("{ outputs = { ... }: { }; }").inputs.is_empty());
}

#[test]
fn invalid_formal_names() {
    assert_eq!(
        err("{ outputs = { self, nixpkgs' }: { }; }"),
        format!("flake reference 'nixpkgs'' is not an absolute path, at {F}:1:21")
    );
    assert_eq!(
        err("{ outputs = { _foo }: { }; }"),
        format!("flake reference '_foo' is not an absolute path, at {F}:1:15")
    );
}

#[test]
fn nix_config() {
    let d = ok(r#"{
  nixConfig = {
    bash-prompt = "x";
    extra-substituters = [ "https://a" "https://b" ];
    max-jobs = 4;
    sandbox = false;
    post-build-hook = ./hook.sh;
    empty = [ ];
  };
  nixConfig.cores = 2;
  outputs = _: { };
}"#);
    let c = &d.nix_config;
    assert_eq!(c["bash-prompt"], ConfigValue::Str("x".into()));
    assert_eq!(
        c["extra-substituters"],
        ConfigValue::List(vec!["https://a".into(), "https://b".into()])
    );
    assert_eq!(c["max-jobs"], ConfigValue::Int(4));
    assert_eq!(c["cores"], ConfigValue::Int(2));
    assert_eq!(c["sandbox"], ConfigValue::Bool(false));
    assert_eq!(c["post-build-hook"], ConfigValue::Str("./hook.sh".into()));
    assert_eq!(c["empty"], ConfigValue::List(vec![]));
    let e = |v: &str| {
        err(&format!(
            "{{\n  outputs = _: {{ }};\n  nixConfig.x = {v};\n}}"
        ))
    };
    assert_eq!(
        e("{ }"),
        format!("flake configuration setting 'x' is a set, at {F}:3:3")
    );
    assert_eq!(
        e("null"),
        format!("flake configuration setting 'x' is null, at {F}:3:3")
    );
    assert_eq!(
        e("\"a\" + \"b\""),
        format!("flake configuration setting 'x' is a thunk, at {F}:3:3")
    );
    assert_eq!(
        e("[ \"a\" 1 ]"),
        format!(
            "list element in flake configuration setting 'x' is a list while a string is \
             expected, at {F}:3:3"
        )
    );
    assert_eq!(
        err("{ outputs = _: { }; nixConfig = 1; }"),
        format!("expected a set but got an integer at {F}:1:21")
    );
}

/// Spec Part D7: the root flake of the reproducible fixture.
#[test]
fn fixture_d7_root() {
    let text = r#"{
  description = "root";
  inputs = {
    dep1.url = "path:/tmp/demo/dep1";
    dep2 = { url = "git+file:///tmp/demo/dep2"; inputs.dep1.follows = "dep1"; };
    data = { url = "path:/tmp/demo/data"; flake = false; };
    mid.url = "git+file:///tmp/demo/dep2";
  };
  outputs = { self, ... }: { };
}
"#;
    let d = ok(text);
    assert_eq!(d.description.as_deref(), Some("root"));
    assert_eq!(
        d.inputs.keys().collect::<Vec<_>>(),
        ["data", "dep1", "dep2", "mid"]
    );
    let url = |n: &str| {
        d.inputs[n]
            .flake_ref
            .as_ref()
            .unwrap()
            .to_url_string()
            .unwrap()
    };
    assert_eq!(url("dep1"), "path:/tmp/demo/dep1");
    assert_eq!(url("dep2"), "git+file:///tmp/demo/dep2");
    assert_eq!(url("data"), "path:/tmp/demo/data");
    assert_eq!(url("mid"), "git+file:///tmp/demo/dep2");
    assert!(!d.inputs["data"].is_flake);
    assert!(d.inputs["dep2"].is_flake);
    let over = &d.inputs["dep2"].overrides["dep1"];
    assert_eq!(over.follows, Some(vec!["dep1".to_owned()]));
    assert_eq!(over.flake_ref, None);
    assert_eq!(
        over.pos,
        Pos {
            line: 5,
            column: 49
        }
    );
    assert_eq!(d.inputs["dep1"].pos, Pos { line: 4, column: 5 });
    assert_eq!(d.inputs["dep2"].pos, Pos { line: 5, column: 5 });

    let dep2 = "{\n  inputs.dep1.url = \"path:/tmp/demo/dep1\";\n  outputs = { self, dep1 }: { y = dep1.x + 1; };\n}\n";
    let d = ok(dep2);
    assert_eq!(d.inputs.len(), 1);
    assert_eq!(d.inputs["dep1"].pos, Pos { line: 2, column: 3 });
}

#[test]
fn duplicate_formals() {
    assert_eq!(
        err("{ outputs = { self, a, b, a }: 1; }"),
        format!("duplicate formal function argument 'a', at {F}:1:27")
    );
    let e = err("{ outputs = a@{ self, a }: 1; }");
    assert!(
        e.starts_with("duplicate formal function argument 'a', at "),
        "{e}"
    );
}

#[test]
fn syntax_error_wording() {
    let cases = [
        ("{ outputs = ; }", "syntax error, unexpected ';', at F:1:13"),
        (
            "{ } }",
            "syntax error, unexpected '}', expecting end of file, at F:1:5",
        ),
        (
            "{ description = \"abc; }",
            "syntax error, unexpected end of file, at F:1:24",
        ),
        (
            "{ a = ''x; }",
            "syntax error, unexpected end of file, at F:1:13",
        ),
        (
            "{ a.b. = 1; }",
            "syntax error, unexpected '=', expecting identifier or 'or', at F:1:8",
        ),
        (
            "{ a = 1 b = 2; }",
            "syntax error, unexpected '=', expecting ';', at F:1:11",
        ),
        ("{", "syntax error, unexpected end of file, at F:1:2"),
        ("", "syntax error, unexpected end of file, at F:1:1"),
    ];
    for (text, msg) in cases {
        assert_eq!(err(text), msg.replace("F:", &format!("{F}:")), "{text}");
    }
}

/// [`read_located`]: a position at the end of the message becomes Nix's `at` line and frame.
#[test]
fn located_errors_carry_the_position_and_frame() {
    let located = |text: &str| match read_located(text, &opts_in("")) {
        Ok(d) => panic!("{text}: unexpectedly read {d:?}"),
        Err(e) => e,
    };
    // `…, at <pos>`: the message loses it, Nix prints it below.
    let e = located("{\n  description = \"x\";\n  outputs = }\n}\n");
    assert_eq!(
        e.to_string(),
        format!(
            "syntax error, unexpected '}}'\nat {F}:3:13:\n     2|   description = \"x\";\n     \
             3|   outputs = }}\n      |             ^\n     4| }}"
        )
    );
    assert!(matches!(
        e,
        Error::At {
            pos: Pos {
                line: 3,
                column: 13
            },
            ..
        }
    ));
    // `… at <pos>` is Nix's wording: kept, and the frame added.
    let e = located("{\n  description = \"a\" + \"b\";\n  outputs = _: { };\n}\n");
    let Error::At { msg, pos, .. } = &e else {
        panic!("{e:?}")
    };
    assert_eq!(
        msg,
        &format!("expected a string but got a thunk at {F}:2:3")
    );
    assert_eq!(*pos, Pos { line: 2, column: 3 });
    // No position: the message as it is.
    let e = located("[ ]");
    assert_eq!(
        e.to_string(),
        format!("file '{F}' must be an attribute set")
    );
    assert!(matches!(e, Error::Msg(_)), "{e:?}");
}
