//! Bad, untrusted and concurrent adds leave the store consistent.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::fs;
use std::path::PathBuf;

use rflake::hash::{Algo, Hash};
use rflake::store::{CheckSigs, PathInfo, Store, StoreDir, StorePath, nar};

use super::{have_nix, ok, open, s, small_tree, store_entries};
use crate::support::TestEnv;

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

    // Adding it again with its hash is a no-op that does not even read the tree (see Nix's
    // short-circuit for valid paths, spec E2.12): a vanished source does not matter.
    fs::remove_dir_all(&tree).unwrap();
    let (again, info2) = store.add_tree_with_hash("source", &tree, &hash).unwrap();
    assert_eq!((again, info2), (path.clone(), info));
    assert_eq!(store_entries(&root), BTreeSet::from([path.to_string()]));
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

#[test]
fn temp_roots_protect_paths_from_nix_gc() {
    if !have_nix() {
        return;
    }
    let env = TestEnv::new();
    let tree = env.path("work/tree");
    small_tree(&tree);
    let root = env.path("store");
    let store = open(&root);
    let (path, _) = store.add_tree("source", &tree).unwrap();
    // While the store is open, the path is a temporary root of this process.
    ok(&env, "nix-store", &["--store", s(&root), "--gc"]);
    assert!(store.real_path(&path).exists());
    assert!(store.is_valid_path(&path).unwrap());
    let real = store.real_path(&path);
    drop(store);
    // Once it is closed, nothing keeps the unrooted path alive.
    ok(&env, "nix-store", &["--store", s(&root), "--gc"]);
    assert!(!real.exists());
}
