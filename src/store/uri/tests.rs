use std::path::{Path, PathBuf};

use super::*;
use crate::store::open::Unavailable;
use crate::store::{Store as _, StorePath};

fn local(root: Option<&str>, params: &[(&str, &str)]) -> StoreUri {
    StoreUri::Local {
        root: root.map(PathBuf::from),
        params: params
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
    }
}

#[test]
fn parse_table() {
    let cwd = Path::new("/work");
    let cases: Vec<(&str, StoreUri, &str)> = vec![
        ("", StoreUri::Auto, "auto"),
        ("auto", StoreUri::Auto, "auto"),
        (
            "daemon",
            StoreUri::Daemon {
                socket: None,
                params: Params::new(),
            },
            "daemon",
        ),
        (
            "unix://",
            StoreUri::Daemon {
                socket: None,
                params: Params::new(),
            },
            "daemon",
        ),
        (
            "unix:///run/nix.sock",
            StoreUri::Daemon {
                socket: Some("/run/nix.sock".into()),
                params: Params::new(),
            },
            "unix:///run/nix.sock",
        ),
        (
            "unix:///run/nix.sock?max-connections=2",
            StoreUri::Daemon {
                socket: Some("/run/nix.sock".into()),
                params: [("max-connections".to_owned(), "2".to_owned())].into(),
            },
            "unix:///run/nix.sock?max-connections=2",
        ),
        ("local", local(None, &[]), "local"),
        ("local?root=/r", local(Some("/r"), &[]), "local?root=/r"),
        (
            "local?root=%2Fa%20b",
            local(Some("/a b"), &[]),
            "local?root=/a%20b",
        ),
        ("local:///r", local(Some("/r"), &[]), "local?root=/r"),
        (
            "/tmp/store",
            local(Some("/tmp/store"), &[]),
            "local?root=/tmp/store",
        ),
        ("./s", local(Some("/work/./s"), &[]), "local?root=/work/./s"),
        (
            "sub/dir",
            local(Some("/work/sub/dir"), &[]),
            "local?root=/work/sub/dir",
        ),
        (
            "local?root=/r&store=/gnu/store",
            local(Some("/r"), &[("store", "/gnu/store")]),
            "local?root=/r&store=/gnu/store",
        ),
        (
            "file:///tmp/cache?compression=zstd",
            StoreUri::File {
                dir: "/tmp/cache".into(),
                params: [("compression".to_owned(), "zstd".to_owned())].into(),
            },
            "file:///tmp/cache?compression=zstd",
        ),
        (
            "https://cache.example/sub",
            StoreUri::Http {
                url: "https://cache.example/sub".into(),
                params: Params::new(),
            },
            "https://cache.example/sub",
        ),
        (
            "s3://bucket?region=x",
            StoreUri::Unsupported {
                uri: "s3://bucket?region=x".into(),
                kind: "S3 binary cache",
            },
            "s3://bucket?region=x",
        ),
        (
            "bogus://x",
            StoreUri::Unknown {
                uri: "bogus://x".into(),
            },
            "bogus://x",
        ),
        (
            "nonsense",
            StoreUri::Unknown {
                uri: "nonsense".into(),
            },
            "nonsense",
        ),
    ];
    for (input, want, rendered) in cases {
        let got = StoreUri::parse(input, cwd);
        assert_eq!(got, want, "{input}");
        assert_eq!(got.to_string(), rendered, "{input}");
        assert_eq!(
            StoreUri::parse(rendered, cwd),
            want,
            "round trip of {input}"
        );
    }
}

#[test]
fn ssh_ng_uris_name_host_port_and_parameters() {
    let cwd = Path::new("/");
    let uri = StoreUri::parse("ssh-ng://u@h:2222?remote-store=/r", cwd);
    assert_eq!(
        uri,
        StoreUri::SshNg {
            host: "u@h".into(),
            port: Some(2222),
            params: [("remote-store".to_owned(), "/r".to_owned())].into(),
        }
    );
    assert_eq!(uri.to_string(), "ssh-ng://u@h:2222?remote-store=/r");
}

#[test]
fn open_errors_name_the_store() {
    let cwd = Path::new("/");
    let cases = [("bogus://x", "don't know how to open Nix store 'bogus://x'")];
    for (input, msg) in cases {
        let uri = StoreUri::parse(input, cwd);
        let err = uri.open_error().unwrap();
        assert_eq!(err.to_string(), msg, "{input}");
        let store = Unavailable::new(&uri, err);
        let p = StorePath::from_base_name("k30i9rm3dc3almwwl0l6hjpnpx0wjhxz-source").unwrap();
        assert_eq!(store.query_path_info(&p).unwrap_err().to_string(), msg);
    }
    for ok in [
        "local",
        "/tmp/x",
        "file:///c",
        "http://h",
        "daemon",
        "unix:///s",
        "ssh-ng://host",
        "ssh://host",
    ] {
        assert_eq!(StoreUri::parse(ok, cwd).open_error(), None, "{ok}");
    }
}

#[test]
fn auto_resolution() {
    let facts = |daemon, writable| AutoFacts {
        daemon_socket_exists: daemon,
        nix_store_writable: writable,
        data_home: "/home/u/.local/share".into(),
    };
    let cases = [
        (
            true,
            true,
            StoreUri::Daemon {
                socket: None,
                params: Params::new(),
            },
        ),
        (
            true,
            false,
            StoreUri::Daemon {
                socket: None,
                params: Params::new(),
            },
        ),
        (false, true, local(None, &[])),
        (
            false,
            false,
            local(Some("/home/u/.local/share/nix/root"), &[]),
        ),
    ];
    for (daemon, writable, want) in cases {
        assert_eq!(
            StoreUri::Auto.resolve_auto(&facts(daemon, writable)),
            want,
            "daemon={daemon} writable={writable}"
        );
    }
    let explicit = local(Some("/r"), &[]);
    assert_eq!(explicit.clone().resolve_auto(&facts(true, true)), explicit);
}
