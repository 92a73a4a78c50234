//! Sandboxed builds (`sandbox = true`, Nix's default on Linux) against unsandboxed ones: in
//! the sandbox a derivation sees no host-only file, Nix's `/etc/passwd` rather than the host's,
//! no loopback server and nowhere to write outside its outputs; unsandboxed it sees and reaches
//! all of them, as in Nix. Fixed-output derivations keep the network. As root with
//! `build-users-group`, builds run as the group's users.
//!
//! The builders are the host's `bash` (its `/dev/tcp` reaches the server without other tools),
//! made visible in the sandbox with `sandbox-paths` as the host's `/usr`, `/bin`, `/lib` and
//! `/lib64`.

#![allow(clippy::unwrap_used)]

use std::path::Path;

use crate::support::{CommandOutput, HttpServer, Response, TestEnv};

/// Nix's `/etc/passwd` in the sandbox.
const SANDBOX_PASSWD: &str = "root:x:0:0:Nix build user:/build:/noshell\n\
                              nixbld:x:1000:100:Nix build user:/build:/noshell\n\
                              nobody:x:65534:65534:Nobody:/:/noshell\n";

fn host_dirs() -> String {
    ["/usr", "/bin", "/lib", "/lib64"]
        .into_iter()
        .filter(|d| Path::new(d).exists())
        .collect::<Vec<_>>()
        .join(" ")
}

/// A test root whose expressions probe the builder's surroundings: `secret` (a host-only
/// file), `outside` (a host directory to write to) and the server's port.
fn setup(server: &HttpServer) -> TestEnv {
    let mut env = TestEnv::new();
    env.write("secret", "host only\n");
    std::fs::create_dir_all(env.path("outside")).unwrap();
    let port = server.url("").rsplit(':').next().unwrap().to_owned();
    let secret = env.path("secret").display().to_string();
    let outside = env.path("outside").display().to_string();
    let body = "hello from the host\n";
    let hash = rflake::hash::Hash::digest(rflake::hash::Algo::Sha256, body.as_bytes()).to_sri();
    server.route("/file", Response::ok(body));
    env.write(
        "work/default.nix",
        format!(
            r#"
let
  system = "x86_64-linux";
  # GET /file from the loopback server with bash's /dev/tcp; the body is the last line.
  fetch = "exec 3<>/dev/tcp/127.0.0.1/{port} && printf 'GET /file HTTP/1.0\\r\\n\\r\\n' >&3 && tail -n 1 <&3";
in {{
  probe = derivation {{
    name = "probe"; inherit system; builder = "/bin/bash"; PATH = "/usr/bin:/bin";
    args = [ "-c" ''
      mkdir $out
      if [ -e {secret} ]; then echo visible; else echo hidden; fi > $out/secret
      cat /etc/passwd > $out/passwd
      cat /etc/group > $out/group
      cat /etc/hosts > $out/hosts 2>/dev/null || true
      if (${{fetch}}) > $out/body 2>/dev/null; then echo reached; else echo unreachable; fi > $out/network
      if echo leaked 2>/dev/null > {outside}/leak; then echo wrote; else echo denied; fi > $out/write
      id -u > $out/uid
      echo $NIX_BUILD_TOP > $out/top
    '' ];
  }};
  fod = derivation {{
    name = "fetched"; inherit system; builder = "/bin/bash"; PATH = "/usr/bin:/bin";
    args = [ "-c" "(${{fetch}}) > $out" ];
    outputHashMode = "flat"; outputHashAlgo = "sha256"; outputHash = "{hash}";
  }};
  users = derivation {{
    name = "users"; inherit system; builder = "/bin/bash"; PATH = "/usr/bin:/bin";
    args = [ "-c" "id -u > $out; id -g >> $out; echo kept > $NIX_BUILD_TOP/mine; exit $fail" ];
    fail = builtins.getEnv "FAIL";
  }};
}}
"#
        ),
    );
    env.set_cwd("work");
    env.add_nix_config(&format!("sandbox-paths = {}", host_dirs()));
    // Without namespaces the sandboxed tests fail on the sandbox, not on what leaks.
    env.add_nix_config("sandbox-fallback = false");
    env
}

fn build(env: &TestEnv, attr: &str) -> CommandOutput {
    env.run(&[
        "build",
        "-f",
        ".",
        attr,
        "--no-link",
        "--print-out-paths",
        "-L",
    ])
}

/// The files of the output `out` (printed `/nix/store/…`) in the test store.
fn read(env: &TestEnv, out: &str, file: &str) -> String {
    std::fs::read_to_string(env.path(format!("store{out}/{file}"))).unwrap()
}

