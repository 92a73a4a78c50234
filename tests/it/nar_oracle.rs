//! NAR serialisation, NAR hashes and source store paths of generated trees, compared with
//! Nix 2.8 (`nix-store --dump`, `nix hash path`, `nix store add-path`) on the same files.

// Helpers outside `#[test]` functions unwrap too: a failure is a test failure.
#![allow(clippy::unwrap_used)]

use std::fs;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::Path;

use rflake::hash::{Algo, Hash};
use rflake::store::StoreDir;
use rflake::store::nar;
use rflake::store::path::References;

use crate::support::{TestEnv, require_nix};

/// Deterministic bytes.
fn bytes(n: usize, seed: u8) -> Vec<u8> {
    (0..n)
        .map(|i| {
            (i as u32)
                .wrapping_mul(2_654_435_761)
                .rotate_left(seed as u32) as u8
        })
        .collect()
}

fn exe(p: &Path, mode: u32) {
    fs::set_permissions(p, fs::Permissions::from_mode(mode)).unwrap();
}

/// Each tree exercises one thing the acceptance list names.
fn trees(root: &Path) -> Vec<(&'static str, std::path::PathBuf)> {
    let mut out = Vec::new();
    let mk = |name: &'static str, out: &mut Vec<_>| {
        let p = root.join(name);
        fs::create_dir(&p).unwrap();
        out.push((name, p.clone()));
        p
    };

    let t = mk("empty-files", &mut out);
    for n in ["a", "b", ".hidden", "z z"] {
        fs::write(t.join(n), "").unwrap();
    }
    fs::create_dir(t.join("emptydir")).unwrap();

    let t = mk("executables", &mut out);
    fs::write(t.join("owner-x"), "#!/bin/sh\n").unwrap();
    exe(&t.join("owner-x"), 0o700);
    fs::write(t.join("group-x-only"), "no").unwrap();
    exe(&t.join("group-x-only"), 0o654);
    fs::write(t.join("all-x"), "x").unwrap();
    exe(&t.join("all-x"), 0o777);
    fs::write(t.join("empty-x"), "").unwrap();
    exe(&t.join("empty-x"), 0o755);

    let t = mk("symlinks", &mut out);
    fs::write(t.join("target"), "t").unwrap();
    symlink("target", t.join("relative")).unwrap();
    symlink("/etc/passwd", t.join("absolute")).unwrap();
    symlink("does/not/exist", t.join("dangling")).unwrap();
    symlink("..", t.join("up")).unwrap();
    fs::create_dir(t.join("dir")).unwrap();
    symlink("dir", t.join("to-dir")).unwrap();

    let t = mk("deep", &mut out);
    let mut d = t.clone();
    for i in 0..40 {
        d = d.join(format!("level{i}"));
        fs::create_dir(&d).unwrap();
        fs::write(d.join("f"), format!("{i}")).unwrap();
    }

    let t = mk("names", &mut out);
    for n in [
        "B",
        "a",
        "_",
        "é",
        "-",
        ".x",
        "0",
        "Z",
        "ä",
        "a b",
        "a.b",
        "a-b",
        "~",
        "\u{1F600}",
    ] {
        fs::write(t.join(n), n).unwrap();
    }

    let t = mk("big-files", &mut out);
    fs::write(t.join("one-mib"), bytes(1 << 20, 1)).unwrap();
    fs::write(t.join("odd"), bytes((3 << 20) + 5, 2)).unwrap();
    fs::write(t.join("small"), bytes(262_145, 3)).unwrap();

    // Single objects as the root: a file, an executable, a symlink.
    let f = root.join("file-root");
    fs::write(&f, bytes(100_003, 4)).unwrap();
    out.push(("file-root", f));
    let f = root.join("exe-root");
    fs::write(&f, "#!/bin/sh\necho\n").unwrap();
    exe(&f, 0o755);
    out.push(("exe-root", f));
    let f = root.join("symlink-root");
    symlink("/nowhere", &f).unwrap();
    out.push(("symlink-root", f));
    out
}

#[test]
fn nar_bytes_hashes_and_store_paths_equal_nix() {
    if !require_nix() {
        return;
    }
    let env = TestEnv::new();
    let root = env.path("work/trees");
    fs::create_dir(&root).unwrap();
    for (name, path) in trees(&root) {
        let p = path.to_str().unwrap();
        let mut ours = Vec::new();
        nar::dump(&path, &mut ours).unwrap();
        let dumped = env
            .command("nix-store")
            .args(["--dump", p])
            .output()
            .unwrap();
        assert!(dumped.status.success(), "{name}: nix-store --dump failed");
        let nix_nar = dumped.stdout;
        assert_eq!(ours.len(), nix_nar.len(), "{name}: NAR size");
        assert!(ours == nix_nar, "{name}: NAR bytes differ");

        let (hash, size) = nar::hash_path(&path).unwrap();
        assert_eq!(size, ours.len() as u64, "{name}");
        assert_eq!(hash, Hash::digest(Algo::Sha256, &ours), "{name}");
        let nix_hash = env.run_nix(&["hash", "path", p]);
        assert_eq!(
            nix_hash.stdout().trim(),
            hash.to_sri(),
            "{name}: nix hash path"
        );

        // Only directories and files can be added under their own name; all of them as `source`.
        let added = env.run_nix(&["store", "add-path", "--name", "source", p]);
        let expected = StoreDir::default()
            .make_source_path(&hash, "source", &References::default())
            .unwrap();
        assert_eq!(
            added.stdout().trim(),
            format!("/nix/store/{expected}"),
            "{name}: store path"
        );
    }
}

#[test]
fn copy_tree_reproduces_every_tree() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("trees");
    fs::create_dir(&root).unwrap();
    for (name, path) in trees(&root) {
        let dest = tmp.path().join(format!("copy-{name}"));
        let copied =
            nar::copy_tree(&path, &dest, &rflake::store::local::canon::STORE_META).unwrap();
        let (hash, size) = (copied.hash, copied.size);
        assert_eq!(
            (hash.clone(), size),
            nar::hash_path(&dest).unwrap(),
            "{name}"
        );
        let mut restored_nar = Vec::new();
        nar::dump(&path, &mut restored_nar).unwrap();
        let back = tmp.path().join(format!("restored-{name}"));
        nar::restore(&mut restored_nar.as_slice(), &back).unwrap();
        assert_eq!(nar::hash_path(&back).unwrap(), (hash, size), "{name}");
    }
}
