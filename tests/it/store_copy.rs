//! Copying closures between real stores (`store::copy`): a local chroot store, a signed
//! `file://` cache and another local store, checked by Nix 2.8 at each step.

// Helpers outside `#[test]` functions unwrap too: a failure is a test failure.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::fs;

use rflake::report::Collect;
use rflake::settings::Settings;
use rflake::store::copy::{CopyOptions, copy_closure};
use rflake::store::open::{OpenConfig, StoreSettings, open};
use rflake::store::signature::SecretKey;
use rflake::store::uri::StoreUri;
use rflake::store::{CheckSigs, Store};

use crate::support::{TestEnv, require_nix};

fn store(env: &TestEnv, uri: &str, settings: &Settings) -> std::sync::Arc<dyn Store> {
    let store_settings = StoreSettings {
        require_sigs: settings.require_sigs,
        trusted_public_keys: settings.trusted_public_keys.clone(),
        secret_key_files: settings.secret_key_files.clone(),
        daemon_socket: None,
        ssh_opts: None,
        daemon_client: Default::default(),
    };
    let cfg = OpenConfig::new(&store_settings, Default::default()).unwrap();
    open(&StoreUri::parse(uri, env.root()), &cfg, &Collect::default()).unwrap()
}

#[test]
fn local_to_signed_cache_to_local_and_nix_reads_each_step() {
    let env = TestEnv::new();
    let secret = SecretKey::from_seed("demo-1", &std::array::from_fn(|i| i as u8));
    env.write("demo-1.sk", secret.to_file_text());
    let public = secret.to_public().to_string();
    let settings = Settings::default();

    // Two source trees added to a chroot store.
    let a = env.path("work/a");
    fs::create_dir_all(a.join("sub")).unwrap();
    fs::write(a.join("sub/file"), "a\n").unwrap();
    let b = env.path("work/b.txt");
    fs::write(&b, "b\n").unwrap();
    let src_root = env.path("src-store");
    let src = rflake::store::local::LocalStore::open(rflake::store::local::Options::new(Some(
        src_root.clone(),
    )))
    .unwrap();
    let (pa, _) = src.add_tree("source", &a).unwrap();
    let (pb, _) = src.add_tree("b.txt", &b).unwrap();
    let roots = BTreeSet::from([pa.clone(), pb.clone()]);

    // Local → signed file:// cache, xz.
    let cache = env.path("cache");
    let cache_uri = format!(
        "file://{}?secret-key={}",
        cache.display(),
        env.path("demo-1.sk").display()
    );
    let cache_store = store(&env, &cache_uri, &settings);
    let log = Collect::default();
    let copied = copy_closure(
        &src,
        cache_store.as_ref(),
        &roots,
        CopyOptions::default(),
        &log,
    )
    .unwrap();
    assert_eq!(copied, roots);
    let lines = log.lines();
    assert_eq!(lines[0], "copying 2 paths...");
    let src_uri = format!("local?root={}", src_root.display());
    assert_eq!(src.uri(), src_uri);
    for p in &roots {
        let line = format!(
            "copying path '/nix/store/{p}' to '{}'...",
            cache_store.uri()
        );
        assert!(lines.contains(&line), "{lines:?}");
        let info = cache_store.query_path_info(p).unwrap().unwrap();
        assert_eq!(info.sigs.len(), 1);
    }

    // Copying again copies and prints nothing.
    let log = Collect::default();
    assert!(
        copy_closure(
            &src,
            cache_store.as_ref(),
            &roots,
            CopyOptions::default(),
            &log
        )
        .unwrap()
        .is_empty()
    );
    assert!(log.lines().is_empty());

    // Cache → a fresh local store, checking signatures against the cache's key.
    let trusting = Settings {
        trusted_public_keys: vec![public.clone()],
        ..Settings::default()
    };
    let dst_root = env.path("dst-store");
    let dst = store(&env, dst_root.to_str().unwrap(), &trusting);
    let log = Collect::default();
    copy_closure(
        cache_store.as_ref(),
        dst.as_ref(),
        &roots,
        CopyOptions::default(),
        &log,
    )
    .unwrap();
    for p in &roots {
        assert_eq!(
            dst.query_path_info(p).unwrap().unwrap().nar_hash,
            src.query_path_info(p).unwrap().unwrap().nar_hash
        );
    }
    assert!(log.lines().contains(&format!(
        "copying path '/nix/store/{pa}' from '{}'...",
        cache_store.uri()
    )));

    if !require_nix() {
        return;
    }
    // Nix verifies the cache's signatures and the destination store's contents.
    for p in &roots {
        let full = format!("/nix/store/{p}");
        let verify = env.run_nix(&[
            "store",
            "verify",
            "--store",
            &format!("file://{}", cache.display()),
            "--trusted-public-keys",
            &public,
            &full,
        ]);
        assert!(verify.success(), "{verify}");
        let verify = env.run_nix(&[
            "store",
            "verify",
            "--store",
            dst_root.to_str().unwrap(),
            &full,
        ]);
        assert!(verify.success(), "{verify}");
    }
    // And Nix copies the cache into a store of its own.
    let nix_dst = env.path("nix-dst");
    let copied = env.run_nix(&[
        "copy",
        "--from",
        &format!("file://{}", cache.display()),
        "--to",
        nix_dst.to_str().unwrap(),
        "--trusted-public-keys",
        &public,
        &format!("/nix/store/{pa}"),
        &format!("/nix/store/{pb}"),
    ]);
    assert!(copied.success(), "{copied}");
    assert_eq!(
        fs::read_to_string(nix_dst.join(format!("nix/store/{pa}/sub/file"))).unwrap(),
        "a\n"
    );
}

