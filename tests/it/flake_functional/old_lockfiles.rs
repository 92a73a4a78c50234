//! Port of Nix's `tests/functional/flakes/old-lockfiles.sh`: a lock file written by older Nix
//! versions, whose `original` (and `locked`) `url` still carries `?dir=subdir`, is accepted as
//! is: the declared `git+file:///no-such-path?dir=subdir` matches it after canonicalisation
//! (Nix's `FlakeRef::canonicalize`), so nothing is fetched and nothing is rewritten.
//!
//! Nothing skipped: the script only locks and compares.

use super::{archive_json, git_repo, jq, lock_ok, metadata};
use crate::support::TestEnv;

const FLAKE_NIX: &str = r#"{
  inputs = {
    dependency.url = "git+file:///no-such-path?dir=subdir";
  };
  outputs = { dependency, self }: {
    hi = dependency.an_output;
  };
}
"#;

const OLD_LOCK: &str = r#"{
  "nodes": {
    "dependency": {
      "locked": {
        "dir": "subdir",
        "lastModified": 1746721011,
        "narHash": "sha256-9aIDvIdyHAfQyvT5SwPgYxUUhf1GwQVAWq+qa5LcEQE=",
        "ref": "refs/heads/master",
        "rev": "432058dbfc82b0369bc9cce440e4af2aece52b54",
        "revCount": 1,
        "type": "git",
        "url": "file:///no-such-path?dir=subdir"
      },
      "original": {
        "dir": "subdir",
        "type": "git",
        "url": "file:///no-such-path?dir=subdir"
      }
    },
    "root": {
      "inputs": {
        "dependency": "dependency"
      }
    }
  },
  "root": "root",
  "version": 7
}
"#;

/// old-lockfiles.sh: `nix flake lock` of the committed repository leaves the old lock file
/// byte for byte (`cmp flake.lock flake.lock.old`). Also: `flake metadata --json` reports it
/// unchanged, and a dry-run archive computes the input's path from its `narHash` without
/// fetching the missing repository.
#[test]
fn lock_with_dir_in_the_url_is_kept() {
    let env = TestEnv::new();
    let repo = git_repo(env.path("repo"), "master");
    repo.write("flake.nix", FLAKE_NIX);
    repo.write("flake.lock", OLD_LOCK);
    repo.git(&["add", "flake.nix", "flake.lock"]);
    repo.commit("foo");
    let dir = repo.path().display().to_string();
    let lock_path = repo.path().join("flake.lock");

    let out = lock_ok(&env, &dir, &[]);
    assert_eq!(std::fs::read_to_string(&lock_path).unwrap(), OLD_LOCK);
    assert!(!out.stderr().contains("lock file"), "{out}");

    let v = metadata(&env, &dir, &[]);
    let old: serde_json::Value = serde_json::from_str(OLD_LOCK).unwrap();
    assert_eq!(v["locks"], old);
    assert_eq!(std::fs::read_to_string(&lock_path).unwrap(), OLD_LOCK);

    let archive = archive_json(&env, &dir, &["--dry-run"]);
    let path = jq(&archive, ".inputs.dependency.path").as_str().unwrap();
    assert!(
        path.starts_with("/nix/store/") && path.ends_with("-source"),
        "{archive}"
    );
    assert_eq!(
        jq(&archive, ".inputs.dependency.inputs"),
        &serde_json::json!({})
    );
}
