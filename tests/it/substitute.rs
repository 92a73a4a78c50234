//! Substitution in `rflake build` (spec E5, E6): outputs and input sources downloaded from
//! `file://` and loopback HTTP binary caches instead of being built, whole closures,
//! signatures checked as Nix checks them, `--fallback`, `--dry-run`'s listing, and nothing
//! registered for a failed substitution. A cache written by Nix 2.8's `nix copy` is
//! substituted into the same path infos as Nix 2.8 substitutes.

// Helpers outside `#[test]` functions unwrap too: a failure is a test failure.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::path::Path;

use rflake::report::Silent;
use rflake::store::binary_cache::{self, OpenOptions};
use rflake::store::copy::{CopyOptions, copy_closure};
use rflake::store::local::{LocalStore, Options};
use rflake::store::{CheckSigs, PathInfo, StoreDir, StorePath};

use crate::support::{CommandOutput, HttpServer, TestEnv, require_nix};

/// The spec's demo-1 key (A5.4).
const SECRET: &str = "demo-1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8DoQe/884Qvh1w3RjnS8CZZ+TWMJulDV8d3IZkElUxuA==";
const PUBLIC: &str = "demo-1:A6EHv/POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg=";
/// Another key with the same name: its signatures do not verify against [`PUBLIC`].
fn other_secret() -> String {
    rflake::store::signature::SecretKey::from_seed("demo-1", &[7; 32]).to_file_text()
}

/// A small DAG: `top` refers to `mid` (which refers to `dep`) and uses the source `data`.
const EXPRESSIONS: &str = r##"
let
  system = "x86_64-linux";
  dep = derivation { name = "dep"; inherit system; builder = "/bin/sh"; args = [ "-c" "echo dep > $out" ]; };
  mid = derivation { name = "mid"; inherit system; builder = "/bin/sh"; args = [ "-c" "echo ${dep} > $out" ]; };
  data = builtins.toFile "data.txt" "some data";
  mk = k: j: refs: derivation { name = "n${toString k}-${toString j}"; inherit system refs; builder = "/bin/sh";
    args = [ "-c" "echo $refs > $out" ]; };
  # Layers of 20, each path referring to two of the layer below.
  layer = k: if k == 0 then builtins.genList (j: mk 0 j [ ]) 20 else
    let below = layer (k - 1); in
    builtins.genList (j: mk k j [ (builtins.elemAt below j) (builtins.elemAt below (if j == 19 then 0 else j + 1)) ]) 20;
in {
  top = derivation { name = "top"; inherit system; builder = "/bin/sh"; args = [ "-c" "echo ${mid} $(< ${data}) > $out; echo $out >> $out" ]; };
  inherit mid dep;
  multi = derivation { name = "multi"; inherit system mid; builder = "/bin/sh"; outputs = [ "out" "dev" ];
    args = [ "-c" "echo $mid > $out; echo dev > $dev" ]; };
  noSubst = derivation { name = "no-subst"; inherit system dep; allowSubstitutes = false; builder = "/bin/sh";
    args = [ "-c" "echo $dep > $out" ]; };
  # 200 paths: layers 0 to 8 (180 paths), 19 paths of layer 9 and this one.
  big = let l8 = layer 8; in mk 9 0 ([ (builtins.elemAt l8 0) (builtins.elemAt l8 1) ] ++ builtins.tail (layer 9));
}
"##;

fn setup() -> TestEnv {
    let mut env = TestEnv::new();
    env.write("work/default.nix", EXPRESSIONS);
    env.set_cwd("work");
    env.add_nix_config("sandbox = false");
    env
}

fn store_arg(env: &TestEnv, name: &str) -> String {
    env.path(name).display().to_string()
}

fn open(env: &TestEnv, name: &str) -> LocalStore {
    LocalStore::open(Options::new(Some(env.path(name)))).unwrap()
}

/// `rflake build --store <store> -f . <attrs> --no-link --json` with `extra` options.
fn build(env: &TestEnv, store: &str, attrs: &[&str], extra: &[&str]) -> CommandOutput {
    let store = store_arg(env, store);
    let mut args = vec!["build", "--store", &store, "-f", ".", "--no-link", "--json"];
    args.extend_from_slice(attrs);
    args.extend_from_slice(extra);
    env.run(&args)
}

