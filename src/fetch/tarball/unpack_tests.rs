//! Unpacking: formats, Nix's tree rules and malicious archives.

use std::io::Write as _;
use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;

use tar::EntryType;

use super::*;

/// One tar entry, written with raw header fields so that hostile names are possible.
struct E<'a> {
    name: &'a str,
    ty: EntryType,
    mode: u32,
    mtime: u64,
    data: &'a [u8],
    link: &'a str,
}

fn file<'a>(name: &'a str, data: &'a [u8]) -> E<'a> {
    E {
        name,
        ty: EntryType::Regular,
        mode: 0o644,
        mtime: 1000,
        data,
        link: "",
    }
}

fn dir(name: &str) -> E<'_> {
    E {
        ty: EntryType::Directory,
        mode: 0o755,
        ..file(name, b"")
    }
}

fn link<'a>(name: &'a str, ty: EntryType, target: &'a str) -> E<'a> {
    E {
        ty,
        link: target,
        ..file(name, b"")
    }
}

fn tar_of(entries: &[E<'_>]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for e in entries {
        let mut h = tar::Header::new_gnu();
        let gnu = h.as_gnu_mut().unwrap();
        gnu.name[..e.name.len()].copy_from_slice(e.name.as_bytes());
        gnu.linkname[..e.link.len()].copy_from_slice(e.link.as_bytes());
        h.set_entry_type(e.ty);
        h.set_mode(e.mode);
        h.set_mtime(e.mtime);
        h.set_size(e.data.len() as u64);
        h.set_cksum();
        b.append(&h, e.data).unwrap();
    }
    b.into_inner().unwrap()
}

fn zip_of(entries: &[(&str, u32, &[u8])]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for &(name, mode, data) in entries {
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .unix_permissions(mode);
        if name.ends_with('/') {
            w.add_directory(name, opts).unwrap();
        } else if mode & S_IFMT == S_IFLNK {
            w.add_symlink(name, std::str::from_utf8(data).unwrap(), opts)
                .unwrap();
        } else {
            w.start_file(name, opts).unwrap();
            w.write_all(data).unwrap();
        }
    }
    w.finish().unwrap().into_inner()
}

fn compress(data: &[u8], how: &str) -> Vec<u8> {
    match how {
        "none" => data.to_vec(),
        "gz" => {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            e.write_all(data).unwrap();
            e.finish().unwrap()
        }
        "xz" => {
            let mut e = liblzma::write::XzEncoder::new(Vec::new(), 1);
            e.write_all(data).unwrap();
            e.finish().unwrap()
        }
        "bz2" => {
            let mut e = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::fast());
            e.write_all(data).unwrap();
            e.finish().unwrap()
        }
        "zst" => zstd::encode_all(data, 1).unwrap(),
        _ => unreachable!(),
    }
}

fn unpack_bytes(bytes: &[u8], limits: Limits) -> (tempfile::TempDir, anyhow::Result<Unpacked>) {
    let dir = tempfile::tempdir().unwrap();
    let result = unpack(&mut &bytes[..], dir.path(), limits);
    (dir, result)
}

/// Lists a tree: one line per entry, `path: d`, `path: f <content>`, `path: x <content>` or
/// `path: l -> <target>`.
fn listing(root: &Path) -> Vec<String> {
    fn walk(root: &Path, p: &Path, out: &mut Vec<String>) {
        let meta = std::fs::symlink_metadata(p).unwrap();
        let rel = p.strip_prefix(root).unwrap().display().to_string();
        let line = if meta.is_symlink() {
            format!("l -> {}", std::fs::read_link(p).unwrap().display())
        } else if meta.is_dir() {
            "d".to_owned()
        } else {
            let x = if meta.permissions().mode() & 0o100 != 0 {
                "x"
            } else {
                "f"
            };
            assert_eq!(
                meta.permissions().mode() & 0o7000,
                0,
                "{rel}: no setuid/setgid/sticky"
            );
            format!(
                "{x} {}",
                String::from_utf8_lossy(&std::fs::read(p).unwrap())
            )
        };
        out.push(format!("{rel}: {line}"));
        if meta.is_dir() {
            let mut children: Vec<_> = std::fs::read_dir(p)
                .unwrap()
                .map(|e| e.unwrap().path())
                .collect();
            children.sort();
            for c in children {
                walk(root, &c, out);
            }
        }
    }
    let mut out = vec![];
    walk(root, root, &mut out);
    out
}

fn ok(bytes: &[u8]) -> (Vec<String>, u64) {
    let (_dir, result) = unpack_bytes(bytes, Limits::default());
    let u = result.unwrap();
    (listing(&u.tree), u.last_modified)
}

