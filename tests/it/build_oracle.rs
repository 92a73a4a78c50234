//! `rflake build` against Nix 2.8 building the same expressions (spec W4, W4b, W6, W7): the
//! same output paths, NAR hashes, sizes, references, derivers and content addresses, the same
//! environment (up to the build directory), and Nix's messages for failed builds with nothing
//! registered.
//!
//! Both use chroot stores (`--store DIR`) with `sandbox = false`. Nix forces its sandbox for
//! such a store, so its builds get the host's `/usr`, `/bin`, `/lib` and `/lib64` through
//! `extra-sandbox-paths`; rflake runs its builder with the store mounted at `/nix/store`.

// Helpers outside `#[test]` functions unwrap too: a failure is a test failure.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::path::Path;

use rflake::store::local::{LocalStore, Options};
use rflake::store::{PathInfo, StoreDir, StorePath};

use crate::support::{CommandOutput, KillOnDrop, TestEnv, require_nix};

/// The worked examples, one attribute each, and the failing derivations.
const EXPRESSIONS: &str = r##"
let
  system = "x86_64-linux";
  dep = derivation { name = "dep"; inherit system; builder = "/bin/sh"; args = [ "-c" "echo dep > $out" ]; };
  fod = derivation {
    name = "fixed.txt"; inherit system; builder = "/bin/sh"; args = [ "-c" "printf hi > $out" ];
    outputHashMode = "flat"; outputHashAlgo = "sha256";
    outputHash = "8f434346648f6b96df89dda901c5176b10a6d83961dd3c1ac88b59b2dc327aa4";
  };
  script = builtins.toFile "build.sh" ''
    mkdir -p $out/bin $dev/include
    cat $dep $fod > $out/data
    echo "#define X 1" > $dev/include/x.h
  '';
  p = derivation { name = "p-a"; inherit system; builder = "/bin/sh"; args = [ "-c" "echo p > $out" ]; };
  q = derivation { name = "q-a"; inherit system; builder = "/bin/sh"; args = [ "-c" "echo q > $out" ]; };
