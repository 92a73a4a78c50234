//! The store over a real socket, against a scripted daemon.

use std::io::{Read, Write};
use std::os::unix::net::UnixListener;
use std::sync::Arc;
use std::thread;

use super::*;
use crate::report::Collect;

/// A daemon that answers each connection with `reply` and counts the connections.
fn scripted(listener: UnixListener, conns: usize, reply: Vec<u8>) -> thread::JoinHandle<usize> {
    thread::spawn(move || {
        let mut n = 0;
        for _ in 0..conns {
            let Ok((mut s, _)) = listener.accept() else {
                break;
            };
            n += 1;
            s.write_all(&reply).unwrap();
            // Drain what the client sends until it hangs up.
            let mut sink = Vec::new();
            let _ = s.read_to_end(&mut sink);
        }
        n
    })
}

fn greeting() -> Vec<u8> {
    let mut b = Vec::new();
    wire::write_u64(&mut b, handshake::WORKER_MAGIC_2).unwrap();
    wire::write_u64(&mut b, Version::v1(34).to_wire()).unwrap();
    wire::write_str(&mut b, "2.8.0").unwrap();
    wire::write_u64(&mut b, stderr::STDERR_LAST).unwrap(); // after authentication
    wire::write_u64(&mut b, stderr::STDERR_LAST).unwrap(); // setOptions
    b
}

#[test]
fn reuses_one_connection_and_relays_messages() {
    let tmp = tempfile::tempdir().unwrap();
    let sock = tmp.path().join("socket");
    let listener = UnixListener::bind(&sock).unwrap();
    let mut reply = greeting();
    // isValidPath twice, with a log line in between.
    wire::write_u64(&mut reply, stderr::STDERR_NEXT).unwrap();
    wire::write_str(&mut reply, "checking\n").unwrap();
    wire::write_u64(&mut reply, stderr::STDERR_LAST).unwrap();
    wire::write_u64(&mut reply, 1).unwrap();
    wire::write_u64(&mut reply, stderr::STDERR_LAST).unwrap();
    wire::write_u64(&mut reply, 0).unwrap();
    let server = scripted(listener, 1, reply);

    let log = Collect::default();
    let store = DaemonStore::new(Options::new(Some(sock.clone())), log.shared());
    assert_eq!(store.uri(), format!("unix://{}", sock.display()));
    let p = StorePath::from_base_name("g1w7hy3qg1w7hy3qg1w7hy3qg1w7hy3q-bar").unwrap();
    // An empty query needs no connection.
    assert!(
        store
            .query_valid_paths(&BTreeSet::new())
            .unwrap()
            .is_empty()
    );
    assert!(store.is_valid_path(&p).unwrap());
    assert!(!store.is_valid_path(&p).unwrap());
    assert_eq!(
        store.daemon_nix_version().unwrap().as_deref(),
        Some("2.8.0")
    );
    assert_eq!(store.protocol_version().unwrap(), Version::v1(34));
    assert_eq!(store.trust().unwrap(), None);
    assert_eq!(log.lines(), ["checking"]);
    drop(store);
    assert_eq!(server.join().unwrap(), 1);
}

#[test]
fn reports_a_missing_socket_and_a_stranger_on_it() {
    let tmp = tempfile::tempdir().unwrap();
    let sock = tmp.path().join("socket");
    let store = DaemonStore::new(
        Options::new(Some(sock.clone())),
        Arc::new(Collect::default()),
    );
    let p = StorePath::from_base_name("g1w7hy3qg1w7hy3qg1w7hy3qg1w7hy3q-bar").unwrap();
    let err = store.query_path_info(&p).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "cannot connect to socket at '{}': No such file or directory",
            sock.display()
        )
    );

    // Something that is not a daemon answers: a second attempt connects again.
    let listener = UnixListener::bind(&sock).unwrap();
    let server = scripted(listener, 2, b"SSH-2.0-OpenSSH\r\n".to_vec());
    for _ in 0..2 {
        let err = store.query_path_info(&p).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "cannot open connection to remote store 'unix://{}': protocol mismatch, got \
                 'SSH-2.0-'",
                sock.display()
            )
        );
    }
    drop(store);
    assert_eq!(server.join().unwrap(), 2);
}
