//! NAR vectors from the spec (A2.3), Nix's invalid-NAR cases (`src/libutil-tests/archive.cc`),
//! and round trips through disk.

use std::fs;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::Path;

use super::*;
use crate::hash::{Algo, Hash};

/// Builds a NAR token by token.
fn nar(tokens: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::new();
    for t in tokens {
        out.extend_from_slice(&(t.len() as u64).to_le_bytes());
        out.extend_from_slice(t);
        out.resize(out.len().div_ceil(8) * 8, 0);
    }
    out
}

fn dump_bytes(p: &Path) -> Vec<u8> {
    let mut out = Vec::new();
    dump(p, &mut out).unwrap();
    out
}

fn sri(data: &[u8]) -> String {
    Hash::digest(Algo::Sha256, data).to_sri()
}

fn t1(dir: &Path) {
    fs::create_dir(dir).unwrap();
    fs::write(dir.join("B"), "B").unwrap();
    fs::write(dir.join("a.txt"), "hello\n").unwrap();
    symlink("a.txt", dir.join("link")).unwrap();
    fs::write(dir.join("run.sh"), "#!/bin/sh\necho hi\n").unwrap();
    fs::set_permissions(dir.join("run.sh"), fs::Permissions::from_mode(0o755)).unwrap();
    fs::create_dir(dir.join("sub")).unwrap();
    fs::write(dir.join("sub/empty"), "").unwrap();
}

#[test]
fn single_object_vectors() {
    let tmp = tempfile::tempdir().unwrap();
    let hello = tmp.path().join("hello");
    fs::write(&hello, "hello\n").unwrap();
    let bytes = dump_bytes(&hello);
    let expected = nar(&[
        b"nix-archive-1",
        b"(",
        b"type",
        b"regular",
        b"contents",
        b"hello\n",
        b")",
    ]);
    assert_eq!(bytes, expected);
    assert_eq!(bytes.len(), 120);
    assert_eq!(
        Hash::digest(Algo::Sha256, &bytes).to_nix32(),
        "04zwf782yjwnh3q6hz5izfd6jyip8kgw6g6yj43fiqhbyhdd0dqw"
    );

    let exe = tmp.path().join("exe");
    fs::write(&exe, "hi").unwrap();
    fs::set_permissions(&exe, fs::Permissions::from_mode(0o700)).unwrap();
    let bytes = dump_bytes(&exe);
    assert_eq!(bytes.len(), 152);
    assert_eq!(
        sri(&bytes),
        "sha256-uIHSMmqgpPiXl+hhnYqdbG36Yw7monSljtrzVfLE2bA="
    );

    let link = tmp.path().join("link");
    symlink("target", &link).unwrap();
    let bytes = dump_bytes(&link);
    assert_eq!(bytes.len(), 120);
    assert_eq!(
        sri(&bytes),
        "sha256-y4xiyvKomXslPtBn1FbatS+OmBTXEMSz4h3GEMZ4x3Q="
    );

    let empty = tmp.path().join("empty");
    fs::create_dir(&empty).unwrap();
    let bytes = dump_bytes(&empty);
    assert_eq!(bytes.len(), 96);
    assert_eq!(
        sri(&bytes),
        "sha256-pQpattmS9VmO3ZIQUFn66az8GSmB4IvYhTTCFn6SUmo="
    );
}

#[test]
fn tree_t1_and_round_trip() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("t1");
    t1(&src);
    let bytes = dump_bytes(&src);
    assert_eq!(bytes.len(), 1264);
    let h = Hash::digest(Algo::Sha256, &bytes);
    assert_eq!(
        h.to_base16(),
        "0eb322003c9167ee655500a0faf3313f7576e9da2157728e3ee66668866df0e8"
    );
    assert_eq!(
        Hash::digest(Algo::Sha1, &bytes).to_sri(),
        "sha1-WckQgsuEg4riDDGlQjUH5kTJ4h4="
    );
    assert_eq!(hash_path(&src).unwrap(), (h.clone(), 1264));

    let restored = tmp.path().join("restored");
    restore(&mut bytes.as_slice(), &restored).unwrap();
    assert_eq!(dump_bytes(&restored), bytes);
    assert_eq!(
        fs::read_link(restored.join("link")).unwrap(),
        Path::new("a.txt")
    );
    let mode = fs::metadata(restored.join("run.sh"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o555);

    let copied = tmp.path().join("copied");
    let c = copy_tree(&src, &copied, &META).unwrap();
    assert_eq!((c.hash, c.size), (h, 1264));
    assert_eq!(c.newest_mtime, newest_mtime(&src));
    assert_eq!(dump_bytes(&copied), bytes);
    assert_store_meta(&copied);
    make_writable(&copied);
}