in {
  w4 = derivation {
    name = "multi-1.0"; inherit system dep fod; builder = "/bin/sh"; args = [ script ];
    outputs = [ "out" "dev" ]; PATH = "/usr/bin:/bin";
  };
  w4dev = (derivation {
    name = "multi-1.0"; inherit system dep fod; builder = "/bin/sh"; args = [ script ];
    outputs = [ "out" "dev" ]; PATH = "/usr/bin:/bin";
  }).dev;
  # W4b's top runs `cat` without a PATH: it fails (exit 127) under both.
  w4b = derivation { name = "top"; inherit system p q; builder = "/bin/sh"; args = [ "-c" "cat $p $q > $out" ]; };
  w4bPath = derivation { name = "top"; inherit system p q; PATH = "/usr/bin:/bin"; builder = "/bin/sh"; args = [ "-c" "cat $p $q > $out" ]; };
  w5 = derivation { name = "fodr"; inherit system; builder = "/bin/sh"; args = [ "-c" "printf hi > $out" ];
    outputHashMode = "recursive"; outputHashAlgo = "sha256"; outputHash = "sha256-IlLUt4yU6Mes5OMxe3i9/mS8jjlwpk620vfCpEPAw/w="; };
  w6 = derivation { name = "envdump"; inherit system; builder = "/bin/sh"; args = [ "-c" "/usr/bin/env > $out" ];
    myAttr = [ "a" 1 true null ]; myInt = 42; myBool = false; myBoolT = true; myNull = null; myPath = ./default.nix; };
  w7 = derivation { name = "refs"; inherit system; builder = "/bin/sh"; args = [ "-c" "echo ${dep} > $out; echo $out >> $out" ]; };
  passAsFile = derivation { name = "pass-as-file"; inherit system; builder = "/bin/sh"; PATH = "/usr/bin:/bin";
    passAsFile = [ "big" ]; big = "a large value"; args = [ "-c" "cat $bigPath > $out; /usr/bin/env | grep -c ^big= >> $out || true" ]; };
  structured = derivation { name = "structured"; inherit system; builder = "/bin/bash"; PATH = "/usr/bin:/bin";
    __structuredAttrs = true; nested = { a = 1; b = [ "x" true ]; }; list = [ "l" 2 ]; outputs = [ "out" "doc" ];
    args = [ "-c" "source $NIX_BUILD_TOP/.attrs.sh; mkdir -p \${outputs[doc]}; echo \"$name \${list[1]}\" > \${outputs[out]}; cat $NIX_BUILD_TOP/.attrs.json >> \${outputs[out]}" ]; };
  allowedOk = derivation { name = "allowed-ok"; inherit system; builder = "/bin/sh"; allowedReferences = [ dep ];
    args = [ "-c" "echo ${dep} > $out" ]; };
  allowedBad = derivation { name = "allowed-bad"; inherit system; builder = "/bin/sh"; allowedReferences = [ ];
    args = [ "-c" "echo ${dep} > $out" ]; };
  disallowedSelf = derivation { name = "disallowed-self"; inherit system; builder = "/bin/sh"; disallowedReferences = [ "out" ];
    args = [ "-c" "echo $out > $out" ]; };
  requisitesBad = derivation { name = "requisites-bad"; inherit system; builder = "/bin/sh"; disallowedRequisites = [ dep ];
    w7 = derivation { name = "refs"; inherit system; builder = "/bin/sh"; args = [ "-c" "echo ${dep} > $out; echo $out >> $out" ]; };
    args = [ "-c" "echo $w7 > $out" ]; };
  requisitesOk = derivation { name = "requisites-ok"; inherit system; builder = "/bin/sh"; allowedRequisites = [ dep "out" ];
    args = [ "-c" "echo ${dep} $out > $out" ]; };
  badSpecifier = derivation { name = "bad-specifier"; inherit system; builder = "/bin/sh"; allowedReferences = [ "nonsense" ];
    args = [ "-c" "echo > $out" ]; };
  fail = derivation { name = "fail"; inherit system; builder = "/bin/sh";
    args = [ "-c" "for i in 1 2 3 4 5 6 7 8 9 10 11 12; do echo line $i; done; exit 3" ]; };
  badfod = derivation { name = "badfod"; inherit system; builder = "/bin/sh"; args = [ "-c" "printf ho > $out" ];
    outputHashMode = "flat"; outputHashAlgo = "sha256";
    outputHash = "8f434346648f6b96df89dda901c5176b10a6d83961dd3c1ac88b59b2dc327aa4"; };
  missing = derivation { name = "missing"; inherit system; builder = "/bin/sh"; args = [ "-c" "echo nothing" ]; };
  perm = derivation { name = "perm"; inherit system; builder = "/bin/sh"; PATH = "/usr/bin:/bin";
    args = [ "-c" "mkdir $out; chmod 777 $out" ]; };
}
"##;

pub(crate) fn setup() -> TestEnv {
    let mut env = TestEnv::new();
    env.write("work/default.nix", EXPRESSIONS);
    env.set_cwd("work");
    env.add_nix_config("sandbox = false");
    env.add_nix_config("cores = 2");
    let host_dirs: Vec<&str> = ["/usr", "/bin", "/lib", "/lib64"]
        .into_iter()
        .filter(|d| Path::new(d).exists())
        .collect();
    env.add_nix_config(&format!("extra-sandbox-paths = {}", host_dirs.join(" ")));
    env
}

/// Runs Nix 2.8 with a scratch directory mounted on `/nix/store` in a private mount namespace
/// (through rflake's builder helper): with a chroot store, Nix 2.8 writes some outputs of
/// failed builds (and of `builtin:fetchurl`) to the host's `/nix/store`, which tests must
/// never touch.
pub(crate) fn run_nix(env: &TestEnv, args: &[&str]) -> CommandOutput {
    let scratch = env.path("host-nix-store");
    std::fs::create_dir_all(&scratch).unwrap();
    let mut cmd = env.command(env!("CARGO_BIN_EXE_rflake"));
    cmd.arg("__run-builder")
        .arg(&scratch)
        .arg("/nix/store")
        .arg("nix")
        .args(args);
    env.run_command(&mut cmd)
}

pub(crate) fn store_arg(env: &TestEnv, name: &str) -> String {
    env.path(name).display().to_string()
}

pub(crate) fn build(env: &TestEnv, nix: bool, store: &str, attrs: &[&str]) -> CommandOutput {
    let mut args = vec!["build", "--store", store, "-f", ".", "--no-link", "--json"];
    args.extend_from_slice(attrs);
    if nix {
        run_nix(env, &args)
    } else {
        env.run(&args)
    }
}

pub(crate) fn open(env: &TestEnv, name: &str) -> LocalStore {
    LocalStore::open(Options::new(Some(env.path(name)))).unwrap()
}

