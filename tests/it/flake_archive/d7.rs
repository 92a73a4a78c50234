//! Fixture D7 of the spec, at `/tmp/demo`: locking, the JSON vectors, `--to` a signed
//! `file://` cache and `--to` a local store, with every value the spec gives asserted verbatim.

use std::collections::BTreeSet;
use std::fs;

use super::{
    D7_DATA_PATH, D7_DEP1_PATH, D7_DEP2_PATH, D7_LOCK_2_8, D7_ROOT_PATH, D7_ROOT_REV, D7_SIGS,
    Demo, d7_lock_current, demo_env, in_store,
};
use crate::binary_cache::{DEMO_PUBLIC, DEMO_SECRET};
use crate::support::{git_in, require_nix};

/// Spec D3, "Current, piped (compact)".
const COMPACT: &str = r#"{"inputs":{"data":{"inputs":{},"path":"/nix/store/acn6d5q9z6pgssd99b8ci5l7l4zkvf5i-source"},"dep1":{"inputs":{},"path":"/nix/store/v8hpgclcsbgm592ngsplbysna5ly96mn-source"},"dep2":{"inputs":{},"path":"/nix/store/j6dnks4ry2i54wihyflpp0hxa0fjnr3i-source"},"mid":{"inputs":{"dep1":{"inputs":{},"path":"/nix/store/v8hpgclcsbgm592ngsplbysna5ly96mn-source"}},"path":"/nix/store/j6dnks4ry2i54wihyflpp0hxa0fjnr3i-source"}},"path":"/nix/store/pkidrwywjvgcxddjrfs5lkvb4dj3lvf1-source"}"#;

/// Spec D3, "Current, `--pretty`".
const PRETTY: &str = r#"{
  "inputs": {
    "data": {
      "inputs": {},
      "path": "/nix/store/acn6d5q9z6pgssd99b8ci5l7l4zkvf5i-source"
    },
    "dep1": {
      "inputs": {},
      "path": "/nix/store/v8hpgclcsbgm592ngsplbysna5ly96mn-source"
    },
    "dep2": {
      "inputs": {},
      "path": "/nix/store/j6dnks4ry2i54wihyflpp0hxa0fjnr3i-source"
    },
    "mid": {
      "inputs": {
        "dep1": {
          "inputs": {},
          "path": "/nix/store/v8hpgclcsbgm592ngsplbysna5ly96mn-source"
        }
      },
      "path": "/nix/store/j6dnks4ry2i54wihyflpp0hxa0fjnr3i-source"
    }
  },
  "path": "/nix/store/pkidrwywjvgcxddjrfs5lkvb4dj3lvf1-source"
}"#;

/// Spec C5 (current wording: double quotes, a diff also on creation, `+`/`=` percent-encoded in
/// the rendered refs, git refs with `ref` and `rev` only, dates in UTC), for D7. Then the
/// re-read of the root, now dirty with the new `flake.lock`, warns as current Nix's git fetcher
/// does (`warnDirty`, spec D6).
const CREATE_MESSAGE: &str = "\
warning: creating lock file \"/tmp/demo/root/flake.lock\": 
• Added input 'data':
    'path:/tmp/demo/data?lastModified=1700000000&narHash=sha256-v4U9FOWp29Qasi9sZiH6JO2x9EsMwg9TmPuxq78H510%3D' (2023-11-14)
• Added input 'dep1':
    'path:/tmp/demo/dep1?lastModified=1700000000&narHash=sha256-j6tWX3GWsSJY3dxC%2Bkq/JLuXlMembNGvHeY9D7t3W1o%3D' (2023-11-14)
• Added input 'dep2':
    'git+file:///tmp/demo/dep2?ref=refs/heads/main&rev=0ba6a064a6be7b4692a891142aa1aaa6c97b992b' (2023-11-14)
• Added input 'dep2/dep1':
    follows 'dep1'