/// The metadata copies get in these tests.
const META: StoreMeta = StoreMeta {
    mtime: 7,
    keep_xattrs: &[],
};

/// Checks that every object of the copy at `p` has the metadata of [`META`].
fn assert_store_meta(p: &Path) {
    use std::os::unix::fs::MetadataExt as _;
    let m = fs::symlink_metadata(p).unwrap();
    assert_eq!(m.mtime(), META.mtime, "{}", p.display());
    let mode = m.mode() & 0o7777;
    if m.is_dir() {
        assert_eq!(mode, 0o555, "{}", p.display());
        for e in fs::read_dir(p).unwrap() {
            assert_store_meta(&e.unwrap().path());
        }
    } else if m.is_file() {
        assert!(mode == 0o444 || mode == 0o555, "{}: {mode:o}", p.display());
    }
}

/// Returns the newest mtime of the objects at and below `p`.
fn newest_mtime(p: &Path) -> i64 {
    use std::os::unix::fs::MetadataExt as _;
    let m = fs::symlink_metadata(p).unwrap();
    let mut newest = m.mtime();
    if m.is_dir() {
        for e in fs::read_dir(p).unwrap() {
            newest = newest.max(newest_mtime(&e.unwrap().path()));
        }
    }
    newest
}

/// Makes the copy's directories writable again, so that the temporary directory can go.
fn make_writable(p: &Path) {
    if fs::symlink_metadata(p).unwrap().is_dir() {
        fs::set_permissions(p, fs::Permissions::from_mode(0o755)).unwrap();
        for e in fs::read_dir(p).unwrap() {
            make_writable(&e.unwrap().path());
        }
    }
}

#[test]
fn bytewise_order_and_big_files() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    fs::create_dir(&src).unwrap();
    for name in ["z", "é", "a", "_", "A", "0", ".x", "-"] {
        fs::write(src.join(name), name).unwrap();
    }
    let big: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
    fs::write(src.join("big"), &big).unwrap();
    let bytes = dump_bytes(&src);
    let mut names = Vec::new();
    collect_names(&bytes, &mut names);
    let expected: Vec<&[u8]> = vec![
        b"-",
        b".x",
        b"0",
        b"A",
        b"_",
        b"a",
        b"big",
        b"z",
        "é".as_bytes(),
    ];
    assert_eq!(names, expected);
    let copied = tmp.path().join("copied");
    let c = copy_tree(&src, &copied, &META).unwrap();
    assert_eq!(fs::read(copied.join("big")).unwrap(), big);
    assert_eq!(
        (c.hash, c.size),
        (Hash::digest(Algo::Sha256, &bytes), bytes.len() as u64)
    );
    assert_store_meta(&copied);
    make_writable(&copied);
}

fn collect_names(bytes: &[u8], names: &mut Vec<Vec<u8>>) {
    struct Names<'a>(&'a mut Vec<Vec<u8>>);
    impl Visitor for Names<'_> {
        fn visit(&mut self, path: &[u8], _: Entry<'_>) -> std::io::Result<()> {
            if !path.is_empty() {
                self.0.push(path.to_vec());
            }
            Ok(())
        }
    }
    parse(&mut &bytes[..], &mut Names(names)).unwrap();
}

fn parse_err(bytes: &[u8]) -> String {
    parse(&mut &bytes[..], &mut Check).unwrap_err().to_string()
}

fn dir_with(entries: &[&[u8]]) -> Vec<u8> {
    let mut t: Vec<&[u8]> = vec![b"nix-archive-1", b"(", b"type", b"directory"];
    for e in entries {
        t.extend_from_slice(&[b"entry", b"(", b"name", e, b"node"]);
        t.extend_from_slice(&[b"(", b"type", b"regular", b"contents", b"x", b")", b")"]);
    }
    t.push(b")");
    nar(&t)
}

