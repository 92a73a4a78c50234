//! `flake archive --inputs-only`, `--input PATH`, `--exclude PATH` (rflake additions, issue
//! 18.4): the JSON lists only what was selected, and only that is copied and checked.

use insta::assert_snapshot;

use super::{A_PATH, DATA_PATH, normalize, write_inputs, write_root};
use crate::support::TestEnv;

/// root → a, root → c → {a, data}: `a` is reached two ways, `data` only through `c`.
fn graph() -> (TestEnv, String, String) {
    let mut env = TestEnv::new();
    write_inputs(&env);
    write_root(
        &env,
        "c",
        "{\n  inputs.a.url = \"path:@W@/a\";\n  inputs.data = { url = \"path:@W@/data\"; flake = false; };\n  outputs = { self, ... }: { };\n}\n",
    );
    write_root(
        &env,
        "root",
        "{\n  inputs.a.url = \"path:@W@/a\";\n  inputs.c.url = \"path:@W@/c\";\n  outputs = { self, ... }: { };\n}\n",
    );
    env.set_cwd("work");
    let out = env.run(&["flake", "archive", "--json", "--dry-run", "./root"]);
    assert!(out.success(), "{out}");
    let v: serde_json::Value = serde_json::from_str(out.stdout()).unwrap();
    let root = v["path"].as_str().unwrap().to_owned();
    let c = v["inputs"]["c"]["path"].as_str().unwrap().to_owned();
    (env, root, c)
}

/// The `--json --dry-run` listing with `args` added, indented, paths named.
fn listing(env: &TestEnv, root: &str, c: &str, args: &[&str]) -> String {
    let mut all = vec!["flake", "archive", "--json", "--dry-run", "--pretty"];
    all.extend_from_slice(args);
    all.push("./root");
    let out = env.run(&all);
    assert!(out.success(), "{out}");
    normalize(env, out.stdout())
        .replace(root, "<root>")
        .replace(c, "<c>")
        .replace(A_PATH, "<a>")
        .replace(DATA_PATH, "<data>")
}

#[test]
fn exclude_drops_what_is_reached_only_through_the_input() {
    let (env, root, c) = graph();
    assert_snapshot!(listing(&env, &root, &c, &["--exclude", "c"]), @r#"
    {
      "inputs": {
        "a": {
          "inputs": {},
          "path": "<a>"
        }
      },
      "path": "<root>"
    }
    "#);
    assert_snapshot!(listing(&env, &root, &c, &["--exclude", "c/a", "--inputs-only"]), @r#"
    {
      "inputs": {
        "a": {
          "inputs": {},
          "path": "<a>"
        },
        "c": {
          "inputs": {
            "data": {
              "inputs": {},
              "path": "<data>"
            }
          },
          "path": "<c>"
        }
      }
    }
    "#);
}

#[test]
fn input_selects_inputs_with_their_own_inputs() {
    let (env, root, c) = graph();
    assert_snapshot!(listing(&env, &root, &c, &["--input", "c"]), @r#"
    {
      "inputs": {
        "c": {
          "inputs": {
            "a": {
              "inputs": {},
              "path": "<a>"
            },
            "data": {
              "inputs": {},
              "path": "<data>"
            }
          },
          "path": "<c>"
        }
      }
    }
    "#);
    assert_snapshot!(listing(&env, &root, &c, &["--input", "c/data", "--input", "a"]), @r#"
    {
      "inputs": {
        "a": {
          "inputs": {},
          "path": "<a>"
        },
        "c": {
          "inputs": {
            "data": {
              "inputs": {},
              "path": "<data>"
            }
          }
        }
      }
    }
    "#);
    let out = env.run(&[
        "flake",
        "archive",
        "--print-paths",
        "--dry-run",
        "--input",
        "c/data",
        "./root",
    ]);
    assert_eq!(out.stdout(), format!("{DATA_PATH}\n"), "{out}");
}

#[test]
fn only_the_selection_is_copied_and_checked() {
    let (env, _root, _c) = graph();
    let dest = env.path("dest").display().to_string();
    let out = env.run(&[
        "flake", "archive", "--to", &dest, "--input", "c/data", "./root",
    ]);
    assert!(out.success(), "{out}");
    let check = env.run(&[
        "flake", "archive", "--check", "--to", &dest, "--input", "c/data", "./root",
    ]);
    assert_eq!(check.status().code(), Some(0), "{check}");
    let check = env.run(&[
        "flake",
        "archive",
        "--check",
        "--to",
        &dest,
        "--inputs-only",
        "./root",
    ]);
    assert_eq!(check.status().code(), Some(3), "{check}");
    assert!(
        check
            .stderr()
            .starts_with("error: 2 of 3 paths are missing"),
        "{check}"
    );
    assert!(
        check.stderr().contains(A_PATH) && !check.stderr().contains(DATA_PATH),
        "{check}"
    );
}

#[test]
fn unknown_input_paths_are_errors() {
    let (env, _root, _c) = graph();
    let out = env.run(&[
        "flake",
        "archive",
        "--dry-run",
        "--input",
        "c/nosuch",
        "./root",
    ]);
    assert_eq!(out.status().code(), Some(1), "{out}");
    assert_snapshot!(out.stderr(), @"error: --input 'c/nosuch' does not name an input in the lock file");
    let out = env.run(&["flake", "archive", "--dry-run", "--exclude", "", "./root"]);
    assert_eq!(out.status().code(), Some(1), "{out}");
    assert!(out.stderr().contains("zero-length input path"), "{out}");
}