• Added input 'mid':
    'git+file:///tmp/demo/dep2?ref=refs/heads/main&rev=0ba6a064a6be7b4692a891142aa1aaa6c97b992b' (2023-11-14)
• Added input 'mid/dep1':
    'path:/tmp/demo/dep1?lastModified=1700000000&narHash=sha256-j6tWX3GWsSJY3dxC%2Bkq/JLuXlMembNGvHeY9D7t3W1o%3D' (2023-11-14)
warning: Git tree '/tmp/demo/root' is dirty
";

/// Spec A5.5: dep1's narinfo in a `compression=none` cache signed with `demo-1`.
const DEP1_NARINFO: &str = "\
StorePath: /nix/store/v8hpgclcsbgm592ngsplbysna5ly96mn-source
URL: nar/0njvfyxhygg63npx2v56qya9gfr4px5glhnwvmc25ccnf5gmdawg.nar
Compression: none
FileHash: sha256:0njvfyxhygg63npx2v56qya9gfr4px5glhnwvmc25ccnf5gmdawg
FileSize: 352
NarHash: sha256:0njvfyxhygg63npx2v56qya9gfr4px5glhnwvmc25ccnf5gmdawg
NarSize: 352
References: 
Sig: demo-1:pKhyCDE/TmMr9fNefYFXDRGPtz52PCj4yW97530h/jqBhOcrm6jyW1MJ9Xv3V30RhkbaIYa/VRn0IA9n+y9+AQ==
CA: fixed:r:sha256:0njvfyxhygg63npx2v56qya9gfr4px5glhnwvmc25ccnf5gmdawg
";

/// The four source paths, sorted.
const ALL_PATHS: [&str; 4] = [D7_DATA_PATH, D7_DEP2_PATH, D7_ROOT_PATH, D7_DEP1_PATH];

#[test]
fn lock_by_dry_run_writes_current_lock_and_adds_it_with_intent_to_add() {
    let (env, _demo) = demo_env(false);
    // There is no `flake lock` command: archiving locks.
    let out = env.run(&["flake", "archive", "--dry-run"]);
    assert!(out.success(), "{out:?}");
    assert_eq!(out.stdout(), "");
    assert_eq!(out.stderr(), CREATE_MESSAGE);
    assert_eq!(Demo::root_lock(), d7_lock_current());
    // Current Nix: `git add --intent-to-add` (2.8 staged the file, spec C5/E1).
    let root = Demo::path("root");
    assert_eq!(git_in(&root, &["status", "--porcelain"]), " A flake.lock\n");
    assert_eq!(git_in(&root, &["diff", "--cached", "--name-only"]), "");
    assert_eq!(git_in(&root, &["diff", "--name-only"]), "flake.lock\n");

    // Again: the lock is up to date, so nothing is written or said; the tree is still dirty.
    let out = env.run(&["flake", "archive", "--dry-run"]);
    assert!(out.success(), "{out:?}");
    assert_eq!(out.stdout(), "");
    assert_eq!(
        out.stderr(),
        "warning: Git tree '/tmp/demo/root' is dirty\n"
    );
    assert_eq!(Demo::root_lock(), d7_lock_current());
}

#[test]
fn lock_by_metadata_writes_the_same_lock() {
    let (env, _demo) = demo_env(false);
    let out = env.run(&["flake", "metadata", "--json"]);
    assert!(out.success(), "{out:?}");
    assert_eq!(out.stderr(), CREATE_MESSAGE);
    assert_eq!(Demo::root_lock(), d7_lock_current());
    assert_eq!(
        git_in(&Demo::path("root"), &["status", "--porcelain"]),
        " A flake.lock\n"
    );
}

