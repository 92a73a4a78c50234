//! rflake and Nix 2.8 reading and writing the same stores.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::fs;
use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _, symlink};
use std::path::Path;

use rflake::store::{CheckSigs, Store, StoreDir};

use super::{have_nix, nix_path_info, ok, open, s, small_tree, store_entries};
use crate::support::TestEnv;

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