pub(crate) fn path(s: &str) -> StorePath {
    StoreDir::default().parse(s).unwrap()
}

/// The fields of a path's info both stores must agree on.
pub(crate) fn comparable(info: &PathInfo) -> String {
    let dir = StoreDir::default();
    let refs: Vec<String> = info.references.iter().map(|r| dir.print(r)).collect();
    format!(
        "{} {} {} refs={refs:?} deriver={:?} ca={:?}",
        dir.print(&info.path),
        info.nar_hash.to_sri(),
        info.nar_size,
        info.deriver.as_ref().map(|d| dir.print(d)),
        info.ca.as_ref().map(|c| c.to_string()),
    )
}

/// The output paths of a `--json` result.
pub(crate) fn outputs(json: &str) -> BTreeSet<String> {
    let v: serde_json::Value = serde_json::from_str(json).unwrap();
    let mut out = BTreeSet::new();
    for entry in v.as_array().unwrap() {
        for (_, p) in entry["outputs"].as_object().unwrap() {
            out.insert(p.as_str().unwrap().to_owned());
        }
    }
    out
}

/// The closure of `paths` in `store`, as comparable lines.
pub(crate) fn closure_infos(store: &LocalStore, paths: &BTreeSet<String>) -> Vec<String> {
    let mut todo: Vec<StorePath> = paths.iter().map(|p| path(p)).collect();
    let mut seen = BTreeSet::new();
    let mut lines = Vec::new();
    while let Some(p) = todo.pop() {
        if !seen.insert(p.clone()) {
            continue;
        }
        let info = store
            .path_info(&p)
            .unwrap()
            .unwrap_or_else(|| panic!("{p:?}"));
        todo.extend(info.references.iter().cloned());
        lines.push(comparable(&info));
    }
    lines.sort();
    lines
}

#[test]
fn worked_examples_build_as_with_nix() {
    if !require_nix() {
        return;
    }
    let env = setup();
    let attrs = [
        "allowedOk",
        "requisitesOk",
        "w4",
        "w4dev",
        "w4bPath",
        "w5",
        "w7",
        "passAsFile",
        "structured",
    ];
    let (nix_store, our_store) = (store_arg(&env, "nix-store"), store_arg(&env, "our-store"));
    let theirs = build(&env, true, &nix_store, &attrs);
    assert!(theirs.success(), "{theirs}");
    let ours = build(&env, false, &our_store, &attrs);
    assert!(ours.success(), "{ours}");
    assert_eq!(ours.stdout(), theirs.stdout());
    let built = outputs(ours.stdout());
    assert!(built.contains("/nix/store/xh5zg2403bira7krv27pk64p3byka7ln-multi-1.0"));
    assert!(built.contains("/nix/store/73dpqj4s29pgv30yqq8spb6xyksk73b0-multi-1.0-dev"));
    assert!(built.contains("/nix/store/kjfv0rgcmlhnrlv96r0an29g66pldmjr-fodr"));
    assert!(built.contains("/nix/store/8r0mqrvjnajrw90ivrmhfhfq6vkl534x-refs"));
    let (n, o) = (open(&env, "nix-store"), open(&env, "our-store"));
    let ours_infos = closure_infos(&o, &built);
    assert_eq!(ours_infos, closure_infos(&n, &built));
    // W7: a self-reference and the dependency; W5: the recursive FOD's address.
    let refs = o
        .path_info(&path("/nix/store/8r0mqrvjnajrw90ivrmhfhfq6vkl534x-refs"))
        .unwrap()
        .unwrap();
    assert_eq!(refs.nar_size, 216);
    assert_eq!(
        refs.references
            .iter()
            .map(|r| r.base_name().to_owned())
            .collect::<Vec<_>>(),
        [
            "8r0mqrvjnajrw90ivrmhfhfq6vkl534x-refs",
            "z4asv3j07d89ywjf8fxkn7sg6mf5s9q5-dep"
        ]
    );
    assert!(ours_infos.iter().any(|l| l.contains(
        "kjfv0rgcmlhnrlv96r0an29g66pldmjr-fodr sha256-IlLUt4yU6Mes5OMxe3i9/mS8jjlwpk620vfCpEPAw/w= 120 refs=[] deriver=Some(\"/nix/store/"
    ) && l.ends_with(
        "ca=Some(\"fixed:r:sha256:1z63q11s9hppsav4x9kh767bqr7ypmw7ncg3wjncgs4lijvx8li2\")"
    )));
    // Logs are kept as Nix keeps them.
    assert!(
        env.path(
            "our-store/nix/var/log/nix/drvs/6n/4an09iyw7y2yalvyz0hgykv1qlfr98-multi-1.0.drv.bz2"
        )
        .exists()
    );
}