#[test]
fn json_vectors_with_2_8_lock_committed() {
    let (env, _demo) = demo_env(true);

    // Piped: compact, one newline.
    let out = env.run(&["flake", "archive", "--json", "--dry-run"]);
    assert!(out.success(), "{out:?}");
    assert_eq!(out.stdout(), format!("{COMPACT}\n"));
    assert_eq!(out.stderr(), "");

    let out = env.run(&["flake", "archive", "--json", "--dry-run", "--pretty"]);
    assert!(out.success(), "{out:?}");
    assert_eq!(out.stdout(), format!("{PRETTY}\n"));
    assert_eq!(out.stderr(), "");

    let out = env.run(&["flake", "archive", "--json", "--dry-run", "--no-pretty"]);
    assert!(out.success(), "{out:?}");
    assert_eq!(out.stdout(), format!("{COMPACT}\n"));

    // The originals did not change, so 2.8's lock (short `ref`s) is kept as it is.
    assert_eq!(Demo::root_lock(), D7_LOCK_2_8);
    assert_eq!(git_in(&Demo::path("root"), &["status", "--porcelain"]), "");
    assert_eq!(Demo::root_head(), D7_ROOT_REV);
}

#[test]
fn dry_run_of_a_git_root_adds_nothing_to_the_store() {
    // Current Nix hashes a git root for `--dry-run` without copying it (`FetchMode::DryRun`);
    // its store path is the one a real archive adds.
    let (env, _demo) = demo_env(true);
    let store = env.path("store");
    let out = env.run(&["flake", "archive", "--json", "--dry-run"]);
    assert!(out.success(), "{out:?}");
    assert_eq!(out.stdout(), format!("{COMPACT}\n"));
    assert!(!in_store(&store, D7_ROOT_PATH), "the root was added");
    let left: Vec<String> = super::store_contents(&store)
        .into_iter()
        .filter(|n| n.starts_with("tmp-"))
        .collect();
    assert!(left.is_empty(), "temporaries left: {left:?}");
    // The same command without --dry-run adds exactly that path.
    let out = env.run(&["flake", "archive", "--json"]);
    assert!(out.success(), "{out:?}");
    assert!(in_store(&store, D7_ROOT_PATH));
}

#[test]
fn archive_without_to_fetches_every_path_into_the_local_store() {
    let (env, _demo) = demo_env(true);
    let store = env.path("store");
    let out = env.run(&["flake", "archive", "--json"]);
    assert!(out.success(), "{out:?}");
    // 2.8 printed the same paths with and without `--dry-run` (spec D3).
    assert_eq!(out.stdout(), format!("{COMPACT}\n"));
    assert_eq!(out.stderr(), "");
    for p in ALL_PATHS {
        assert!(in_store(&store, p), "{p} is not in the local store");
    }
    assert_eq!(Demo::root_lock(), D7_LOCK_2_8);
}

