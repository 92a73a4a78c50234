//! `flake archive` without `--dry-run` (spec D2, D5): every path lands in the local store, and
//! `--to` copies the root and every input once.

use std::collections::BTreeSet;

use super::{A_PATH, B_PATH, DATA_PATH, check_root_path, in_store, write_inputs, write_root};
use crate::support::{TestEnv, require_nix};

/// A root whose inputs share sources: `a`, `b` (with `b/a` following `a`), `c` = `a`'s tree,
/// and the non-flake `data`.
const ROOT: &str = r#"{
  inputs = {
    a.url = "path:@W@/a";
    b = { url = "path:@W@/b"; inputs.a.follows = "a"; };
    c.url = "path:@W@/a";
    data = { url = "path:@W@/data"; flake = false; };
  };
  outputs = { self, ... }: { };
}
"#;

fn setup() -> TestEnv {
    let mut env = TestEnv::new();
    write_inputs(&env);
    write_root(&env, "root", ROOT);
    env.set_cwd("work/root");
    // Lock first, so that the runs below start from a lock file.
    let out = env.run(&["flake", "archive", "--dry-run"]);
    assert!(out.success(), "{out:?}");
    env
}

#[test]
fn without_to_every_path_is_fetched_into_the_local_store() {
    let env = setup();
    let fresh = env.path("fresh");
    let fresh_s = fresh.display().to_string();
    let out = env.run(&["flake", "archive", "--json", "--store", &fresh_s]);
    assert!(out.success(), "{out:?}");
    assert_eq!(out.stderr(), "");
    let v: serde_json::Value = serde_json::from_str(out.stdout()).unwrap();
    let root = v["path"].as_str().unwrap().to_owned();
    check_root_path(&fresh, &root, &env.path("work/root"));
    for p in [A_PATH, B_PATH, DATA_PATH] {
        assert!(in_store(&fresh, p), "{p} is not in the store");
    }
    if !require_nix() {
        return;
    }
    // Registered, as Nix sees it.
    let nix = env.run_nix(&[
        "--store",
        &fresh_s,
        "path-info",
        &root,
        A_PATH,
        B_PATH,
        DATA_PATH,
    ]);
    assert!(nix.success(), "{nix:?}");
    assert_eq!(nix.stdout().lines().count(), 4, "{nix:?}");
}

#[test]
fn to_copies_each_source_once_and_only_once() {
    let env = setup();
    let dst = env.path("dst");
    let dst_s = dst.display().to_string();
    let out = env.run(&["flake", "archive", "--json", "--to", &dst_s]);
    assert!(out.success(), "{out:?}");
    let v: serde_json::Value = serde_json::from_str(out.stdout()).unwrap();
    let root = v["path"].as_str().unwrap().to_owned();
    // `a` and `c` are one source: four paths, each copied once (spec D2 step 3).
    let lines: Vec<&str> = out.stderr().lines().collect();
    assert_eq!(lines.first(), Some(&"copying 4 paths..."), "{out:?}");
    assert_eq!(lines.len(), 5, "{out:?}");
    let copied: BTreeSet<&str> = lines[1..]
        .iter()
        .map(|l| {
            l.strip_prefix("copying path '")
                .and_then(|l| l.split('\'').next())
                .unwrap()
        })
        .collect();
    assert_eq!(
        copied,
        BTreeSet::from([root.as_str(), A_PATH, B_PATH, DATA_PATH])
    );
    for p in &copied {
        assert!(in_store(&dst, p), "{p} is not in {dst_s}");
    }
    // Everything is there: a second run copies nothing and says nothing.
    let out = env.run(&["flake", "archive", "--to", &dst_s]);
    assert!(out.success(), "{out:?}");
    assert_eq!(out.stdout(), "");
    assert_eq!(out.stderr(), "");
}

#[test]
fn a_locked_input_already_in_the_store_is_not_read_again() {
    let env = setup();
    // Locking put `a` into the local store. Its directory changes afterwards: the valid store
    // path short-circuits fetching, so the change goes unnoticed (spec D2, E2.12).
    super::write_tree(
        &env,
        "work/a",
        &[(
            "flake.nix",
            "{\n  description = \"a, edited\";\n  outputs = { self }: { };\n}\n",
        )],
    );
    let out = env.run(&["flake", "archive", "--json"]);
    assert!(out.success(), "{out:?}");
    let v: serde_json::Value = serde_json::from_str(out.stdout()).unwrap();
    assert_eq!(v["inputs"]["a"]["path"], A_PATH);
    assert_eq!(v["inputs"]["c"]["path"], A_PATH);
    assert_eq!(out.stderr(), "");
}

/// The `.narinfo` of `printed` (`/nix/store/<hash>-<name>`) in the `file://` cache at `dir`.
fn narinfo_of(dir: &std::path::Path, printed: &str) -> std::path::PathBuf {
    let base = printed.strip_prefix("/nix/store/").unwrap();
    dir.join(format!("{}.narinfo", &base[..32]))
}

#[test]
fn to_a_file_cache_checks_the_narinfos_it_finds() {
    let env = setup();
    let cache = env.path("cache");
    let to = format!("file://{}", cache.display());
    let out = env.run(&["flake", "archive", "--to", &to]);
    assert!(out.success(), "{out:?}");
    let narinfo = narinfo_of(&cache, A_PATH);
    let good = std::fs::read_to_string(&narinfo).unwrap();
    let nar = cache.join(good.lines().find_map(|l| l.strip_prefix("URL: ")).unwrap());
    assert!(nar.exists());

    // A .narinfo naming another path with the same hash part: A is copied again.
    std::fs::write(&narinfo, good.replace("-source\n", "-other\n")).unwrap();
    let out = env.run(&["flake", "archive", "--to", &to]);
    assert!(out.success(), "{out:?}");
    assert!(
        out.stderr().contains(&format!("copying path '{A_PATH}'")),
        "{out:?}"
    );
    assert_eq!(std::fs::read_to_string(&narinfo).unwrap(), good);

    // A .narinfo whose NAR file is gone: copied again, the NAR is back.
    std::fs::remove_file(&nar).unwrap();
    let out = env.run(&["flake", "archive", "--to", &to]);
    assert!(out.success(), "{out:?}");
    assert!(nar.exists(), "{out:?}");

    // An empty or garbage .narinfo is an error, as in Nix, and is left as it was.
    for text in ["", "garbage"] {
        std::fs::write(&narinfo, text).unwrap();
        let out = env.run(&["flake", "archive", "--to", &to]);
        assert_eq!(out.status().code(), Some(1), "{out:?}");
        let key = narinfo.file_name().unwrap().to_str().unwrap();
        assert!(
            out.stderr()
                .starts_with(&format!("error: NAR info file '{key}' is corrupt")),
            "{out:?}"
        );
        assert_eq!(std::fs::read_to_string(&narinfo).unwrap(), text);
    }
}