fn err(bytes: &[u8]) -> String {
    let (_dir, result) = unpack_bytes(bytes, Limits::default());
    format!("{:#}", result.unwrap_err())
}

fn sample() -> Vec<E<'static>> {
    vec![
        dir("proj/"),
        file("proj/a", b"A"),
        E {
            mode: 0o755,
            mtime: 2000,
            ..file("proj/sub/tool", b"T")
        },
        dir("proj/empty/"),
        link("proj/l", EntryType::Symlink, "a"),
    ]
}

const SAMPLE: [&str; 7] = [
    ": d",
    "a: f A",
    "empty: d",
    "l: l -> a",
    "sub: d",
    "sub/tool: x T",
    "",
];

#[test]
fn formats_are_detected_from_the_content() {
    let want: Vec<String> = SAMPLE[..6].iter().map(|s| s.to_string()).collect();
    let tar = tar_of(&sample());
    for how in ["none", "gz", "xz", "bz2", "zst"] {
        let (got, mtime) = ok(&compress(&tar, how));
        assert_eq!(got, want, "{how}");
        assert_eq!(mtime, 2000, "{how}");
    }
    let zip = zip_of(&[
        ("proj/", 0o040755, b""),
        ("proj/a", 0o100644, b"A"),
        ("proj/sub/tool", 0o100755, b"T"),
        ("proj/empty/", 0o040755, b""),
        ("proj/l", 0o120777, b"a"),
    ]);
    assert_eq!(ok(&zip).0, want, "zip");
}

#[test]
fn tree_rules() {
    let cases: Vec<(&str, Vec<E<'static>>, &[&str])> = vec![
        ("empty archive", vec![], &[": d"]),
        (
            "several top-level entries stay",
            vec![file("a", b"1"), dir("b/")],
            &[": d", "a: f 1", "b: d"],
        ),
        (
            "a single top-level file stays",
            vec![file("f", b"1")],
            &[": d", "f: f 1"],
        ),
        (
            "later entries overwrite",
            vec![
                file("d/x", b"old"),
                link("d/y", EntryType::Symlink, "x"),
                file("d/y", b"new"),
                file("d/x", b"newer"),
            ],
            &[": d", "x: f newer", "y: f new"],
        ),
        (
            "a directory replaces nothing",
            vec![file("d/a/x", b"1"), dir("d/a/")],
            &[": d", "a: d", "a/x: f 1"],
        ),
        (
            "an empty directory can be replaced",
            vec![dir("d/a/"), file("d/a", b"1"), file("d/b", b"2")],
            &[": d", "a: f 1", "b: f 2"],
        ),
        (
            "hard links are copies, resolved at the end",
            vec![
                file("d/a", b"1"),
                link("d/h", EntryType::Link, "d/a"),
                file("d/a", b"2"),
            ],
            &[": d", "a: f 2", "h: f 2"],
        ),
        (
            "names are normalised",
            vec![file("./d//x", b"1"), file("d/./y/../z", b"2")],
            &[": d", "x: f 1", "z: f 2"],
        ),
        (
            "setuid, setgid and sticky bits are dropped",
            vec![
                E {
                    mode: 0o6755,
                    ..file("d/s", b"1")
                },
                E {
                    mode: 0o1644,
                    ..file("d/t", b"2")
                },
            ],
            &[": d", "s: x 1", "t: f 2"],
        ),
    ];
    for (name, entries, want) in cases {
        let (got, _) = ok(&tar_of(&entries));
        assert_eq!(got, want, "{name}");
    }
}

#[test]
fn last_modified_is_the_newest_entry() {
    let entries = vec![
        E {
            mtime: 5,
            ..dir("d/")
        },
        E {
            mtime: 7,
            ..link("d/l", EntryType::Symlink, "x")
        },
        E {
            mtime: 3,
            ..file("d/f", b"")
        },
    ];
    assert_eq!(ok(&tar_of(&entries)).1, 7);
}