#[test]
fn to_signed_file_cache_writes_the_spec_signatures_and_nix_copies_from_it() {
    let (env, _demo) = demo_env(true);
    env.write("demo-1.sk", DEMO_SECRET);
    let cache = env.path("cache");
    let to = format!(
        "file://{}?compression=none&secret-key={}",
        cache.display(),
        env.path("demo-1.sk").display()
    );
    let out = env.run(&["flake", "archive", "--to", &to]);
    assert!(out.success(), "{out:?}");
    assert_eq!(out.stdout(), "");
    // Spec D7's stderr, with this cache's URL. The four copies run in parallel, so their lines
    // come in any order (docs/deviations.md, "Parallel uploads").
    let lines: Vec<&str> = out.stderr().lines().collect();
    assert_eq!(lines.len(), 5, "{out:?}");
    assert_eq!(lines[0], "copying 4 paths...");
    let copies: BTreeSet<&str> = lines[1..].iter().copied().collect();
    let expected: BTreeSet<String> = ALL_PATHS
        .iter()
        .map(|p| format!("copying path '{p}' to 'file://$TEST_ENV/cache'..."))
        .collect();
    assert_eq!(
        copies,
        expected.iter().map(String::as_str).collect::<BTreeSet<_>>()
    );

    // Four narinfos, each with the spec's signature; dep1's is the A5.5 vector byte for byte.
    let narinfos: Vec<_> = fs::read_dir(&cache)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".narinfo"))
        .collect();
    assert_eq!(narinfos.len(), 4, "{narinfos:?}");
    for (path, sig) in D7_SIGS {
        let hash = &path["/nix/store/".len()..][..32];
        let text = fs::read_to_string(cache.join(format!("{hash}.narinfo"))).unwrap();
        let sigs: Vec<&str> = text
            .lines()
            .filter_map(|l| l.strip_prefix("Sig: "))
            .collect();
        assert_eq!(sigs, [sig], "{path}:\n{text}");
    }
    let dep1_hash = &D7_DEP1_PATH["/nix/store/".len()..][..32];
    assert_eq!(
        fs::read_to_string(cache.join(format!("{dep1_hash}.narinfo"))).unwrap(),
        DEP1_NARINFO
    );
    // Archiving also put the four paths into the local store.
    for p in ALL_PATHS {
        assert!(in_store(&env.path("store"), p), "{p}");
    }

    // A second run finds everything in the cache and copies nothing.
    let out = env.run(&["flake", "archive", "--to", &to]);
    assert!(out.success(), "{out:?}");
    assert_eq!(out.stderr(), "");

    // Nix 2.8 copies the four paths from the cache into a fresh store.
    if !require_nix() {
        return;
    }
    let fresh = env.path("fresh").display().to_string();
    let from = format!("file://{}", cache.display());
    let mut args = vec![
        "copy",
        "--from",
        &from,
        "--store",
        &fresh,
        "--option",
        "trusted-public-keys",
        DEMO_PUBLIC,
    ];
    args.extend(ALL_PATHS);
    let nix = env.run_nix(&args);
    assert!(nix.success(), "{nix:?}");
    let mut args = vec!["--store", &fresh, "path-info"];
    args.extend(ALL_PATHS);
    let nix = env.run_nix(&args);
    assert!(nix.success(), "{nix:?}");
    let listed: BTreeSet<&str> = nix.stdout().lines().collect();
    assert_eq!(listed, BTreeSet::from(ALL_PATHS));
}

#[test]
fn to_local_directory_registers_the_paths_for_nix() {
    let (env, _demo) = demo_env(true);
    let dst = env.path("store2");
    let out = env.run(&["flake", "archive", "--to", &dst.display().to_string()]);
    assert!(out.success(), "{out:?}");
    assert_eq!(out.stdout(), "");
    let lines: Vec<&str> = out.stderr().lines().collect();
    assert_eq!(lines.len(), 5, "{out:?}");
    assert_eq!(lines[0], "copying 4 paths...");
    for p in ALL_PATHS {
        assert!(in_store(&dst, p), "{p} is not in {}", dst.display());
        assert!(
            lines[1..]
                .iter()
                .any(|l| l.starts_with(&format!("copying path '{p}' to '"))),
            "{out:?}"
        );
    }
    if !require_nix() {
        return;
    }
    // Registered in the destination's database: Nix sees them, with the spec's NAR sizes.
    let dst = dst.display().to_string();
    let mut args = vec!["--store", &dst, "path-info", "--json"];
    args.extend(ALL_PATHS);
    let nix = env.run_nix(&args);
    assert!(nix.success(), "{nix:?}");
    let infos: serde_json::Value = serde_json::from_str(nix.stdout()).unwrap();
    let sizes: BTreeSet<(String, u64)> = infos
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["path"].as_str().unwrap().to_owned(),
                i["narSize"].as_u64().unwrap(),
            )
        })
        .collect();
    let expected: BTreeSet<(String, u64)> = [
        (D7_ROOT_PATH, 2856),
        (D7_DEP1_PATH, 352),
        (D7_DATA_PATH, 296),
        (D7_DEP2_PATH, 384),
    ]
    .into_iter()
    .map(|(p, s)| (p.to_owned(), s))
    .collect();
    assert_eq!(sizes, expected);
}
