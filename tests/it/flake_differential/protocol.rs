//! The run protocol every graph goes through (see the module docs).

use std::collections::BTreeSet;

use serde_json::Value;

use super::compare::{
    assert_full_git_refs, assert_same_lock, current_json, json_paths, nix_json, without_root_path,
};
use super::fixture::Graph;

/// What a checked graph leaves for the test's own assertions.
pub struct Checked {
    /// Nix 2.8's `flake archive --json` output.
    pub json: Value,
    /// rflake's stderr when it created the lock file (`$TEST_ENV`, `$HTTP` normalised).
    pub creating: String,
    /// The lock file Nix 2.8 wrote (left in the root), parsed.
    pub lock: Value,
    /// Whether rflake's lock file was byte-identical to Nix 2.8's as written (no documented
    /// difference applied), so that the JSON was compared root path included.
    pub identical: bool,
}

impl Checked {
    /// Returns the store path of the input at `path` (`&[]`: the root) in the JSON.
    pub fn store_path(&self, path: &[&str]) -> String {
        let mut v = &self.json;
        for name in path {
            v = &v["inputs"][*name];
        }
        v["path"].as_str().unwrap().to_owned()
    }

    /// Returns `locked.<attr>` of lock node `node` as text (`narHash` percent-encoded as in a
    /// query value by current Nix, fetchers spec §2.2: `+` → `%2B`, `=` → `%3D`, `/` kept).
    pub fn locked(&self, node: &str, attr: &str) -> String {
        let v = &self.lock["nodes"][node]["locked"][attr];
        let text = v.as_str().map_or_else(|| v.to_string(), str::to_owned);
        text.replace('+', "%2B").replace('=', "%3D")
    }

    /// Returns Nix's JSON, pretty-printed, with each of `labels`' store paths replaced by
    /// `$<label>`: those whose contents hold the test's temporary paths (and so change on every
    /// run). The other store paths stay verbatim.
    pub fn json_redacted(&self, labels: &[(&str, &[&str])]) -> String {
        let mut text = serde_json::to_string_pretty(&self.json).unwrap();
        for (label, path) in labels {
            text = text.replace(&self.store_path(path), &format!("${label}"));
        }
        text
    }
}

/// The `warning: Git tree … is dirty` line a git root gets once its `flake.lock` is added but
/// not committed (spec D6), or nothing for a path root.
pub fn dirty_warning(g: &Graph) -> &'static str {
    if g.is_git_root() {
        "warning: Git tree '$TEST_ENV/root' is dirty\n"
    } else {
        ""
    }
}