#[test]
fn environment_equals_nix_but_for_the_build_directory() {
    if !require_nix() {
        return;
    }
    let env = setup();
    let (nix_store, our_store) = (store_arg(&env, "nix-store"), store_arg(&env, "our-store"));
    let theirs = build(&env, true, &nix_store, &["w6"]);
    assert!(theirs.success(), "{theirs}");
    let ours = build(&env, false, &our_store, &["w6"]);
    assert!(ours.success(), "{ours}");
    assert_eq!(ours.stdout(), theirs.stdout());
    let out = outputs(ours.stdout()).pop_first().unwrap();
    let base = out.strip_prefix("/nix/store/").unwrap();
    let dump = |store: &str| {
        let text = std::fs::read_to_string(Path::new(store).join("nix/store").join(base)).unwrap();
        let top = text
            .lines()
            .find_map(|l| l.strip_prefix("NIX_BUILD_TOP="))
            .unwrap()
            .to_owned();
        let mut lines: Vec<String> = text
            .lines()
            .map(|l| l.replace(&top, "$BUILD_DIR"))
            .collect();
        lines.sort();
        (lines, top)
    };
    let (mine, top) = dump(&our_store);
    assert_eq!(mine, dump(&nix_store).0);
    assert!(top.contains("nix-build-envdump.drv-"), "{top}");
    assert!(mine.contains(&"myAttr=a 1 1 ".to_owned()), "{mine:?}");
    let (o, n) = (open(&env, "our-store"), open(&env, "nix-store"));
    let (oi, ni) = (
        o.path_info(&path(&out)).unwrap().unwrap(),
        n.path_info(&path(&out)).unwrap().unwrap(),
    );
    assert_eq!(oi.references, ni.references);
    assert_eq!(oi.deriver, ni.deriver);
}

/// The `error: …` block of a failed build's stderr, with the test root masked.
pub(crate) fn error_block(out: &CommandOutput) -> String {
    let err = out.stderr();
    let start = err.rfind("\nerror: ").map_or(0, |i| i + 1);
    err[start..].to_owned()
}

#[test]
fn failures_give_nix_messages_and_register_nothing() {
    if !require_nix() {
        return;
    }
    let env = setup();
    let (nix_store, our_store) = (store_arg(&env, "nix-store"), store_arg(&env, "our-store"));
    let (o_dir, n_dir) = (env.path("our-store"), env.path("nix-store"));
    // Nix reports its outputs inside the sandbox's chroot; rflake where they are.
    let mask = |s: &str| {
        let s = s
            .replace("$TEST_ENV/our-store", "$STORE")
            .replace("$TEST_ENV/nix-store", "$STORE");
        let re = regex::Regex::new(r"/nix/store/[a-z0-9]{32}-[a-z]+\.drv\.chroot").unwrap();
        re.replace_all(&s, "").into_owned()
    };
    for attr in [
        "fail",
        "w4b",
        "missing",
        "perm",
        "badfod",
        "allowedBad",
        "disallowedSelf",
        "requisitesBad",
        "badSpecifier",
    ] {
        let theirs = build(&env, true, &nix_store, &[attr]);
        let ours = build(&env, false, &our_store, &[attr]);
        assert!(!theirs.success() && !ours.success(), "{attr}: {ours}");
        assert_eq!(ours.status().code(), theirs.status().code(), "{attr}");
        assert_eq!(
            mask(&error_block(&ours)),
            mask(&error_block(&theirs)),
            "{attr}: {ours}"
        );
    }
    // What is valid afterwards is the same: the derivations, the inputs that built, and the
    // mismatching fixed output at the path of what it produced (as Nix 2.8 does).
    let valid = |dir: &Path| {
        let db = rusqlite_paths(dir);
        db.into_iter()
            .filter(|p| !p.ends_with(".drv") && !p.ends_with("-default.nix"))
            .collect::<Vec<_>>()
    };
    let ours_valid = valid(&o_dir);
    assert_eq!(ours_valid, valid(&n_dir));
    assert!(
        !ours_valid.iter().any(|p| p.contains("-fail")
            || p.contains("-missing")
            || p.contains("-perm")
            || p.ends_with("-allowed-bad")
            || p.ends_with("-requisites-bad")
            || p.ends_with("-bad-specifier")
            || p.ends_with("-self")),
        "{ours_valid:?}"
    );
    assert!(
        !ours_valid.iter().any(|p| p.contains("-top")),
        "{ours_valid:?}"
    );
    // No output directory is left behind for the failed builds.
    for entry in std::fs::read_dir(o_dir.join("nix/store")).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        assert!(
            !name.ends_with("-missing") && !name.ends_with("-perm") && !name.ends_with("-fail"),
            "{name}"
        );
    }
}

