//! Stores behind a Nix daemon (`unix://<socket>`, `store::daemon`): `flake archive --to` into a
//! real `nix-daemon` 2.8 on a private store, checked by `nix path-info` through the same socket,
//! and the failures: no socket, a daemon killed in the middle of a copy.

// Helpers outside `#[test]` functions unwrap too: a failure is a test failure.
#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::Read;
use std::sync::Arc;

use rflake::hash::{Algo, Hash};
use rflake::report::Collect;
use rflake::store::daemon::{ClientOptions, DaemonStore, Options, Version};
use rflake::store::{CheckSigs, PathInfo, Store, StoreDir};

use crate::support::{GitRepo, NixDaemon, TestEnv, require_nix};

/// A flake with a `path:` input and a `git+file:` input.
fn flake(env: &mut TestEnv) {
    env.write(
        "work/dep/flake.nix",
        "{ outputs = { self }: { x = 1; }; }\n",
    );
    env.write("work/dep/data.txt", "some data\n");
    let repo = GitRepo::init(env.path("work/repo"));
    repo.write("flake.nix", "{ outputs = { self }: { y = 2; }; }\n")
        .write("lib/file.txt", "from git\n");
    repo.commit_all("init");
    let root = format!(
        "{{\n  inputs.dep.url = \"path:{}\";\n  inputs.repo.url = \"{}\";\n  \
         outputs = {{ self, ... }}: {{ }};\n}}\n",
        env.path("work/dep").display(),
        repo.url("")
    );
    env.write("work/root/flake.nix", root);
    env.set_cwd("work/root");
    // Lock first, so that the runs below start from a lock file.
    let out = env.run(&["flake", "archive", "--dry-run"]);
    assert!(out.success(), "{out:?}");
}

/// Every store path in `flake archive --json` output.
fn archived_paths(json: &str) -> BTreeSet<String> {
    fn walk(v: &serde_json::Value, out: &mut BTreeSet<String>) {
        if let Some(p) = v["path"].as_str() {
            out.insert(p.to_owned());
        }
        if let Some(inputs) = v["inputs"].as_object() {
            for i in inputs.values() {
                walk(i, out);
            }
        }
    }
    let v: serde_json::Value = serde_json::from_str(json).unwrap();
    let mut out = BTreeSet::new();
    walk(&v, &mut out);
    out
}

/// `nix path-info --json` of `paths` in `store`: path → (narHash, ca).
fn nix_infos(
    env: &TestEnv,
    store: &str,
    paths: &BTreeSet<String>,
) -> BTreeMap<String, (String, String)> {
    let mut args = vec!["path-info", "--json", "--store", store];
    args.extend(paths.iter().map(String::as_str));
    let out = env.run_nix(&args);
    assert!(out.success(), "{out:?}");
    let v: serde_json::Value = serde_json::from_str(out.stdout()).unwrap();
    v.as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["path"].as_str().unwrap().to_owned(),
                (
                    i["narHash"].as_str().unwrap().to_owned(),
                    i["ca"].as_str().unwrap_or_default().to_owned(),
                ),
            )
        })
        .collect()
}

