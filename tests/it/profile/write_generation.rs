//! rflake writing a generation into a store Nix 2.8 uses: the object is registered as Nix
//! would register it, rooted, and the profile switches atomically; concurrent writers never
//! lose a generation.

use std::path::Path;

use rflake::profile::generations::{self, Roots};
use rflake::profile::{manifest, object, read};
use rflake::report::Collect;
use rflake::store::local::{LocalStore, Options};
use rflake::store::{StoreDir, StorePath};

use super::Fixture;

#[test]
fn rflake_generation_in_a_nix_2_8_profile() {
    let Some(f) = Fixture::new() else { return };
    let p = f.profile();
    let flake = f.write_flake("flake1", 1);
    f.nix_ok(&[
        "profile",
        "install",
        "--profile",
        &p,
        &format!("path:{}", flake.display()),
    ]);

    let store = LocalStore::open(Options::new(Some(f.env.path("store")))).unwrap();
    let fs = super::object_oracle_store_fs(&f);
    let dir = StoreDir::default();
    let report = Collect::default();
    let profile = Path::new(&p);
    let m = read::read_manifest(profile, &fs, &dir, &report).unwrap();
    let out = object::build(&m, &store, &fs, &report).unwrap();
    // Spec P4.3: the worked example's object path, for this test's flake directory.
    let text = manifest::to_json(&m, &dir);
    assert!(text.ends_with(r#""version":3}"#));
    let gen3 = generations::update(profile, &out, &Roots::of(&store)).unwrap();
    assert_eq!(gen3, f.env.path("profiles/profile-2-link"));
    assert_eq!(std::fs::read_link(&p).unwrap(), Path::new("profile-2-link"));
    // Rebuilding the same manifest gives the same object: no new generation.
    let again = object::build(
        &read::read_manifest(profile, &fs, &dir, &report).unwrap(),
        &store,
        &fs,
        &report,
    )
    .unwrap();
    assert_eq!(again, out);
    assert_eq!(
        generations::update(profile, &again, &Roots::of(&store)).unwrap(),
        gen3
    );
    assert!(report.lines().is_empty(), "{:?}", report.lines());
    drop(store);

    // Nix registered it as its own: same metadata, a GC root that survives a collection.
    let printed = dir.print(&out);
    let info = f.nix_ok(&["path-info", "--json", &printed]);
    let info: serde_json::Value = serde_json::from_str(&info).unwrap();
    let ours = object::plan(&m, &fs, &dir, &report).unwrap().info;
    assert_eq!(info[0]["narHash"], ours.nar_hash.to_sri());
    assert_eq!(info[0]["narSize"], ours.nar_size);
    assert_eq!(
        info[0]["ca"],
        format!("fixed:r:sha256:{}", ours.nar_hash.to_nix32())
    );
    assert_eq!(
        info[0]["references"],
        serde_json::json!(["/nix/store/110wni8ja3mn5bfyakpvaqmrjdb9b85p-hello-1.0"])
    );
    let root = f.env.path(format!(
        "store/nix/var/nix/gcroots/auto/{}",
        generations::indirect_root_name(&gen3)
    ));
    assert_eq!(std::fs::read_link(root).unwrap(), gen3);
    f.nix_ok(&["store", "gc"]);
    f.nix_ok(&["path-info", &printed]);
    // Nix 2.8 reads version 2 only: the new generation is version 3.
    let list = f.nix(&["profile", "list", "--profile", &p]);
    assert!(
        list.stderr().contains("has unsupported version 3"),
        "{list}"
    );
    // rflake lists the same elements from either generation.
    let old = f.rflake(&[
        "profile",
        "list",
        "--profile",
        &f.env.path("profiles/profile-1-link").display().to_string(),
    ]);
    let new = f.rflake(&["profile", "list", "--profile", &p]);
    assert!(new.success());
    assert_eq!(old.stdout(), new.stdout());
}

#[test]
fn concurrent_writers_never_lose_a_generation() {
    let env = crate::support::TestEnv::new();
    let profile = env.path("profiles/profile");
    std::fs::create_dir_all(env.path("profiles")).unwrap();
    let state = env.path("state-dir");
    let dir = StoreDir::default();
    std::thread::scope(|s| {
        for i in 0..8u8 {
            let (profile, state, dir) = (&profile, &state, &dir);
            s.spawn(move || {
                let hash = [i; 20];
                let out = StorePath::from_hash(&hash, "profile").unwrap();
                let roots = Roots {
                    registry: rflake::profile::generations::Registry::Local(state),
                    store_dir: dir,
                };
                generations::update(profile, &out, &roots).unwrap();
            });
        }
    });
    let (gens, current) = generations::find(&profile).unwrap();
    assert_eq!(
        gens.iter().map(|g| g.number).collect::<Vec<_>>(),
        (1..=8).collect::<Vec<_>>()
    );
    let targets: std::collections::BTreeSet<_> = gens
        .iter()
        .map(|g| std::fs::read_link(&g.path).unwrap())
        .collect();
    assert_eq!(targets.len(), 8);
    assert!(current.is_some());
    assert_eq!(
        std::fs::read_dir(state.join("gcroots/auto"))
            .unwrap()
            .count(),
        8
    );
    // No temporary link is left behind.
    let names: Vec<String> = std::fs::read_dir(env.path("profiles"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        names.iter().all(|n| n == "profile" || n.ends_with("-link")),
        "{names:?}"
    );
}