/// Runs both tools on the graph and asserts:
///
/// 1. Nix 2.8 locks and archives (store `nix-lock`); then the root is put back as it was.
/// 2. rflake locks and archives (store `rflake-lock`): the same `flake.lock` bytes modulo the
///    documented differences; the same `--json` value (modulo the root's path when the lock
///    files differ: the root's source contains its `flake.lock`); on a git root the new lock
///    file is added with `--intent-to-add` (spec C5).
/// 3. Nix's lock file put back: rflake with `--no-update-lock-file` accepts it unchanged and
///    prints exactly Nix's JSON (root included), into a fresh store (`rflake-fresh`) that then
///    holds exactly the JSON's paths, as does Nix's fresh store (`nix-fresh`) apart from the
///    downloaded tarball files 2.8 keeps (fetchers spec Part 8 item 9).
/// 4. `--dry-run` (fresh stores) prints the same JSON as the real run, with both tools, leaves
///    the lock file alone, and rflake fetches no more than Nix 2.8 (spec D4).
pub fn check_graph(g: &Graph) -> Checked {
    // 1. Nix 2.8.
    let nix = g.nix("nix-lock", &["--json"]);
    assert!(nix.success(), "nix flake archive:\n{nix}");
    let nix_lock = g.lock_file().expect("Nix 2.8 wrote flake.lock");
    let nix_value = nix_json(nix.stdout());
    assert!(
        nix.stderr()
            .starts_with("warning: creating lock file '$TEST_ENV/root/flake.lock'\n"),
        "Nix 2.8's creation message:\n{nix}"
    );
    g.unlock();

    // 2. rflake creates the lock file.
    let ours = g.rflake("rflake-lock", &["--json"]);
    assert!(ours.success(), "rflake flake archive:\n{ours}");
    let our_lock = g.lock_file().expect("rflake wrote flake.lock");
    let identical = assert_same_lock(&our_lock, &nix_lock);
    assert_full_git_refs(&our_lock);
    let our_value = current_json(ours.stdout());
    if identical {
        assert_eq!(
            our_value, nix_value,
            "--json: rflake (left), Nix 2.8 (right)"
        );
    } else {
        assert_eq!(
            without_root_path(&our_value),
            without_root_path(&nix_value),
            "--json without the root's path: rflake (left), Nix 2.8 (right)"
        );
    }
    if g.is_git_root() {
        assert_eq!(
            g.git_status(),
            " A flake.lock\n",
            "the new lock file is added with --intent-to-add"
        );
    }
    let creating = g.normalize(ours.stderr());

    // 3. rflake reads Nix 2.8's lock file as it is.
    g.set_lock_file(&nix_lock);
    let reused = g.rflake("rflake-fresh", &["--json", "--no-update-lock-file"]);
    assert!(
        reused.success(),
        "rflake with Nix 2.8's lock file:\n{reused}"
    );
    assert_eq!(g.lock_file().as_deref(), Some(nix_lock.as_str()));
    assert_eq!(
        current_json(reused.stdout()),
        nix_value,
        "--json with Nix 2.8's lock file: rflake (left), Nix 2.8 (right)"
    );
    assert_eq!(g.normalize(reused.stderr()), dirty_warning(g));
    let nix_again = g.nix("nix-fresh", &["--json"]);
    assert!(nix_again.success(), "{nix_again}");
    assert_eq!(nix_json(nix_again.stdout()), nix_value);
    assert_eq!(g.lock_file().as_deref(), Some(nix_lock.as_str()));

    let paths = json_paths(&nix_value);
    assert_eq!(
        g.store_entries("rflake-fresh"),
        paths,
        "rflake's store (left) holds exactly the archived paths (right)"
    );
    assert_eq!(nix_store_sources(g, "nix-fresh"), paths);

    // 4. Dry runs: the same JSON; archived inputs are not fetched (spec D4). Locking may
    // still fetch a kept input (C4: an old node with a follows edge its declaring flake must
    // confirm is refetched), so rflake's store must hold no more than Nix 2.8's, which also
    // always holds the root (2.8 copies it even with --dry-run; current Nix only a path root).
    let nix_dry = g.nix("nix-dry", &["--json", "--dry-run"]);
    assert!(nix_dry.success(), "{nix_dry}");
    assert_eq!(nix_json(nix_dry.stdout()), nix_value);
    let dry = g.rflake("rflake-dry", &["--json", "--dry-run"]);
    assert!(dry.success(), "rflake --dry-run:\n{dry}");
    assert_eq!(current_json(dry.stdout()), nix_value, "--dry-run --json");
    assert_eq!(g.normalize(dry.stderr()), dirty_warning(g));
    assert_eq!(g.lock_file().as_deref(), Some(nix_lock.as_str()));
    let fetched = g.store_entries("rflake-dry");
    let nix_fetched = nix_store_sources(g, "nix-dry");
    assert!(
        fetched.is_subset(&nix_fetched),
        "--dry-run: rflake fetched {fetched:?}, Nix 2.8 only {nix_fetched:?}"
    );
    assert!(
        nix_fetched.len() < paths.len(),
        "the dry runs fetch less than the real ones ({nix_fetched:?})"
    );

    Checked {
        json: nix_value,
        creating,
        lock: serde_json::from_str(&nix_lock).unwrap(),
        identical,
    }
}

/// Returns the entries of Nix 2.8's store `name` without the flat copies of downloaded tarballs
/// (2.8 stored the file, then its unpacked tree; current Nix and rflake store only the tree).
/// Any other extra entry is kept, so it makes the caller's comparison fail.
pub fn nix_store_sources(g: &Graph, name: &str) -> BTreeSet<String> {
    let dir = g.store_dir(name).join("nix/store");
    g.store_entries(name)
        .into_iter()
        .filter(|entry| {
            let p = dir.join(entry);
            let is_tarball =
                p.is_file() && std::fs::read(&p).is_ok_and(|b| g.tarball_bytes().contains(&b));
            !is_tarball
        })
        .collect()
}