#[test]
fn archive_to_a_daemon_copies_every_path_once() {
    if !require_nix() {
        return;
    }
    let mut env = TestEnv::new();
    flake(&mut env);
    let daemon = NixDaemon::start(env.root());
    let to = daemon.uri();

    let out = env.run(&["flake", "archive", "--json", "--to", &to]);
    assert!(out.success(), "{out:?}");
    let paths = archived_paths(out.stdout());
    assert_eq!(paths.len(), 3, "{out:?}");
    let lines: Vec<&str> = out.stderr().lines().collect();
    assert_eq!(lines[0], "copying 3 paths...", "{out:?}");
    for p in &paths {
        let line = format!("copying path '{p}' to 'unix://$TEST_ENV/daemon.sock'...");
        assert!(lines.contains(&line.as_str()), "{out:?}");
    }

    // The daemon's store has each path with the local store's narHash and ca.
    let local = env.path("store").display().to_string();
    let want = nix_infos(&env, &local, &paths);
    let got = nix_infos(&env, &to, &paths);
    assert_eq!(got, want);
    assert!(
        got.values()
            .all(|(_, ca)| ca.starts_with("fixed:r:sha256:"))
    );
    // The NARs the daemon serves (`narFromPath`) hash to narHash. (Nix 2.8's own client reads
    // a `unix://` store's files directly from /nix/store, so it cannot check this.)
    let store = DaemonStore::new(
        Options::new(Some(daemon.socket.clone())),
        Arc::new(Collect::default()),
    );
    for (p, (nar_hash, _)) in &got {
        let path = StoreDir::default().parse(p).unwrap();
        let mut nar = Vec::new();
        store.nar_from_path(&path, &mut nar).unwrap();
        assert_eq!(&Hash::digest(Algo::Sha256, &nar).to_sri(), nar_hash);
    }

    // A second run copies nothing.
    let again = env.run(&["flake", "archive", "--to", &to]);
    assert!(again.success(), "{again:?}");
    assert_eq!(again.stderr(), "");
}

#[test]
fn archive_to_a_missing_socket_fails_clearly() {
    let mut env = TestEnv::new();
    flake(&mut env);
    let sock = env.path("no-daemon.sock");
    let to = format!("unix://{}", sock.display());
    let out = env.run(&["flake", "archive", "--to", &to]);
    assert!(!out.success(), "{out:?}");
    assert_eq!(
        out.stderr().lines().next(),
        Some(
            "error: cannot connect to socket at '$TEST_ENV/no-daemon.sock': No such file or directory"
        ),
        "{out:?}"
    );
}

#[test]
fn fetching_into_a_daemon_store_stages_and_publishes() {
    if !require_nix() {
        return;
    }
    let mut env = TestEnv::new();
    flake(&mut env);
    let daemon = NixDaemon::start(env.root());
    let store = daemon.uri();
    // `--store` a daemon: the inputs are fetched into a staging store and copied into the
    // daemon's, quietly, as if the fetchers had added them there (as Nix's do).
    let out = env.run(&["flake", "archive", "--json", "--store", &store]);
    assert!(out.success(), "{out:?}");
    assert_eq!(out.stderr(), "");
    let paths = archived_paths(out.stdout());
    assert_eq!(paths.len(), 3, "{out:?}");
    let daemon_store = daemon.store.display().to_string();
    let there = nix_infos(&env, &daemon_store, &paths);
    assert_eq!(there.len(), 3);
    // `flake prefetch` and `registry pin` through it too.
    env.write("work/other/file.txt", "other\n");
    let other = format!("path:{}", env.path("work/other").display());
    let out = env.run(&["flake", "prefetch", "--json", "--store", &store, &other]);
    assert!(out.success(), "{out:?}");
    let v: serde_json::Value = serde_json::from_str(out.stdout()).unwrap();
    let path = v["storePath"].as_str().unwrap().to_owned();
    assert_eq!(
        nix_infos(&env, &daemon_store, &BTreeSet::from([path])).len(),
        1
    );
    let out = env.run(&["registry", "pin", "--store", &store, "other", &other]);
    assert!(out.success(), "{out:?}");
    assert!(env.read("config/nix/registry.json").contains("\"other\""));
}

#[test]
fn fetching_into_a_missing_daemon_is_an_error() {
    let mut env = TestEnv::new();
    flake(&mut env);
    let sock = env.path("no-daemon.sock");
    let store = format!("unix://{}", sock.display());
    let out = env.run(&["flake", "archive", "--store", &store]);
    assert_eq!(out.status().code(), Some(1), "{out:?}");
    assert!(
        out.stderr()
            .contains("cannot connect to socket at '$TEST_ENV/no-daemon.sock'"),
        "{out:?}"
    );
}