#[test]
fn rejects_invalid_nars() {
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "invalid-tag-instead-of-contents",
            nar(&[b"nix-archive-1", b"(", b"type", b"regular", b"AAAAAAAA"]),
            "bad archive: expected tag 'contents', got 'AAAAAAAA'",
        ),
        (
            "nul-character",
            dir_with(&[b"f\0"]),
            "bad archive: NAR contains invalid file name 'f",
        ),
        (
            "dot",
            dir_with(&[b"."]),
            "bad archive: NAR contains invalid file name '.'",
        ),
        (
            "dotdot",
            dir_with(&[b".."]),
            "bad archive: NAR contains invalid file name '..'",
        ),
        (
            "slash",
            dir_with(&[b"x/y"]),
            "bad archive: NAR contains invalid file name 'x/y'",
        ),
        (
            "empty",
            dir_with(&[b""]),
            "bad archive: NAR contains invalid file name ''",
        ),
        (
            "executable-after-contents",
            nar(&[
                b"nix-archive-1",
                b"(",
                b"type",
                b"regular",
                b"contents",
                b"x",
                b"executable",
                b"",
                b")",
            ]),
            "bad archive: expected tag ')', got 'executable'",
        ),
        (
            "name-after-node",
            nar(&[
                b"nix-archive-1",
                b"(",
                b"type",
                b"directory",
                b"entry",
                b"(",
                b"node",
            ]),
            "bad archive: expected tag 'name', got 'node'",
        ),
        (
            "unsorted",
            dir_with(&[b"b", b"a"]),
            "bad archive: NAR directory is not sorted",
        ),
        (
            "duplicate",
            dir_with(&[b"a", b"a"]),
            "bad archive: NAR directory is not sorted",
        ),
        (
            "not a nar",
            b"hello world, this is not a NAR".to_vec(),
            "bad archive: input doesn't look like a Nix archive",
        ),
        (
            "empty input",
            Vec::new(),
            "bad archive: input doesn't look like a Nix archive",
        ),
        (
            "unknown type",
            nar(&[b"nix-archive-1", b"(", b"type", b"fifo", b")"]),
            "bad archive: unknown file type 'fifo'",
        ),
        (
            "empty symlink target",
            nar(&[
                b"nix-archive-1",
                b"(",
                b"type",
                b"symlink",
                b"target",
                b"",
                b")",
            ]),
            "bad archive: NAR contains invalid symlink target",
        ),
        ("long name", dir_with(&[&[b'a'; 256]]), "string is too long"),
        (
            "long target",
            nar(&[
                b"nix-archive-1",
                b"(",
                b"type",
                b"symlink",
                b"target",
                &[b'a'; 4096],
                b")",
            ]),
            "string is too long",
        ),
        (
            "executable marker with value",
            nar(&[
                b"nix-archive-1",
                b"(",
                b"type",
                b"regular",
                b"executable",
                b"1",
            ]),
            "bad archive: executable marker has non-empty value",
        ),
    ];
    for (name, bytes, msg) in cases {
        let err = parse_err(&bytes);
        assert!(err.starts_with(msg), "{name}: {err}");
    }
}

#[test]
fn rejects_truncation_padding_and_huge_lengths() {
    let good = nar(&[
        b"nix-archive-1",
        b"(",
        b"type",
        b"regular",
        b"contents",
        b"hello\n",
        b")",
    ]);
    for cut in [0, 7, 8, 50, 100, 119] {
        let err = parse(&mut &good[..cut], &mut Check).expect_err(&format!("cut {cut}"));
        assert!(
            matches!(&err, ParseError::Io(e) if e.kind() == std::io::ErrorKind::UnexpectedEof)
                || err.to_string().contains("doesn't look like"),
            "cut {cut}: {err}"
        );
    }
    let mut padded = good.clone();
    padded[103] = 1;
    assert_eq!(parse_err(&padded), "non-zero padding");
    // A file claiming 2^60 bytes: read lazily, so it fails on the missing bytes, not on memory.
    let mut huge = nar(&[b"nix-archive-1", b"(", b"type", b"regular", b"contents"]);
    huge.extend_from_slice(&(1u64 << 60).to_le_bytes());
    huge.extend_from_slice(b"abc");
    assert!(matches!(
        parse(&mut &huge[..], &mut Check),
        Err(ParseError::Io(_))
    ));
    // A name claiming 2^60 bytes fails on its cap.
    let mut long = nar(&[
        b"nix-archive-1",
        b"(",
        b"type",
        b"directory",
        b"entry",
        b"(",
        b"name",
    ]);
    long.extend_from_slice(&(1u64 << 60).to_le_bytes());
    assert_eq!(parse_err(&long), "string is too long");
    // Bytes after the NAR are left unread.
    let mut trailing = good.clone();
    trailing.extend_from_slice(b"rest");
    let mut r = &trailing[..];
    parse(&mut r, &mut Check).unwrap();
    assert_eq!(r, b"rest");
}

