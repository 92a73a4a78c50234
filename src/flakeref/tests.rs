//! The spec's vectors (§5.2, §5.3, §3.5) and round trips.

use std::path::Path;

use serde_json::{Value, json};

use super::*;
use crate::report::{Collect, Silent};
use crate::util::fs::RealFs;

const REV: &str = "2aae6c35c94fcfb415dbe95f408b9ce91ee846ed";
const A3: &str = "a3a3dda3bacf61e8a39258a0ed9c924eeca8e293";
const NARHASH: &str = "sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=";
const NARHASH_Q: &str = "sha256-47DEQpj8HBSa%2B/TImW%2B5JCeuQeRkm5NMpJWZG3hSuFU%3D";

fn no_base() -> ParseOptions<'static> {
    ParseOptions::default()
}

fn parse_ok(s: &str) -> (FlakeRef, String) {
    parse_with_fragment(s, &no_base(), &Silent).unwrap_or_else(|e| panic!("{s}: {e}"))
}

fn attrs_json(r: &FlakeRef) -> Value {
    Value::Object(attrs::to_json(&r.to_attrs()))
}

/// Spec §5.2, string inputs: (#, input, attributes, printed).
fn string_vectors() -> Vec<(u32, String, Value, String)> {
    let v = |n, i: &str, a: Value, p: &str| (n, i.to_owned(), a, p.to_owned());
    vec![
        v(
            1,
            "nixpkgs",
            json!({"id":"nixpkgs","type":"indirect"}),
            "flake:nixpkgs",
        ),
        v(
            2,
            "flake:nixpkgs/branch",
            json!({"id":"nixpkgs","ref":"branch","type":"indirect"}),
            "flake:nixpkgs/branch",
        ),
        v(
            3,
            &format!("nixpkgs/branch/{REV}"),
            json!({"id":"nixpkgs","ref":"branch","rev":REV,"type":"indirect"}),
            &format!("flake:nixpkgs/branch/{REV}"),
        ),
        v(
            4,
            &format!("nixpkgs/{A3}"),
            json!({"id":"nixpkgs","rev":A3,"type":"indirect"}),
            &format!("flake:nixpkgs/{A3}"),
        ),
        v(
            5,
            "nixpkgs/branch////",
            json!({"id":"nixpkgs","ref":"branch","type":"indirect"}),
            "flake:nixpkgs/branch",
        ),
        v(
            6,
            &format!("nixpkgs/branch///{REV}///"),
            json!({"id":"nixpkgs","ref":"branch","rev":REV,"type":"indirect"}),
            &format!("flake:nixpkgs/branch/{REV}"),
        ),
        v(
            7,
            "flake:/nixpkgs///branch////",
            json!({"id":"nixpkgs","ref":"branch","type":"indirect"}),
            "flake:nixpkgs/branch",
        ),
        v(
            8,
            "flake:nixpkgs?ref=x",
            json!({"id":"nixpkgs","type":"indirect"}),
            "flake:nixpkgs",
        ),
        v(
            9,
            "flake:nixpkgs/refs%2Fheads%2Fmain",
            json!({"id":"nixpkgs","ref":"refs/heads/main","type":"indirect"}),
            "flake:nixpkgs/refs%2Fheads%2Fmain",
        ),
        v(
            11,
            "/foo/bar",
            json!({"path":"/foo/bar","type":"path"}),
            "path:/foo/bar",
        ),
        v(
            12,
            "/foo/bar?revCount=123&rev=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
            json!({"path":"/foo/bar","rev":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","revCount":123,"type":"path"}),
            "path:/foo/bar?rev=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa&revCount=123",
        ),
        v(
            13,
            "/foo bar/baz?dir=bla space",
            json!({"dir":"bla space","path":"/foo bar/baz","type":"path"}),
            "path:/foo%20bar/baz?dir=bla%20space",
        ),
        v(
            14,
            "path:/foo/bar?dir=sub",
            json!({"dir":"sub","path":"/foo/bar","type":"path"}),
            "path:/foo/bar?dir=sub",
        ),
        v(
            15,
            &format!("path:/foo/bar?narHash={NARHASH_Q}"),
            json!({"narHash":NARHASH,"path":"/foo/bar","type":"path"}),
            &format!("path:/foo/bar?narHash={NARHASH_Q}"),
        ),
        v(
            16,
            "path:foo",
            json!({"path":"foo","type":"path"}),
            "path:foo",
        ),
        v(
            17,
            "git://somewhere/repo?ref=branch",
            json!({"ref":"branch","type":"git","url":"git://somewhere/repo"}),
            "git://somewhere/repo?ref=branch",
        ),
        v(
            18,
            "git+https://somewhere.aaaaaaa/repo?ref=branch",
            json!({"ref":"branch","type":"git","url":"https://somewhere.aaaaaaa/repo"}),
            "git+https://somewhere.aaaaaaa/repo?ref=branch",
        ),
        v(
            19,
            "git+https://example.org/my/repo?dir=flake1",
            json!({"dir":"flake1","type":"git","url":"https://example.org/my/repo"}),
            "git+https://example.org/my/repo?dir=flake1",
        ),
        v(
            20,
            "git+https://example.org/my/repo?ref=master&rev=f34751b88bd07d7f44f5cd3200fb4122bf916c7e&shallow=1&submodules=1&foo=bar",
            json!({"ref":"master","rev":"f34751b88bd07d7f44f5cd3200fb4122bf916c7e","shallow":true,"submodules":true,"type":"git","url":"https://example.org/my/repo?foo=bar"}),
            "git+https://example.org/my/repo?foo=bar&ref=master&rev=f34751b88bd07d7f44f5cd3200fb4122bf916c7e&shallow=1&submodules=1",
        ),
        v(
            21,
            "git+http://example.org/r?shallow=true",
            json!({"shallow":false,"type":"git","url":"http://example.org/r"}),
            "git+http://example.org/r",
        ),
        v(
            22,
            "git+file:///x?allRefs=1&lfs=0",
            json!({"allRefs":true,"lfs":false,"type":"git","url":"file:///x"}),
            "git+file:///x",
        ),
        v(
            23,
            "git+ssh://git@github.com/NixOS/nix?ref=v1.2.3",
            json!({"ref":"v1.2.3","type":"git","url":"ssh://git@github.com/NixOS/nix"}),
            "git+ssh://git@github.com/NixOS/nix?ref=v1.2.3",
        ),
        v(
            24,
            "git+file:/home/x",
            json!({"type":"git","url":"file:/home/x"}),
            "git+file:/home/x",
        ),
        v(
            25,
            "git+https://example.org/my/repo?ref=refs/tags/0.18.0",
            json!({"ref":"refs/tags/0.18.0","type":"git","url":"https://example.org/my/repo"}),
            "git+https://example.org/my/repo?ref=refs/tags/0.18.0",
        ),
        v(
            31,
            "github:NixOS/nixpkgs",
            json!({"owner":"NixOS","repo":"nixpkgs","type":"github"}),
            "github:NixOS/nixpkgs",
        ),
        v(
            32,
            "github:NixOS/nixpkgs/nixos-20.09",
            json!({"owner":"NixOS","ref":"nixos-20.09","repo":"nixpkgs","type":"github"}),
            "github:NixOS/nixpkgs/nixos-20.09",
        ),
        v(
            33,
            "github:NixOS/nixpkgs/A3A3DDA3BACF61E8A39258A0ED9C924EECA8E293",
            json!({"owner":"NixOS","repo":"nixpkgs","rev":"A3A3DDA3BACF61E8A39258A0ED9C924EECA8E293","type":"github"}),
            &format!("github:NixOS/nixpkgs/{A3}"),
        ),
        v(
            34,
            "github:NixOS/nixpkgs/pull/357207/head",
            json!({"owner":"NixOS","ref":"pull/357207/head","repo":"nixpkgs","type":"github"}),
            "github:NixOS/nixpkgs/pull%2F357207%2Fhead",
        ),
        v(
            35,
            "github:foo/bar/branch%23",
            json!({"owner":"foo","ref":"branch#","repo":"bar","type":"github"}),
            "github:foo/bar/branch%23",
        ),
        v(
            36,
            "github:foo/bar?ref=branch%23",
            json!({"owner":"foo","ref":"branch#","repo":"bar","type":"github"}),
            "github:foo/bar/branch%23",
        ),
        v(
            38,
            "github:edolstra/nix-warez?dir=blender",
            json!({"dir":"blender","owner":"edolstra","repo":"nix-warez","type":"github"}),
            "github:edolstra/nix-warez?dir=blender",
        ),
        v(
            39,
            "github:a/b?narHash=sha256-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
            json!({"narHash":"sha256-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=","owner":"a","repo":"b","type":"github"}),
            "github:a/b?narHash=sha256-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA%3D",
        ),
        v(
            40,
            "github:internal/project?host=company-github.example.org",
            json!({"host":"company-github.example.org","owner":"internal","repo":"project","type":"github"}),
            "github:internal/project?host=company-github.example.org",
        ),
        v(
            41,
            "github://////owner%42/////repo%41///branch%43////",
            json!({"owner":"ownerB","ref":"branchC","repo":"repoA","type":"github"}),
            "github:ownerB/repoA/branchC",
        ),
        v(
            42,
            "gitlab:/owner%252Fsubgroup/////repo%41///branch%43////",
            json!({"owner":"owner%2Fsubgroup","ref":"branchC","repo":"repoA","type":"gitlab"}),
            "gitlab:owner%252Fsubgroup/repoA/branchC",
        ),
        v(
            43,
            "gitlab:openldap/openldap?host=git.openldap.org",
            json!({"host":"git.openldap.org","owner":"openldap","repo":"openldap","type":"gitlab"}),
            "gitlab:openldap/openldap?host=git.openldap.org",
        ),
        v(
            44,
            "sourcehut:~misterio/nix-colors/main",
            json!({"owner":"~misterio","ref":"main","repo":"nix-colors","type":"sourcehut"}),
            "sourcehut:~misterio/nix-colors/main",
        ),
        v(
            45,
            "https://github.com/NixOS/patchelf/archive/master.tar.gz",
            json!({"type":"tarball","url":"https://github.com/NixOS/patchelf/archive/master.tar.gz"}),
            "https://github.com/NixOS/patchelf/archive/master.tar.gz",
        ),
        v(
            46,
            "http://localhost:8181/test/+3d.tar.gz",
            json!({"type":"tarball","url":"http://localhost:8181/test/%2B3d.tar.gz"}),
            "http://localhost:8181/test/%2B3d.tar.gz",
        ),
        v(
            47,
            &format!(
                "https://example.com/foo.zip?narHash={NARHASH_Q}&x=1&rev={A3}&lastModified=12&revCount=3"
            ),
            json!({"lastModified":12,"narHash":NARHASH,"rev":A3,"revCount":3,"type":"tarball","url":"https://example.com/foo.zip?x=1"}),
            &format!("https://example.com/foo.zip?narHash={NARHASH_Q}&x=1"),
        ),
        v(
            48,
            "https://example.com/foo",
            json!({"type":"tarball","url":"https://example.com/foo"}),
            "https://example.com/foo",
        ),
        v(
            49,
            "tarball+file:///tmp/x",
            json!({"type":"tarball","url":"file:///tmp/x"}),
            "file:///tmp/x",
        ),
        v(
            50,
            "file+https://example.com/foo.tar.gz",
            json!({"type":"file","url":"https://example.com/foo.tar.gz"}),
            "https://example.com/foo.tar.gz",
        ),
        v(
            51,
            "https://example.com/foo.tar.gz?dir=sub",
            json!({"dir":"sub","type":"tarball","url":"https://example.com/foo.tar.gz"}),
            "https://example.com/foo.tar.gz?dir=sub",
        ),
        v(
            52,
            &format!("hg+https://example.com/repo?ref=default&rev={A3}"),
            json!({"ref":"default","rev":A3,"type":"hg","url":"https://example.com/repo"}),
            &format!("hg+https://example.com/repo?ref=default&rev={A3}"),
        ),
    ]
}

#[test]
fn vectors_5_2_strings() {
    for (n, input, attrs, printed) in string_vectors() {
        let (r, fragment) = parse_ok(&input);
        assert_eq!(fragment, "", "#{n} fragment");
        assert_eq!(attrs_json(&r), attrs, "#{n} {input}: attributes");
        assert_eq!(r.to_url_string().unwrap(), printed, "#{n} {input}: printed");
    }
}

#[test]
fn vector_37_fragment() {
    let (r, fragment) = parse_ok("github:foo/bar?ref=branch#\"name.with.dot\"");
    assert_eq!(fragment, "\"name.with.dot\"");
    assert_eq!(
        attrs_json(&r),
        json!({"owner":"foo","ref":"branch","repo":"bar","type":"github"})
    );
    assert_eq!(r.to_url_string().unwrap(), "github:foo/bar/branch");
}

#[test]
fn vectors_5_2_attributes() {
    let cases = [
        (
            10,
            json!({"type":"indirect","id":"some_Id_-1234567890","ref":"sOmE/BRANCH%2f/definitely/Not1/HEAD","rev":"sha1-QkJCQkJCQkJCQkJCQkJCQkJCQkI====aaaaaaaaa even more trailing%2Fgarbage"}),
            None,
            "flake:some_Id_-1234567890/sOmE%2FBRANCH%252f%2Fdefinitely%2FNot1%2FHEAD/4242424242424242424242424242424242424242",
        ),
        (
            26,
            json!({"type":"git","url":"git+ssh://git@github.com/NixOS/nixpkgs"}),
            Some(json!({"type":"git","url":"ssh://git@github.com/NixOS/nixpkgs"})),
            "git+ssh://git@github.com/NixOS/nixpkgs",
        ),
        (
            27,
            json!({"type":"git","url":"git://user@github.com/NixOS/nixpkgs","rev":"sha1-AAAAAAAAAAAAAAAAAAAAAAAAAAA="}),
            None,
            "git://user@github.com/NixOS/nixpkgs?rev=0000000000000000000000000000000000000000",
        ),
        (
            28,
            json!({"type":"git","url":"git+http://somewhere/some/repo/path%2Fwith%2Fspaces","rev":"89144hj289144hj289144hj289144hj2"}),
            Some(
                json!({"type":"git","url":"http://somewhere/some/repo/path%2Fwith%2Fspaces","rev":"89144hj289144hj289144hj289144hj2"}),
            ),
            "git+http://somewhere/some/repo/path%2Fwith%2Fspaces?rev=4242424242424242424242424242424242424242",
        ),
        (
            29,
            json!({"type":"git","url":"http://somewhere?something=abcd#a","rev":"sha1:89144hj289144hj289144hj289144hj2"}),
            None,
            "git+http://somewhere?rev=4242424242424242424242424242424242424242&something=abcd#a",
        ),
        (
            30,
            json!({"type":"git","url":"git@github.com:owner/repo.git"}),
            Some(json!({"type":"git","url":"ssh://git@github.com/owner/repo.git"})),
            "git+ssh://git@github.com/owner/repo.git",
        ),
    ];
    for (n, input, expected, printed) in cases {
        let Value::Object(obj) = &input else {
            unreachable!()
        };
        let r = FlakeRef::from_attrs(attrs::from_json(obj).unwrap(), &Silent)
            .unwrap_or_else(|e| panic!("#{n}: {e}"));
        assert_eq!(
            attrs_json(&r),
            expected.unwrap_or(input.clone()),
            "#{n} attributes"
        );
        assert_eq!(r.to_url_string().unwrap(), printed, "#{n} printed");
    }
}

#[test]
fn git_url_normalisation() {
    let cases = [
        (
            "git+ssh://user@domain:1234/path",
            "ssh://user@domain:1234/path",
        ),
        (
            "git@github.com:owner/repo.git",
            "ssh://git@github.com/owner/repo.git",
        ),
        (
            "github.com:owner/repo.git",
            "ssh://github.com/owner/repo.git",
        ),
        (
            "user@server.com:/path/to/repo",
            "ssh://user@server.com/path/to/repo",
        ),
        ("/home/me/repo", "file:///home/me/repo"),
        ("/repos/git repo", "file:///repos/git%20repo"),
        ("/a/b/%20", "file:///a/b/%2520"),
        ("file:/var/repos/x", "file:/var/repos/x"),
        ("git+file:///var/repos/x", "file:///var/repos/x"),
        (
            "user@[2001:db8:1::2]:/home/file",
            "ssh://user@[2001:db8:1::2]/home/file",
        ),
        (
            "git+https:/codeberg.org/forgejo/forgejo",
            "https:/codeberg.org/forgejo/forgejo",
        ),
        ("host[1]:repo", "ssh://host%5B1%5D/repo"),
        (
            "git:github.com:nixos/nixpkgs",
            "git:github.com:nixos/nixpkgs",
        ),
    ];
    for (input, expected) in cases {
        assert_eq!(
            types::git::fix_git_url(input, &Silent).unwrap(),
            expected,
            "{input}"
        );
    }
    let report = Collect::default();
    types::git::fix_git_url("host:repo", &report).unwrap();
    assert!(
        report.lines()[0].starts_with("warning: SCP-style URL 'host:repo' has a relative path")
    );
    assert_eq!(
        types::git::fix_git_url("host:", &Silent)
            .unwrap_err()
            .to_string(),
        "SCP-style Git URL 'host:' has an empty path"
    );
}

/// Spec §5.3 (intended texts, after upstream PR #16353).
#[test]
fn vectors_5_3_rejected() {
    let both = format!(
        "input {{\"owner\":\"NixOS\",\"ref\":\"x\",\"repo\":\"nixpkgs\",\"rev\":\"{A3}\",\"type\":\"github\"}} contains both a commit hash ('{A3}') and a branch/tag name ('x')"
    );
    let cases: Vec<(String, String)> = vec![
        ("/foo/bar?xyzzy=123".into(), "path URL 'path:///foo/bar?xyzzy=123' has unsupported parameter 'xyzzy'".into()),
        ("/foo/bar#bla".into(), "unexpected fragment 'bla' in flake reference '/foo/bar#bla'".into()),
        ("path:/foo/bar?lastModified=abc".into(), "path URL 'path:/foo/bar?lastModified=abc' has invalid parameter 'lastModified'".into()),
        ("path://host/foo".into(), "path URL 'path://host/foo' should not have an authority ('host')".into()),
        ("./foo".into(), "flake reference './foo' is not an absolute path".into()),
        ("nixpkgs?ref=x".into(), "flake reference 'nixpkgs?ref=x' is not an absolute path".into()),
        ("1nixpkgs".into(), "flake reference '1nixpkgs' is not an absolute path".into()),
        ("nixpkgs/".into(), "flake reference 'nixpkgs/' is not an absolute path".into()),
        ("nixpkgs/a/b/c".into(), "GitHub URL 'flake:nixpkgs/a/b/c' is invalid".into()),
        ("nixpkgs/foo..bar".into(), "in flake URL 'flake:nixpkgs/foo..bar', 'foo..bar' is not a commit hash or branch/tag name".into()),
        ("plain/sub/deeper".into(), "in flake URL 'flake:plain/sub/deeper', 'deeper' is not a commit hash".into()),
        ("github:a".into(), "URL 'github:a' is invalid".into()),
        (format!("github:NixOS/nixpkgs?ref=x&rev={A3}"), both),
        ("github:NixOS/nixpkgs/x?ref=y".into(), "URL 'github:NixOS/nixpkgs/x?ref=y' contains multiple branch/tag names".into()),
        ("github:a/b?tag=foo".into(), "URL 'github:a/b?tag=foo' contains unknown parameter 'tag'".into()),
        ("github:NixOS/nix?xyzzy=1".into(), "URL 'github:NixOS/nix?xyzzy=1' contains unknown parameter 'xyzzy'".into()),
        ("github:a/b?rev=abc".into(), "hash 'abc' has wrong length for hash algorithm 'sha1'".into()),
        ("github:nixos/nixpkgs/nixpkgs.git?ref=aead170c1a49253ebfa5027010dfd89a77b73ca4".into(),
            "URL 'github:nixos/nixpkgs/nixpkgs.git?ref=aead170c1a49253ebfa5027010dfd89a77b73ca4' contains multiple branch/tag names".into()),
        ("git+https://example.org/my/repo?ref=foo..bar".into(), "invalid Git branch/tag name 'foo..bar'".into()),
        ("git+file://host/x".into(), "flake reference 'git+file://host/x' is not an absolute path".into()),
        ("file+git:///x".into(), "input 'file+git:///x' is unsupported; did you mean 'git+file' instead of 'file+git'?".into()),
        ("foo:bar".into(), "input 'foo:bar' is unsupported".into()),
        ("ftp://x/y.tar.gz".into(), "input 'ftp://x/y.tar.gz' is unsupported".into()),
        ("https://example.com/a.tar.bz2#frag".into(), "unexpected fragment 'frag' in flake reference 'https://example.com/a.tar.bz2#frag'".into()),
        ("github:a/b?host=a_b".into(), "input {\"host\":\"a_b\",\"owner\":\"a\",\"repo\":\"b\",\"type\":\"github\"} contains an invalid instance host".into()),
        ("flake:1x".into(), "'1x' is not a valid flake ID".into()),
    ];
    for (input, msg) in cases {
        let err = parse(&input, &no_base(), &Silent).expect_err(&input);
        assert_eq!(err.to_string(), msg, "{input}");
    }
}

#[test]
fn attribute_form_rejections() {
    let cases = [
        (
            json!({"id":"x"}),
            "'type' attribute to specify input scheme is required but not provided",
        ),
        (
            json!({"type":"github","owner":"a"}),
            "input attribute 'repo' is missing",
        ),
        (
            json!({"type":"github","owner":"a","repo":"b","foo":"c"}),
            "input attribute 'foo' not supported by scheme 'github'",
        ),
        (
            json!({"type":"path","path":"/x","revCount":"1"}),
            "input attribute 'revCount' is not an integer",
        ),
        (
            json!({"type":"git","url":"/x","shallow":"1"}),
            "input attribute 'shallow' is not a Boolean",
        ),
        (
            json!({"type":"git","url":"/x","rev":"abc"}),
            "hash 'abc' has wrong length for hash algorithm 'sha1'",
        ),
        (
            json!({"type":"indirect","id":"1x"}),
            "'1x' is not a valid flake ID",
        ),
        (
            json!({"type":"indirect","id":"x","dir":"d"}),
            "input attribute 'dir' not supported by scheme 'indirect'",
        ),
    ];
    for (input, msg) in cases {
        let Value::Object(obj) = &input else {
            unreachable!()
        };
        let err = Input::from_attrs(attrs::from_json(obj).unwrap(), &Silent).unwrap_err();
        assert_eq!(err.to_string(), msg, "{input}");
    }
    let Value::Object(obj) = json!({"type":"foo","x":1}) else {
        unreachable!()
    };
    let opaque = Input::from_attrs(attrs::from_json(&obj).unwrap(), &Silent).unwrap();
    assert_eq!(
        opaque.to_url_string().unwrap_err().to_string(),
        "cannot show unsupported input '{\"type\":\"foo\",\"x\":1}'"
    );
    let Value::Object(obj) = json!({"a":[1]}) else {
        unreachable!()
    };
    assert_eq!(
        attrs::from_json(&obj).unwrap_err().to_string(),
        "unsupported input attribute type in lock file"
    );
}

/// Printing is stable: printing the parse of a printed reference gives the same text, and
/// the attributes survive where printing is not lossy (spec §5.1).
#[test]
fn round_trips() {
    let lossy = [10, 20, 21, 22, 33, 47, 50];
    for (n, input, _, printed) in string_vectors() {
        let (r1, _) = parse_ok(&input);
        let (r2, _) = parse_ok(&printed);
        assert_eq!(
            r2.to_url_string().unwrap(),
            printed,
            "#{n}: print(parse(print(x))) == print(x)"
        );
        if !lossy.contains(&n) {
            assert_eq!(
                attrs_json(&r2),
                attrs_json(&r1),
                "#{n}: attributes survive printing"
            );
        }
    }
}

#[test]
fn dubious_query_items_warn() {
    let report = Collect::default();
    parse("github:a/b?foo", &no_base(), &report).unwrap();
    assert_eq!(
        report.lines(),
        ["warning: dubious URI query 'foo' is missing equal sign '=', ignoring"]
    );
}

/// Spec §3.5 vectors, on a real directory tree.
#[test]
fn command_line_paths() {
    let tmp = tempfile::tempdir().unwrap();
    let w = std::fs::canonicalize(tmp.path()).unwrap();
    let mk = |p: &str| std::fs::create_dir_all(w.join(p)).unwrap();
    let touch = |p: &str| std::fs::write(w.join(p), "{}").unwrap();
    mk("plain/sub/deeper");
    touch("plain/flake.nix");
    std::os::unix::fs::symlink(w.join("plain"), w.join("plainlink")).unwrap();
    mk("repo/.git");
    mk("repo/sub/deeper");
    mk("repo/other");
    touch("repo/sub/flake.nix");
    mk("shal/.git");
    touch("shal/.git/shallow");
    mk("shal/sub");
    touch("shal/sub/flake.nix");
    let ws = w.display().to_string();
    let opts = ParseOptions {
        base: Some((&w, &RealFs)),
        ..Default::default()
    };
    let ok = [
        ("./plain", "path:W/plain", ""),
        ("W/plain", "path:W/plain", ""),
        ("./plainlink", "path:W/plain", ""),
        (
            "./plain/sub/deeper",
            "path:W/plain",
            "path \"W/plain/sub/deeper\" does not contain a 'flake.nix', searching up",
        ),
        (
            "./plain/flake.nix",
            "path:W/plain",
            "warning: Path \"W/plain/flake.nix\" should point at the directory containing the 'flake.nix' file, not the file itself. Pretending that you meant \"W/plain\"",
        ),
        ("plain", "flake:plain", ""),
        ("path:plain", "path:W/plain", ""),
        ("path:./plain", "path:W/plain", ""),
        ("./repo/sub", "git+file://W/repo?dir=sub", ""),
        (
            "./repo/sub/deeper",
            "git+file://W/repo?dir=sub",
            "path \"W/repo/sub/deeper\" does not contain a 'flake.nix', searching up",
        ),
        (
            "./repo/sub?ref=master",
            "git+file://W/repo?dir=sub&ref=master",
            "",
        ),
        ("git+file:./repo?dir=sub", "git+file:W/repo?dir=sub", ""),
        ("./shal/sub", "git+file://W/shal?dir=sub&shallow=1", ""),
    ];
    for (arg, expected, message) in ok {
        let arg = arg.replace('W', &ws);
        let report = Collect::default();
        let r = parse(&arg, &opts, &report).unwrap_or_else(|e| panic!("{arg}: {e}"));
        assert_eq!(
            r.to_url_string().unwrap(),
            expected.replace('W', &ws),
            "{arg}"
        );
        let lines = report.lines().join("\n");
        assert_eq!(lines, message.replace('W', &ws), "{arg}: messages");
    }
    let bad = [
        (
            "./repo/sub?dir=x",
            "flake URL './repo/sub?dir=x' has an inconsistent 'dir' parameter",
        ),
        (
            "./repo/other",
            "path \"W/repo\" is not part of a flake (neither it nor its parent directories contain a 'flake.nix' file)",
        ),
        (
            "./repo",
            "path \"W/repo\" is not part of a flake (neither it nor its parent directories contain a 'flake.nix' file)",
        ),
        (
            "./nonexist",
            "getting status of \"W/nonexist\": No such file or directory",
        ),
        (
            "./repo/sub#foo",
            "unexpected fragment 'foo' in flake reference './repo/sub#foo'",
        ),
        (
            "./plain/flake.nix/x",
            "getting status of \"W/plain/flake.nix/x\": Not a directory",
        ),
    ];
    for (arg, msg) in bad {
        let err = parse(arg, &opts, &Silent).expect_err(arg);
        assert_eq!(err.to_string(), msg.replace('W', &ws), "{arg}");
    }
    let missing = ParseOptions {
        allow_missing: true,
        ..opts
    };
    let r = parse("./nonexist", &missing, &Silent).unwrap();
    assert_eq!(r.to_url_string().unwrap(), format!("path:{ws}/nonexist"));
    let _ = Path::new("/");
}

/// `keep_relative` (the `inputs.<name>.url` of `flake.nix`, spec §3.1 and B3.7): relative
/// path-like strings and relative `path:` URLs stay relative, as written.
#[test]
fn keep_relative_paths() {
    let opts = ParseOptions {
        allow_missing: true,
        keep_relative: true,
        ..Default::default()
    };
    let cases = [
        ("./sub", json!({"path":"./sub","type":"path"}), "path:./sub"),
        (
            "../sub1",
            json!({"path":"../sub1","type":"path"}),
            "path:../sub1",
        ),
        ("../", json!({"path":"../","type":"path"}), "path:../"),
        ("..", json!({"path":"..","type":"path"}), "path:.."),
        (
            "path:./sub",
            json!({"path":"./sub","type":"path"}),
            "path:./sub",
        ),
        ("path:sub", json!({"path":"sub","type":"path"}), "path:sub"),
        (
            "./sub?dir=x",
            json!({"dir":"x","path":"./sub","type":"path"}),
            "path:./sub?dir=x",
        ),
        (
            "/abs/x",
            json!({"path":"/abs/x","type":"path"}),
            "path:/abs/x",
        ),
        // A bare word is still a flake id.
        ("sub", json!({"id":"sub","type":"indirect"}), "flake:sub"),
    ];
    for (s, attrs, printed) in cases {
        let r = parse(s, &opts, &Silent).unwrap_or_else(|e| panic!("{s}: {e}"));
        assert_eq!(attrs_json(&r), attrs, "{s}");
        assert_eq!(r.to_url_string().unwrap(), printed, "{s}");
    }
    // Without `keep_relative` they are still rejected.
    let err = parse("./sub", &no_base(), &Silent).unwrap_err();
    assert_eq!(
        err.to_string(),
        "flake reference './sub' is not an absolute path"
    );
    let err = parse("./sub#x", &opts, &Silent).unwrap_err();
    assert_eq!(
        err.to_string(),
        "unexpected fragment 'x' in flake reference './sub#x'"
    );
}