/// The valid paths of the store under `root`, sorted.
pub(crate) fn rusqlite_paths(root: &Path) -> Vec<String> {
    let store = LocalStore::open(Options::new(Some(root.to_owned()))).unwrap();
    let all: BTreeSet<StorePath> = std::fs::read_dir(root.join("nix/store"))
        .unwrap()
        .filter_map(|e| {
            let name = e.unwrap().file_name().into_string().unwrap();
            StorePath::from_base_name(&name).ok()
        })
        .collect();
    let dir = StoreDir::default();
    store
        .valid_paths(&all)
        .unwrap()
        .iter()
        .map(|p| dir.print(p))
        .collect()
}

#[test]
fn results_are_linked_and_rooted_and_valid_outputs_are_not_rebuilt() {
    let mut env = TestEnv::new();
    env.write("work/default.nix", EXPRESSIONS);
    env.set_cwd("work");
    env.add_nix_config("sandbox = false");
    let store = store_arg(&env, "store");
    let out = env.run(&[
        "build",
        "--store",
        &store,
        "-f",
        ".",
        "w7",
        "w4dev",
        "--print-out-paths",
    ]);
    assert!(out.success(), "{out}");
    assert_eq!(
        out.stdout(),
        "/nix/store/73dpqj4s29pgv30yqq8spb6xyksk73b0-multi-1.0-dev\n/nix/store/8r0mqrvjnajrw90ivrmhfhfq6vkl534x-refs\n"
    );
    // Inputs first; each derivation once.
    let building: Vec<&str> = out
        .stderr()
        .lines()
        .filter(|l| l.starts_with("building '"))
        .collect();
    assert_eq!(building.len(), 4, "{out}");
    assert!(building[3].contains("multi-1.0.drv") || building[3].contains("refs.drv"));
    let link = env.path("work/result-dev");
    assert_eq!(
        std::fs::read_link(&link).unwrap(),
        Path::new("/nix/store/73dpqj4s29pgv30yqq8spb6xyksk73b0-multi-1.0-dev")
    );
    let link1 = env.path("work/result-1");
    assert_eq!(
        std::fs::read_link(&link1).unwrap(),
        Path::new("/nix/store/8r0mqrvjnajrw90ivrmhfhfq6vkl534x-refs")
    );
    let roots: Vec<_> = std::fs::read_dir(env.path("store/nix/var/nix/gcroots/auto"))
        .unwrap()
        .map(|e| std::fs::read_link(e.unwrap().path()).unwrap())
        .collect();
    assert!(roots.contains(&link) && roots.contains(&link1), "{roots:?}");
    // Everything is valid now: nothing is built, and the dry run lists nothing.
    let again = env.run(&[
        "build",
        "--store",
        &store,
        "-f",
        ".",
        "w7",
        "w4dev",
        "--no-link",
    ]);
    assert!(again.success(), "{again}");
    assert!(!again.stderr().contains("building"), "{again}");
    let dry = env.run(&[
        "build",
        "--store",
        &store,
        "-f",
        ".",
        "w4",
        "w6",
        "--dry-run",
    ]);
    assert!(dry.success(), "{dry}");
    let drv = env.run(&["eval", "--store", &store, "--raw", "-f", ".", "w6.drvPath"]);
    assert!(drv.success(), "{drv}");
    assert_eq!(
        dry.stderr(),
        format!("this derivation will be built:\n  {}\n", drv.stdout())
    );
    let out = env.run(&["eval", "--store", &store, "--raw", "-f", ".", "w6.outPath"]);
    let base = out.stdout().strip_prefix("/nix/store/").unwrap();
    assert!(!env.path("store/nix/store").join(base).exists(), "{base}");
}

