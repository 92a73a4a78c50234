//! A store inside the flake being archived (issue 12.8): `flake archive --store ./store path:.`
//! run in the flake's directory. The copy of the tree must not walk into the store's own
//! temporary directory; like Nix 2.8, it holds the store as it was before the copy started.

use std::collections::BTreeSet;
use std::path::Path;

use crate::support::{TestEnv, require_nix};

const FLAKE: &str = "{\n  outputs = { self }: { };\n}\n";

/// Makes the flake in `work/flake` and runs from there.
fn flake_env() -> TestEnv {
    let mut env = TestEnv::new();
    env.write("work/flake/flake.nix", FLAKE);
    env.write("work/flake/a.txt", "hi\n");
    env.set_cwd("work/flake");
    env
}

const ARGS: [&str; 7] = [
    "flake",
    "archive",
    "--json",
    "--dry-run",
    "--store",
    "./store",
    "path:.",
];

/// Returns the archived path (`/nix/store/…`) from the JSON on stdout.
fn archived(stdout: &str) -> String {
    let json: serde_json::Value = serde_json::from_str(stdout).unwrap();
    json["path"].as_str().unwrap().to_owned()
}

/// Lists a tree as `<type> <relative path>` lines (`d`, `f`, `l`), leaving out what the two
/// store implementations create differently on open: Nix 2.8's `db/reserved` filler and
/// `per-user` directories (docs/deviations.md, local store).
fn listing(root: &Path) -> BTreeSet<String> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeSet<String>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let e = e.unwrap();
            let path = e.path();
            let rel = path
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            if rel.ends_with("db/reserved") || rel.contains("/per-user") {
                continue;
            }
            let t = e.file_type().unwrap();
            let kind = if t.is_dir() {
                "d"
            } else if t.is_symlink() {
                "l"
            } else {
                "f"
            };
            out.insert(format!("{kind} {rel}"));
            if t.is_dir() {
                walk(root, &path, out);
            }
        }
    }
    let mut out = BTreeSet::new();
    walk(root, root, &mut out);
    out
}

fn real(env: &TestEnv, store_path: &str) -> std::path::PathBuf {
    env.path("work/flake/store")
        .join(store_path.trim_start_matches('/'))
}

#[test]
fn a_store_inside_the_flake_is_archived_as_it_was_before_the_copy() {
    let env = flake_env();
    let out = env.run(&ARGS);
    assert!(out.success(), "{out}");
    assert_eq!(out.stderr(), "", "nothing odd is said");
    let first = archived(out.stdout());
    let copy = listing(&real(&env, &first));
    assert!(
        copy.contains("f flake.nix") && copy.contains("f a.txt"),
        "{copy:#?}"
    );
    assert!(copy.contains("d store/nix/store"), "{copy:#?}");
    assert!(
        !copy
            .iter()
            .any(|l| l.contains("tmp-") || l.contains("source/")),
        "the copy saw its own temporary directory: {copy:#?}"
    );
    assert!(
        !copy.iter().any(|l| l.contains("temproots/")),
        "the store was written before the copy: {copy:#?}"
    );
    let store_dir = env.path("work/flake/store/nix/store");
    let names: Vec<_> = std::fs::read_dir(&store_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with('.'))
        .collect();
    assert_eq!(names, [first.trim_start_matches("/nix/store/")]);

    // The store changed (it holds the first copy), so the flake did too: a second archive
    // includes the first copy, as with Nix.
    let out = env.run(&ARGS);
    assert!(out.success(), "{out}");
    let second = archived(out.stdout());
    assert_ne!(second, first);
    let copy = listing(&real(&env, &second));
    let base = first.trim_start_matches("/nix/store/");
    assert!(
        copy.contains(&format!("f store/nix/store/{base}/a.txt")),
        "{copy:#?}"
    );
}

#[test]
fn nix_2_8_archives_the_same_tree() {
    if !require_nix() {
        return;
    }
    let nix = flake_env();
    let rflake = flake_env();
    let by_nix = nix.run_nix(&ARGS);
    assert!(by_nix.success(), "{by_nix}");
    let by_rflake = rflake.run(&ARGS);
    assert!(by_rflake.success(), "{by_rflake}");
    let nix_copy = real(&nix, &archived(by_nix.stdout()));
    let rflake_copy = real(&rflake, &archived(by_rflake.stdout()));
    // The paths (narHashes) cannot be compared: the trees hold each store's live SQLite
    // database, whose WAL salts are random, so Nix 2.8 itself gets a new path for the same
    // fixture every time. What is archived must be the same.
    assert_eq!(listing(&rflake_copy), listing(&nix_copy));
    for file in ["flake.nix", "a.txt", "store/nix/var/nix/db/schema"] {
        assert_eq!(
            std::fs::read(rflake_copy.join(file)).unwrap(),
            std::fs::read(nix_copy.join(file)).unwrap(),
            "{file}"
        );
    }
    // rflake's recorded narHash is the hash of what it archived (Nix 2.8 checks contents).
    let verify = rflake.run_nix(&[
        "store",
        "verify",
        "--no-trust",
        "--store",
        "./store",
        &archived(by_rflake.stdout()),
    ]);
    assert!(verify.success(), "{verify}");
}