/// The output paths of a `--json` result.
fn outputs(json: &str) -> BTreeSet<StorePath> {
    let v: serde_json::Value = serde_json::from_str(json).unwrap();
    let mut out = BTreeSet::new();
    for entry in v.as_array().unwrap() {
        for (_, p) in entry["outputs"].as_object().unwrap() {
            out.insert(StoreDir::default().parse(p.as_str().unwrap()).unwrap());
        }
    }
    out
}

/// Builds `attrs` into the store `src` with rflake and copies their closure into the binary
/// cache directory `cache`, signed with `secret` (unsigned without one). Returns the outputs.
fn populate(
    env: &TestEnv,
    attrs: &[&str],
    cache: &str,
    secret: Option<&str>,
) -> BTreeSet<StorePath> {
    let out = build(env, "src", attrs, &["-j", "2"]);
    assert!(out.success(), "{out}");
    let roots = outputs(out.stdout());
    let mut uri = format!("file://{}", env.path(cache).display());
    if let Some(secret) = secret {
        let key = env.path(format!("{cache}.sk"));
        std::fs::write(&key, secret).unwrap();
        uri.push_str(&format!("?secret-key={}", key.display()));
    }
    let cache = binary_cache::open(&uri, OpenOptions::default(), &Silent).unwrap();
    let src = open(env, "src");
    let opts = CopyOptions {
        check_sigs: CheckSigs::NoCheck,
        jobs: 4,
    };
    copy_closure(&src, &cache, &roots, opts, &Silent).unwrap();
    roots
}

/// The closure of `roots` in `store`, with every path info field but the registration time.
fn closure_infos(store: &LocalStore, roots: &BTreeSet<StorePath>) -> Vec<String> {
    let dir = StoreDir::default();
    let mut todo: Vec<StorePath> = roots.iter().cloned().collect();
    let mut seen = BTreeSet::new();
    let mut lines = Vec::new();
    while let Some(p) = todo.pop() {
        if !seen.insert(p.clone()) {
            continue;
        }
        let info: PathInfo = store
            .path_info(&p)
            .unwrap()
            .unwrap_or_else(|| panic!("{p:?} is not valid"));
        todo.extend(info.references.iter().cloned());
        let refs: Vec<String> = info.references.iter().map(|r| dir.print(r)).collect();
        let sigs: Vec<String> = info.sigs.iter().map(ToString::to_string).collect();
        lines.push(format!(
            "{} {} {} refs={refs:?} deriver={:?} ca={:?} sigs={sigs:?} ultimate={}",
            dir.print(&info.path),
            info.nar_hash.to_sri(),
            info.nar_size,
            info.deriver.as_ref().map(|d| dir.print(d)),
            info.ca.as_ref().map(ToString::to_string),
            info.ultimate,
        ));
    }
    lines.sort();
    lines
}

fn copied_lines(out: &CommandOutput) -> Vec<&str> {
    out.stderr()
        .lines()
        .filter(|l| l.starts_with("copying path "))
        .collect()
}

fn built_lines(out: &CommandOutput) -> Vec<&str> {
    out.stderr()
        .lines()
        .filter(|l| l.starts_with("building "))
        .collect()
}