#[test]
fn unsigned_paths_need_no_check_sigs() {
    let env = TestEnv::new();
    let src = store(
        &env,
        env.path("src").to_str().unwrap(),
        &Settings::default(),
    );
    let f = env.path("work/f");
    fs::write(&f, "x").unwrap();
    let local = rflake::store::local::LocalStore::open(rflake::store::local::Options::new(Some(
        env.path("src"),
    )))
    .unwrap();
    let (p, _) = local.add_tree("f", &f).unwrap();
    drop(local);
    // Strip the content address in an unsigned cache, so the path is neither signed nor CA.
    let cache = env.path("cache");
    let cache_store = store(
        &env,
        &format!("file://{}?compression=none", cache.display()),
        &Settings::default(),
    );
    let roots = BTreeSet::from([p.clone()]);
    copy_closure(
        src.as_ref(),
        cache_store.as_ref(),
        &roots,
        CopyOptions::default(),
        &Collect::default(),
    )
    .unwrap();
    let narinfo = cache.join(format!("{}.narinfo", p.hash_part()));
    let text = fs::read_to_string(&narinfo).unwrap();
    fs::write(
        &narinfo,
        text.lines()
            .filter(|l| !l.starts_with("CA:"))
            .map(|l| format!("{l}\n"))
            .collect::<String>(),
    )
    .unwrap();

    let dst = store(
        &env,
        env.path("dst").to_str().unwrap(),
        &Settings::default(),
    );
    let err = copy_closure(
        cache_store.as_ref(),
        dst.as_ref(),
        &roots,
        CopyOptions::default(),
        &Collect::default(),
    )
    .unwrap_err();
    assert!(
        format!("{err:#}").contains("lacks a signature by a trusted key"),
        "{err:#}"
    );
    assert!(dst.query_path_info(&p).unwrap().is_none());
    let opts = CopyOptions {
        check_sigs: CheckSigs::NoCheck,
        ..CopyOptions::default()
    };
    copy_closure(
        cache_store.as_ref(),
        dst.as_ref(),
        &roots,
        opts,
        &Collect::default(),
    )
    .unwrap();
    assert!(dst.query_path_info(&p).unwrap().is_some());
}