#[test]
fn dry_run_lists_derivations_as_nix_does() {
    if !require_nix() {
        return;
    }
    let env = setup();
    let (nix_store, our_store) = (store_arg(&env, "nix-store"), store_arg(&env, "our-store"));
    let args = |s: &str| {
        vec![
            "build".to_owned(),
            "--store".to_owned(),
            s.to_owned(),
            "-f".to_owned(),
            ".".to_owned(),
            "w4".to_owned(),
            "w6".to_owned(),
            "--dry-run".to_owned(),
        ]
    };
    let a = args(&nix_store);
    let theirs = run_nix(&env, &a.iter().map(String::as_str).collect::<Vec<_>>());
    let b = args(&our_store);
    let ours = env.run(&b.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(ours.success(), "{ours}");
    assert_eq!(ours.stderr(), theirs.stderr());
}

/// A DAG of `width` × `depth` derivations; each build appends its name to `log`.
fn dag(log: &Path, width: usize, depth: usize) -> String {
    let log = log.display();
    format!(
        r#"
let
  system = "x86_64-linux";
  mk = name: deps: derivation {{
    inherit name system deps; builder = "/bin/sh"; PATH = "/usr/bin:/bin";
    args = [ "-c" "echo $name >> {log}; sleep 0.05; echo $name $deps > $out" ];
  }};
  layer = prev: d: builtins.genList (i: mk "n-${{toString d}}-${{toString i}}" prev) {width};
  layers = builtins.foldl' (prev: d: layer prev d) [ ] (builtins.genList (d: d) {depth});
in mk "top" layers
"#
    )
}

#[test]
fn concurrent_builds_of_one_dag_build_each_output_once() {
    let mut env = TestEnv::new();
    let log = env.path("builds.log");
    env.write("work/dag.nix", dag(&log, 4, 3));
    env.set_cwd("work");
    env.add_nix_config("sandbox = false");
    let store = store_arg(&env, "store");
    let spawn = |jobs: &str| {
        env.command(env!("CARGO_BIN_EXE_rflake"))
            .args([
                "build",
                "--store",
                &store,
                "-f",
                "dag.nix",
                "--no-link",
                "-j",
                jobs,
            ])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (a, b) = (spawn("2"), spawn("3"));
    for child in [a, b] {
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let built = std::fs::read_to_string(&log).unwrap();
    let mut names: Vec<&str> = built.lines().collect();
    assert_eq!(names.len(), 13, "{built}");
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), 13, "each output built once: {built}");
    // The store is consistent: every registered path has the contents its NAR hash says.
    if require_nix() {
        let verify = run_nix(
            &env,
            &["store", "verify", "--store", &store, "--all", "--no-trust"],
        );
        assert!(verify.success(), "{verify}");
    }
}

#[test]
fn builds_run_in_parallel_up_to_max_jobs_and_logs_show_with_l() {
    let mut env = TestEnv::new();
    let marks = env.path("marks");
    std::fs::create_dir_all(&marks).unwrap();
    // Each of the two waits (up to 10 s) for the other to have started: they only both see
    // the other when they run at the same time.
    let one = |me: &str, other: &str| {
        format!(
            r#"derivation {{ name = "{me}"; system = "x86_64-linux"; builder = "/bin/sh"; PATH = "/usr/bin:/bin";
    args = [ "-c" "touch {m}/{me}; i=0; while [ ! -e {m}/{other} ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i+1)); done; if [ -e {m}/{other} ]; then echo saw {other}; fi; echo done > $out" ]; }}"#,
            m = marks.display()
        )
    };
    env.write(
        "work/par.nix",
        format!("{{ a = {}; b = {}; }}", one("a", "b"), one("b", "a")),
    );
    env.set_cwd("work");
    env.add_nix_config("sandbox = false");
    let store = store_arg(&env, "store");
    let out = env.run(&[
        "build",
        "--store",
        &store,
        "-f",
        "par.nix",
        "a",
        "b",
        "--no-link",
        "-j",
        "2",
        "-L",
    ]);
    assert!(out.success(), "{out}");
    assert!(out.stderr().contains("a> saw b\n"), "{out}");
    assert!(out.stderr().contains("b> saw a\n"), "{out}");
}