/// A NAR of one regular file of `len` bytes.
fn big_nar(len: usize) -> Vec<u8> {
    let mut nar = Vec::new();
    let mut tok = |b: &[u8]| {
        nar.extend_from_slice(&(b.len() as u64).to_le_bytes());
        nar.extend_from_slice(b);
        nar.resize(nar.len().next_multiple_of(8), 0);
    };
    for t in [
        &b"nix-archive-1"[..],
        b"(",
        b"type",
        b"regular",
        b"contents",
    ] {
        tok(t);
    }
    tok(&vec![b'x'; len]);
    tok(b")");
    nar
}

/// A reader that runs `at_half` once, when half of `data` has been read.
struct KillHalfway<'a, F: FnMut()> {
    data: &'a [u8],
    pos: usize,
    at_half: Option<F>,
}

impl<F: FnMut()> Read for KillHalfway<'_, F> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.pos >= self.data.len() / 2
            && let Some(mut f) = self.at_half.take()
        {
            f();
        }
        let n = buf.len().min(self.data.len() - self.pos).min(1 << 16);
        buf[..n].copy_from_slice(&self.data[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

#[test]
fn a_daemon_killed_mid_copy_registers_nothing() {
    if !require_nix() {
        return;
    }
    let env = TestEnv::new();
    let mut daemon = NixDaemon::start(env.root());
    let nar = big_nar(16 << 20);
    let h = Hash::digest(Algo::Sha256, &nar);
    let path = StoreDir::default()
        .make_source_path(&h, "big", &Default::default())
        .unwrap();
    let info = PathInfo::source(path.clone(), h, nar.len() as u64);
    let printed = format!("/nix/store/{path}");

    let log = Collect::default();
    let store = DaemonStore::new(Options::new(Some(daemon.socket.clone())), Arc::new(log));
    assert_eq!(store.protocol_version().unwrap(), Version::v1(34));
    assert_eq!(
        store.daemon_nix_version().unwrap().as_deref(),
        Some("2.8.0")
    );
    let mut reader = KillHalfway {
        data: &nar,
        pos: 0,
        at_half: Some(|| daemon.kill()),
    };
    let err = store
        .add_nar(&info, &mut reader, CheckSigs::Check)
        .unwrap_err();
    assert_eq!(
        format!("{err:#}"),
        "Nix daemon disconnected unexpectedly (maybe it crashed?)"
    );

    // Nothing is registered: a new daemon on the same store does not know the path, and a
    // second copy succeeds.
    daemon.restart();
    let store = DaemonStore::new(
        Options::new(Some(daemon.socket.clone())),
        Arc::new(Collect::default()),
    );
    assert!(store.query_path_info(&path).unwrap().is_none());
    let out = env.run_nix(&["path-info", "--store", &daemon.uri(), &printed]);
    assert!(!out.success(), "{out:?}");
    store
        .add_nar(&info, &mut &nar[..], CheckSigs::Check)
        .unwrap();
    let got = store.query_path_info(&path).unwrap().unwrap();
    assert_eq!(
        (got.nar_hash, got.nar_size),
        (info.nar_hash.clone(), info.nar_size)
    );
    assert_eq!(got.ca, info.ca);

    // The NAR comes back as it went in.
    let mut back = Vec::new();
    store.nar_from_path(&path, &mut back).unwrap();
    assert!(back == nar, "narFromPath returned other bytes");
    assert!(store.is_valid_path(&path).unwrap());
    assert_eq!(
        store.query_path_from_hash_part(path.hash_part()).unwrap(),
        Some(path.clone())
    );
    store.add_temp_root(&path).unwrap();
    store.ensure_path(&path).unwrap();
    let valid = store
        .query_valid_paths(&BTreeSet::from([path.clone()]))
        .unwrap();
    assert_eq!(valid, BTreeSet::from([path.clone()]));
    // In the daemon's private store, not the machine's.
    assert!(
        fs::symlink_metadata(daemon.store.join("nix/store").join(path.base_name()))
            .unwrap()
            .is_file()
    );
}

#[test]
fn a_daemon_killed_mid_batch_keeps_only_the_paths_it_finished() {
    if !require_nix() {
        return;
    }
    let env = TestEnv::new();
    let mut daemon = NixDaemon::start(env.root());
    let nars = [big_nar(100), big_nar(16 << 20)];
    let infos: Vec<PathInfo> = nars
        .iter()
        .zip(["first", "second"])
        .map(|(nar, name)| {
            let h = Hash::digest(Algo::Sha256, nar);
            let p = StoreDir::default()
                .make_source_path(&h, name, &Default::default())
                .unwrap();
            PathInfo::source(p, h, nar.len() as u64)
        })
        .collect();
    let store = DaemonStore::new(
        Options::new(Some(daemon.socket.clone())),
        Arc::new(Collect::default()),
    );
    let mut kill = Some(|| daemon.kill());
    let err = store
        .add_multiple(
            &infos,
            &mut |info, w| {
                let nar = if info.path == infos[0].path {
                    &nars[0]
                } else {
                    &nars[1]
                };
                for (i, chunk) in nar.chunks(1 << 16).enumerate() {
                    if i == 64
                        && let Some(mut k) = kill.take()
                    {
                        k();
                    }
                    w.write_all(chunk)?;
                }
                Ok(())
            },
            CheckSigs::Check,
        )
        .unwrap_err();
    assert_eq!(
        format!("{err:#}"),
        "Nix daemon disconnected unexpectedly (maybe it crashed?)"
    );

    // The first path was complete and stays; the second is not registered.
    daemon.restart();
    let store = DaemonStore::new(
        Options::new(Some(daemon.socket.clone())),
        Arc::new(Collect::default()),
    );
    let first = store.query_path_info(&infos[0].path).unwrap().unwrap();
    assert_eq!(first.nar_hash, infos[0].nar_hash);
    assert!(store.query_path_info(&infos[1].path).unwrap().is_none());
}

#[test]
fn untrusted_clients_add_sources_and_see_the_daemons_warnings() {
    if !require_nix() {
        return;
    }
    let env = TestEnv::new();
    let daemon = NixDaemon::start_with(env.root(), "trusted-users = nobody\n");
    let log = Collect::default();
    let opts = Options {
        client: ClientOptions {
            overrides: vec![("substituters".to_owned(), "http://127.0.0.1:1".to_owned())],
            ..ClientOptions::default()
        },
        ..Options::new(Some(daemon.socket.clone()))
    };
    let store = DaemonStore::new(opts, Arc::new(log.clone()));
    assert_eq!(store.trust().unwrap(), None, "1.34 does not say");
    assert_eq!(
        log.lines(),
        ["warning: ignoring untrusted substituter 'http://127.0.0.1:1'"]
    );

    let nar = big_nar(10);
    let h = Hash::digest(Algo::Sha256, &nar);
    let path = StoreDir::default()
        .make_source_path(&h, "small", &Default::default())
        .unwrap();
    // A NAR that does not match its info: the daemon's error; the connection goes on.
    let mut info = PathInfo::source(path.clone(), h, nar.len() as u64);
    info.nar_size += 8;
    let err = store
        .add_nar(&info, &mut &nar[..], CheckSigs::NoCheck)
        .unwrap_err();
    assert!(format!("{err:#}").contains("size mismatch"), "{err:#}");
    assert!(store.query_path_info(&path).unwrap().is_none());

    // A content-addressed source needs no signature, even from an untrusted client.
    info.nar_size -= 8;
    store
        .add_nar(&info, &mut &nar[..], CheckSigs::Check)
        .unwrap();
    assert!(store.is_valid_path(&path).unwrap());
    // A path without a content address or signature is refused, even with `NoCheck`: the
    // daemon checks signatures of untrusted clients whatever they ask.
    let nar2 = big_nar(11);
    let h2 = Hash::digest(Algo::Sha256, &nar2);
    let p2 = StoreDir::default()
        .make_source_path(&h2, "unsigned", &Default::default())
        .unwrap();
    let mut unsigned = PathInfo::source(p2.clone(), h2, nar2.len() as u64);
    unsigned.ca = None;
    let err = store
        .add_nar(&unsigned, &mut &nar2[..], CheckSigs::NoCheck)
        .unwrap_err();
    assert_eq!(
        format!("{err:#}"),
        format!("cannot add path '/nix/store/{p2}' because it lacks a valid signature")
    );
    assert!(!store.is_valid_path(&p2).unwrap());
}

/// The user's overridden store settings reach the daemon with `setOptions`, as Nix sends them:
/// an untrusted client sees the daemon refuse each restricted one (its debug message) and
/// filter the substituters (its warning); settings of other layers stay with the client.
#[test]
fn overridden_settings_are_forwarded_to_the_daemon() {
    if !require_nix() {
        return;
    }
    let mut env = TestEnv::new();
    flake(&mut env);
    let daemon = NixDaemon::start_with(env.root(), "trusted-users = nobody\n");
    env.add_nix_config("keep-outputs = yes");
    env.add_nix_config("extra-substituters = http://127.0.0.1:1");
    env.add_nix_config("tarball-ttl = 5");
    env.add_nix_config("show-trace = true");
    let out = env.run(&[
        "--debug",
        "--option",
        "connect-timeout",
        "7",
        "flake",
        "archive",
        "--to",
        &daemon.uri(),
    ]);
    assert!(out.success(), "{out:?}");
    let refused = |name: &str| {
        format!(
            "ignoring the client-specified setting '{name}', because it is a restricted \
             setting and you are not a trusted user"
        )
    };
    let lines: Vec<&str> = out.stderr().lines().collect();
    for name in ["keep-outputs", "store", "build-users-group"] {
        assert!(lines.contains(&refused(name).as_str()), "{name}: {out:?}");
    }
    // `connect-timeout` is one an untrusted client may set: no complaint.
    for name in [
        "connect-timeout",
        "tarball-ttl",
        "show-trace",
        "flake-registry",
    ] {
        assert!(!lines.contains(&refused(name).as_str()), "{name}: {out:?}");
    }
    assert!(
        lines.contains(&"warning: ignoring untrusted substituter 'http://127.0.0.1:1'"),
        "{out:?}"
    );
}

/// Relays every connection to `listener` to the daemon at `upstream`, counting them.
fn counting_relay(
    listener: std::os::unix::net::UnixListener,
    upstream: std::path::PathBuf,
) -> Arc<std::sync::atomic::AtomicUsize> {
    use std::os::unix::net::UnixStream;
    let count = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let c = count.clone();
    std::thread::spawn(move || {
        for client in listener.incoming() {
            let Ok(client) = client else { return };
            c.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let daemon = UnixStream::connect(&upstream).unwrap();
            for (mut from, mut to) in [
                (client.try_clone().unwrap(), daemon.try_clone().unwrap()),
                (daemon, client),
            ] {
                std::thread::spawn(move || {
                    let _ = std::io::copy(&mut from, &mut to);
                    let _ = to.shutdown(std::net::Shutdown::Write);
                });
            }
        }
    });
    count
}

/// `max-connections` bounds the daemon connections a copy opens; a big copy uses them all
/// (several daemon processes import at once), and every path arrives.
#[test]
fn max_connections_splits_a_big_copy_over_that_many_daemon_processes() {
    if !require_nix() {
        return;
    }
    let env = TestEnv::new();
    let daemon = NixDaemon::start(env.root());
    let proxy = env.path("proxy.sock");
    let count = counting_relay(
        std::os::unix::net::UnixListener::bind(&proxy).unwrap(),
        daemon.socket.clone(),
    );
    let cfg =
        rflake::store::open::OpenConfig::new(&Default::default(), Default::default()).unwrap();
    let open = |uri: &str| {
        rflake::store::open::open(
            &rflake::store::uri::StoreUri::parse(uri, env.root()),
            &cfg,
            &Collect::default(),
        )
        .unwrap()
    };
    let local = open(&env.path("local").display().to_string());
    let mut paths = BTreeSet::new();
    for i in 0..40 {
        let nar = big_nar(i + 1);
        let h = Hash::digest(Algo::Sha256, &nar);
        let p = StoreDir::default()
            .make_source_path(&h, &format!("p{i}"), &Default::default())
            .unwrap();
        let info = PathInfo::source(p.clone(), h, nar.len() as u64);
        local
            .add_nar(&info, &mut &nar[..], CheckSigs::NoCheck)
            .unwrap();
        paths.insert(p);
    }
    let remote = open(&format!("unix://{}?max-connections=3", proxy.display()));
    let opts = rflake::store::copy::CopyOptions::default();
    let copied =
        rflake::store::copy::copy_paths(&*local, &*remote, &paths, opts, &Collect::default())
            .unwrap();
    assert_eq!(copied, paths);
    assert_eq!(count.load(std::sync::atomic::Ordering::SeqCst), 3);
    // The daemon has every path, with the local store's NAR hash.
    let direct = DaemonStore::new(
        Options::new(Some(daemon.socket.clone())),
        Arc::new(Collect::default()),
    );
    assert_eq!(direct.query_valid_paths(&paths).unwrap(), paths);
    for p in &paths {
        assert_eq!(
            direct.query_path_info(p).unwrap().unwrap().nar_hash,
            local.query_path_info(p).unwrap().unwrap().nar_hash
        );
    }

    // A value that is not a number is an error naming the parameter.
    let mut env = env;
    env.write("work/f/flake.nix", "{ outputs = { self }: { }; }\n");
    env.set_cwd("work/f");
    let out = env.run(&[
        "flake",
        "archive",
        "--to",
        &format!("unix://{}?max-connections=many", daemon.socket.display()),
    ]);
    assert_eq!(out.status().code(), Some(1), "{out:?}");
    assert!(
        out.stderr()
            .contains("setting 'max-connections' has invalid value 'many'"),
        "{out:?}"
    );
}

/// One direction of a recorded exchange: bytes the client sent (`C`) or the daemon sent
/// (`D`), in the order they crossed the socket.
type Transcript = Vec<(char, Vec<u8>)>;

/// Relays one connection from `listener` to the daemon at `upstream`, recording what crosses
/// it; returns the transcript when the client hangs up.
fn record_one(
    listener: std::os::unix::net::UnixListener,
    upstream: std::path::PathBuf,
) -> std::thread::JoinHandle<Transcript> {
    use std::io::Write as _;
    use std::net::Shutdown;
    use std::os::unix::net::UnixStream;
    use std::sync::Mutex;
    fn pump(mut from: UnixStream, mut to: UnixStream, dir: char, log: &Mutex<Transcript>) {
        let mut buf = [0u8; 1 << 16];
        loop {
            match from.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    {
                        let mut log = log.lock().unwrap();
                        match log.last_mut() {
                            Some((d, bytes)) if *d == dir => bytes.extend_from_slice(&buf[..n]),
                            _ => log.push((dir, buf[..n].to_vec())),
                        }
                    }
                    if to.write_all(&buf[..n]).is_err() {
                        break;
                    }
                }
            }
        }
        let _ = to.shutdown(Shutdown::Write);
    }
    std::thread::spawn(move || {
        let (client, _) = listener.accept().unwrap();
        let daemon = UnixStream::connect(&upstream).unwrap();
        let (c2, d2) = (client.try_clone().unwrap(), daemon.try_clone().unwrap());
        let log = Arc::new(Mutex::new(Transcript::new()));
        let up_log = log.clone();
        let up = std::thread::spawn(move || pump(client, daemon, 'C', &up_log));
        pump(d2, c2, 'D', &log);
        up.join().unwrap();
        Arc::try_unwrap(log).unwrap().into_inner().unwrap()
    })
}

