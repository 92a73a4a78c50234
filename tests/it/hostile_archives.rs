//! Hostile and odd archives (issue #17 point 3): rflake unpacks them as current Nix does (its
//! `unpackTarfileToSink` into the tarball cache's tree sink), and the NAR hash each gets, which
//! lock files record, is pinned here.
//!
//! Where Nix 2.8 unpacked the same way (it extracted to disk with libarchive instead), the
//! archive is fetched by both and the store paths compared live. Where current Nix changed the
//! rules (names with `..`, several top-level entries, an empty archive, hard links resolved
//! after the last entry, a lone top-level symlink or file kept inside the root), the tree current
//! Nix builds is written out by hand and hashed by Nix 2.8 (`nix hash path`), and Nix 2.8's own
//! answer is checked too, so the table in `docs/reliability.md` stays true.

// Archive builders unwrap too: a failure there is a test failure.
#![allow(clippy::unwrap_used)]

use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;

use crate::fetch_tarball::prefetch;
use crate::support::{Differential, HttpServer, Response, TestEnv, require_nix};

/// One tar entry with a raw name (the tar crate's own setters refuse `..` and absolute names).
#[derive(Clone, Copy)]
enum E {
    /// A regular file with mode 0644.
    File(&'static str, &'static [u8]),
    /// A regular file with the given mode.
    Mode(&'static str, u32, &'static [u8]),
    Dir(&'static str),
    Symlink(&'static str, &'static str),
    HardLink(&'static str, &'static str),
    /// An entry with a raw type flag and no data.
    Typed(&'static str, u8),
}

fn tar_of(entries: &[E]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for &e in entries {
        let (name, ty, mode, data, link) = match e {
            E::File(n, d) => (n, b'0', 0o644, d, ""),
            E::Mode(n, m, d) => (n, b'0', m, d, ""),
            E::Dir(n) => (n, b'5', 0o755, &b""[..], ""),
            E::Symlink(n, t) => (n, b'2', 0o777, &b""[..], t),
            E::HardLink(n, t) => (n, b'1', 0o644, &b""[..], t),
            E::Typed(n, ty) => (n, ty, 0o644, &b""[..], ""),
        };
        let mut h = tar::Header::new_gnu();
        let gnu = h.as_gnu_mut().unwrap();
        gnu.name[..name.len()].copy_from_slice(name.as_bytes());
        gnu.linkname[..link.len()].copy_from_slice(link.as_bytes());
        h.set_entry_type(tar::EntryType::new(ty));
        h.set_mode(mode);
        h.set_mtime(1000);
        h.set_size(data.len() as u64);
        h.set_cksum();
        b.append(&h, data).unwrap();
    }
    b.into_inner().unwrap()
}

fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
    use std::io::Write as _;
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default().unix_permissions(0o644);
    for &(name, data) in entries {
        if name.ends_with('/') {
            w.add_directory(name, opts).unwrap();
        } else {
            w.start_file(name, opts).unwrap();
            w.write_all(data).unwrap();
        }
    }
    w.finish().unwrap().into_inner()
}

/// Serves `archive` and prefetches it with rflake: the NAR hash, or the error output.
fn rflake_hash(server: &HttpServer, name: &str, archive: &[u8]) -> Result<String, String> {
    let route = format!("/{name}");
    server.route(&route, Response::ok(archive.to_vec()));
    let env = TestEnv::new();
    let (out, json) = prefetch(&env, &[&server.url(&route)]);
    if out.success() {
        Ok(json["hash"].as_str().unwrap().to_owned())
    } else {
        Err(out.stderr().to_owned())
    }
}

/// Archives Nix 2.8 and current Nix unpack alike, with the NAR hash both give.
fn agreed() -> Vec<(&'static str, Vec<u8>, &'static str)> {
    let top = |rest: &[E]| {
        let mut v = vec![E::Dir("d/"), E::File("d/a", b"A")];
        v.extend_from_slice(rest);
        tar_of(&v)
    };
    vec![
        (
            "absolute names inside one top-level directory",
            tar_of(&[E::Dir("/d/"), E::File("/d/a", b"A")]),
            "sha256-TLOjjd9gmup6f9nvhrUBGZko7pCDxVZbESxoHuyJe7c=",
        ),
        (
            "a regular entry whose name ends in '/' is a directory",
            top(&[E::File("d/e/", b"")]),
            "sha256-3G6ISGa6terdCu4xaP27UuraOIeAmQriHQB83LmlQm0=",
        ),
        (
            "GNU's incremental directory type",
            top(&[E::Typed("d/e", b'D')]),
            "sha256-3G6ISGa6terdCu4xaP27UuraOIeAmQriHQB83LmlQm0=",
        ),
        (
            "unknown and contiguous types are regular files",
            tar_of(&[E::Dir("d/"), E::Typed("d/q", b'Q'), E::Typed("d/c", b'7')]),
            "sha256-uwV8Clm83KyNuAQEeHRGN8xtbobefqn0HIyAyive/T4=",
        ),
        (
            "a later entry replaces an earlier one",
            top(&[E::File("d/a", b"B")]),
            "sha256-2HlH5ecpZdpi+GudqBn87pqbM0mReLOeQ5J8U5WMLRo=",
        ),
        (
            "a file replaces a symlink",
            tar_of(&[E::Dir("d/"), E::Symlink("d/a", "zz"), E::File("d/a", b"B")]),
            "sha256-2HlH5ecpZdpi+GudqBn87pqbM0mReLOeQ5J8U5WMLRo=",
        ),
        (
            "a directory replaces a file",
            top(&[E::Dir("d/a/"), E::File("d/a/b", b"B")]),
            "sha256-T6pdVAt/MyBbfExlvWNchovdyDoTzhgUwJhKon6OuO4=",
        ),
        (
            "'.' components and empty components",
            tar_of(&[
                E::Dir("d/"),
                E::File("d/./a", b"A"),
                E::File(".//d/b", b"B"),
            ]),
            "sha256-hGDWnzaSvf2cqlixj/5XvF0ttbDgXMr6pdc+wV/0YeI=",
        ),
        (
            "only the owner's execute bit counts; setuid and sticky bits go",
            tar_of(&[
                E::Dir("d/"),
                E::Mode("d/a", 0o4655, b"A"),
                E::Mode("d/b", 0o1744, b"B"),
            ]),
            "sha256-Ry3IDckTWq0dzyR1IRKcNS8Sx1IwVsrrwOyW/dPb0tU=",
        ),
        (
            "a hard link after its target copies it, executable bit included",
            tar_of(&[
                E::Dir("d/"),
                E::Mode("d/a", 0o755, b"A"),
                E::HardLink("d/h", "d/a"),
            ]),
            "sha256-16IZYosFBe90979XJ5IN+d7k2dYAlkDED6+QmkNtX4s=",
        ),
        (
            "a hard link to a symlink is a symlink",
            tar_of(&[
                E::Dir("d/"),
                E::Symlink("d/s", "a"),
                E::HardLink("d/h", "d/s"),
            ]),
            "sha256-Y4VQHHhsvh5QmXZKfdoACFF9D2ljJ3GbvX55kTexC2A=",
        ),
    ]
}

#[test]
fn archives_nix_2_8_and_current_nix_unpack_alike_get_the_same_hash() {
    let server = HttpServer::start();
    let diff = Differential::new();
    for (name, archive, want) in agreed() {
        let file = format!("{}.tar", name.replace([' ', '\'', ';', ','], "_"));
        assert_eq!(
            rflake_hash(&server, &file, &archive),
            Ok(want.to_owned()),
            "{name}"
        );
        if let Some(diff) = &diff {
            let out = diff.nix_env().run_nix(&[
                "flake",
                "prefetch",
                "--json",
                &server.url(&format!("/{file}")),
            ]);
            assert!(out.success(), "nix: {name}: {out}");
            let json: serde_json::Value = serde_json::from_str(out.stdout()).unwrap();
            assert_eq!(json["hash"], want, "nix: {name}");
        }
    }
}

/// A tree as current Nix builds it, written out by hand: `/`-ending names are directories,
/// `@target` contents make symlinks, `!` before contents marks an executable.
fn write_tree(root: &Path, entries: &[(&str, &str)]) {
    std::fs::create_dir_all(root).unwrap();
    for &(name, contents) in entries {
        let path = root.join(name);
        if name.ends_with('/') {
            std::fs::create_dir_all(&path).unwrap();
        } else if let Some(target) = contents.strip_prefix('@') {
            std::os::unix::fs::symlink(target, &path).unwrap();
        } else {
            let (exec, data) = match contents.strip_prefix('!') {
                Some(d) => (true, d),
                None => (false, contents),
            };
            std::fs::write(&path, data).unwrap();
            let mode = if exec { 0o755 } else { 0o644 };
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
        }
    }
}

/// Where current Nix differs from Nix 2.8: the archive, the tree current Nix makes of it, its
/// NAR hash, and what Nix 2.8 says instead.
struct Changed {
    name: &'static str,
    archive: Vec<u8>,
    tree: &'static [(&'static str, &'static str)],
    hash: &'static str,
    nix_2_8: &'static str,
}

fn changed() -> Vec<Changed> {
    const TWO_TOP: &str = "contains an unexpected number of top-level files";
    vec![
        Changed {
            name: "'..' names are resolved inside the tree",
            archive: tar_of(&[
                E::Dir("d/"),
                E::File("d/a", b"A"),
                E::File("../../evil", b"E"),
            ]),
            tree: &[("d/", ""), ("d/a", "A"), ("evil", "E")],
            hash: "sha256-2RNjam+Q3z9M3CZTTFHgJpbfu6e1J7Zbf/+K1ofaaU0=",
            nix_2_8: "Path contains '..'",
        },
        Changed {
            name: "'..' inside a name",
            archive: tar_of(&[
                E::Dir("d/"),
                E::File("d/a", b"A"),
                E::File("d/../../evil", b"E"),
            ]),
            tree: &[("d/", ""), ("d/a", "A"), ("evil", "E")],
            hash: "sha256-2RNjam+Q3z9M3CZTTFHgJpbfu6e1J7Zbf/+K1ofaaU0=",
            nix_2_8: "Path contains '..'",
        },
        Changed {
            name: "an absolute name beside the top-level directory",
            archive: tar_of(&[
                E::Dir("d/"),
                E::File("d/a", b"A"),
                E::File("/etc/passwd", b"E"),
            ]),
            tree: &[("d/", ""), ("d/a", "A"), ("etc/", ""), ("etc/passwd", "E")],
            hash: "sha256-bJyukkIUYTrH3mrpPsi2IzQCzqntPJHkY1nTS/DIP2E=",
            nix_2_8: TWO_TOP,
        },
        Changed {
            name: "two top-level directories",
            archive: tar_of(&[
                E::Dir("a/"),
                E::File("a/x", b"X"),
                E::Dir("b/"),
                E::File("b/y", b"Y"),
            ]),
            tree: &[("a/", ""), ("a/x", "X"), ("b/", ""), ("b/y", "Y")],
            hash: "sha256-dDY5BGz62TO8rhXGJ5cStYktj08aNmuUQ6ML+KuaLsg=",
            nix_2_8: TWO_TOP,
        },
        Changed {
            name: "an empty tar",
            archive: tar_of(&[]),
            tree: &[],
            hash: "sha256-pQpattmS9VmO3ZIQUFn66az8GSmB4IvYhTTCFn6SUmo=",
            nix_2_8: TWO_TOP,
        },
        Changed {
            name: "an empty download",
            archive: Vec::new(),
            tree: &[],
            hash: "sha256-pQpattmS9VmO3ZIQUFn66az8GSmB4IvYhTTCFn6SUmo=",
            nix_2_8: TWO_TOP,
        },
        Changed {
            name: "a hard link before its target",
            archive: tar_of(&[
                E::Dir("d/"),
                E::HardLink("d/h", "d/a"),
                E::File("d/a", b"A"),
            ]),
            tree: &[("a", "A"), ("h", "A")],
            hash: "sha256-4hYxZf36a6PAfBra9Cz89wSU4mZC1ahnrf5vU1qQCxc=",
            nix_2_8: "Hard-link target",
        },
        Changed {
            name: "a hard link, then a regular file of the same name: the link wins",
            archive: tar_of(&[
                E::Dir("d/"),
                E::File("d/a", b"A"),
                E::HardLink("d/h", "d/a"),
                E::File("d/h", b"LAST"),
            ]),
            tree: &[("a", "A"), ("h", "A")],
            hash: "sha256-4hYxZf36a6PAfBra9Cz89wSU4mZC1ahnrf5vU1qQCxc=",
            nix_2_8: "sha256-cX97KD3RLgia4q26/wLN/tN6kVCmEPS/surCMU8ulMs=",
        },
        Changed {
            name: "a lone top-level symlink stays in the root",
            archive: tar_of(&[E::Symlink("s", "target")]),
            tree: &[("s", "@target")],
            hash: "sha256-ctbfuxZmNwHE/47IBfD3EbXcvELWJ6jCS9QKy9NJ0Tw=",
            nix_2_8: "sha256-y4xiyvKomXslPtBn1FbatS+OmBTXEMSz4h3GEMZ4x3Q=",
        },
        Changed {
            name: "a lone top-level file stays in the root",
            archive: tar_of(&[E::File("f", b"F")]),
            tree: &[("f", "F")],
            hash: "sha256-Gco20VOVnbHaKMAuIdVxlwrXV2Pu0k3cYe4AYp/z4Go=",
            nix_2_8: "sha256-G/GFUltuMQ3TTR/ICp6NCOf7w/rXQ+inNOUpB9XOb84=",
        },
        Changed {
            name: "a zip with '..' and absolute names",
            archive: zip_of(&[
                ("d/", b""),
                ("d/a", b"A"),
                ("../evil", b"E"),
                ("/abs", b"B"),
            ]),
            tree: &[("abs", "B"), ("d/", ""), ("d/a", "A"), ("evil", "E")],
            hash: "sha256-T3wTBrl0hK5EouLNIEwxRWz3+xmG2TDu346UvKm3ASE=",
            nix_2_8: "Path contains '..'",
        },
    ]
}

#[test]
fn archives_current_nix_unpacks_differently_from_nix_2_8_get_current_nix_s_tree() {
    let server = HttpServer::start();
    let nix = require_nix();
    let env = TestEnv::new();
    for (i, case) in changed().into_iter().enumerate() {
        let Changed {
            name,
            archive,
            tree,
            hash,
            nix_2_8,
        } = case;
        let ext = if archive.starts_with(b"PK") {
            "zip"
        } else {
            "tar"
        };
        let file = format!("changed-{i}.{ext}");
        assert_eq!(
            rflake_hash(&server, &file, &archive),
            Ok(hash.to_owned()),
            "{name}"
        );
        if !nix {
            continue;
        }
        // The hand-made tree of current Nix's rules hashes the same in Nix 2.8.
        let dir = env.path(format!("trees/{i}"));
        write_tree(&dir, tree);
        let out = env.run_nix(&["hash", "path", dir.to_str().unwrap()]);
        assert_eq!(out.stdout().trim(), hash, "nix hash path: {name}: {out}");
        // And Nix 2.8 itself did something else.
        let url = server.url(&format!("/{file}"));
        let out = env.run_nix(&["flake", "prefetch", "--json", &url]);
        let said = if out.success() {
            out.stdout().to_owned()
        } else {
            out.stderr().to_owned()
        };
        assert!(said.contains(nix_2_8), "nix 2.8: {name}: {said}");
    }
}

/// Asserts that `text` holds no control characters but newlines.
fn assert_printable(text: &str, what: &str) {
    assert!(
        !text.chars().any(|c| c.is_control() && c != '\n'),
        "{what}: raw bytes in {text:?}"
    );
}

#[test]
fn broken_archives_are_errors_without_raw_bytes() {
    let server = HttpServer::start();
    let mut random = Vec::new();
    let mut x: u32 = 0x1234_5678;
    for _ in 0..4096 {
        // xorshift: fixed "random" bytes.
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        random.push(x.to_le_bytes()[0]);
    }
    let mut damaged = tar_of(&[E::Dir("d/"), E::File("d/a", b"A")]);
    damaged.truncate(1024);
    damaged.extend_from_slice(&random);
    let mut truncated = tar_of(&[E::Dir("d/"), E::File("d/a", &[b'x'; 2000])]);
    truncated.truncate(1500);
    let hostile_name = tar_of(&[E::Dir("d/"), E::Typed("d/\x1b[2Jnull", b'3')]);
    let cases: [(&str, &[u8], &str); 4] = [
        (
            "random bytes",
            &random,
            "unrecognised archive format (not tar or zip)",
        ),
        ("a damaged header", &damaged, "damaged tar archive ("),
        ("a truncated entry", &truncated, "truncated tar archive ("),
        (
            "a name with an escape sequence",
            &hostile_name,
            "file 'd/\\u{1b}[2Jnull' in tarball has unsupported file type 8192",
        ),
    ];
    for (i, (name, bytes, want)) in cases.into_iter().enumerate() {
        let err = rflake_hash(&server, &format!("broken-{i}.tar"), bytes).unwrap_err();
        assert!(err.contains(want), "{name}: {err}");
        assert_printable(&err, name);
    }
}

#[test]
fn random_bytes_are_refused_by_nix_2_8_too() {
    let Some(diff) = Differential::new() else {
        return;
    };
    let server = HttpServer::start();
    server.route("/random.tar", Response::ok(vec![0x9f; 3000]));
    let outputs = diff.run_each(&["flake", "prefetch", "--json", &server.url("/random.tar")]);
    assert!(
        outputs[0]
            .stderr()
            .contains("failed to open archive: Unrecognized archive format"),
        "{}",
        outputs[0]
    );
    if let Some(rflake) = outputs.get(1) {
        assert_eq!(rflake.status().code(), Some(1));
        assert!(
            rflake
                .stderr()
                .contains("unrecognised archive format (not tar or zip)"),
            "{rflake}"
        );
    }
}