#[test]
fn malicious_archives_are_neutralised() {
    // Escaping names land inside the tree.
    let (got, _) = ok(&tar_of(&[
        file("../../../tmp/evil", b"1"),
        file("/etc/passwd", b"2"),
    ]));
    assert_eq!(
        got,
        [
            ": d",
            "etc: d",
            "etc/passwd: f 2",
            "tmp: d",
            "tmp/evil: f 1"
        ]
    );
    // A hard link out of the tree points inside it, where there is nothing.
    let (got, _) = ok(&tar_of(&[
        file("d/a", b"1"),
        link("d/h", EntryType::Link, "../../d/a"),
    ]));
    assert_eq!(got, [": d", "a: f 1", "h: f 1"]);
    let cases: Vec<(&str, Vec<E<'static>>, &str)> = vec![
        (
            "writing through a symlink",
            vec![
                link("d/l", EntryType::Symlink, "/tmp"),
                file("d/l/evil", b"1"),
            ],
            "unpacking 'd/l/evil': parent of 'd/l/evil' is not a directory",
        ),
        (
            "writing through a relative symlink",
            vec![link("l", EntryType::Symlink, ".."), file("l/evil", b"1")],
            "unpacking 'l/evil': parent of 'l/evil' is not a directory",
        ),
        (
            "a hard link out of the tree",
            vec![
                file("d/a", b"1"),
                link("d/h", EntryType::Link, "/etc/passwd"),
            ],
            "while creating a hard link from '/d/h' to '/etc/passwd': path '/etc/passwd' does not exist",
        ),
        (
            "a hard link to a directory",
            vec![dir("d/"), link("e", EntryType::Link, "d")],
            "while creating a hard link from '/e' to '/d': cannot create a hard link to a directory",
        ),
        (
            "a character device",
            vec![E {
                ty: EntryType::Char,
                ..file("d/null", b"")
            }],
            "file 'd/null' in tarball has unsupported file type 8192",
        ),
        (
            "a block device",
            vec![E {
                ty: EntryType::Block,
                ..file("d/sda", b"")
            }],
            "file 'd/sda' in tarball has unsupported file type 24576",
        ),
        (
            "a FIFO",
            vec![E {
                ty: EntryType::Fifo,
                ..file("d/p", b"")
            }],
            "file 'd/p' in tarball has unsupported file type 4096",
        ),
        (
            "replacing a non-empty directory",
            vec![file("d/a/x", b"1"), file("d/a", b"2")],
            "unpacking 'd/a': cannot create 'd/a', conflicting non-empty directory",
        ),
        (
            "a file at the root",
            vec![file(".", b"1")],
            "unpacking '.': cannot create a file at the root of the archive",
        ),
    ];
    for (name, entries, want) in cases {
        assert_eq!(err(&tar_of(&entries)), want, "{name}");
    }
}

#[test]
fn symlinks_are_never_followed() {
    let outside = tempfile::tempdir().unwrap();
    let target = outside.path().display().to_string();
    let entries = [
        link("d/l", EntryType::Symlink, &target),
        file("d/l", b"replaces the symlink"),
    ];
    let (got, _) = ok(&tar_of(&entries));
    assert_eq!(got, [": d", "l: f replaces the symlink"]);
    assert_eq!(std::fs::read_dir(outside.path()).unwrap().count(), 0);
}

#[test]
fn decompression_bombs_are_bounded() {
    static BIG: [u8; 4096] = [0; 4096];
    let bomb = compress(&tar_of(&[file("d/a", &BIG), file("d/b", &BIG)]), "gz");
    let limits = Limits {
        max_bytes: 6000,
        max_entries: 100,
    };
    let (_d, r) = unpack_bytes(&bomb, limits);
    assert_eq!(
        format!("{:#}", r.unwrap_err()),
        "unpacking 'd/b': the archive unpacks to more than 6000 bytes, the most rflake unpacks"
    );
    let many: Vec<_> = ["a", "b", "c", "d"].iter().map(|n| file(n, b"")).collect();
    let limits = Limits {
        max_bytes: 1 << 20,
        max_entries: 3,
    };
    let (_d, r) = unpack_bytes(&tar_of(&many), limits);
    assert_eq!(
        format!("{:#}", r.unwrap_err()),
        "unpacking 'd': the archive has more than 3 entries, the most rflake unpacks"
    );
}

#[test]
fn garbage_is_an_error() {
    assert!(
        err(b"this is not an archive at all, but it is long enough to look at").contains("tar")
    );
    assert!(err(&compress(b"garbage inside gzip", "gz")).contains("tar"));
}

#[test]
fn big_files_are_streamed() {
    let big: &'static [u8] = Box::leak(vec![7u8; 3 << 20].into_boxed_slice());
    let (_dir, result) = unpack_bytes(
        &tar_of(&[file("d/big", big), file("d/small", b"s")]),
        Limits::default(),
    );
    let tree = result.unwrap().tree;
    assert_eq!(std::fs::read(tree.join("big")).unwrap().len(), 3 << 20);
    assert_eq!(std::fs::read(tree.join("small")).unwrap(), b"s");
}