#[test]
fn sandboxed_build_sees_only_its_inputs_and_nix_s_etc() {
    let server = HttpServer::start();
    let mut env = setup(&server);
    env.add_nix_config("sandbox = true");
    let out = build(&env, "probe");
    assert!(out.success(), "{out}");
    let path = out.stdout().trim();
    assert_eq!(read(&env, path, "secret"), "hidden\n");
    assert_eq!(read(&env, path, "passwd"), SANDBOX_PASSWD);
    assert_eq!(
        read(&env, path, "group"),
        "root:x:0:\nnixbld:!:100:\nnogroup:x:65534:\n"
    );
    assert_eq!(
        read(&env, path, "hosts"),
        "127.0.0.1 localhost\n::1 localhost\n"
    );
    assert_eq!(read(&env, path, "network"), "unreachable\n");
    assert_eq!(read(&env, path, "write"), "denied\n");
    assert_eq!(read(&env, path, "uid"), "1000\n");
    assert_eq!(read(&env, path, "top"), "/build\n");
    assert!(!env.path("outside/leak").exists());
    assert!(server.requests().is_empty());
    // Nothing is left of the sandbox in the store directory.
    let leftovers: Vec<_> = std::fs::read_dir(env.path("store/nix/store"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".chroot"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn unsandboxed_build_sees_the_host() {
    let server = HttpServer::start();
    let mut env = setup(&server);
    env.add_nix_config("sandbox = false");
    let out = build(&env, "probe");
    assert!(out.success(), "{out}");
    let path = out.stdout().trim();
    assert_eq!(read(&env, path, "secret"), "visible\n");
    let host_passwd = std::fs::read_to_string("/etc/passwd").unwrap();
    assert_eq!(read(&env, path, "passwd"), host_passwd);
    let host_group = std::fs::read_to_string("/etc/group").unwrap();
    assert_eq!(read(&env, path, "group"), host_group);
    assert_eq!(read(&env, path, "network"), "reached\n");
    assert_eq!(read(&env, path, "body"), "hello from the host\n");
    assert_eq!(read(&env, path, "write"), "wrote\n");
    assert_eq!(
        std::fs::read_to_string(env.path("outside/leak")).unwrap(),
        "leaked\n"
    );
    assert!(read(&env, path, "top").starts_with("/tmp/nix-build-probe.drv-"));
}

#[test]
fn fixed_output_derivations_keep_the_network_in_the_sandbox() {
    let server = HttpServer::start();
    let mut env = setup(&server);
    env.add_nix_config("sandbox = true");
    let out = build(&env, "fod");
    assert!(out.success(), "{out}");
    let path = out.stdout().trim();
    assert_eq!(
        std::fs::read_to_string(env.path(format!("store{path}"))).unwrap(),
        "hello from the host\n"
    );
    assert_eq!(server.requests().len(), 1);
}

#[test]
fn no_chroot_is_refused_by_the_enforced_sandbox_and_allowed_when_relaxed() {
    let server = HttpServer::start();
    let mut env = setup(&server);
    env.write(
        "work/nochroot.nix",
        r#"derivation { name = "nochroot"; system = "x86_64-linux"; builder = "/bin/bash";
             __noChroot = true; PATH = "/usr/bin:/bin"; args = [ "-c" "cat /etc/passwd > $out" ]; }"#,
    );
    env.add_nix_config("sandbox = true");
    let out = env.run(&["build", "-f", "nochroot.nix", "--no-link"]);
    assert!(!out.success());
    assert!(
        out.stderr()
            .contains("has '__noChroot' set, but that's not allowed when 'sandbox' is 'true'"),
        "{out}"
    );
    env.add_nix_config("sandbox = relaxed");
    let out = env.run(&[
        "build",
        "-f",
        "nochroot.nix",
        "--no-link",
        "--print-out-paths",
    ]);
    assert!(out.success(), "{out}");
    let host_passwd = std::fs::read_to_string("/etc/passwd").unwrap();
    let built = env.path(format!("store{}", out.stdout().trim()));
    assert_eq!(std::fs::read_to_string(built).unwrap(), host_passwd);
}

/// The uids of the members of the group `nixbld`, when it exists (Debian's nix-setup-systemd
/// makes it with `nixbld1`…`nixbld10`).
fn nixbld_uids() -> Vec<u32> {
    let group = std::fs::read_to_string("/etc/group").unwrap_or_default();
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    let Some((_, members)) = rflake::build::sandbox::users::parse_group(&group, "nixbld") else {
        return vec![];
    };
    members
        .iter()
        .filter_map(|m| rflake::build::sandbox::users::parse_uid(&passwd, m))
        .collect()
}

#[test]
fn root_builds_as_a_build_user() {
    let uids = nixbld_uids();
    if !rustix::process::geteuid().is_root() {
        return;
    }
    // tests/run.sh makes the group as Debian's nix-setup-systemd does, when it is missing.
    assert!(
        !uids.is_empty() || std::env::var_os("CI").is_none(),
        "running as root in CI without the group 'nixbld' and its members"
    );
    if uids.is_empty() {
        return;
    }
    let gid = rflake::build::sandbox::users::parse_group(
        &std::fs::read_to_string("/etc/group").unwrap(),
        "nixbld",
    )
    .unwrap()
    .0;
    let server = HttpServer::start();
    let mut env = setup(&server);
    env.add_nix_config("sandbox = true");
    env.add_nix_config("build-users-group = nixbld");
    // In the sandbox the builder is uid 1000, gid 100, whichever build user it runs as.
    let out = env.run(&[
        "build",
        "-f",
        ".",
        "users",
        "--no-link",
        "--print-out-paths",
        "--impure",
    ]);
    assert!(out.success(), "{out}");
    let built = env.path(format!("store{}", out.stdout().trim()));
    assert_eq!(std::fs::read_to_string(&built).unwrap(), "1000\n100\n");
    // The output belongs to root again, as Nix canonicalises it.
    use std::os::unix::fs::MetadataExt as _;
    assert_eq!(std::fs::symlink_metadata(&built).unwrap().uid(), 0);
    // A failed build's directory, kept, shows the build user on the host.
    env.add_env("FAIL", "1");
    let out = env.run(&[
        "build",
        "-f",
        ".",
        "users",
        "--no-link",
        "--impure",
        "--keep-failed",
    ]);
    assert!(!out.success(), "{out}");
    let kept = out
        .stderr()
        .split("keeping build directory '")
        .nth(1)
        .and_then(|s| s.split('\'').next())
        .unwrap_or_else(|| panic!("{out}"))
        .to_owned();
    let meta = std::fs::metadata(Path::new(&kept).join("mine")).unwrap();
    let _ = std::fs::remove_dir_all(&kept);
    assert!(uids.contains(&meta.uid()), "{} not in {uids:?}", meta.uid());
    assert_eq!(meta.gid(), gid);
    // The user was claimed through Nix's lock files.
    let pool = env.path("store/nix/var/nix/userpool");
    assert!(
        pool.join(meta.uid().to_string()).exists(),
        "{}",
        pool.display()
    );
}

/// The worked examples (W4, W4b, W5, W6, W7) built by rflake in its sandbox and by Nix 2.8
/// (sandboxed too: it always is for a chroot store): the same paths, hashes and references,
/// and here the same environment, build directory included (`/build` for both).
#[test]
fn worked_examples_build_as_with_nix_in_the_sandbox() {
    use crate::build_oracle::{build, closure_infos, open, outputs, setup, store_arg};
    if !crate::support::require_nix() {
        return;
    }
    let mut env = setup();
    env.add_nix_config("sandbox = true");
    let attrs = [
        "allowedOk",
        "requisitesOk",
        "w4",
        "w4dev",
        "w4bPath",
        "w5",
        "w6",
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
    assert!(built.contains("/nix/store/8r0mqrvjnajrw90ivrmhfhfq6vkl534x-refs"));
    let (n, o) = (open(&env, "nix-store"), open(&env, "our-store"));
    assert_eq!(closure_infos(&o, &built), closure_infos(&n, &built));
    let w6 = built.iter().find(|p| p.ends_with("-envdump")).unwrap();
    let dump = |store: &str| {
        let mut lines: Vec<String> =
            std::fs::read_to_string(Path::new(store).join(w6.trim_start_matches('/')))
                .unwrap()
                .lines()
                .map(str::to_owned)
                .collect();
        lines.sort();
        lines
    };
    let mine = dump(&our_store);
    assert_eq!(mine, dump(&nix_store));
    assert!(
        mine.contains(&"NIX_BUILD_TOP=/build".to_owned()),
        "{mine:?}"
    );
}

/// Failed builds in the sandbox: Nix 2.8's messages (Nix names the outputs in its chroot,
/// rflake where they end up: masked) and nothing of them left in the store.
#[test]
fn failures_in_the_sandbox_give_nix_messages() {
    use crate::build_oracle::{build, error_block, setup, store_arg};
    if !crate::support::require_nix() {
        return;
    }
    let mut env = setup();
    env.add_nix_config("sandbox = true");
    let (nix_store, our_store) = (store_arg(&env, "nix-store"), store_arg(&env, "our-store"));
    let mask = |s: &str| {
        let s = s
            .replace("$TEST_ENV/our-store", "$STORE")
            .replace("$TEST_ENV/nix-store", "$STORE");
        let re = regex::Regex::new(r"/nix/store/[a-z0-9]{32}-[a-z]+\.drv\.chroot").unwrap();
        re.replace_all(&s, "").into_owned()
    };
    for attr in ["fail", "w4b", "missing", "perm", "badfod"] {
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
    for entry in std::fs::read_dir(env.path("our-store/nix/store")).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        assert!(
            !name.ends_with("-missing")
                && !name.ends_with("-perm")
                && !name.ends_with("-fail")
                && !name.ends_with(".chroot"),
            "{name}"
        );
    }
}

/// `sandbox-paths` may name store paths (read from the chroot store's real directory): the
/// path is mounted where the entry says and, with its closure, at its store path; a missing
/// optional entry (`…?`) is skipped.
#[test]
fn sandbox_paths_bring_store_paths_and_skip_missing_optional_ones() {
    use rflake::store::local::{LocalStore, Options};
    let server = HttpServer::start();
    let mut env = setup(&server);
    env.write("tool/hello", "echo from the tool\n");
    let store = LocalStore::open(Options::new(Some(env.path("store")))).unwrap();
    let (tool, _) = store.add_tree("tool", &env.path("tool")).unwrap();
    let tool = rflake::store::StoreDir::default().print(&tool);
    env.write(
        "work/tool.nix",
        format!(
            r#"derivation {{ name = "uses-tool"; system = "x86_64-linux"; builder = "/bin/bash";
                 PATH = "/usr/bin:/bin";
                 args = [ "-c" "bash /opt/tool/hello > $out; ls {tool} >> $out; ls /opt >> $out" ]; }}"#
        ),
    );
    env.add_nix_config("sandbox = true");
    env.add_nix_config(&format!(
        "extra-sandbox-paths = /opt/tool={tool} /opt/none=/does/not/exist?"
    ));
    let out = env.run(&["build", "-f", "tool.nix", "--no-link", "--print-out-paths"]);
    assert!(out.success(), "{out}");
    let built = env.path(format!("store{}", out.stdout().trim()));
    assert_eq!(
        std::fs::read_to_string(built).unwrap(),
        "from the tool\nhello\ntool\n"
    );
}

/// Unsandboxed (Debian's `nix.conf` says `sandbox = false`), root builds as a build user too:
/// in a store kept at its own logical path (no chroot helper), the builder runs as a member of
/// `nixbld` with the group's gid, the store directory becomes `1775 root:nixbld` as Nix makes
/// it, and the output is root's once registered.
#[test]
fn root_builds_unsandboxed_as_a_build_user() {
    use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
    let uids = nixbld_uids();
    if !rustix::process::geteuid().is_root() || uids.is_empty() {
        return;
    }
    let gid = rflake::build::sandbox::users::parse_group(
        &std::fs::read_to_string("/etc/group").unwrap(),
        "nixbld",
    )
    .unwrap()
    .0;
    let server = HttpServer::start();
    let mut env = setup(&server);
    // The build user must reach the store under the test root.
    std::fs::set_permissions(env.root(), std::fs::Permissions::from_mode(0o755)).unwrap();
    env.add_nix_config("sandbox = false");
    env.add_nix_config("build-users-group = nixbld");
    let root = env.path("own");
    let store = format!("local?root={0}&store={0}/nix/store", root.display());
    let out = env.run(&[
        "build",
        "--store",
        &store,
        "-f",
        ".",
        "users",
        "--no-link",
        "--print-out-paths",
    ]);
    assert!(out.success(), "{out}");
    // Printed with the test root masked.
    let printed = out.stdout().trim();
    assert!(printed.starts_with("$TEST_ENV/own/nix/store/"), "{printed}");
    let built = printed.replace("$TEST_ENV", &env.root().display().to_string());
    let ids = std::fs::read_to_string(&built).unwrap();
    let (uid, g) = ids.split_once('\n').unwrap();
    assert!(uids.contains(&uid.parse().unwrap()), "{ids}");
    assert_eq!(g.trim(), gid.to_string());
    assert_eq!(std::fs::symlink_metadata(&built).unwrap().uid(), 0);
    let dir = std::fs::metadata(root.join("nix/store")).unwrap();
    assert_eq!((dir.mode() & 0o7777, dir.gid()), (0o1775, gid));
}