#[test]
fn depth_limit() {
    let mut t: Vec<&[u8]> = vec![b"nix-archive-1"];
    for _ in 0..70 {
        t.extend_from_slice(&[
            b"(",
            b"type",
            b"directory",
            b"entry",
            b"(",
            b"name",
            b"d",
            b"node",
        ]);
    }
    let bytes = nar(&t);
    assert!(parse_err(&bytes).contains("exceeds maximum NAR directory depth of 64"));
}

#[test]
fn restore_never_follows_symlinks() {
    let tmp = tempfile::tempdir().unwrap();
    let outside = tmp.path().join("outside");
    fs::create_dir(&outside).unwrap();
    // An absolute symlink named `l` and then a file `l/x` is impossible (names are unique and
    // a symlink has no children); the attack left is a symlink to outside, which is created
    // verbatim and not followed.
    let target = outside.to_str().unwrap().as_bytes();
    let bytes = nar(&[
        b"nix-archive-1",
        b"(",
        b"type",
        b"directory",
        b"entry",
        b"(",
        b"name",
        b"l",
        b"node",
        b"(",
        b"type",
        b"symlink",
        b"target",
        target,
        b")",
        b")",
        b")",
    ]);
    let dest = tmp.path().join("dest");
    restore(&mut &bytes[..], &dest).unwrap();
    assert_eq!(fs::read_link(dest.join("l")).unwrap(), outside);
    assert_eq!(fs::read_dir(&outside).unwrap().count(), 0);
    // Restoring onto an existing path fails instead of writing through it.
    let err = restore(&mut &bytes[..], &dest).unwrap_err();
    assert!(err.to_string().contains("File exists"), "{err}");
}

#[test]
fn copy_finds_the_newest_mtime_without_following_symlinks() {
    use rustix::fs::{AtFlags, CWD, Timespec, Timestamps};
    let set = |p: &Path, secs: i64| {
        let t = Timespec {
            tv_sec: secs,
            tv_nsec: 0,
        };
        let times = Timestamps {
            last_access: t,
            last_modification: t,
        };
        rustix::fs::utimensat(CWD, p, &times, AtFlags::SYMLINK_NOFOLLOW).unwrap();
    };
    // Which object is the newest; the symlink's target outside the tree is newer still.
    for newest in ["", "sub", "sub/deep/file", "link", "root-file"] {
        let tmp = tempfile::tempdir().unwrap();
        let outside = tmp.path().join("outside");
        fs::write(&outside, "x").unwrap();
        set(&outside, 9_000);
        let src = tmp.path().join("src");
        fs::create_dir_all(src.join("sub/deep")).unwrap();
        fs::write(src.join("sub/deep/file"), "f").unwrap();
        fs::write(src.join("root-file"), "r").unwrap();
        symlink(&outside, src.join("link")).unwrap();
        for rel in ["sub/deep/file", "root-file", "link", "sub/deep", "sub", ""] {
            set(&src.join(rel), if rel == newest { 500 } else { 100 });
        }
        // Hashing without a copy finds the same newest time, hash and size.
        let h = super::hash_path_with_mtime(&src).unwrap();
        assert_eq!(h.newest_mtime, 500, "hash only, newest: '{newest}'");
        let copied = tmp.path().join("copied");
        let c = copy_tree(&src, &copied, &META).unwrap();
        assert_eq!(c.newest_mtime, 500, "newest: '{newest}'");
        assert_eq!((&h.hash, h.size), (&c.hash, c.size));
        assert_store_meta(&copied);
        make_writable(&copied);
    }
}

#[test]
fn a_copy_leaves_out_the_directory_it_writes_in() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("flake");
    fs::create_dir_all(src.join("store/nix/store")).unwrap();
    fs::write(src.join("flake.nix"), b"{ }\n").unwrap();
    fs::write(src.join("store/nix/store/zz"), b"kept\n").unwrap();
    // The tree as it is before the copy's temporary directory exists.
    let before = dump_bytes(&src);
    // A store inside the tree: its temporary directory, where the copy goes, is inside too.
    let temp = src.join("store/nix/store/tmp-1-0");
    fs::create_dir(&temp).unwrap();
    let dest = temp.join("source");
    let c = copy_tree(&src, &dest, &META).unwrap();
    assert_eq!(dump_bytes(&dest), before);
    assert_eq!(c.size, before.len() as u64);
    assert!(!dest.join("store/nix/store/tmp-1-0").exists());
    make_writable(&dest);
    // A plain dump (no copy) leaves nothing out.
    assert_ne!(dump_bytes(&src), before);
}