#[test]
fn entry_types_as_libarchive_reads_them() {
    let typed = |name, ty: u8| E {
        ty: EntryType::new(ty),
        ..file(name, b"")
    };
    let cases: Vec<(&str, Vec<E<'static>>, &[&str])> = vec![
        (
            "a regular entry named with a trailing '/' is a directory",
            vec![dir("d/"), file("d/e/", b"")],
            &[": d", "e: d"],
        ),
        (
            // So "./" as a regular entry is the root directory, not a file at the root.
            "a regular entry named './' is the root",
            vec![file("./", b""), dir("d/")],
            &[": d"],
        ),
        (
            "GNU's incremental directory",
            vec![dir("d/"), typed("d/e", b'D')],
            &[": d", "e: d"],
        ),
        (
            "volume labels, Solaris ACLs and Sun pax headers are no entries",
            vec![
                typed("label", b'V'),
                dir("d/"),
                typed("d/acl", b'A'),
                typed("d/pax", b'X'),
                file("d/a", b"1"),
            ],
            &[": d", "a: f 1"],
        ),
        (
            "unknown types are regular files",
            vec![dir("d/"), typed("d/q", b'Q')],
            &[": d", "q: f "],
        ),
    ];
    for (name, entries, want) in cases {
        assert_eq!(ok(&tar_of(&entries)).0, want, "{name}");
    }
    assert_eq!(
        err(&tar_of(&[dir("d/"), typed("d/m", b'M')])),
        "file 'd/m' in tarball has unsupported file type 0"
    );
}

#[test]
fn hard_links_are_made_in_nix_s_order() {
    // Nix makes hard links in the order of their paths as C strings (signed `char`, '/' first):
    // 'd/é' (0xc3 0xa9) before 'd/e', so a link to a link made earlier works.
    let entries = [
        dir("d/"),
        file("d/a", b"1"),
        link("d/e", EntryType::Link, "d/\u{e9}"),
        link("d/\u{e9}", EntryType::Link, "d/a"),
    ];
    assert_eq!(
        ok(&tar_of(&entries)).0,
        [": d", "a: f 1", "e: f 1", "\u{e9}: f 1"]
    );
    // The other way round the first link's target does not exist yet.
    let entries = [
        dir("d/"),
        file("d/a", b"1"),
        link("d/\u{e9}", EntryType::Link, "d/e"),
        link("d/e", EntryType::Link, "d/a"),
    ];
    assert_eq!(
        err(&tar_of(&entries)),
        "while creating a hard link from '/d/\u{e9}' to '/d/e': path '/d/e' does not exist"
    );
}

#[test]
fn damaged_tar_headers_are_described_without_their_bytes() {
    let mut bytes = tar_of(&[dir("d/"), file("d/a", b"1")]);
    // Two headers and the file's data block, then a header of garbage.
    bytes.truncate(1536);
    let mut block = [0x1bu8; 512];
    block[148..156].copy_from_slice(b"\x07\x08\x1b\xff\xfe\x01\x02\x03");
    bytes.extend_from_slice(&block);
    let e = err(&bytes);
    assert!(
        e.starts_with("reading the tar archive: damaged tar archive ("),
        "{e}"
    );
    assert!(!e.chars().any(char::is_control), "{e:?}");
}

#[test]
fn archives_past_the_inline_files_are_written_by_the_workers_alike() {
    // 4 directories of 12 files (past the files created on the reading thread), then later
    // entries replacing files, a symlink and a directory the workers may still be writing.
    let names: Vec<String> = (0..48)
        .map(|i| format!("top/d{}/f{:02}", i % 4, i))
        .collect();
    let mut entries: Vec<E<'_>> = names.iter().map(|n| file(n, n.as_bytes())).collect();
    entries.push(file("top/d1/f01", b"replaced"));
    entries.push(link("top/d2/f02", EntryType::Symlink, "f06"));
    entries.push(dir("top/d3/f03/"));
    entries.push(file("top/d3/f03/inner", b"in"));
    let (got, _) = ok(&tar_of(&entries));
    let mut want = vec![": d".to_owned()];
    for d in 0..4 {
        want.push(format!("d{d}: d"));
        for i in (d..48).step_by(4) {
            let line = match i {
                1 => "f01: f replaced".to_owned(),
                2 => "f02: l -> f06".to_owned(),
                3 => "f03: d".to_owned(),
                _ => format!("f{i:02}: f top/d{d}/f{i:02}"),
            };
            want.push(format!("d{d}/{line}"));
            if i == 3 {
                want.push("d3/f03/inner: f in".to_owned());
            }
        }
    }
    assert_eq!(got, want);
}
