//! The operations against recorded daemon answers: the bytes rflake sends are compared with
//! what Nix's client sends, and the answers are Nix's wire format.

use std::collections::BTreeSet;
use std::io::{Cursor, Write};
use std::sync::{Arc, Mutex};

use super::*;
use crate::report::{Collect, Silent};
use crate::store::daemon::handshake::Negotiated;
use crate::store::daemon::stderr::{self, Relay};

fn unhex(s: &str) -> Vec<u8> {
    let s: String = s.split_whitespace().collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// A writer whose bytes the test can read afterwards.
#[derive(Clone, Default)]
struct Shared(Arc<Mutex<Vec<u8>>>);

impl Write for Shared {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Shared {
    fn take(&self) -> Vec<u8> {
        std::mem::take(&mut self.0.lock().unwrap())
    }
}

/// Builds byte streams.
#[derive(Default)]
struct Bytes(Vec<u8>);

impl Bytes {
    fn u64(mut self, n: u64) -> Self {
        wire::write_u64(&mut self.0, n).unwrap();
        self
    }
    fn str(mut self, s: &str) -> Self {
        wire::write_str(&mut self.0, s).unwrap();
        self
    }
    fn raw(mut self, b: &[u8]) -> Self {
        self.0.extend_from_slice(b);
        self
    }
    fn last(self) -> Self {
        self.u64(stderr::STDERR_LAST)
    }
}

/// A connection at `minor` whose daemon answers `reply`; returns it and what it sends.
fn conn(minor: u8, reply: Bytes) -> (Connection, Shared) {
    let sent = Shared::default();
    let c = Connection {
        r: std::io::BufReader::new(Box::new(Cursor::new(reply.0))),
        w: Box::new(sent.clone()),
        probe: None,
        negotiated: Negotiated {
            version: Version::v1(minor),
            features: BTreeSet::new(),
        },
        info: Default::default(),
        dir: StoreDir::default(),
        relay: Relay::new(stderr::LVL_INFO),
        broken: false,
        process: None,
    };
    (c, sent)
}

fn path(base: &str) -> StorePath {
    StorePath::from_base_name(base).unwrap()
}

const BAR: &str = "g1w7hy3qg1w7hy3qg1w7hy3qg1w7hy3q-bar";
const FOO: &str = "g1w7hyyyy1w7hy3qg1w7hy3qgqqqqy3q-foo";

#[test]
fn nix_valid_path_info_vectors_round_trip() {
    let dir = StoreDir::default();
    for (file, minor, count) in [
        (
            include_str!("../../../../tests/data/daemon/valid-path-info-1.15.hex"),
            15,
            2,
        ),
        (
            include_str!("../../../../tests/data/daemon/valid-path-info-1.16.hex"),
            16,
            3,
        ),
    ] {
        let bytes = unhex(file);
        let mut r = &bytes[..];
        let mut infos = Vec::new();
        while !r.is_empty() {
            let p = read_path(&mut r, &dir).unwrap();
            infos.push(read_info(&mut r, &dir, p, Version::v1(minor)).unwrap());
        }
        assert_eq!(infos.len(), count, "1.{minor}");
        let mut out = Vec::new();
        for i in &infos {
            wire::write_str(&mut out, &dir.print(&i.path)).unwrap();
            write_info(&mut out, &dir, i, Version::v1(minor)).unwrap();
        }
        assert_eq!(out, bytes, "1.{minor}");
        // The values of Nix's JSON twin of the vector.
        let first = &infos[0];
        assert_eq!(first.path, path(BAR));
        assert_eq!(
            first.nar_hash.to_sri(),
            "sha256-FePFYIlMuycIXPZbWi7LGEiMmZSX9FMbaQenWBzm1Sc="
        );
        assert_eq!((first.registration_time, first.nar_size), (23423, 34878));
        assert_eq!(first.ultimate, minor >= 16);
        let second = &infos[1];
        assert_eq!(
            second.deriver,
            Some(path("g1w7hy3qg1w7hy3qg1w7hy3qg1w7hy3q-bar.drv"))
        );
        assert_eq!(second.references, BTreeSet::from([path(BAR), path(FOO)]));
        if minor >= 16 {
            assert_eq!(second.sigs.len(), 2);
            assert!(second.sigs.iter().all(|s| s.starts_with("fake-sig-")));
            assert_eq!(
                infos[2].ca.as_ref().unwrap().hash.to_sri(),
                "sha256-EMIJ+giQ/gLIWoxmPKjno3zHZrxbGymgzGGyZvZBIdM="
            );
        }
    }
}

#[test]
fn is_valid_and_query_valid_paths() {
    let (mut c, sent) = conn(34, Bytes::default().last().u64(1));
    assert!(c.is_valid_path(&path(BAR), &Silent).unwrap());
    let expected = Bytes::default().u64(1).str(&format!("/nix/store/{BAR}"));
    assert_eq!(sent.take(), expected.0);

    // One round trip for the whole set; from 1.27 the substitute flag follows it.
    let reply = Bytes::default()
        .last()
        .u64(1)
        .str(&format!("/nix/store/{FOO}"));
    let (mut c, sent) = conn(34, reply);
    let asked = BTreeSet::from([path(BAR), path(FOO)]);
    let valid = c.query_valid_paths(&asked, false, &Silent).unwrap();
    assert_eq!(valid, BTreeSet::from([path(FOO)]));
    let expected = Bytes::default()
        .u64(31)
        .u64(2)
        .str(&format!("/nix/store/{BAR}"))
        .str(&format!("/nix/store/{FOO}"))
        .u64(0);
    assert_eq!(sent.take(), expected.0);
    assert!(c.is_usable());

    let reply = Bytes::default().last().u64(0);
    let (mut c, sent) = conn(26, reply);
    c.query_valid_paths(&asked, false, &Silent).unwrap();
    assert_eq!(
        sent.take().len(),
        expected.0.len() - 8,
        "no flag before 1.27"
    );
}

#[test]
fn query_path_info_valid_invalid_and_old_daemons() {
    let dir = StoreDir::default();
    let bytes = unhex(include_str!(
        "../../../../tests/data/daemon/valid-path-info-1.16.hex"
    ));
    let mut r = &bytes[..];
    let p = read_path(&mut r, &dir).unwrap();
    let info = read_info(&mut r, &dir, p.clone(), Version::v1(16)).unwrap();
    let mut unkeyed = Vec::new();
    write_info(&mut unkeyed, &dir, &info, Version::v1(34)).unwrap();

    let (mut c, sent) = conn(34, Bytes::default().last().u64(1).raw(&unkeyed));
    assert_eq!(c.query_path_info(&p, &Silent).unwrap(), Some(info));
    assert_eq!(
        sent.take(),
        Bytes::default().u64(26).str(&format!("/nix/store/{BAR}")).0
    );

    let (mut c, _) = conn(34, Bytes::default().last().u64(0));
    assert_eq!(c.query_path_info(&p, &Silent).unwrap(), None);

    // Before 1.17 an invalid path is an error that says so; the connection stays usable.
    let reply = Bytes::default()
        .u64(stderr::STDERR_ERROR)
        .str(&format!("path '/nix/store/{BAR}' is not valid"))
        .u64(1)
        .last()
        .u64(1);
    let (mut c, _) = conn(16, reply);
    assert_eq!(c.query_path_info(&p, &Silent).unwrap(), None);
    assert!(c.is_valid_path(&p, &Silent).unwrap());
}

#[test]
fn daemon_errors_keep_the_connection_and_protocol_errors_break_it() {
    let reply = Bytes::default()
        .u64(stderr::STDERR_ERROR)
        .str("Error")
        .u64(0)
        .str("Error")
        .str("path '\x1b[35;1m/nix/store/x\x1b[0m' is not in the Nix store")
        .u64(0)
        .u64(0)
        .last()
        .str("");
    let (mut c, _) = conn(34, reply);
    let err = c.query_path_from_hash_part("x", &Silent).unwrap_err();
    assert_eq!(
        err.to_string(),
        "path '/nix/store/x' is not in the Nix store"
    );
    assert!(c.is_usable());
    assert_eq!(c.query_path_from_hash_part("y", &Silent).unwrap(), None);

    let (mut c, _) = conn(34, Bytes::default().last().str("/elsewhere/x"));
    let err = c.query_path_from_hash_part("x", &Silent).unwrap_err();
    assert!(
        err.to_string()
            .contains("invalid store path '/elsewhere/x'"),
        "{err}"
    );
    assert!(!c.is_usable());

    let (mut c, _) = conn(34, Bytes::default().last());
    let err = c.add_temp_root(&path(BAR), &Silent).unwrap_err();
    assert_eq!(
        err.to_string(),
        "Nix daemon disconnected unexpectedly (maybe it crashed?)"
    );
    assert!(!c.is_usable());
}

fn small_nar(contents: &[u8]) -> Vec<u8> {
    let mut nar = Vec::new();
    for tok in [
        &b"nix-archive-1"[..],
        b"(",
        b"type",
        b"regular",
        b"contents",
        contents,
        b")",
    ] {
        wire::write_bytes(&mut nar, tok).unwrap();
    }
    nar
}

fn source_info(nar: &[u8]) -> PathInfo {
    let h = Hash::digest(Algo::Sha256, nar);
    let p = StoreDir::default()
        .make_source_path(&h, "x", &Default::default())
        .unwrap();
    let mut info = PathInfo::source(p, h, nar.len() as u64);
    info.registration_time = 7;
    info
}

#[test]
fn add_to_store_nar_by_version() {
    let nar = small_nar(b"hello\n");
    let info = source_info(&nar);
    let header = |v| {
        let mut b = Bytes::default()
            .u64(39)
            .str(&StoreDir::default().print(&info.path));
        write_info(&mut b.0, &StoreDir::default(), &info, v).unwrap();
        b.u64(0).u64(1)
    };

    // 1.23 on: framed.
    let (mut c, sent) = conn(34, Bytes::default().last());
    c.add_to_store_nar(&info, &mut &nar[..], false, true, &Silent)
        .unwrap();
    let expected = header(Version::v1(16))
        .u64(nar.len() as u64)
        .raw(&nar)
        .u64(0);
    assert_eq!(sent.take(), expected.0);

    // 1.21 and 1.22: the daemon asks for the bytes.
    let reply = Bytes::default()
        .u64(stderr::STDERR_READ)
        .u64(64)
        .u64(stderr::STDERR_READ)
        .u64(1000)
        .last();
    let (mut c, sent) = conn(22, reply);
    c.add_to_store_nar(&info, &mut &nar[..], false, true, &Silent)
        .unwrap();
    let mut expected = header(Version::v1(16));
    wire::write_bytes(&mut expected.0, &nar[..64]).unwrap();
    wire::write_bytes(&mut expected.0, &nar[64..]).unwrap();
    assert_eq!(sent.take(), expected.0);

    // Older: raw.
    let (mut c, sent) = conn(20, Bytes::default().last());
    c.add_to_store_nar(&info, &mut &nar[..], false, true, &Silent)
        .unwrap();
    assert_eq!(sent.take(), header(Version::v1(16)).raw(&nar).0);

    // A NAR the daemon rejects: its error, and the connection stays usable.
    let reply = Bytes::default()
        .u64(stderr::STDERR_ERROR)
        .str("Error")
        .u64(0)
        .str("Error")
        .str("hash mismatch importing path")
        .u64(0)
        .u64(0);
    let (mut c, _) = conn(34, reply);
    let err = c
        .add_to_store_nar(&info, &mut &nar[..], false, false, &Silent)
        .unwrap_err();
    assert_eq!(err.to_string(), "hash mismatch importing path");
    assert!(c.is_usable());

    // A daemon that fails before the NAR is sent (its error already read into the buffer by
    // the previous answer): the stream stops at once and ends with the end marker, and the
    // connection goes on.
    let reply = Bytes::default()
        .last()
        .u64(1)
        .u64(stderr::STDERR_NEXT)
        .str("adding\n")
        .u64(stderr::STDERR_ERROR)
        .str("Error")
        .u64(0)
        .str("Error")
        .str("path is rejected")
        .u64(0)
        .u64(0)
        .last()
        .u64(1);
    let (mut c, sent) = conn(34, reply);
    let log = Collect::default();
    assert!(c.is_valid_path(&info.path, &log).unwrap());
    sent.take();
    let err = c
        .add_to_store_nar(&info, &mut &nar[..], false, true, &log)
        .unwrap_err();
    assert_eq!(err.to_string(), "path is rejected");
    assert_eq!(sent.take(), header(Version::v1(16)).u64(0).0);
    assert_eq!(log.lines(), ["adding"]);
    assert!(c.is_usable());
    assert!(c.is_valid_path(&info.path, &log).unwrap());
}

#[test]
fn add_multiple_to_store_streams_infos_and_nars() {
    let nars = [small_nar(b"a"), small_nar(b"bb")];
    let infos: Vec<PathInfo> = nars.iter().map(|n| source_info(n)).collect();
    let (mut c, sent) = conn(34, Bytes::default().last());
    let mut i = 0;
    c.add_multiple_to_store(
        2,
        &mut |w| {
            let nar = &nars[i];
            Connection::write_multiple_entry(w, &StoreDir::default(), &infos[i], &mut |w| {
                Ok(w.write_all(nar)?)
            })?;
            i += 1;
            Ok(())
        },
        false,
        false,
        &Silent,
    )
    .unwrap();
    let sent = sent.take();
    let head = Bytes::default().u64(44).u64(0).u64(0).0;
    assert_eq!(&sent[..24], &head[..]);
    let mut r = &sent[24..];
    let stream = wire::read_framed(&mut r).unwrap();
    assert!(r.is_empty());
    let mut s = &stream[..];
    assert_eq!(wire::read_u64(&mut s).unwrap(), 2);
    for (info, nar) in infos.iter().zip(&nars) {
        let p = read_path(&mut s, &StoreDir::default()).unwrap();
        assert_eq!(
            &read_info(&mut s, &StoreDir::default(), p, Version::v1(16)).unwrap(),
            info
        );
        let (got, rest) = s.split_at(nar.len());
        assert_eq!(got, &nar[..]);
        s = rest;
    }
    assert!(s.is_empty());

    // A NAR of another size than its info says is not sent on (the daemon would read past it).
    let (mut c, _) = conn(34, Bytes::default().last());
    let err = c
        .add_multiple_to_store(
            1,
            &mut |w| {
                Connection::write_multiple_entry(w, &StoreDir::default(), &infos[0], &mut |w| {
                    Ok(w.write_all(b"short")?)
                })
            },
            false,
            false,
            &Silent,
        )
        .unwrap_err();
    assert!(err.to_string().contains("has 5 bytes, not the"), "{err}");
    assert!(!c.is_usable());

    // Not before 1.32: nothing is sent.
    let (mut c, sent) = conn(31, Bytes::default());
    let err = c
        .add_multiple_to_store(0, &mut |_| Ok(()), false, false, &Silent)
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "the Nix daemon speaks protocol 1.31, which has no 'addMultipleToStore' operation (it \
         needs 1.32 or newer)"
    );
    assert!(sent.take().is_empty());
}

#[test]
fn nar_from_path_stops_at_the_end_of_the_nar() {
    let nar = small_nar(b"hello\n");
    let (mut c, sent) = conn(34, Bytes::default().last().raw(&nar).last().u64(1));
    let mut sink = Vec::new();
    c.nar_from_path(&path(BAR), &mut sink, &Silent).unwrap();
    assert_eq!(sink, nar);
    assert_eq!(
        sent.take(),
        Bytes::default().u64(38).str(&format!("/nix/store/{BAR}")).0
    );
    // The next answer is read from where the NAR ended.
    assert!(c.is_valid_path(&path(BAR), &Silent).unwrap());

    // A sink that fails (a closed pipe): its error is kept, the connection is dropped.
    struct Closed;
    impl Write for Closed {
        fn write(&mut self, _: &[u8]) -> io::Result<usize> {
            Err(io::ErrorKind::BrokenPipe.into())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }
    let (mut c, _) = conn(34, Bytes::default().last().raw(&nar));
    let err = c
        .nar_from_path(&path(BAR), &mut Closed, &Silent)
        .unwrap_err();
    assert!(
        matches!(&err, Error::Sink(io) if io.kind() == io::ErrorKind::BrokenPipe),
        "{err:?}"
    );
    assert!(!c.is_usable());

    // A NAR cut short: the daemon died.
    let (mut c, _) = conn(34, Bytes::default().last().raw(&nar[..50]));
    let err = c
        .nar_from_path(&path(BAR), &mut Vec::new(), &Silent)
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "Nix daemon disconnected unexpectedly (maybe it crashed?)"
    );
    assert!(!c.is_usable());
}

#[test]
fn query_missing_build_paths_and_roots() {
    let drv = path("g1w7hy3qg1w7hy3qg1w7hy3qg1w7hy3q-bar.drv");
    let targets = [
        DerivedPath::Opaque(path(FOO)),
        DerivedPath::Built {
            drv: drv.clone(),
            outputs: BTreeSet::new(),
        },
        DerivedPath::Built {
            drv: drv.clone(),
            outputs: BTreeSet::from(["out".to_owned(), "dev".to_owned()]),
        },
    ];
    let reply = Bytes::default()
        .last()
        .u64(1)
        .str(&StoreDir::default().print(&drv))
        .u64(0)
        .u64(1)
        .str(&format!("/nix/store/{FOO}"))
        .u64(10)
        .u64(20);
    let (mut c, sent) = conn(34, reply);
    let missing = c.query_missing(&targets, &Silent).unwrap();
    assert_eq!(missing.will_build, BTreeSet::from([drv.clone()]));
    assert_eq!(missing.unknown, BTreeSet::from([path(FOO)]));
    assert_eq!((missing.download_size, missing.nar_size), (10, 20));
    let d = StoreDir::default().print(&drv);
    let expected = Bytes::default()
        .u64(40)
        .u64(3)
        .str(&format!("/nix/store/{FOO}"))
        .str(&format!("{d}!*"))
        .str(&format!("{d}!dev,out"));
    assert_eq!(sent.take(), expected.0);

    let (mut c, sent) = conn(34, Bytes::default().last().u64(1));
    c.build_paths(&targets[..1], BuildMode::Normal, &Silent)
        .unwrap();
    assert_eq!(
        sent.take(),
        Bytes::default()
            .u64(9)
            .u64(1)
            .str(&format!("/nix/store/{FOO}"))
            .u64(0)
            .0
    );

    let (mut c, sent) = conn(34, Bytes::default().last().u64(1).last().u64(1));
    c.add_temp_root(&path(FOO), &Silent).unwrap();
    c.ensure_path(&path(FOO), &Silent).unwrap();
    let p = format!("/nix/store/{FOO}");
    assert_eq!(
        sent.take(),
        Bytes::default().u64(11).str(&p).u64(10).str(&p).0
    );

    // Old daemons: no '*' outputs, no queryMissing.
    let (mut c, _) = conn(29, Bytes::default());
    assert!(
        c.build_paths(&targets[1..2], BuildMode::Normal, &Silent)
            .is_err()
    );
    let (mut c, _) = conn(18, Bytes::default());
    assert!(matches!(
        c.query_missing(&targets, &Silent),
        Err(Error::Unsupported {
            op: "queryMissing",
            ..
        })
    ));
}

#[test]
fn handshake_with_a_recorded_nix_2_8_daemon() {
    // What nix-daemon 2.8 sends: magic 2, protocol 1.34, its version, STDERR_LAST after
    // authenticating the client, a warning and STDERR_LAST for setOptions.
    let reply = Bytes::default()
        .u64(crate::store::daemon::handshake::WORKER_MAGIC_2)
        .u64(0x122)
        .str("2.8.0")
        .last()
        .u64(stderr::STDERR_NEXT)
        .str("warning: ignoring the user-specified setting 'x'\n")
        .last();
    let sent = Shared::default();
    let log = Collect::default();
    let opts = crate::store::daemon::conn::ClientOptions {
        overrides: vec![("x".to_owned(), "1".to_owned())],
        ..Default::default()
    };
    let c = Connection::handshake(
        Box::new(Cursor::new(reply.0)),
        Box::new(sent.clone()),
        &StoreDir::default(),
        &opts,
        &log,
    )
    .unwrap();
    assert_eq!(c.version(), Version::v1(34));
    assert_eq!(c.info.nix_version.as_deref(), Some("2.8.0"));
    assert_eq!(
        log.lines(),
        ["warning: ignoring the user-specified setting 'x'"]
    );
    let expected = Bytes::default()
        .u64(crate::store::daemon::handshake::WORKER_MAGIC_1)
        .u64(0x126)
        .u64(0) // CPU affinity
        .u64(0) // reserveSpace
        .u64(19) // setOptions
        .u64(0) // keepFailed
        .u64(0) // keepGoing
        .u64(0) // tryFallback
        .u64(3) // verbosity
        .u64(1) // maxBuildJobs
        .u64(0) // maxSilentTime
        .u64(1) // useBuildHook
        .u64(7) // build verbosity
        .u64(0)
        .u64(0)
        .u64(0) // buildCores
        .u64(1) // useSubstitutes
        .u64(1)
        .str("x")
        .str("1");
    assert_eq!(sent.take(), expected.0);
}
