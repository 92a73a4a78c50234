//! `--log-format` and verbosity (issue 12, point 4): `internal-json` lines as Nix 2.8 writes them
//! for the same `flake archive` (fetching a path, a git and a tarball input, copying to another
//! store), and what `-v`, `--quiet` and `raw` print.

use std::collections::BTreeSet;

use super::fixture::Graph;

/// A graph whose archive fetches a path input, a git input and a tarball (a download), and
/// copies its sources to another store.
fn graph() -> Option<Graph> {
    let mut g = Graph::new()?;
    g.path_flake("dep", "{\n  outputs = { self }: { };\n}\n", &[]);
    g.git_flake("gdep", "{\n  outputs = { self }: { x = 1; };\n}\n");
    g.tarball(
        "tb",
        &[("flake.nix", "{\n  outputs = { self }: { y = 2; };\n}\n")],
    );
    g.path_root(
        r#"{
  inputs.dep.url = "path:@DIR@/dep";
  inputs.g.url = "git+file://@DIR@/gdep";
  inputs.t.url = "@HTTP@/tb.tar.gz";
  outputs = { self, ... }: { };
}
"#,
    );
    Some(g)
}

/// The kinds of `@nix` lines in `stderr` (`msg:<level>`, `start:<type>`, `stop`,
/// `result:<type>`), checking that each line is `@nix ` and a JSON object with the keys Nix's
/// `JSONLogger` writes for its action.
fn kinds(stderr: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for line in stderr.lines() {
        let json = line
            .strip_prefix("@nix ")
            .unwrap_or_else(|| panic!("not an @nix line: {line:?}"));
        let v: serde_json::Value =
            serde_json::from_str(json).unwrap_or_else(|e| panic!("{e}: {line:?}"));
        let obj = v
            .as_object()
            .unwrap_or_else(|| panic!("not an object: {line:?}"));
        let has = |k: &str| obj.contains_key(k);
        let num = |k: &str| {
            obj.get(k)
                .and_then(serde_json::Value::as_u64)
                .unwrap_or_else(|| panic!("no number '{k}': {line:?}"))
        };
        let kind = match obj["action"].as_str() {
            Some("msg") => {
                assert!(obj["msg"].is_string(), "{line}");
                format!("msg:{}", num("level"))
            }
            Some("start") => {
                assert!(obj["text"].is_string(), "{line}");
                num("id");
                num("level");
                if has("fields") {
                    assert!(obj["fields"].is_array(), "{line}");
                }
                format!("start:{}", num("type"))
            }
            Some("stop") => {
                num("id");
                assert_eq!(obj.len(), 2, "{line}");
                "stop".to_owned()
            }
            Some("result") => {
                num("id");
                assert!(obj["fields"].is_array(), "{line}");
                format!("result:{}", num("type"))
            }
            other => panic!("unknown action {other:?}: {line}"),
        };
        out.insert(kind);
    }
    out
}

#[test]
fn internal_json_uses_the_line_kinds_of_nix_2_8() {
    let Some(g) = graph() else { return };
    let to = |name: &str| g.store_dir(name).display().to_string();
    let (nix_to, our_to) = (to("nix-to"), to("rflake-to"));
    let nix = g.nix("nix", &["--log-format", "internal-json", "--to", &nix_to]);
    assert!(nix.success(), "{nix}");
    g.unlock();
    let ours = g.rflake(
        "rflake",
        &["--log-format", "internal-json", "--to", &our_to],
    );
    assert!(ours.success(), "{ours}");
    assert_eq!(ours.stdout(), "");
    let ours_kinds = kinds(ours.stderr());
    // Copying a path input (type 0), downloading (101) with progress (105), copying paths to
    // the other store (103, 100), the lock-file warning (level 1).
    for k in [
        "start:0",
        "start:101",
        "result:105",
        "start:103",
        "start:100",
        "stop",
        "msg:1",
    ] {
        assert!(ours_kinds.contains(k), "{k} missing: {ours}");
    }
    assert_eq!(
        ours_kinds,
        kinds(nix.stderr()),
        "line kinds: rflake (left), Nix 2.8 (right)\n{ours}\n{nix}"
    );
}

#[test]
fn errors_are_json_messages_in_internal_json() {
    let Some(g) = graph() else { return };
    let out = g.env().run(&[
        "flake",
        "archive",
        "--log-format",
        "internal-json",
        "path:/nonexistent/flake",
    ]);
    assert_eq!(out.status().code(), Some(1), "{out}");
    let line = out.stderr().lines().last().unwrap();
    let v: serde_json::Value = serde_json::from_str(line.strip_prefix("@nix ").unwrap()).unwrap();
    assert_eq!(v["action"], "msg");
    assert_eq!(v["level"], 0);
    assert!(
        v["msg"]
            .as_str()
            .unwrap()
            .starts_with("\u{1b}[31;1merror:\u{1b}[0m "),
        "{line}"
    );
    assert!(
        v["raw_msg"]
            .as_str()
            .unwrap()
            .contains("/nonexistent/flake"),
        "{line}"
    );
}

#[test]
fn verbosity_shows_what_is_fetched_and_copied_as_nix_does() {
    let Some(g) = graph() else { return };
    let to = g.store_dir("to").display().to_string();
    let fetching = [
        "copying \"$TEST_ENV/root\" to the store...",
        "copying \"$TEST_ENV/dep\" to the store...",
        "downloading '$HTTP/files/tb.tar.gz'...",
    ];

    // The default: the copies to the other store only (Nix's info level).
    let out = g.rflake("s0", &["--to", &to]);
    assert!(out.success(), "{out}");
    let stderr = g.normalize(out.stderr());
    assert!(
        stderr.lines().any(|l| l.starts_with("copying path '")),
        "{stderr}"
    );
    for line in fetching {
        assert!(
            !stderr.contains(line),
            "{line} at the default verbosity: {stderr}"
        );
    }
    g.unlock();

    // `-v` (talkative): what is fetched too; `raw` prints the same lines.
    for args in [&["-v"][..], &["-v", "--log-format", "raw"]] {
        let _ = std::fs::remove_dir_all(g.store_dir("to"));
        let _ = std::fs::remove_dir_all(g.env().path("cache"));
        let mut all = args.to_vec();
        all.extend(["--to", &to]);
        let out = g.rflake(&format!("s-{}", args.len()), &all);
        assert!(out.success(), "{out}");
        let stderr = g.normalize(out.stderr());
        for line in fetching {
            assert!(
                stderr.lines().any(|l| l == line),
                "{line} missing with {args:?}: {stderr}"
            );
        }
        assert!(
            stderr.lines().any(|l| l.starts_with("copying path '")),
            "{stderr}"
        );
        g.unlock();
    }

    // `--quiet` (notice): neither, but warnings still.
    let _ = std::fs::remove_dir_all(g.store_dir("to"));
    let out = g.rflake("s3", &["--quiet", "--to", &to]);
    assert!(out.success(), "{out}");
    assert!(!out.stderr().contains("copying"), "{out}");
    assert!(
        out.stderr().starts_with("warning: creating lock file"),
        "{out}"
    );
}
