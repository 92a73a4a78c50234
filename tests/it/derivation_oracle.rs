//! Store derivations compared with Nix 2.8: `nix-instantiate` writes the `.drv` files of
//! generated derivation shapes into a temporary store, and `rflake::store::derivation` must
//! read each one, write it back byte for byte, recompute its output paths through the hash
//! modulo (input derivations read from their `.drv` files), and recompute its `.drv` path; it
//! must also produce the same file from the derivation without its outputs, as
//! `derivationStrict` hands it over.

// Helpers outside `#[test]` functions unwrap too: a failure is a test failure.
#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use rflake::hash::{Algo, Hash};
use rflake::store::StoreDir;
use rflake::store::StorePath;
use rflake::store::derivation::{
    Derivation, HashCache, LoadError, Output, OutputsSpec, check_output_paths, instantiate,
    name_of_drv_path,
};

use crate::support::{TestEnv, require_nix};

/// The derivation shapes, as one Nix file whose top-level attributes are derivations.
pub fn shapes() -> String {
    let h = |algo| Hash::digest(algo, b"hi");
    let sha1_hex = h(Algo::Sha1).to_base16();
    let sha256_nix32 = h(Algo::Sha256).to_nix32();
    let sha512_b64 = h(Algo::Sha512).to_base64();
    let sha256_sri = h(Algo::Sha256).to_sri();
    let sha1_sri = h(Algo::Sha1).to_sri();
    let sha512_hex = h(Algo::Sha512).to_base16();
    format!(
        r#"
let
  system = "x86_64-linux";
  mk = attrs: derivation ({{ inherit system; builder = "/bin/sh"; }} // attrs);
  dep = mk {{ name = "dep"; args = [ "-c" "echo dep > $out" ]; }};
  fod = name: attrs: mk ({{ inherit name; args = [ "-c" "printf hi > $out" ]; }} // attrs);
  link = prev: i: mk {{ name = "link-${{toString i}}"; inherit prev; args = [ "-c" "cat $prev > $out" ]; }};
  chain = builtins.foldl' link dep [ 1 2 3 4 5 6 ];
  multi = mk {{ name = "multi"; outputs = [ "out" "dev" "lib" ]; inherit dep; args = [ "-c" "true" ]; }};
  fodSha1 = fod "fod-sha1-flat-hex" {{ outputHashAlgo = "sha1"; outputHashMode = "flat"; outputHash = "{sha1_hex}"; }};
  fodNar = fod "fod-sha256-nar-nix32" {{ outputHashAlgo = "sha256"; outputHashMode = "recursive"; outputHash = "{sha256_nix32}"; }};
in {{
  plain = mk {{ name = "plain-1.0"; PATH = "/usr/bin:/bin"; args = [ "-c" "echo hi > $out" ]; }};
  inherit dep chain multi fodSha1 fodNar;
  fodSha512 = fod "fod-sha512-flat-base64" {{ outputHashAlgo = "sha512"; outputHash = "{sha512_b64}"; }};
  fodSri = fod "fod-sri-recursive" {{ outputHashMode = "recursive"; outputHash = "{sha256_sri}"; }};
  fodSha1Sri = fod "fod-sha1-sri-flat" {{ outputHash = "{sha1_sri}"; }};
  fodSha512Nar = fod "fod-sha512-nar-hex" {{ outputHashAlgo = "sha512"; outputHashMode = "recursive"; outputHash = "{sha512_hex}"; }};
  usesFods = mk {{ name = "uses-fods"; a = fodSha1; b = fodNar; c = chain; args = [ "-c" "cat $a $b $c > $out" ]; }};
  usesOutputs = mk {{ name = "uses-outputs"; d = multi.dev; l = multi.lib; o = multi; args = [ "-c" "true" ]; }};
  multiOut = mk {{ name = "multi-out"; outputs = [ "out" "bin" "dev" "man" ]; args = [ "-c" "true" ]; }};
  passAsFile = mk {{ name = "pass-as-file"; passAsFile = [ "big" "other" ]; big = "a large value\n"; other = dep; args = [ "-c" "cat $bigPath > $out" ]; }};
  structured = mk {{
    name = "structured";
    __structuredAttrs = true;
    outputs = [ "out" "doc" ];
    nested = {{ a = 1; b = [ "x" true null 2.5 ]; c.d = "e\"f\\g"; }};
    inherit dep;
    args = [ "-c" "true" ];
  }};
  structuredFod = mk {{ name = "structured-fod"; __structuredAttrs = true; outputHash = "{sha256_sri}"; outputHashMode = "recursive"; args = [ "-c" "true" ]; }};
  escapes = mk {{
    name = "escapes";
    quotes = "a \"quoted\" value";
    backslashes = "C:\\dir\\file \\n not a newline";
    newlines = "line 1\nline 2\r\nline 3\n";
    tabs = "col1\tcol2\t";
    unicode = "héllo wörld ☃ 🦀 ∀x";
    dollars = "$out \${{y}} $$";
    "key with spaces and \"quotes\"" = "v";
    empty = "";
    args = [ "-c" "printf '%s\\n' \"$quotes\" > $out" "\t\n\"\\" "" "☃" ];
  }};
  coercions = mk {{ name = "coercions"; i = 42; f = 1.5; t = true; n = null; l = [ 1 "a" [ "b" [ ] ] null ]; args = [ "-c" "true" ]; }};
  deep = mk {{ name = "deep"; drv = chain.drvPath; args = [ "-c" "true" ]; }};
  sources = mk {{ name = "sources"; file = ./data.txt; script = builtins.toFile "script.sh" "echo hi"; args = [ "-c" "true" ]; }};
  ignoreNulls = mk {{ name = "ignore-nulls"; __ignoreNulls = true; gone = null; kept = "k"; args = [ ]; }};
}}
"#
    )
}

/// Reads every `.drv` file directly in `real` (the store's real directory).
fn drv_files(real: &Path, dir: &StoreDir) -> BTreeMap<StorePath, Vec<u8>> {
    let mut out = BTreeMap::new();
    for entry in std::fs::read_dir(real).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().into_string().unwrap();
        if name.ends_with(".drv") {
            let path = dir.parse(&format!("{dir}/{name}")).unwrap();
            out.insert(path, std::fs::read(entry.path()).unwrap());
        }
    }
    out
}

/// The outputs `derivationStrict` would be given for `drv`, read from its outputs.
fn spec_of(drv: &Derivation) -> OutputsSpec {
    match drv.outputs.values().next().unwrap() {
        Output::Fixed { method, hash, .. } => OutputsSpec::Fixed {
            method: *method,
            hash: hash.clone(),
        },
        Output::CaFloating { method, algo } => OutputsSpec::Floating {
            method: *method,
            algo: *algo,
        },
        Output::Impure { method, algo } => OutputsSpec::Impure {
            method: *method,
            algo: *algo,
        },
        Output::InputAddressed(_) | Output::Deferred => OutputsSpec::InputAddressed,
    }
}

/// Checks every `.drv` file of a store against rflake; returns how many there were.
fn check_store(real: &Path, dir: &StoreDir) -> usize {
    let files = drv_files(real, dir);
    let mut load = |p: &StorePath| -> Result<Derivation, LoadError> {
        let text = files.get(p).ok_or("no such .drv file")?;
        Ok(Derivation::parse(
            dir,
            text,
            name_of_drv_path(p).ok_or("not a .drv")?,
        )?)
    };
    let mut cache = HashCache::new();
    for (path, text) in &files {
        let shown = dir.print(path);
        let name = name_of_drv_path(path).unwrap();
        let drv =
            Derivation::parse(dir, text, name).unwrap_or_else(|e| panic!("parsing {shown}: {e}"));
        assert_eq!(
            String::from_utf8_lossy(&drv.to_aterm(dir)),
            String::from_utf8_lossy(text),
            "{shown} written back"
        );
        assert_eq!(drv.drv_path(dir).unwrap(), *path, "{shown}: .drv path");
        check_output_paths(&drv, dir, &mut cache.with_loader(dir, &mut load))
            .unwrap_or_else(|e| panic!("{shown}: {e}"));

        // From what `derivationStrict` assembles (no outputs, no output variables) to the
        // same file.
        let names: BTreeSet<String> = drv.outputs.keys().cloned().collect();
        let mut bare = drv.clone();
        for o in &names {
            bare.env.remove(o.as_bytes());
        }
        let done = instantiate(
            bare,
            &names,
            spec_of(&drv),
            dir,
            &mut cache.with_loader(dir, &mut load),
        )
        .unwrap_or_else(|e| panic!("{shown}: {e}"));
        assert_eq!(
            String::from_utf8_lossy(&done.text),
            String::from_utf8_lossy(text),
            "{shown} instantiated"
        );
        assert_eq!(done.drv_path, *path, "{shown}: instantiated .drv path");
        let from_files = cache.get_or_load(dir, path, &mut load).unwrap();
        assert_eq!(done.hash_input, from_files, "{shown}: input hash");
    }
    files.len()
}

/// Runs `nix-instantiate` on the shapes in `store` and returns the printed `.drv` paths.
pub fn nix_instantiate(env: &TestEnv, store: &str) -> Vec<String> {
    let mut cmd = env.command("nix-instantiate");
    cmd.args(["--store", store, "shapes.nix"]);
    let out = env.run_command(&mut cmd);
    assert!(out.success(), "{out}");
    out.stdout().lines().map(str::to_owned).collect()
}

pub fn write_shapes(env: &TestEnv) {
    env.write("work/shapes.nix", shapes());
    env.write("work/data.txt", "some data\n");
}

#[test]
fn derivations_match_nix() {
    if !require_nix() {
        return;
    }
    let env = TestEnv::new();
    write_shapes(&env);
    let store = env.path("drv-store");
    let printed = nix_instantiate(&env, &store.display().to_string());
    assert_eq!(printed.len(), 21, "{printed:?}");
    let real: PathBuf = store.join("nix/store");
    let n = check_store(&real, &StoreDir::default());
    // The top-level derivations and the five links of the chain below its top.
    assert_eq!(n, 26, ".drv files");
    for p in &printed {
        let base = p.strip_prefix("/nix/store/").unwrap();
        assert!(real.join(base).exists(), "{p}");
    }
}

#[test]
fn derivations_match_nix_in_another_store_dir() {
    if !require_nix() {
        return;
    }
    let env = TestEnv::new();
    write_shapes(&env);
    let root = env.path("mnt");
    let uri = format!(
        "local?store=/mnt/store&real={r}/real&state={r}/state&log={r}/log",
        r = root.display()
    );
    let printed = nix_instantiate(&env, &uri);
    assert!(
        printed.iter().all(|p| p.starts_with("/mnt/store/")),
        "{printed:?}"
    );
    let n = check_store(&root.join("real"), &StoreDir::new("/mnt/store"));
    assert_eq!(n, 26, ".drv files");
}
