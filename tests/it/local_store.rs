//! The local store against Nix 2.8 on the same directories: what rflake adds, Nix accepts as
//! valid (and the other way round), store paths agree on awkward trees, and bad or concurrent
//! adds leave the store consistent.

// `allow-unwrap-in-tests` covers only `#[test]` functions; in helpers, too, a failed unwrap is a
// test failure.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::fs;
use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _, symlink};
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::Arc;

use rflake::hash::{Algo, Hash};
use rflake::store::local::{LocalStore, Options};
use rflake::store::{CheckSigs, PathInfo, Store, StoreDir, StorePath, nar};

use crate::support::{TestEnv, nix_available};

/// Returns whether Nix is there; without it the test is skipped, except under `CI`, where a
/// missing oracle is a failure (as for the differential tests).
fn have_nix() -> bool {
    if nix_available() {
        return true;
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "`nix` is not on PATH but CI is set: the local store tests need Nix 2.8 (nix-bin)"
    );
    false
}

/// Runs `nix`-suite `program` with `args` in `env` and returns its output.
fn run(env: &TestEnv, program: &str, args: &[&str]) -> Output {
    env.command(program).args(args).output().unwrap()
}

/// Runs `program` and returns its stdout, failing the test with stderr if it fails.
fn ok(env: &TestEnv, program: &str, args: &[&str]) -> String {
    let out = run(env, program, args);
    assert!(
        out.status.success(),
        "{program} {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn open(root: &Path) -> LocalStore {
    let mut opts = Options::new(Some(root.to_owned()));
    opts.clock = Arc::new(|| 1_700_000_000);
    LocalStore::open(opts).unwrap()
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// `nix path-info --json` of `path` in the store rooted at `root`, as (narHash, narSize, ca).
fn nix_path_info(env: &TestEnv, root: &Path, path: &str) -> (String, u64, Option<String>) {
    let json = ok(
        env,
        "nix",
        &["path-info", "--store", s(root), "--json", path],
    );
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    let info = &v[0];
    (
        info["narHash"].as_str().unwrap().to_owned(),
        info["narSize"].as_u64().unwrap(),
        info["ca"].as_str().map(str::to_owned),
    )
}

/// Writes a small tree with a file, an executable, a symlink and a subdirectory.
fn small_tree(dir: &Path) {
    fs::create_dir_all(dir.join("sub")).unwrap();
    fs::write(dir.join("flake.nix"), "{ outputs = _: { }; }\n").unwrap();
    fs::write(dir.join("sub/run"), "#!/bin/sh\n").unwrap();
    fs::set_permissions(dir.join("sub/run"), fs::Permissions::from_mode(0o755)).unwrap();
    symlink("../flake.nix", dir.join("sub/link")).unwrap();
}

/// Lists the entries of the real store directory, except `.links`.
fn store_entries(root: &Path) -> BTreeSet<String> {
    fs::read_dir(root.join("nix/store"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n != ".links")
        .collect()
}

#[test]
fn rflake_paths_are_valid_for_nix() {
    if !have_nix() {
        return;
    }
    let env = TestEnv::new();
    let tree = env.path("work/tree");
    small_tree(&tree);
    let root = env.path("store");
    let store = open(&root);
    let (path, info) = store.add_tree("source", &tree).unwrap();
    let printed = StoreDir::default().print(&path);
    let (nar_hash, nar_size, ca) = nix_path_info(&env, &root, &printed);
    assert_eq!(nar_hash, info.nar_hash.to_sri());
    assert_eq!(nar_size, info.nar_size);
    assert_eq!(ca, info.ca.as_ref().map(ToString::to_string));
    ok(
        &env,
        "nix-store",
        &["--store", s(&root), "--verify-path", &printed],
    );
    ok(
        &env,
        "nix",
        &["store", "verify", "--store", s(&root), &printed],
    );
    ok(
        &env,
        "nix-store",
        &["--store", s(&root), "--verify", "--check-contents"],
    );
    // Nix adding the same tree finds the path valid and prints it.
    let added = ok(
        &env,
        "nix",
        &[
            "store",
            "add-path",
            "--store",
            s(&root),
            "--name",
            "source",
            s(&tree),
        ],
    );
    assert_eq!(added.trim(), printed);
    assert_eq!(store_entries(&root), BTreeSet::from([path.to_string()]));
    // The NAR rflake serves is the one Nix makes of the original tree.
    let mut ours = Vec::new();
    store.nar_from_path(&path, &mut ours).unwrap();
    let theirs = env
        .command("nix-store")
        .args(["--dump", s(&tree)])
        .output()
        .unwrap();
    assert_eq!(ours, theirs.stdout);
}

#[test]
fn rflake_reads_stores_made_by_nix() {
    if !have_nix() {
        return;
    }
    let env = TestEnv::new();
    let tree = env.path("work/tree");
    small_tree(&tree);
    let root = env.path("store");
    let printed = ok(
        &env,
        "nix",
        &[
            "store",
            "add-path",
            "--store",
            s(&root),
            "--name",
            "source",
            s(&tree),
        ],
    );
    let printed = printed.trim();
    let (nar_hash, nar_size, ca) = nix_path_info(&env, &root, printed);
    let store = open(&root);
    let path = store.store_dir().parse(printed).unwrap();
    let info = store.query_path_info(&path).unwrap().unwrap();
    assert_eq!(info.nar_hash.to_sri(), nar_hash);
    assert_eq!(info.nar_size, nar_size);
    assert_eq!(info.ca.as_ref().map(ToString::to_string), ca);
    assert!(info.references.is_empty());
    let mut ours = Vec::new();
    store.nar_from_path(&path, &mut ours).unwrap();
    let real = store.real_path(&path);
    let theirs = ok(&env, "nix-store", &["--dump", s(&real)]);
    assert_eq!(ours, theirs.as_bytes());
    // Adding the same tree again is a no-op that returns Nix's registration.
    let (again, again_info) = store.add_tree("source", &tree).unwrap();
    assert_eq!(again, path);
    assert_eq!(again_info, info);
    // A NAR taken from Nix's store goes into a fresh rflake store and back to Nix.
    let root2 = env.path("store2");
    let store2 = open(&root2);
    store2
        .add_nar(&info, &mut ours.as_slice(), CheckSigs::Check)
        .unwrap();
    let (h2, z2, ca2) = nix_path_info(&env, &root2, printed);
    assert_eq!((h2, z2, ca2), (nar_hash, nar_size, ca));
    ok(
        &env,
        "nix-store",
        &["--store", s(&root2), "--verify", "--check-contents"],
    );
}

/// One generated tree: a name and a function that writes it at the given path.
type TreeCase = (&'static str, fn(&Path));

fn tree_cases() -> Vec<TreeCase> {
    vec![
        ("empty file", |p| fs::write(p, b"").unwrap()),
        ("single file", |p| fs::write(p, b"hello\n").unwrap()),
        ("empty directory", |p| fs::create_dir(p).unwrap()),
        ("executables", |p| {
            fs::create_dir(p).unwrap();
            for (name, mode) in [("x", 0o755), ("owner-only", 0o700), ("group-only", 0o654)] {
                fs::write(p.join(name), b"#!/bin/sh\n").unwrap();
                fs::set_permissions(p.join(name), fs::Permissions::from_mode(mode)).unwrap();
            }
            fs::write(p.join("empty"), b"").unwrap();
        }),
        ("symlinks", |p| {
            fs::create_dir(p).unwrap();
            fs::write(p.join("target"), b"t").unwrap();
            symlink("target", p.join("relative")).unwrap();
            symlink("/etc/passwd", p.join("absolute")).unwrap();
            symlink("does/not/exist", p.join("dangling")).unwrap();
            symlink(".", p.join("self")).unwrap();
        }),
        ("top-level symlink", |p| symlink("/nowhere", p).unwrap()),
        ("deep nesting", |p| {
            let mut d = p.to_path_buf();
            for i in 0..40 {
                d = d.join(format!("d{i}"));
            }
            fs::create_dir_all(&d).unwrap();
            fs::write(d.join("leaf"), b"deep").unwrap();
        }),
        ("byte order of names", |p| {
            fs::create_dir(p).unwrap();
            for name in ["B", "a", "_", "é", "-", ".x", "A", "z", "~", "0"] {
                fs::write(p.join(name), name.as_bytes()).unwrap();
            }
            fs::create_dir(p.join("b-dir")).unwrap();
            fs::write(p.join("b-dir/.hidden"), b"").unwrap();
        }),
        ("big file", |p| {
            fs::create_dir(p).unwrap();
            let data: Vec<u8> = (0..(1 << 20) + 12_345)
                .map(|i: u32| (i * 7 % 251) as u8)
                .collect();
            fs::write(p.join("big"), data).unwrap();
        }),
    ]
}

#[test]
fn store_paths_match_nix_on_generated_trees() {
    if !have_nix() {
        return;
    }
    let env = TestEnv::new();
    let ours = open(&env.path("store"));
    let nix_root = env.path("nix-store");
    for (i, (name, make)) in tree_cases().into_iter().enumerate() {
        let src = env.path(format!("work/case{i}"));
        make(&src);
        let (path, info) = ours.add_tree("source", &src).unwrap();
        let theirs = ok(
            &env,
            "nix",
            &[
                "store",
                "add-path",
                "--store",
                s(&nix_root),
                "--name",
                "source",
                s(&src),
            ],
        );
        assert_eq!(ours.store_dir().print(&path), theirs.trim(), "{name}");
        let (nar_hash, nar_size, _) = nix_path_info(&env, &nix_root, theirs.trim());
        assert_eq!(
            (info.nar_hash.to_sri(), info.nar_size),
            (nar_hash, nar_size),
            "{name}"
        );
        assert_canonical(&ours.real_path(&path), name);
    }
    ok(
        &env,
        "nix-store",
        &[
            "--store",
            s(&env.path("store")),
            "--verify",
            "--check-contents",
        ],
    );
}

/// Asserts Nix's canonical metadata on every object of a tree.
fn assert_canonical(path: &Path, case: &str) {
    let meta = fs::symlink_metadata(path).unwrap();
    assert_eq!(meta.mtime(), 1, "{case}: {}", path.display());
    if !meta.file_type().is_symlink() {
        let mode = meta.mode() & 0o7777;
        assert!(
            mode == 0o444 || mode == 0o555,
            "{case}: {} has {mode:o}",
            path.display()
        );
        if meta.is_dir() {
            assert_eq!(mode, 0o555, "{case}: {}", path.display());
        }
    }
    if meta.is_dir() {
        for e in fs::read_dir(path).unwrap() {
            assert_canonical(&e.unwrap().path(), case);
        }
    }
}

/// The NAR and info of `small_tree`, made with Nix.
fn nix_nar(env: &TestEnv) -> (Vec<u8>, PathInfo) {
    let tree = env.path("work/nar-src");
    small_tree(&tree);
    let nar = env
        .command("nix-store")
        .args(["--dump", s(&tree)])
        .output()
        .unwrap()
        .stdout;
    let hash = Hash::digest(Algo::Sha256, &nar);
    let path = StoreDir::default()
        .make_source_path(&hash, "source", &Default::default())
        .unwrap();
    let info = PathInfo::source(path, hash, nar.len() as u64);
    (nar, info)
}

#[test]
fn bad_nars_leave_nothing_behind() {
    if !have_nix() {
        return;
    }
    let env = TestEnv::new();
    let (nar, info) = nix_nar(&env);
    let printed = StoreDir::default().print(&info.path);
    let mut wrong_hash = info.clone();
    wrong_hash.nar_hash = Hash::digest(Algo::Sha256, b"something else");
    // Not content-addressed any more, so signatures are not needed.
    wrong_hash.ca = None;
    let mut wrong_size = info.clone();
    wrong_size.nar_size += 1;
    let truncated = &nar[..nar.len() - 20];
    let cases: Vec<(&str, &PathInfo, &[u8], String)> = vec![
        (
            "hash",
            &wrong_hash,
            &nar,
            format!(
                "hash mismatch importing path '{printed}';\n  specified: {}\n  got:       {}",
                wrong_hash.nar_hash.to_sri(),
                info.nar_hash.to_sri()
            ),
        ),
        (
            "size",
            &wrong_size,
            &nar,
            format!(
                "size mismatch importing path '{printed}';\n  specified: {}\n  got:       {}",
                info.nar_size + 1,
                info.nar_size
            ),
        ),
        ("truncated", &info, truncated, String::new()),
        (
            "garbage",
            &info,
            b"not a nar at all, not at all",
            String::new(),
        ),
    ];
    let root = env.path("store");
    let store = open(&root);
    for (name, info, bytes, msg) in cases {
        let err = store
            .add_nar(info, &mut &bytes[..], CheckSigs::NoCheck)
            .unwrap_err();
        if !msg.is_empty() {
            assert_eq!(err.to_string(), msg, "{name}");
        }
        assert!(!store.is_valid_path(&info.path).unwrap(), "{name}");
        assert_eq!(store_entries(&root), BTreeSet::new(), "{name}: leftovers");
    }
    let all = ok(&env, "nix", &["path-info", "--store", s(&root), "--all"]);
    assert_eq!(all, "");
    // A leftover from a crash (contents without registration) is replaced.
    let real = store.real_path(&info.path);
    fs::create_dir_all(real.join("junk")).unwrap();
    store
        .add_nar(&info, &mut nar.as_slice(), CheckSigs::NoCheck)
        .unwrap();
    assert!(!real.join("junk").exists());
    ok(
        &env,
        "nix-store",
        &["--store", s(&root), "--verify", "--check-contents"],
    );
}

#[test]
fn untrusted_paths_are_refused() {
    if !have_nix() {
        return;
    }
    let env = TestEnv::new();
    let (nar, info) = nix_nar(&env);
    let mut no_ca = info.clone();
    no_ca.ca = None;
    let store = open(&env.path("store"));
    let err = store
        .add_nar(&no_ca, &mut nar.as_slice(), CheckSigs::Check)
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "cannot add path '{}' because it lacks a signature by a trusted key",
            StoreDir::default().print(&info.path)
        )
    );
    store
        .add_nar(&no_ca, &mut nar.as_slice(), CheckSigs::NoCheck)
        .unwrap();
    let mut lying = info.clone();
    lying.path = StorePath::from_base_name("00000000000000000000000000000000-source").unwrap();
    let err = store
        .add_nar(&lying, &mut nar.as_slice(), CheckSigs::NoCheck)
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("claims to be content-addressed but isn't"),
        "{err}"
    );
}

#[test]
fn tree_hash_is_checked_before_anything_is_registered() {
    let env = TestEnv::new();
    let tree = env.path("work/tree");
    small_tree(&tree);
    let root = env.path("store");
    let store = open(&root);
    let wrong = Hash::digest(Algo::Sha256, b"wrong");
    let err = store
        .add_tree_with_hash("source", &tree, &wrong)
        .unwrap_err();
    assert!(
        err.to_string().starts_with("NAR hash mismatch in '"),
        "{err}"
    );
    assert_eq!(store_entries(&root), BTreeSet::new());
    let (hash, _) = nar::hash_path(&tree).unwrap();
    let (path, info) = store.add_tree_with_hash("source", &tree, &hash).unwrap();
    assert_eq!(info.nar_hash, hash);
    assert_eq!(store_entries(&root), BTreeSet::from([path.to_string()]));
    assert_eq!(info.registration_time, 1_700_000_000);
}

#[test]
fn concurrent_adds_from_threads_and_nix() {
    if !have_nix() {
        return;
    }
    let env = TestEnv::new();
    let root = env.path("store");
    drop(open(&root));
    let trees: Vec<PathBuf> = (0..4)
        .map(|i| {
            let t = env.path(format!("work/t{i}"));
            small_tree(&t);
            fs::write(t.join("id"), format!("{i}")).unwrap();
            t
        })
        .collect();
    let results: Vec<Vec<StorePath>> = std::thread::scope(|scope| {
        let mut handles = Vec::new();
        for worker in 0..6 {
            let (root, trees) = (&root, &trees);
            handles.push(scope.spawn(move || {
                let store = open(root);
                // Every worker adds every tree, in a different order.
                (0..trees.len())
                    .map(|k| {
                        let t = &trees[(k + worker) % trees.len()];
                        store.add_tree("source", t).unwrap().0
                    })
                    .collect::<Vec<_>>()
            }));
        }
        let nix: Vec<_> = trees
            .iter()
            .map(|t| {
                env.command("nix")
                    .args([
                        "store",
                        "add-path",
                        "--store",
                        s(&root),
                        "--name",
                        "source",
                        s(t),
                    ])
                    .stdout(std::process::Stdio::null())
                    .spawn()
                    .unwrap()
            })
            .collect();
        for mut child in nix {
            assert!(child.wait().unwrap().success());
        }
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let distinct: BTreeSet<&StorePath> = results.iter().flatten().collect();
    assert_eq!(distinct.len(), trees.len());
    let store = open(&root);
    for p in &distinct {
        assert!(store.is_valid_path(p).unwrap());
    }
    let entries = store_entries(&root);
    let want: BTreeSet<String> = distinct.iter().map(|p| p.to_string()).collect();
    assert_eq!(
        entries, want,
        "no temporary directories or lock files are left"
    );
    ok(
        &env,
        "nix-store",
        &["--store", s(&root), "--verify", "--check-contents"],
    );
}
