//! rflake ↔ Nix 2.8 through `file://` caches.

use std::os::unix::fs::PermissionsExt as _;

use rflake::store::signature::{self, PublicKeys};
use rflake::store::{CheckSigs, Store, StoreDir};

use super::*;

/// Checks that `<dst>/nix/store/<T1>` is tree T1.
fn assert_t1_in(env: &TestEnv, dst: &str) {
    let root = env.path(dst).join(T1_PATH.trim_start_matches('/'));
    assert_eq!(
        std::fs::read_to_string(root.join("a.txt")).unwrap(),
        "hello\n"
    );
    let mode = std::fs::metadata(root.join("run.sh"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o100, 0o100, "run.sh is executable");
    assert_eq!(
        std::fs::read_link(root.join("link")).unwrap().to_str(),
        Some("a.txt")
    );
    assert_eq!(std::fs::read(root.join("sub/empty")).unwrap(), b"");
}

/// Writes a key made by `nix key generate-secret --key-name test-1` to `<root>/test-1.sk` and
/// returns the file and the public key.
fn nix_key(env: &TestEnv) -> (PathBuf, String) {
    let secret = nix_ok(env, &["key", "generate-secret", "--key-name", "test-1"]);
    let file = env.path("test-1.sk");
    std::fs::write(&file, secret.stdout()).unwrap();
    let mut cmd = env.command("nix");
    cmd.args(["key", "convert-secret-to-public"])
        .stdin(std::fs::File::open(&file).unwrap());
    let public = env.run_command(&mut cmd);
    assert!(public.success(), "{public}");
    (file, public.stdout().trim().to_owned())
}

#[test]
fn nix_copies_from_caches_rflake_writes() {
    let Some(env) = nix_env() else { return };
    let t1 = write_t1(&env);
    let nar = nix_dump(&env, &t1);
    let mut ours = vec![];
    rflake::store::nar::dump(&t1, &mut ours).unwrap();
    assert_eq!(nar, ours, "nix-store --dump and nar::dump agree");
    for (method, ext) in COMPRESSIONS {
        let cache = env.path(format!("cache-{method}"));
        let store = open(&file_uri(&cache, &format!("compression={method}")));
        store
            .add_nar(&t1_info(true), &mut nar.as_slice(), CheckSigs::Check)
            .unwrap();

        let text = env.read(format!(
            "cache-{method}/k30i9rm3dc3almwwl0l6hjpnpx0wjhxz.narinfo"
        ));
        let file_hash = field(&text, "FileHash").strip_prefix("sha256:").unwrap();
        let url = format!("nar/{file_hash}.nar{ext}");
        let file = std::fs::read(cache.join(&url)).unwrap();
        let expected = format!(
            "StorePath: {T1_PATH}\nURL: {url}\nCompression: {method}\n\
             FileHash: sha256:{file_hash}\nFileSize: {}\nNarHash: sha256:{T1_NAR_NIX32}\n\
             NarSize: 1264\nReferences: \nCA: fixed:r:sha256:{T1_NAR_NIX32}\n",
            file.len()
        );
        assert_eq!(text, expected, "{method}");
        if method == "none" {
            assert_eq!(file, nar);
            assert_eq!(file_hash, T1_NAR_NIX32);
        }

        let from = file_uri(&cache, "");
        let dst = format!("dst-{method}");
        let dst_path = env.path(&dst).display().to_string();
        nix_ok(&env, &["copy", "--from", &from, "--to", &dst_path, T1_PATH]);
        assert_t1_in(&env, &dst);
        let json = nix_ok(&env, &["path-info", "--json", "--store", &from, T1_PATH]);
        let v: serde_json::Value = serde_json::from_str(json.stdout()).unwrap();
        assert_eq!(v[0]["narHash"], T1_NAR_SRI, "{method}");
        assert_eq!(v[0]["narSize"], T1_NAR_SIZE, "{method}");
    }
}

#[test]
fn nix_verifies_signatures_rflake_makes() {
    let Some(env) = nix_env() else { return };
    let nar = nix_dump(&env, &write_t1(&env));
    let (test_key, test_public) = nix_key(&env);
    let demo_key = env.path("demo-1.sk");
    std::fs::write(&demo_key, DEMO_SECRET).unwrap();
    // Input-addressed, so only signatures can make it trusted.
    let info = t1_info(false);

    let signed = env.path("signed");
    let query = format!(
        "secret-key={}&secret-keys={}",
        test_key.display(),
        demo_key.display()
    );
    let store = open(&file_uri(&signed, &query));
    store
        .add_nar(&info, &mut nar.as_slice(), CheckSigs::Check)
        .unwrap();
    let text = env.read("signed/k30i9rm3dc3almwwl0l6hjpnpx0wjhxz.narinfo");
    let sigs: Vec<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("Sig: "))
        .collect();
    assert_eq!(sigs.len(), 2, "{text}");
    assert!(
        sigs[0].starts_with("demo-1:") && sigs[1].starts_with("test-1:"),
        "sorted"
    );

    let from = file_uri(&signed, "");
    let shown = nix_ok(&env, &["path-info", "--sigs", "--store", &from, T1_PATH]);
    for sig in &sigs {
        assert!(shown.stdout().contains(sig), "{shown}");
    }
    for key in [test_public.as_str(), DEMO_PUBLIC] {
        let opt = ["--option", "trusted-public-keys", key];
        nix_ok(
            &env,
            &[&["store", "verify", "--store", &from][..], &opt, &[T1_PATH]].concat(),
        );
    }
    let untrusted = env.run_nix(&["store", "verify", "--store", &from, T1_PATH]);
    assert!(!untrusted.success(), "{untrusted}");
    assert!(untrusted.stderr().contains("is untrusted"), "{untrusted}");

    // Copying into a local store checks the signatures.
    let dst = env.path("dst").display().to_string();
    let refused = env.run_nix(&["copy", "--from", &from, "--to", &dst, T1_PATH]);
    assert!(!refused.success(), "{refused}");
    assert!(
        refused.stderr().contains("lacks a valid signature"),
        "{refused}"
    );
    nix_ok(
        &env,
        &[
            "copy",
            "--from",
            &from,
            "--to",
            &dst,
            "--option",
            "trusted-public-keys",
            &test_public,
            T1_PATH,
        ],
    );
    assert_t1_in(&env, "dst");

    // rflake's own check agrees with Nix's.
    let read_back = store
        .query_path_info(&store_path(T1_PATH))
        .unwrap()
        .unwrap();
    let dir = StoreDir::default();
    for key in [test_public.as_str(), DEMO_PUBLIC] {
        let keys = PublicKeys::parse([key]).unwrap();
        signature::check_trusted(&read_back, &dir, &keys, true, CheckSigs::Check).unwrap();
    }
    let e = signature::check_trusted(&read_back, &dir, &PublicKeys::new(), true, CheckSigs::Check)
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        format!("cannot add path '{T1_PATH}' because it lacks a signature by a trusted key")
    );

    // Unsigned and input-addressed: only `--no-check-sigs` gets it in.
    let unsigned = env.path("unsigned");
    open(&file_uri(&unsigned, "compression=none"))
        .add_nar(&info, &mut nar.as_slice(), CheckSigs::Check)
        .unwrap();
    let from = file_uri(&unsigned, "");
    let dst2 = env.path("dst2").display().to_string();
    let refused = env.run_nix(&["copy", "--from", &from, "--to", &dst2, T1_PATH]);
    assert!(!refused.success(), "{refused}");
    nix_ok(
        &env,
        &[
            "copy",
            "--no-check-sigs",
            "--from",
            &from,
            "--to",
            &dst2,
            T1_PATH,
        ],
    );
    assert_t1_in(&env, "dst2");
}