/// The transcript as text: one `C <hex>` or `D <hex>` line per turn.
fn render(t: &Transcript) -> String {
    t.iter()
        .map(|(d, b)| {
            let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
            format!("{d} {hex}\n")
        })
        .collect()
}

fn parse_transcript(text: &str) -> Transcript {
    text.lines()
        .map(|l| {
            let (d, hex) = l.split_once(' ').unwrap();
            let bytes = (0..hex.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
                .collect();
            (d.chars().next().unwrap(), bytes)
        })
        .collect()
}

/// Everything one side sent, with the daemon's activity ids zeroed: they are
/// `pid << 32 | counter`, so any 8-byte word whose high half is a possible pid (1 to 2^22)
/// is masked. (Text and hashes never look like that; a short padded string may, on both sides
/// alike.)
fn side(t: &Transcript, dir: char) -> Vec<u8> {
    let mut bytes: Vec<u8> = t
        .iter()
        .filter(|(d, _)| *d == dir)
        .flat_map(|(_, b)| b.clone())
        .collect();
    if dir == 'D' {
        for word in bytes.chunks_exact_mut(8) {
            let w = u64::from_le_bytes(word.try_into().unwrap());
            if (1..1 << 22).contains(&(w >> 32)) {
                word.fill(0);
            }
        }
    }
    bytes
}

const SESSION: &str = "tests/data/daemon/session-2.8.transcript";

/// Every operation rflake uses, with fixed inputs; returns what each answered.
fn session(store: &DaemonStore) -> Vec<String> {
    let nar = big_nar(6);
    let h = Hash::digest(Algo::Sha256, &nar);
    let dir = StoreDir::default();
    let p = dir
        .make_source_path(&h, "session", &Default::default())
        .unwrap();
    let other = dir
        .make_source_path(
            &Hash::digest(Algo::Sha256, b"x"),
            "other",
            &Default::default(),
        )
        .unwrap();
    let info = PathInfo::source(p.clone(), h, nar.len() as u64);
    let mut out = vec![
        format!("version {}", store.protocol_version().unwrap()),
        format!("valid {}", store.is_valid_path(&p).unwrap()),
    ];
    store
        .add_nar(&info, &mut &nar[..], CheckSigs::Check)
        .unwrap();
    let both = BTreeSet::from([p.clone(), other.clone()]);
    out.push(format!(
        "validPaths {:?}",
        store.query_valid_paths(&both).unwrap()
    ));
    let mut back = Vec::new();
    store.nar_from_path(&p, &mut back).unwrap();
    out.push(format!("nar same {}", back == nar));
    out.push(format!(
        "fromHashPart {:?} {:?}",
        store.query_path_from_hash_part(p.hash_part()).unwrap(),
        store.query_path_from_hash_part(other.hash_part()).unwrap()
    ));
    store.add_temp_root(&p).unwrap();
    let missing = store
        .query_missing(&[
            rflake::store::daemon::DerivedPath::Opaque(p.clone()),
            rflake::store::daemon::DerivedPath::Opaque(other.clone()),
        ])
        .unwrap();
    out.push(format!("missing {missing:?}"));
    out.push(format!(
        "ensure other: {:#}",
        store.ensure_path(&other).unwrap_err()
    ));
    out.push(format!("valid {}", store.is_valid_path(&p).unwrap()));
    out.push(format!(
        "info other {:?}",
        store.query_path_info(&other).unwrap()
    ));
    out
}

/// What [`session`] answers.
const SESSION_RESULTS: [&str; 9] = [
    "version 1.34",
    "valid false",
    "validPaths {StorePath(7skbmnjslrlk5maac6b317827k87smv1-session)}",
    "nar same true",
    "fromHashPart Some(StorePath(7skbmnjslrlk5maac6b317827k87smv1-session)) None",
    "missing Missing { will_build: {}, will_substitute: {}, unknown: {StorePath(k3kv1m0zkw791dkyapszkb96ch6s45rv-other)}, download_size: 0, nar_size: 0 }",
    "ensure other: path '/nix/store/k3kv1m0zkw791dkyapszkb96ch6s45rv-other' does not exist and cannot be created",
    "valid true",
    "info other None",
];

/// The session of [`SESSION`] against a real Nix 2.8 daemon: what rflake sends and what the
/// daemon answers are the recorded bytes. `RFLAKE_RECORD_DAEMON_SESSION=1` rewrites the file.
#[test]
fn recorded_session_is_what_nix_2_8_exchanges() {
    if !require_nix() {
        return;
    }
    let env = TestEnv::new();
    let daemon = NixDaemon::start(env.root());
    let proxy = env.path("proxy.sock");
    let listener = std::os::unix::net::UnixListener::bind(&proxy).unwrap();
    let recorder = record_one(listener, daemon.socket.clone());
    let store = DaemonStore::new(Options::new(Some(proxy)), Arc::new(Collect::default()));
    let results = session(&store);
    drop(store);
    let transcript = recorder.join().unwrap();
    assert_eq!(results, SESSION_RESULTS);

    let file = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(SESSION);
    if std::env::var_os("RFLAKE_RECORD_DAEMON_SESSION").is_some() {
        fs::write(&file, render(&transcript)).unwrap();
    }
    let recorded = parse_transcript(&fs::read_to_string(&file).unwrap());
    for (dir, who) in [('C', "rflake"), ('D', "the daemon")] {
        let (now, then) = (side(&transcript, dir), side(&recorded, dir));
        let at = now.iter().zip(&then).position(|(a, b)| a != b);
        assert!(
            now == then,
            "{who} sent other bytes than recorded ({} vs {} bytes, first difference at {at:?}): \
             {:?}",
            now.len(),
            then.len(),
            at.map(|i| String::from_utf8_lossy(
                &now[i.saturating_sub(16)..(i + 48).min(now.len())]
            ))
        );
    }
}

/// The recorded session replayed without a daemon: a scripted peer sends each recorded answer
/// once rflake has sent exactly the recorded request.
#[test]
fn recorded_session_replays_byte_for_byte() {
    use std::io::Write as _;
    let env = TestEnv::new();
    let sock = env.path("replay.sock");
    let listener = std::os::unix::net::UnixListener::bind(&sock).unwrap();
    let file = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(SESSION);
    let recorded = parse_transcript(&fs::read_to_string(file).unwrap());
    assert!(recorded.len() > 20, "the recorded session is incomplete");
    let server = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        for (turn, (dir, bytes)) in recorded.iter().enumerate() {
            if *dir == 'D' {
                s.write_all(bytes).unwrap();
                continue;
            }
            let mut got = vec![0u8; bytes.len()];
            s.read_exact(&mut got).unwrap();
            assert!(got == *bytes, "turn {turn}: rflake sent other bytes");
        }
        // No more answers: a client waiting for one sees the end instead of hanging.
        s.shutdown(std::net::Shutdown::Write).unwrap();
        let mut rest = Vec::new();
        s.read_to_end(&mut rest).unwrap();
        assert!(rest.is_empty(), "rflake sent more than recorded");
    });
    let log = Collect::default();
    let store = DaemonStore::new(Options::new(Some(sock)), Arc::new(log.clone()));
    let results = session(&store);
    drop(store);
    server.join().unwrap();
    assert_eq!(results, SESSION_RESULTS);
    // The daemon's one activity ("querying info about missing paths", queryMissing) is above
    // the default verbosity: nothing is shown, as with Nix.
    assert_eq!(log.lines(), Vec::<String>::new());
}

/// With `--debug` the daemon is told so (`setOptions`) and its debug messages are shown.
#[test]
fn the_daemons_messages_follow_the_verbosity() {
    if !require_nix() {
        return;
    }
    let mut env = TestEnv::new();
    flake(&mut env);
    let daemon = NixDaemon::start(env.root());
    let out = env.run(&["--debug", "flake", "archive", "--to", &daemon.uri()]);
    assert!(out.success(), "{out:?}");
    // Sent by the daemon's worker as it adds the root: its lock in the daemon's store.
    assert!(
        out.stderr()
            .lines()
            .any(|l| l.starts_with("locking path '$TEST_ENV/daemon-store/nix/store/")),
        "{out:?}"
    );
    // At the default verbosity the daemon says nothing.
    let daemon2 = NixDaemon::start(&env.path("second"));
    let out = env.run(&["flake", "archive", "--to", &daemon2.uri()]);
    assert!(out.success(), "{out:?}");
    assert!(
        out.stderr().lines().all(|l| l.starts_with("copying ")),
        "{out:?}"
    );
}
