//! `derivation` evaluated by rflake against Nix 2.8: the same shapes as
//! `derivation_oracle.rs` (plain, chains, every fixed-output hash encoding, multiple outputs,
//! `passAsFile`, structured attributes, escapes, coercions, `drvPath` contexts, sources,
//! `__ignoreNulls`) give the same `.drv` paths, and every `.drv` file written into rflake's
//! store is byte for byte the one Nix wrote into its own.

// Helpers outside `#[test]` functions unwrap too: a failure is a test failure.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::path::Path;

use crate::derivation_oracle::{nix_instantiate, write_shapes};
use crate::support::{TestEnv, require_nix};

fn drv_files(real: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    for entry in std::fs::read_dir(real).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().into_string().unwrap();
        if name.ends_with(".drv") || name.ends_with(".sh") || name.ends_with(".txt") {
            out.insert(name, std::fs::read(entry.path()).unwrap());
        }
    }
    out
}

#[test]
fn derivation_paths_and_files_equal_nix() {
    if !require_nix() {
        return;
    }
    let mut env = TestEnv::new();
    write_shapes(&env);
    let nix_store = env.path("nix-store");
    let mut nix_paths = nix_instantiate(&env, &nix_store.display().to_string());
    nix_paths.sort();

    env.set_cwd("work");
    let rflake_store = env.path("rflake-store");
    let store = rflake_store.display().to_string();
    let out = env.run(&[
        "--store",
        &store,
        "eval",
        "--json",
        "--impure",
        "--expr",
        "builtins.attrValues (builtins.mapAttrs (n: d: d.drvPath) (import ./shapes.nix))",
    ]);
    assert!(out.success(), "{out}");
    let mut ours: Vec<String> = serde_json::from_str(out.stdout()).unwrap();
    ours.sort();
    assert_eq!(ours, nix_paths);

    let theirs = drv_files(&nix_store.join("nix/store"));
    let mine = drv_files(&rflake_store.join("nix/store"));
    assert_eq!(
        mine.keys().collect::<Vec<_>>(),
        theirs.keys().collect::<Vec<_>>()
    );
    for (name, bytes) in &theirs {
        assert_eq!(
            String::from_utf8_lossy(&mine[name]),
            String::from_utf8_lossy(bytes),
            "{name}"
        );
    }
}

#[test]
fn read_only_evaluation_computes_paths_and_writes_nothing() {
    let mut env = TestEnv::new();
    write_shapes(&env);
    env.set_cwd("work");
    let store = env.path("ro-store").display().to_string();
    let out = env.run(&[
        "--store",
        &store,
        "eval",
        "--read-only",
        "--raw",
        "--impure",
        "--expr",
        "(import ./shapes.nix).plain.drvPath",
    ]);
    assert!(out.success(), "{out}");
    assert_eq!(
        out.stdout(),
        "/nix/store/qias7c15pqa3lgkp2hfq7l09n8avvvb6-plain-1.0.drv"
    );
    assert!(
        !env.path("ro-store/nix/store")
            .join("qias7c15pqa3lgkp2hfq7l09n8avvvb6-plain-1.0.drv")
            .exists()
    );
}

#[test]
fn a_chroot_store_with_another_store_dir_gives_nix_paths_and_files() {
    if !require_nix() {
        return;
    }
    let env = TestEnv::new();
    let expr = "[ (builtins.toFile \"a\" \"b\") (derivation { name = \"x\"; builder = \"/bin/sh\"; system = \"x86_64-linux\"; }).drvPath ]";
    let run = |nix: bool| {
        let root = env.path(if nix { "nix-root" } else { "rflake-root" });
        let store = format!("local?root={}&store=/foo/store", root.display());
        let args = ["eval", "--json", "--store", &store, "--expr", expr];
        let out = if nix {
            env.run_nix(&args)
        } else {
            env.run(&args)
        };
        assert!(out.success(), "{out}");
        (
            out.stdout().trim_end().to_owned(),
            drv_files(&root.join("nix/store")),
        )
    };
    let (nix, nix_files) = run(true);
    let (ours, our_files) = run(false);
    assert_eq!(
        ours,
        r#"["/foo/store/0k8dwp2g6y0qsq34ywigmnhp5rqzbgxf-a","/foo/store/bbsvgp3pgrmz6q2f6rv3fi6z3880s32k-x.drv"]"#
    );
    assert_eq!(ours, nix);
    // The files are in `<root>/nix/store`, as Nix keeps them, whatever the logical directory.
    assert_eq!(our_files, nix_files);
    assert_eq!(our_files.len(), 1, "{:?}", our_files.keys());
}