#[test]
fn rflake_reads_caches_nix_writes() {
    let Some(env) = nix_env() else { return };
    let t1 = write_t1(&env);
    let nar = nix_dump(&env, &t1);
    let (key, public) = nix_key(&env);
    let src = env.path("src").display().to_string();
    let added = nix_ok(
        &env,
        &[
            "store",
            "add-path",
            "--store",
            &src,
            "--name",
            "source",
            t1.to_str().unwrap(),
        ],
    );
    assert_eq!(added.stdout().trim(), T1_PATH);
    let json = nix_ok(&env, &["path-info", "--json", "--store", &src, T1_PATH]);
    let v: serde_json::Value = serde_json::from_str(json.stdout()).unwrap();
    assert_eq!(v[0]["narHash"], T1_NAR_SRI);

    for (method, ext) in COMPRESSIONS {
        let cache = env.path(format!("nix-cache-{method}"));
        let to = file_uri(
            &cache,
            &format!("compression={method}&secret-key={}", key.display()),
        );
        nix_ok(&env, &["copy", "--from", &src, "--to", &to, T1_PATH]);

        let store = open(&file_uri(&cache, ""));
        let path = store_path(T1_PATH);
        let ni = store.query_nar_info(&path).unwrap().unwrap();
        assert_eq!(ni.compression.name(), method);
        assert!(ni.url.ends_with(&format!(".nar{ext}")), "{}", ni.url);
        assert_eq!(ni.info.nar_hash.to_sri(), T1_NAR_SRI);
        assert_eq!(ni.info.nar_size, T1_NAR_SIZE);
        assert_eq!(ni.info, store.query_path_info(&path).unwrap().unwrap());
        let mut got = vec![];
        store.nar_from_path(&path, &mut got).unwrap();
        assert_eq!(got, nar, "{method}");

        // Nix's signature verifies with rflake, also without the content address.
        let mut info = ni.info.clone();
        info.ca = None;
        let keys = PublicKeys::parse([public.as_str()]).unwrap();
        assert_eq!(
            signature::count_valid_sigs(&info, &StoreDir::default(), &keys),
            1
        );
    }
}
