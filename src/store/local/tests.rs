//! Unit tests of the local store that need no NAR: layout, schema, registration, checks.

use std::collections::BTreeSet;
use std::sync::Arc;

use super::*;
use crate::hash::{Algo, Hash};
use crate::store::ContentAddress;
use crate::store::path::References;

fn opts(root: &Path) -> Options {
    let mut o = Options::new(Some(root.to_owned()));
    o.clock = Arc::new(|| 1_700_000_000);
    o
}

fn source_info(dir: &StoreDir, seed: &[u8]) -> PathInfo {
    let h = Hash::digest(Algo::Sha256, seed);
    let p = dir
        .make_source_path(&h, "source", &References::default())
        .unwrap();
    PathInfo::source(p, h, 128)
}

fn text_info(dir: &StoreDir, name: &str, refs: &[&PathInfo]) -> PathInfo {
    let h = Hash::digest(Algo::Sha256, name.as_bytes());
    PathInfo {
        path: dir.make_text_path(&h, name, &[]).unwrap(),
        nar_hash: Hash::digest(Algo::Sha256, b"nar"),
        nar_size: 3,
        references: refs.iter().map(|r| r.path.clone()).collect(),
        deriver: None,
        registration_time: 0,
        ultimate: false,
        sigs: BTreeSet::new(),
        ca: None,
    }
}