#[test]
fn max_jobs_zero_refuses_to_build() {
    let mut env = TestEnv::new();
    env.write("work/default.nix", EXPRESSIONS);
    env.set_cwd("work");
    env.add_nix_config("sandbox = false");
    let store = store_arg(&env, "store");
    let out = env.run(&[
        "build",
        "--store",
        &store,
        "-f",
        ".",
        "w7",
        "--max-jobs",
        "0",
    ]);
    assert!(!out.success());
    assert!(
        out.stderr()
            .contains("error: unable to start any build; either increase '--max-jobs' or enable remote builds."),
        "{out}"
    );
}

#[test]
fn builtin_fetchurl_downloads_as_nix_does() {
    if !require_nix() {
        return;
    }
    let server = crate::support::HttpServer::start();
    server.route("/hello.txt", crate::support::Response::ok("hello\n"));
    server.route("/gone", crate::support::Response::status(404));
    let flat = rflake::hash::Hash::digest(rflake::hash::Algo::Sha256, b"hello\n").to_sri();
    let env = setup();
    // The NAR hash of an executable file holding `hello\n`.
    env.write("exe", "hello\n");
    std::fs::set_permissions(
        env.path("exe"),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let nar = rflake::store::nar::hash_path(&env.path("exe"))
        .unwrap()
        .0
        .to_sri();
    let fetch = |name: &str, path: &str, extra: &str| {
        let (mode, hash) = if extra.contains("recursive") {
            ("", &nar)
        } else if extra.is_empty() || extra.contains("executable") {
            ("outputHashMode = \"flat\";", &flat)
        } else {
            ("", &flat)
        };
        format!(
            r#"derivation {{ name = "{name}"; builder = "builtin:fetchurl"; system = "builtin"; url = "{}"; {mode} outputHashAlgo = "sha256"; outputHash = "{hash}"; {extra} }}"#,
            server.url(path)
        )
    };
    env.write(
        "work/fetch.nix",
        format!(
            "{{ plain = {}; exe = {}; exeFlat = {}; gone = {}; }}",
            fetch("hello.txt", "/hello.txt", ""),
            fetch(
                "hello-exe",
                "/hello.txt",
                "executable = true; outputHashMode = \"recursive\";"
            ),
            fetch("hello-exe-flat", "/hello.txt", "executable = true;"),
            fetch("gone.txt", "/gone", ""),
        ),
    );
    let (nix_store, our_store) = (store_arg(&env, "nix-store"), store_arg(&env, "our-store"));
    let args = |store: &str, attrs: &[&str]| {
        let mut v = vec![
            "build",
            "--store",
            store,
            "-f",
            "fetch.nix",
            "--no-link",
            "--json",
        ];
        v.extend_from_slice(attrs);
        v.iter().map(|s| (*s).to_owned()).collect::<Vec<String>>()
    };
    let run = |nix: bool, store: &str, attrs: &[&str]| {
        let a = args(store, attrs);
        let a: Vec<&str> = a.iter().map(String::as_str).collect();
        if nix { run_nix(&env, &a) } else { env.run(&a) }
    };
    let theirs = run(true, &nix_store, &["plain", "exe"]);
    assert!(theirs.success(), "{theirs}");
    let ours = run(false, &our_store, &["plain", "exe"]);
    assert!(ours.success(), "{ours}");
    assert_eq!(ours.stdout(), theirs.stdout());
    let built = outputs(ours.stdout());
    let (o, n) = (open(&env, "our-store"), open(&env, "nix-store"));
    assert_eq!(closure_infos(&o, &built), closure_infos(&n, &built));
    let re = regex::Regex::new(
        r"\$TEST_ENV/[a-z-]+/nix/store/(?:[a-z0-9]{32}-[a-z-]+\.drv\.chroot/nix/store/)?",
    )
    .unwrap();
    // Nix 2.8 adds the reason phrase (`HTTP error 404 ('Not Found')`); current Nix and the
    // fetch layer do not.
    let mask = |s: String| re.replace_all(&s, "$$STORE/").replace(" ('Not Found')", "");
    for attr in ["gone", "exeFlat"] {
        let theirs = run(true, &nix_store, &[attr]);
        let ours = run(false, &our_store, &[attr]);
        assert!(!theirs.success() && !ours.success(), "{ours}");
        assert_eq!(
            mask(error_block(&ours)),
            mask(error_block(&theirs)),
            "{attr}"
        );
    }
}

#[test]
fn an_interrupt_kills_the_builder_and_registers_nothing() {
    use rustix::process::{Pid, Signal, kill_process};
    let mut env = TestEnv::new();
    let pid_file = env.path("builder.pid");
    env.write(
        "work/slow.nix",
        format!(
            r#"derivation {{ name = "slow"; system = "x86_64-linux"; builder = "/bin/sh"; PATH = "/usr/bin:/bin";
  args = [ "-c" "echo $$ > {}; sleep 30; echo done > $out" ]; }}"#,
            pid_file.display()
        ),
    );
    env.set_cwd("work");
    env.add_nix_config("sandbox = false");
    let store = store_arg(&env, "store");
    let mut child = KillOnDrop::new(
        env.command(env!("CARGO_BIN_EXE_rflake"))
            .args(["build", "--store", &store, "-f", "slow.nix", "--no-link"])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let start = std::time::Instant::now();
    while !pid_file.exists()
        || std::fs::read_to_string(&pid_file)
            .unwrap()
            .trim()
            .is_empty()
    {
        assert!(start.elapsed().as_secs() < 20, "the builder did not start");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let builder: i32 = std::fs::read_to_string(&pid_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    kill_process(Pid::from_child(&child), Signal::INT).unwrap();
    let t = std::time::Instant::now();
    let status = child.wait().unwrap();
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
    assert!(t.elapsed().as_secs() < 10, "{err}");
    assert!(!status.success());
    assert!(err.contains("error: interrupted by the user"), "{err}");
    assert!(
        !Path::new(&format!("/proc/{builder}")).exists(),
        "the builder {builder} still runs"
    );
    let o = open(&env, "store");
    let out = env.run(&[
        "eval", "--store", &store, "--raw", "-f", "slow.nix", "outPath",
    ]);
    assert!(!o.is_valid_path(&path(out.stdout())).unwrap());
}

#[test]
fn a_derivation_with_one_output_missing_is_rebuilt_without_touching_the_valid_one() {
    if !require_nix() {
        return;
    }
    let mut env = TestEnv::new();
    env.write("work/default.nix", EXPRESSIONS);
    env.set_cwd("work");
    env.add_nix_config("sandbox = false");
    let store = store_arg(&env, "store");
    let first = env.run(&[
        "build",
        "--store",
        &store,
        "-f",
        ".",
        "w4",
        "w4dev",
        "--no-link",
    ]);
    assert!(first.success(), "{first}");
    let out = "/nix/store/xh5zg2403bira7krv27pk64p3byka7ln-multi-1.0";
    let dev = "/nix/store/73dpqj4s29pgv30yqq8spb6xyksk73b0-multi-1.0-dev";
    let o = open(&env, "store");
    let before = o.path_info(&path(out)).unwrap().unwrap();
    drop(o);
    let deleted = run_nix(&env, &["store", "delete", "--store", &store, dev]);
    assert!(deleted.success(), "{deleted}");
    let again = env.run(&["build", "--store", &store, "-f", ".", "w4dev", "--no-link"]);
    assert!(again.success(), "{again}");
    assert!(again.stderr().contains("building '"), "{again}");
    let o = open(&env, "store");
    assert!(o.is_valid_path(&path(dev)).unwrap());
    // The valid output was built at a scratch path and left as it was.
    assert_eq!(o.path_info(&path(out)).unwrap().unwrap(), before);
    let leftovers: Vec<String> = std::fs::read_dir(env.path("store/nix/store"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with("-multi-1.0") && !out.ends_with(n.as_str()))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    let verify = run_nix(
        &env,
        &["store", "verify", "--store", &store, "--all", "--no-trust"],
    );
    assert!(verify.success(), "{verify}");
}

#[test]
fn one_failed_installable_is_reported_alone_and_the_others_are_built() {
    let mut env = TestEnv::new();
    env.write("work/default.nix", EXPRESSIONS);
    env.set_cwd("work");
    env.add_nix_config("sandbox = false");
    let store = store_arg(&env, "store");
    let out = env.run(&[
        "build",
        "--store",
        &store,
        "-f",
        ".",
        "fail",
        "w7",
        "--no-link",
        "--keep-going",
        "-j",
        "1",
    ]);
    assert!(!out.success(), "{out}");
    assert!(
        error_block(&out).starts_with("error: builder for '/nix/store/wb5zz13pa5nb8clxbk4acvh29p4bl7ld-fail.drv' failed with exit code 3;"),
        "{out}"
    );
    let o = open(&env, "store");
    assert!(
        o.is_valid_path(&path("/nix/store/8r0mqrvjnajrw90ivrmhfhfq6vkl534x-refs"))
            .unwrap()
    );
}