/// The paths registered in the store `root`.
fn registered(env: &TestEnv, name: &str) -> BTreeSet<String> {
    let db = env.path(name).join("nix/var/nix/db/db.sqlite");
    let conn = rusqlite::Connection::open(db).unwrap();
    let mut stmt = conn.prepare("select path from ValidPaths").unwrap();
    stmt.query_map([], |r| r.get::<_, String>(0))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

/// The options that make `cache` the only substituter, with the demo key trusted.
fn trusting(cache: &str) -> [String; 6] {
    [
        "--option",
        "substituters",
        cache,
        "--option",
        "trusted-public-keys",
        PUBLIC,
    ]
    .map(str::to_owned)
}

fn strs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

#[test]
fn outputs_are_substituted_from_a_file_cache_instead_of_built() {
    let env = setup();
    let roots = populate(&env, &["top"], "cache", Some(SECRET));
    let cache = format!("file://{}", env.path("cache").display());
    let opts = trusting(&cache);
    let out = build(&env, "dst", &["top"], &strs(&opts));
    assert!(out.success(), "{out}");
    assert_eq!(outputs(out.stdout()), roots);
    assert!(built_lines(&out).is_empty(), "{out}");
    // top, mid and dep: the whole closure, references first; not the source `top` was built
    // from, which is not in its closure.
    let copied = copied_lines(&out);
    assert_eq!(copied.len(), 3, "{out}");
    for line in &copied {
        assert!(
            line.ends_with("' from 'file://$TEST_ENV/cache'..."),
            "{line}"
        );
    }
    let pos = |name: &str| copied.iter().position(|l| l.contains(name)).unwrap();
    assert!(
        pos("-dep'") < pos("-mid'") && pos("-mid'") < pos("-top'"),
        "{copied:?}"
    );
    // The inputs of `top` were never built or fetched: their derivations' outputs are the
    // closure only.
    let dst = open(&env, "dst");
    let src = open(&env, "src");
    let got = closure_infos(&dst, &roots);
    assert!(
        got.iter().all(|l| l.contains("sigs=[\"demo-1:")),
        "{got:#?}"
    );
    let want: Vec<String> = closure_infos(&src, &roots)
        .iter()
        .map(|l| l.split(" sigs=").next().unwrap().to_owned())
        .collect();
    let got: Vec<String> = got
        .iter()
        .map(|l| l.split(" sigs=").next().unwrap().to_owned())
        .collect();
    assert_eq!(got, want);

    // Everything is valid now: nothing is copied or built.
    let again = build(&env, "dst", &["top"], &strs(&opts));
    assert!(again.success(), "{again}");
    assert!(
        copied_lines(&again).is_empty() && built_lines(&again).is_empty(),
        "{again}"
    );
}

#[test]
fn a_missing_output_of_a_partly_cached_derivation_is_built_from_substituted_inputs() {
    let env = setup();
    // Only `mid`'s closure is cached: `multi` is built, `mid` substituted for it.
    populate(&env, &["mid"], "cache", Some(SECRET));
    let cache = format!("file://{}", env.path("cache").display());
    let out = build(&env, "dst", &["multi"], &strs(&trusting(&cache)));
    assert!(out.success(), "{out}");
    assert_eq!(built_lines(&out).len(), 1, "{out}");
    assert!(built_lines(&out)[0].contains("-multi.drv"), "{out}");
    assert_eq!(copied_lines(&out).len(), 2, "{out}");
}

#[test]
fn allow_substitutes_false_is_built_unless_always_allowed() {
    let env = setup();
    populate(&env, &["noSubst"], "cache", Some(SECRET));
    let cache = format!("file://{}", env.path("cache").display());
    let out = build(&env, "dst", &["noSubst"], &strs(&trusting(&cache)));
    assert!(out.success(), "{out}");
    // The derivation is built; its input `dep` is substituted.
    assert_eq!(built_lines(&out).len(), 1, "{out}");
    assert_eq!(copied_lines(&out).len(), 1, "{out}");
    let mut opts = trusting(&cache).to_vec();
    opts.extend(["--option", "always-allow-substitutes", "true"].map(str::to_owned));
    let out = build(&env, "dst2", &["noSubst"], &strs(&opts));
    assert!(out.success(), "{out}");
    assert!(built_lines(&out).is_empty(), "{out}");
    assert_eq!(copied_lines(&out).len(), 2, "{out}");
}

#[test]
fn offline_and_substitute_false_do_not_substitute() {
    let env = setup();
    populate(&env, &["dep"], "cache", Some(SECRET));
    let cache = format!("file://{}", env.path("cache").display());
    for extra in [["--offline", ""], ["--option", "substitute"]] {
        let mut opts = trusting(&cache).to_vec();
        opts.extend(
            extra
                .iter()
                .filter(|s| !s.is_empty())
                .map(|s| (*s).to_owned()),
        );
        if extra[0] == "--option" {
            opts.push("false".to_owned());
        }
        let store = format!("dst-{}", extra[0].trim_start_matches('-'));
        let out = build(&env, &store, &["dep"], &strs(&opts));
        assert!(out.success(), "{out}");
        assert!(copied_lines(&out).is_empty(), "{out}");
        assert_eq!(built_lines(&out).len(), 1, "{out}");
    }
}

#[test]
fn dry_run_lists_what_would_be_fetched_with_sizes() {
    let env = setup();
    populate(&env, &["mid"], "cache", Some(SECRET));
    let cache = format!("file://{}", env.path("cache").display());
    let dst = store_arg(&env, "dst");
    let mut args = vec!["build", "--store", &dst, "-f", ".", "multi", "--dry-run"];
    let opts = trusting(&cache);
    args.extend(strs(&opts));
    let out = env.run(&args);
    assert!(out.success(), "{out}");
    let lines: Vec<&str> = out.stderr().lines().collect();
    assert_eq!(lines[0], "this derivation will be built:", "{out}");
    assert!(lines[1].starts_with("  /nix/store/") && lines[1].ends_with("-multi.drv"));
    assert_eq!(
        lines[2], "these 2 paths will be fetched (0.00 MiB download, 0.00 MiB unpacked):",
        "{out}"
    );
    // In store path order, as Nix 2.8 lists them.
    let fetched: Vec<&str> = lines[3..].to_vec();
    assert_eq!(fetched.len(), 2, "{out}");
    let mut sorted = fetched.clone();
    sorted.sort_unstable();
    assert_eq!(fetched, sorted);
    assert!(
        registered(&env, "dst")
            .iter()
            .all(|p| p.ends_with(".drv") || p.ends_with(".nix"))
    );
}

#[test]
fn a_store_path_given_directly_is_substituted_and_linked() {
    let env = setup();
    let roots = populate(&env, &["mid"], "cache", Some(SECRET));
    let mid = StoreDir::default().print(roots.iter().next().unwrap());
    let cache = format!("file://{}", env.path("cache").display());
    let dst = store_arg(&env, "dst");
    let opts = trusting(&cache);
    let mut args = vec!["build", "--store", &dst, &mid, "--json"];
    args.extend(strs(&opts));
    let out = env.run(&args);
    assert!(out.success(), "{out}");
    assert_eq!(out.stdout().trim(), format!("[{{\"path\":\"{mid}\"}}]"));
    assert_eq!(copied_lines(&out).len(), 2, "{out}");
    assert_eq!(
        std::fs::read_link(env.path("work/result")).unwrap(),
        Path::new(&mid)
    );
    // Without substituters it is Nix's error.
    let out = env.run(&[
        "build",
        "--store",
        &store_arg(&env, "dst2"),
        &mid,
        "--no-link",
    ]);
    assert!(!out.success());
    assert_eq!(
        out.stderr().trim(),
        format!("error: path '{mid}' is required, but there is no substituter that can build it")
    );
}

/// Serves the cache directory `cache` at `/cache` of a new loopback HTTP server.
fn serve(env: &TestEnv, cache: &str) -> HttpServer {
    let server = HttpServer::start();
    server.serve_dir("/cache", &env.path(cache));
    server
}

fn count(server: &HttpServer, suffix: &str) -> usize {
    server
        .requests()
        .iter()
        .filter(|r| r.path.ends_with(suffix) || (suffix == "nar" && r.path.contains("/nar/")))
        .count()
}

#[test]
fn a_closure_of_200_paths_comes_from_http_once() {
    let env = setup();
    let roots = populate(&env, &["big"], "cache", Some(SECRET));
    let server = serve(&env, "cache");
    let url = server.url("/cache");
    let opts = trusting(&url);
    let out = build(&env, "dst", &["big"], &strs(&opts));
    assert!(out.success(), "{out}");
    assert!(built_lines(&out).is_empty(), "{out}");
    assert_eq!(copied_lines(&out).len(), 200, "{out}");
    assert_eq!(closure_infos(&open(&env, "dst"), &roots).len(), 200);
    assert_eq!(count(&server, ".narinfo"), 200);
    assert_eq!(count(&server, "nar"), 200);

    // A second run finds everything valid and asks the cache nothing.
    let before = server.requests().len();
    let again = build(&env, "dst", &["big"], &strs(&opts));
    assert!(again.success(), "{again}");
    assert!(copied_lines(&again).is_empty(), "{again}");
    assert_eq!(server.requests().len(), before);
}

#[test]
fn unsigned_and_badly_signed_substitutes_are_ignored_unless_sigs_are_not_required() {
    let env = setup();
    populate(&env, &["dep"], "unsigned", None);
    populate(&env, &["dep"], "badsig", Some(&other_secret()));
    for cache in ["unsigned", "badsig"] {
        let server = serve(&env, cache);
        let url = server.url("/cache");
        let out = build(
            &env,
            &format!("dst-{cache}"),
            &["dep"],
            &strs(&trusting(&url)),
        );
        assert!(out.success(), "{out}");
        let dep = outputs(out.stdout()).into_iter().next().unwrap();
        assert!(
            out.stderr().contains(&format!(
                "warning: ignoring substitute for '/nix/store/{dep}' from '{url}', as it's not signed by any of the keys in 'trusted-public-keys'"
            )),
            "{out}"
        );
        assert!(copied_lines(&out).is_empty(), "{out}");
        assert_eq!(built_lines(&out).len(), 1, "{out}");

        // With `require-sigs = false` the substitute is taken.
        let mut opts = trusting(&url).to_vec();
        opts.extend(["--option", "require-sigs", "false"].map(str::to_owned));
        let out = build(&env, &format!("nosigs-{cache}"), &["dep"], &strs(&opts));
        assert!(out.success(), "{out}");
        assert!(built_lines(&out).is_empty(), "{out}");
        assert_eq!(copied_lines(&out).len(), 1, "{out}");
    }
}

/// Corrupts the NAR file of `path` in the cache directory `cache` (same size, other bytes), or
/// deletes it.
fn damage_nar(env: &TestEnv, cache: &str, path: &StorePath, delete: bool) {
    let narinfo = env.read(format!("{cache}/{}.narinfo", path.hash_part()));
    let url = narinfo
        .lines()
        .find_map(|l| l.strip_prefix("URL: "))
        .unwrap()
        .to_owned();
    let file = env.path(cache).join(url);
    if delete {
        std::fs::remove_file(file).unwrap();
        return;
    }
    // An uncompressed copy of another NAR of the same size would be caught by its hash; a
    // NAR that is not the compressed data at all fails to decompress.
    let len = std::fs::metadata(&file).unwrap().len();
    std::fs::write(&file, vec![b'x'; usize::try_from(len).unwrap()]).unwrap();
}

#[test]
fn a_failed_substitution_is_an_error_without_fallback_and_registers_nothing() {
    let env = setup();
    let roots = populate(&env, &["top"], "cache", Some(SECRET));
    let top = roots.iter().next().unwrap().clone();
    // `mid` is damaged: `top` cannot be registered either; `dep` and the source can.
    let src = open(&env, "src");
    let mid = src
        .path_info(&top)
        .unwrap()
        .unwrap()
        .references
        .into_iter()
        .find(|r| r.name() == "mid")
        .unwrap();
    damage_nar(&env, "cache", &mid, false);
    let server = serve(&env, "cache");
    let url = server.url("/cache");
    let out = build(&env, "dst", &["top"], &strs(&trusting(&url)));
    assert!(!out.success(), "{out}");
    let drv = registered(&env, "dst")
        .into_iter()
        .find(|p| p.ends_with("-top.drv"))
        .unwrap();
    // Nix's message (its trailing space is trimmed, as the error renderer trims every line).
    let last = out.stderr().lines().last().unwrap();
    assert_eq!(
        last,
        format!(
            "error: some substitutes for the outputs of derivation '{drv}' failed (usually happens due to networking issues); try '--fallback' to build derivation from source"
        ),
        "{out}"
    );
    assert!(
        out.stderr().contains("error: reading NAR 'nar/"),
        "the failed download is reported: {out}"
    );
    let valid = registered(&env, "dst");
    assert!(!valid.contains(&format!("/nix/store/{mid}")), "{valid:?}");
    assert!(!valid.contains(&format!("/nix/store/{top}")), "{valid:?}");
    assert!(!env.path(format!("dst/nix/store/{mid}")).exists());
    assert!(!env.path(format!("dst/nix/store/{top}")).exists());

    // With `--fallback` `top` and `mid` are built (`dep` is valid already).
    let mut opts = trusting(&url).to_vec();
    opts.push("--fallback".to_owned());
    let out = build(&env, "dst", &["top"], &strs(&opts));
    assert!(out.success(), "{out}");
    assert_eq!(built_lines(&out).len(), 2, "{out}");
    assert_eq!(outputs(out.stdout()), roots);
}

#[test]
fn a_nar_gone_from_the_cache_means_building() {
    let env = setup();
    let roots = populate(&env, &["mid"], "cache", Some(SECRET));
    let mid = roots.iter().next().unwrap().clone();
    damage_nar(&env, "cache", &mid, true);
    let cache = format!("file://{}", env.path("cache").display());
    let out = build(&env, "dst", &["mid"], &strs(&trusting(&cache)));
    assert!(out.success(), "{out}");
    assert!(out.stderr().contains("warning: "), "{out}");
    assert_eq!(built_lines(&out).len(), 1, "{out}");
    assert_eq!(outputs(out.stdout()), roots);
}

/// Runs Nix 2.8 with a scratch directory on `/nix/store` (see `build_oracle.rs`).
fn run_nix(env: &TestEnv, args: &[&str]) -> CommandOutput {
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

#[test]
fn a_cache_written_by_nix_copy_substitutes_as_nix_substitutes_it() {
    if !require_nix() {
        return;
    }
    let mut env = setup();
    let host_dirs: Vec<&str> = ["/usr", "/bin", "/lib", "/lib64"]
        .into_iter()
        .filter(|d| Path::new(d).exists())
        .collect();
    env.add_nix_config(&format!("extra-sandbox-paths = {}", host_dirs.join(" ")));
    // Nix builds and copies to a signed file cache.
    let nix_src = store_arg(&env, "nix-src");
    let out = run_nix(
        &env,
        &[
            "build",
            "--store",
            &nix_src,
            "-f",
            ".",
            "top",
            "multi",
            "--no-link",
        ],
    );
    assert!(out.success(), "{out}");
    std::fs::write(env.path("key.sk"), SECRET).unwrap();
    let to = format!(
        "file://{}?secret-key={}",
        env.path("cache").display(),
        env.path("key.sk").display()
    );
    let out = run_nix(
        &env,
        &[
            "copy", "--store", &nix_src, "--to", &to, "-f", ".", "top", "multi",
        ],
    );
    assert!(out.success(), "{out}");
    let cache = format!("file://{}", env.path("cache").display());
    let opts = trusting(&cache);
    // Both substitute into fresh stores.
    let out = build(&env, "dst", &["top", "multi"], &strs(&opts));
    assert!(out.success(), "{out}");
    assert!(built_lines(&out).is_empty(), "{out}");
    let roots = outputs(out.stdout());
    let nix_dst = store_arg(&env, "nix-dst");
    let mut args = vec![
        "build",
        "--store",
        &nix_dst,
        "-f",
        ".",
        "top",
        "multi",
        "--no-link",
    ];
    args.extend(strs(&opts));
    let nix = run_nix(&env, &args);
    assert!(nix.success(), "{nix}");
    let mut ours = copied_lines(&out);
    let mut theirs = copied_lines(&nix);
    ours.sort_unstable();
    theirs.sort_unstable();
    assert_eq!(ours, theirs);
    assert_eq!(
        closure_infos(&open(&env, "dst"), &roots),
        closure_infos(&open(&env, "nix-dst"), &roots)
    );
}