#[test]
fn new_store_layout_and_schema() {
    let root = tempfile::tempdir().unwrap();
    let store = LocalStore::open(opts(root.path())).unwrap();
    for dir in [
        "nix/store",
        "nix/store/.links",
        "nix/var/nix/db",
        "nix/var/nix/temproots",
        "nix/var/nix/gcroots",
        "nix/var/nix/profiles",
    ] {
        assert!(root.path().join(dir).is_dir(), "{dir}");
    }
    assert_eq!(
        std::fs::read(root.path().join("nix/var/nix/db/schema")).unwrap(),
        b"10"
    );
    assert!(root.path().join("nix/var/nix/db/big-lock").is_file());
    assert_eq!(store.real_store_dir(), root.path().join("nix/store"));
    assert_eq!(store.uri(), format!("local?root={}", root.path().display()));
    let db = store.db();
    let mut names: Vec<(String, String)> = db
        .conn()
        .prepare(
            "select type, name from sqlite_master where name not like 'sqlite_%' order by name",
        )
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    names.sort();
    let want = [
        ("index", "IndexDerivationOutputs"),
        ("index", "IndexReference"),
        ("index", "IndexReferrer"),
        ("table", "DerivationOutputs"),
        ("table", "Refs"),
        ("table", "ValidPaths"),
        ("trigger", "DeleteSelfRefs"),
    ];
    let want: Vec<(String, String)> = want
        .iter()
        .map(|(t, n)| ((*t).to_owned(), (*n).to_owned()))
        .collect();
    assert_eq!(names, want);
    let mode: String = db
        .conn()
        .query_row("pragma journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    assert!(!db.has_table("SchemaMigrations").unwrap());
}

#[test]
fn registration_round_trip() {
    let root = tempfile::tempdir().unwrap();
    let store = LocalStore::open(opts(root.path())).unwrap();
    let dir = StoreDir::default();
    let a = source_info(&dir, b"a");
    let mut b = text_info(&dir, "b", &[&a]);
    b.references.insert(b.path.clone());
    b.sigs = ["k1:c2ln".to_owned(), "k2:c2ln".to_owned()].into();
    b.ultimate = true;
    b.deriver = Some(StorePath::from_base_name("12wigjpizrn8axaqxj288q1b751qmwya-b.drv").unwrap());
    b.registration_time = 42;
    store.register_valid_paths(&[b.clone(), a.clone()]).unwrap();
    // Reopen: what was registered is read back, with the clock's time where info had 0.
    drop(store);
    let store = LocalStore::open(opts(root.path())).unwrap();
    let mut want_a = a.clone();
    want_a.registration_time = 1_700_000_000;
    assert_eq!(store.path_info(&a.path).unwrap(), Some(want_a));
    assert_eq!(store.path_info(&b.path).unwrap(), Some(b.clone()));
    let c = source_info(&dir, b"c");
    let all: BTreeSet<_> = [a.path.clone(), b.path.clone(), c.path.clone()].into();
    assert_eq!(
        store.valid_paths(&all).unwrap(),
        [a.path.clone(), b.path.clone()].into()
    );
    // The row is written as Nix writes it.
    let db = store.db();
    let row: (String, i64, Option<i64>, Option<String>) = db
        .conn()
        .query_row(
            "select hash, registrationTime, ultimate, ca from ValidPaths where path = ?",
            [dir.print(&a.path)],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .unwrap();
    assert_eq!(row.0, a.nar_hash.to_prefixed_base16());
    assert_eq!(row.1, 1_700_000_000);
    assert_eq!(row.2, None);
    assert_eq!(row.3, Some(ContentAddress::source(&a.nar_hash).to_string()));
}

#[test]
fn registration_rejections() {
    let root = tempfile::tempdir().unwrap();
    let store = LocalStore::open(opts(root.path())).unwrap();
    let dir = StoreDir::default();
    let a = source_info(&dir, b"a");
    let b = text_info(&dir, "b", &[&a]);
    let mut lying = a.clone();
    lying.nar_hash = Hash::digest(Algo::Sha256, b"other");
    lying.ca = Some(ContentAddress::source(&lying.nar_hash));
    let mut x = text_info(&dir, "x", &[]);
    let y = text_info(&dir, "y", &[&x]);
    x.references.insert(y.path.clone());
    let cases: Vec<(&str, Vec<PathInfo>, String)> = vec![
        (
            "reference not valid",
            vec![b.clone()],
            format!("path '{}' is not valid", dir.print(&a.path)),
        ),
        (
            "false ca claim",
            vec![lying],
            format!(
                "cannot add path '{}' to the Nix store because it claims to be content-addressed but isn't",
                dir.print(&a.path)
            ),
        ),
        (
            "cycle",
            vec![x.clone(), y.clone()],
            format!(
                "cycle detected in the references of '{}' from '{}'",
                dir.print(&y.path),
                dir.print(&x.path)
            ),
        ),
    ];
    for (name, batch, msg) in cases {
        let err = store.register_valid_paths(&batch).unwrap_err();
        assert_eq!(err.to_string(), msg, "{name}");
        for info in &batch {
            assert!(!store.is_valid_path(&info.path).unwrap(), "{name}");
        }
    }
    // The same batch with its reference is fine.
    store.register_valid_paths(&[b.clone(), a.clone()]).unwrap();
    assert!(store.is_valid_path(&b.path).unwrap());
}

#[test]
fn schema_versions() {
    let cases = [
        (
            "11",
            "current Nix store schema is version 11, but I only support 10",
        ),
        ("x", "is corrupt"),
        ("10\n", "is corrupt"),
        (
            "7",
            "Nix store schema is version 7, which rflake cannot upgrade; open the store with Nix once to upgrade it to version 10",
        ),
    ];
    for (schema, msg) in cases {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(root.path().join("nix/var/nix/db")).unwrap();
        std::fs::write(root.path().join("nix/var/nix/db/schema"), schema).unwrap();
        let err = LocalStore::open(opts(root.path())).err().unwrap();
        assert!(err.to_string().contains(msg), "{schema:?}: {err}");
    }
}

#[test]
fn current_nix_schema_is_accepted() {
    let root = tempfile::tempdir().unwrap();
    drop(LocalStore::open(opts(root.path())).unwrap());
    {
        let c = rusqlite::Connection::open(root.path().join("nix/var/nix/db/db.sqlite")).unwrap();
        c.execute_batch(
            "create table SchemaMigrations (migration text primary key not null);
             drop index IndexReferrer;
             insert into SchemaMigrations values ('20260309-drop-redundant-indexreferrer');",
        )
        .unwrap();
    }
    let store = LocalStore::open(opts(root.path())).unwrap();
    let a = source_info(&StoreDir::default(), b"a");
    store
        .register_valid_paths(std::slice::from_ref(&a))
        .unwrap();
    assert!(store.is_valid_path(&a.path).unwrap());
    assert!(store.db().has_table("SchemaMigrations").unwrap());
}

#[test]
fn signature_policy() {
    let dir = StoreDir::default();
    let signed = {
        let mut i = text_info(&dir, "signed", &[]);
        i.sigs.insert("trusted-1:sig".to_owned());
        i
    };
    let unsigned = text_info(&dir, "unsigned", &[]);
    let ca = source_info(&dir, b"ca");
    let checker =
        |_: &StoreDir, info: &PathInfo| info.sigs.iter().any(|s| s.starts_with("trusted-1:"));
    let cases = [
        // (require_sigs, check, info, trusted?)
        (true, CheckSigs::Check, &unsigned, false),
        (true, CheckSigs::NoCheck, &unsigned, true),
        (false, CheckSigs::Check, &unsigned, true),
        (true, CheckSigs::Check, &signed, true),
        (true, CheckSigs::Check, &ca, true),
    ];
    let root = tempfile::tempdir().unwrap();
    for (require, check, info, trusted) in cases {
        let mut o = opts(root.path());
        o.require_sigs = require;
        o.sig_checker = Arc::new(checker);
        let store = LocalStore::open(o).unwrap();
        let got = store.check_trusted(info, check);
        assert_eq!(got.is_ok(), trusted, "{} {require} {check:?}", info.path);
        if let Err(e) = got {
            assert_eq!(
                e.to_string(),
                format!(
                    "cannot add path '{}' because it lacks a signature by a trusted key",
                    dir.print(&info.path)
                )
            );
        }
    }
    // The check comes first: an untrusted NAR is not even read.
    let store = LocalStore::open(opts(root.path())).unwrap();
    let mut nothing: &[u8] = b"";
    let err = store
        .add_nars(vec![(unsigned.clone(), &mut nothing)], CheckSigs::Check)
        .unwrap_err();
    assert!(matches!(err, Error::Untrusted(_)));
}

#[test]
fn valid_paths_skip_the_nar() {
    let root = tempfile::tempdir().unwrap();
    let store = LocalStore::open(opts(root.path())).unwrap();
    let a = source_info(&StoreDir::default(), b"a");
    store
        .register_valid_paths(std::slice::from_ref(&a))
        .unwrap();
    // An empty reader is no NAR at all: it must not be read.
    let mut nothing: &[u8] = b"";
    store.add_nar(&a, &mut nothing, CheckSigs::Check).unwrap();
}

#[test]
fn concurrent_creation_of_a_new_store() {
    let root = tempfile::tempdir().unwrap();
    let a = source_info(&StoreDir::default(), b"a");
    std::thread::scope(|scope| {
        for _ in 0..8 {
            scope.spawn(|| {
                let store = LocalStore::open(opts(root.path())).unwrap();
                store
                    .register_valid_paths(std::slice::from_ref(&a))
                    .unwrap();
            });
        }
    });
    let store = LocalStore::open(opts(root.path())).unwrap();
    assert!(store.is_valid_path(&a.path).unwrap());
    assert_eq!(
        std::fs::read(root.path().join("nix/var/nix/db/schema")).unwrap(),
        b"10"
    );
}
