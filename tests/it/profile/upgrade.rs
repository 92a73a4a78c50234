//! `profile upgrade` of profiles Nix 2.8 installed (spec U2–U8, worked examples W2 and W3):
//! the flake re-locked, exactly the element's attribute evaluated, the new package built and
//! a new generation switched to; nothing changed means no new generation; a failure leaves
//! the profile as it was.

use std::collections::BTreeMap;
use std::path::Path;

use insta::assert_snapshot;

use super::Fixture;

/// W2's out paths of versions 1 and 2 of the flake.
pub(super) const HELLO_1: &str = "/nix/store/110wni8ja3mn5bfyakpvaqmrjdb9b85p-hello-1.0";
pub(super) const HELLO_2: &str = "/nix/store/7jmkaskp24lf4f12jnzm09mzdx43j359-hello-2.0";

/// Sets the modification time of `path` (not following symlinks) to `t`.
pub(super) fn touch(path: &Path, t: u64) {
    let ok = std::process::Command::new("touch")
        .args(["-h", "-d", &format!("@{t}")])
        .arg(path)
        .status()
        .unwrap()
        .success();
    assert!(ok, "touch {}", path.display());
}

/// Writes `text` as `work/<dir>/flake.nix` with the mtimes of file and directory set to `t`.
pub(super) fn write_flake_at(f: &Fixture, dir: &str, text: &str, t: u64) {
    f.env.write(format!("work/{dir}/flake.nix"), text);
    touch(&f.env.path(format!("work/{dir}/flake.nix")), t);
    touch(&f.env.path(format!("work/{dir}")), t);
}

/// Installs `work/<dir>` (written at version 1) with Nix 2.8.
pub(super) fn install(f: &Fixture, dir: &str) {
    let flake = f.write_flake(dir, 1);
    f.nix_ok(&[
        "profile",
        "install",
        "--profile",
        &f.profile(),
        &format!("path:{}", flake.display()),
    ]);
}

/// Everything of the profile directory and the GC roots, recursively: names, link targets,
/// file bytes.
pub(super) fn profile_state(f: &Fixture) -> BTreeMap<String, String> {
    fn walk(dir: &Path, rel: &str, out: &mut BTreeMap<String, String>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries {
            let e = e.unwrap();
            let p = e.path();
            let name = format!("{rel}/{}", e.file_name().to_string_lossy());
            let meta = std::fs::symlink_metadata(&p).unwrap();
            let what = if meta.file_type().is_symlink() {
                format!("-> {}", std::fs::read_link(&p).unwrap().display())
            } else if meta.is_dir() {
                walk(&p, &name, out);
                "dir".to_owned()
            } else {
                format!("{:?}", std::fs::read(&p).ok())
            };
            out.insert(name, what);
        }
    }
    let mut out = BTreeMap::new();
    for dir in ["profiles", "store/nix/var/nix/gcroots/auto"] {
        walk(&f.env.path(dir), dir, &mut out);
    }
    out
}

/// The current generation's `manifest.json`, with the test root shown as `$TEST_ENV`.
pub(super) fn manifest(f: &Fixture) -> String {
    let target = std::fs::read_link(f.env.path("profiles/profile")).unwrap();
    let generation = std::fs::read_link(f.env.path("profiles").join(target)).unwrap();
    let text = std::fs::read_to_string(
        f.real(&generation.display().to_string())
            .join("manifest.json"),
    )
    .unwrap();
    text.replace(&f.env.root().display().to_string(), "$TEST_ENV")
}

/// Where `bin/hello` of the current generation leads, and what it says.
pub(super) fn hello(f: &Fixture) -> (String, String) {
    let target = std::fs::read_link(f.env.path("profiles/profile")).unwrap();
    let generation = std::fs::read_link(f.env.path("profiles").join(target)).unwrap();
    let object = f.real(&generation.display().to_string());
    let bin = std::fs::read_link(object.join("bin")).unwrap();
    let text = std::fs::read_to_string(f.real(&bin.display().to_string()).join("hello")).unwrap();
    (bin.display().to_string(), text)
}

/// Spec W2: install version 1 with Nix 2.8, change the flake, upgrade by name; then the no-op
/// upgrade makes no generation.
#[test]
fn upgrade_by_name_then_nothing_to_do() {
    let Some(f) = Fixture::new() else { return };
    let p = f.profile();
    install(&f, "flake1");
    assert_eq!(
        hello(&f),
        (format!("{HELLO_1}/bin"), "echo Hello 1\n".to_owned())
    );
    write_flake_at(&f, "flake1", &super::hello_flake(2), 1700000100);

    // A dry run prints what would be upgraded and changes nothing.
    let before = profile_state(&f);
    assert_snapshot!(f.rflake(&["profile", "upgrade", "--profile", &p, "--dry-run", "flake1"]), @"
    ------- stderr -------
    upgrading 'packages.x86_64-linux.default' from flake 'path:$TEST_ENV/work/flake1?lastModified=1700000000&narHash=sha256-GaQOHP1tkctDak8caFrNpiPWOT%2BY/QHIkqbG%2ByeelCY%3D' to 'path:$TEST_ENV/work/flake1?lastModified=1700000100&narHash=sha256-IZRkQx4l67atFmnlYy0MHPGSr3PjPQNGm0sYLS49dHw%3D'
    ");
    assert_eq!(profile_state(&f), before);
    assert!(!f.real(HELLO_2).exists());

    assert_snapshot!(f.rflake(&["profile", "upgrade", "--profile", &p, "flake1"]), @"
    ------- stderr -------
    upgrading 'packages.x86_64-linux.default' from flake 'path:$TEST_ENV/work/flake1?lastModified=1700000000&narHash=sha256-GaQOHP1tkctDak8caFrNpiPWOT%2BY/QHIkqbG%2ByeelCY%3D' to 'path:$TEST_ENV/work/flake1?lastModified=1700000100&narHash=sha256-IZRkQx4l67atFmnlYy0MHPGSr3PjPQNGm0sYLS49dHw%3D'
    building '/nix/store/rcmjq5ay6qiq5vdm9h1licgd2hxb2miv-hello-2.0.drv'...
    ");
    assert_eq!(std::fs::read_link(&p).unwrap(), Path::new("profile-2-link"));
    // W2 step 5 as current Nix writes it: version 3, the element keeps its name and
    // originalUrl, only `url` and `storePaths` change.
    assert_snapshot!(manifest(&f), @r#"{"elements":{"flake1":{"active":true,"attrPath":"packages.x86_64-linux.default","originalUrl":"path:$TEST_ENV/work/flake1","outputs":null,"priority":5,"storePaths":["/nix/store/7jmkaskp24lf4f12jnzm09mzdx43j359-hello-2.0"],"url":"path:$TEST_ENV/work/flake1?lastModified=1700000100&narHash=sha256-IZRkQx4l67atFmnlYy0MHPGSr3PjPQNGm0sYLS49dHw%3D"}},"version":3}"#);
    assert_eq!(
        hello(&f),
        (format!("{HELLO_2}/bin"), "echo Hello 2\n".to_owned())
    );
    // Nix agrees the new objects are valid and rooted: they survive a collection.
    f.nix_ok(&["store", "gc"]);
    f.nix_ok(&["path-info", HELLO_2, &f.generation(2)]);

    // W2 step 6: nothing changed, nothing printed, no new generation.
    let before = profile_state(&f);
    assert_snapshot!(f.rflake(&["profile", "upgrade", "--profile", &p, "flake1"]), @"");
    assert_eq!(profile_state(&f), before);
    assert!(!f.env.path("profiles/profile-3-link").exists());
}

/// `--all` and `--regex` over two flakes: only what matched and changed is upgraded.
#[test]
fn upgrade_all_and_by_regex() {
    let Some(f) = Fixture::new() else { return };
    let p = f.profile();
    install(&f, "flake1");
    f.env.write("work/dep/share/dep.txt", "dep\n");
    let dep = f.add_path("dep", "dep");
    f.nix_ok(&["profile", "install", "--profile", &p, &dep]);
    let other = super::hello_flake(1).replace("hello", "other");
    write_flake_at(&f, "flake2", &other, 1700000000);
    f.nix_ok(&[
        "profile",
        "install",
        "--profile",
        &p,
        &format!("path:{}", f.env.path("work/flake2").display()),
    ]);
    write_flake_at(&f, "flake1", &super::hello_flake(2), 1700000100);
    write_flake_at(
        &f,
        "flake2",
        &super::hello_flake(3).replace("hello", "other"),
        1700000100,
    );

    // Only flake2's element matches the regex (the whole identifier, case-insensitively).
    let out = f.rflake(&[
        "profile",
        "upgrade",
        "--profile",
        &p,
        "--regex",
        ".*FLAKE2#.*",
    ]);
    assert!(out.success(), "{out}");
    assert!(out.stderr().contains("building '/nix/store/"), "{out}");
    assert!(out.stderr().contains("-other-3.0.drv'..."), "{out}");
    assert!(!out.stderr().contains("flake1"), "{out}");
    let m = manifest(&f);
    assert!(m.contains(HELLO_1), "{m}");
    assert!(m.contains("-other-3.0\""), "{m}");
    assert!(!m.contains("-other-1.0\""), "{m}");
    assert!(
        m.contains(r#""dep":{"active":true,"priority":5,"storePaths":["#),
        "{m}"
    );

    // `--all`: the store path element is reported, flake1 upgraded, flake2 unchanged.
    assert_snapshot!(f.rflake(&["profile", "upgrade", "--profile", &p, "--all"]), @"
    ------- stderr -------
    warning: Found package 'dep', but it was not added from a flake, so it can't be checked for upgrades!
    upgrading 'packages.x86_64-linux.default' from flake 'path:$TEST_ENV/work/flake1?lastModified=1700000000&narHash=sha256-GaQOHP1tkctDak8caFrNpiPWOT%2BY/QHIkqbG%2ByeelCY%3D' to 'path:$TEST_ENV/work/flake1?lastModified=1700000100&narHash=sha256-IZRkQx4l67atFmnlYy0MHPGSr3PjPQNGm0sYLS49dHw%3D'
    building '/nix/store/rcmjq5ay6qiq5vdm9h1licgd2hxb2miv-hello-2.0.drv'...
    ");
    let m = manifest(&f);
    assert!(m.contains(HELLO_2) && !m.contains(HELLO_1), "{m}");
    assert!(m.contains("-other-3.0\""), "{m}");
    // `bin` now holds both packages' programs.
    let target = std::fs::read_link(&p).unwrap();
    let object = f.real(
        &std::fs::read_link(f.env.path("profiles").join(target))
            .unwrap()
            .display()
            .to_string(),
    );
    assert_eq!(
        std::fs::read_link(object.join("bin/hello")).unwrap(),
        Path::new(&format!("{HELLO_2}/bin/hello"))
    );
    let other = std::fs::read_link(object.join("bin/other")).unwrap();
    assert!(other.ends_with("bin/other"), "{}", other.display());
    assert!(
        other.display().to_string().contains("-other-3.0/"),
        "{}",
        other.display()
    );
    assert_eq!(
        std::fs::read_link(f.env.path("profiles/profile")).unwrap(),
        Path::new("profile-5-link")
    );
}

/// A failing build, an attribute that is gone, and `--arg` leave the profile byte for byte
/// as it was.
#[test]
fn failures_change_nothing() {
    let Some(f) = Fixture::new() else { return };
    let p = f.profile();
    install(&f, "flake1");
    let before = profile_state(&f);
    let failing = super::hello_flake(2).replace("mkdir -p $out/bin;", "echo oops; exit 3;");
    write_flake_at(&f, "flake1", &failing, 1700000100);
    let out = f.rflake(&["profile", "upgrade", "--profile", &p, "flake1"]);
    assert!(!out.success(), "{out}");
    assert!(
        out.stderr()
            .contains("upgrading 'packages.x86_64-linux.default'"),
        "{out}"
    );
    assert!(out.stderr().contains("failed with exit code 3"), "{out}");
    assert_eq!(profile_state(&f), before);

    let gone = super::hello_flake(2).replace(
        "packages.x86_64-linux.default",
        "packages.x86_64-linux.hello",
    );
    write_flake_at(&f, "flake1", &gone, 1700000200);
    assert_snapshot!(f.rflake(&["profile", "upgrade", "--profile", &p, "flake1"]), @"
    ------- stderr -------
    error: flake 'path:$TEST_ENV/work/flake1' does not provide attribute 'packages.x86_64-linux.default'
    [exit status: 1]
    ");
    assert_snapshot!(f.rflake(&["profile", "upgrade", "--profile", &p, "flake1", "--arg", "a", "1"]), @"
    ------- stderr -------
    error: '--arg' and '--argstr' are incompatible with flakes
    [exit status: 1]
    ");
    assert_eq!(profile_state(&f), before);
}

/// The flake `tool` of spec W3: its package is named after its input `utils`' tag.
fn tool_flake(utils: &Path, comment: &str) -> String {
    format!(
        r#"{{
  # {comment}
  inputs.utils.url = "path:{}";
  outputs = {{ self, utils }}: {{
    packages.x86_64-linux.default = derivation {{
      name = "tool-${{utils.lib.tag}}";
      system = "x86_64-linux";
      builder = "/bin/sh";
      PATH = "/usr/bin:/bin";
      args = [ "-c" "mkdir -p $out/bin; echo 'echo ${{utils.lib.tag}}' > $out/bin/tool; chmod +x $out/bin/tool" ];
    }};
  }};
}}
"#,
        utils.display()
    )
}

/// Spec W3: only the top flake is refreshed; its inputs stay pinned by its lock file.
#[test]
fn inputs_stay_pinned() {
    let Some(f) = Fixture::new() else { return };
    let p = f.profile();
    let utils = f.env.path("work/utils");
    let utils_flake =
        |tag: &str| format!("{{ outputs = {{ self }}: {{ lib.tag = \"{tag}\"; }}; }}\n");
    write_flake_at(&f, "utils", &utils_flake("u1"), 1700000000);
    write_flake_at(&f, "tool", &tool_flake(&utils, "v1"), 1700000000);
    f.nix_ok(&[
        "profile",
        "install",
        "--profile",
        &p,
        &format!("path:{}", f.env.path("work/tool").display()),
    ]);
    assert!(f.env.path("work/tool/flake.lock").exists());
    let lock = f.env.read("work/tool/flake.lock");
    let installed = manifest_v2_store_path(&f);
    assert!(installed.ends_with("-tool-u1"), "{installed}");

    // Nix 2.8 recorded the tree before it wrote `flake.lock` into it: the first upgrade sees
    // a new narHash, and rebuilds the same package.
    touch(&f.env.path("work/tool/flake.lock"), 1700000000);
    touch(&f.env.path("work/tool"), 1700000000);
    let out = f.rflake(&["profile", "upgrade", "--profile", &p, "--all"]);
    assert!(out.success(), "{out}");
    assert!(out.stderr().starts_with("upgrading "), "{out}");
    let m = manifest(&f);
    assert!(
        m.contains(&format!("\"storePaths\":[\"{installed}\"]")),
        "{m}"
    );
    let generation = std::fs::read_link(&p).unwrap();

    // A new tag in the input changes nothing: the lock pins it.
    write_flake_at(&f, "utils", &utils_flake("u2"), 1700000100);
    assert_snapshot!(f.rflake(&["profile", "upgrade", "--profile", &p, "--all"]), @"");
    assert_eq!(manifest(&f), m);
    assert_eq!(std::fs::read_link(&p).unwrap(), generation);
    assert_eq!(f.env.read("work/tool/flake.lock"), lock);

    // A changed comment in the top flake is an upgrade, still with the pinned input.
    write_flake_at(&f, "tool", &tool_flake(&utils, "v2"), 1700000200);
    touch(&f.env.path("work/tool/flake.lock"), 1700000000);
    let out = f.rflake(&["profile", "upgrade", "--profile", &p, "tool"]);
    assert!(out.success(), "{out}");
    assert!(
        out.stderr()
            .starts_with("upgrading 'packages.x86_64-linux.default' from flake 'path:"),
        "{out}"
    );
    assert!(out.stderr().contains("lastModified=1700000200"), "{out}");
    let m = manifest(&f);
    assert!(
        m.contains(&format!("\"storePaths\":[\"{installed}\"]")),
        "{m}"
    );
    assert!(m.contains("lastModified=1700000200"), "{m}");
    assert_ne!(std::fs::read_link(&p).unwrap(), generation);
    assert_eq!(f.env.read("work/tool/flake.lock"), lock);
}

/// The one store path of the one element of the version-2 manifest Nix 2.8 wrote.
fn manifest_v2_store_path(f: &Fixture) -> String {
    let m = manifest(f);
    let v: serde_json::Value = serde_json::from_str(&m).unwrap();
    assert_eq!(v["version"], 2, "{m}");
    v["elements"][0]["storePaths"][0]
        .as_str()
        .unwrap()
        .to_owned()
}

/// A package with outputs `out`, `man` and `dev` of which `meta.outputsToInstall` names two.
fn multi_flake(version: u32) -> String {
    format!(
        r#"{{
  outputs = {{ self }}: {{
    packages.x86_64-linux.default = derivation {{
      name = "multi-{version}.0";
      system = "x86_64-linux";
      builder = "/bin/sh";
      PATH = "/usr/bin:/bin";
      outputs = [ "out" "man" "dev" ];
      args = [ "-c" "mkdir -p $out/bin $man/share/man $dev/include; echo {version} > $out/bin/multi; echo {version} > $man/share/man/multi.1; echo {version} > $dev/include/multi.h" ];
    }} // {{ meta.outputsToInstall = [ "out" "man" ]; }};
  }};
}}
"#
    )
}

/// Spec U6 (Nix's functional test): the default outputs are `meta.outputsToInstall`'s, which
/// Nix 2.8 ignored at install time.
#[test]
fn default_outputs_follow_outputs_to_install() {
    let Some(f) = Fixture::new() else { return };
    let p = f.profile();
    write_flake_at(&f, "multi", &multi_flake(1), 1700000000);
    f.nix_ok(&[
        "profile",
        "install",
        "--profile",
        &p,
        &format!("path:{}", f.env.path("work/multi").display()),
    ]);
    assert!(manifest_v2_store_path(&f).ends_with("-multi-1.0"));
    write_flake_at(&f, "multi", &multi_flake(2), 1700000100);
    let out = f.rflake(&["profile", "upgrade", "--profile", &p, "multi"]);
    assert!(out.success(), "{out}");
    let m = manifest(&f);
    let v: serde_json::Value = serde_json::from_str(&m).unwrap();
    let paths: Vec<&str> = v["elements"]["multi"]["storePaths"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap())
        .collect();
    assert_eq!(paths.len(), 2, "{m}");
    assert!(paths.iter().any(|p| p.ends_with("-multi-2.0")), "{m}");
    assert!(paths.iter().any(|p| p.ends_with("-multi-2.0-man")), "{m}");
    let target = std::fs::read_link(&p).unwrap();
    let object = f.real(
        &std::fs::read_link(f.env.path("profiles").join(target))
            .unwrap()
            .display()
            .to_string(),
    );
    assert!(std::fs::symlink_metadata(object.join("share")).is_ok());
    assert!(std::fs::symlink_metadata(object.join("include")).is_err());
}

/// Spec U4 (observed with Nix 2.8): an element added through the registry (`flake:myflake`)
/// is re-resolved, so a new registry entry is an upgrade, and `--override-flake` applies.
#[test]
fn registry_elements_are_re_resolved() {
    let Some(f) = Fixture::new() else { return };
    let p = f.profile();
    let flake1 = f.write_flake("flake1", 1);
    write_flake_at(&f, "flake3", &super::hello_flake(3), 1700000300);
    let flake1_url = format!("path:{}", flake1.display());
    let flake3_url = format!("path:{}", f.env.path("work/flake3").display());
    assert!(
        f.rflake(&["registry", "add", "myflake", &flake1_url])
            .success()
    );
    f.nix_ok(&["profile", "install", "--profile", &p, "flake:myflake"]);
    assert!(manifest(&f).contains(r#""originalUrl":"flake:myflake""#));

    assert!(
        f.rflake(&["registry", "add", "myflake", &flake3_url])
            .success()
    );
    let out = f.rflake(&["profile", "upgrade", "--profile", &p, "--all"]);
    assert!(out.success(), "{out}");
    assert!(
        out.stderr().starts_with(&format!(
            "upgrading 'packages.x86_64-linux.default' from flake '{}?lastModified=1700000000&",
            flake1_url.replace(&f.env.root().display().to_string(), "$TEST_ENV")
        )),
        "{out}"
    );
    assert!(
        out.stderr()
            .contains("/work/flake3?lastModified=1700000300&"),
        "{out}"
    );
    let m = manifest(&f);
    // The element keeps its name and its originalUrl.
    assert!(m.contains(r#""originalUrl":"flake:myflake""#), "{m}");
    assert!(m.contains("-hello-3.0\""), "{m}");

    // `--override-flake` goes first: back to flake1.
    let out = f.rflake(&[
        "profile",
        "upgrade",
        "--profile",
        &p,
        "--all",
        "--override-flake",
        "myflake",
        &flake1_url,
    ]);
    assert!(out.success(), "{out}");
    assert!(
        out.stderr()
            .contains("/work/flake1?lastModified=1700000000&"),
        "{out}"
    );
    assert!(manifest(&f).contains(&format!("\"storePaths\":[\"{HELLO_1}\"]")));
}

/// Two elements from one flake: the flake is locked and evaluated once, and each element
/// gets its own attribute's package.
#[test]
fn two_elements_from_one_flake() {
    let Some(f) = Fixture::new() else { return };
    let p = f.profile();
    let two = |v: u32| {
        let b = format!(
            "packages.x86_64-linux.b = derivation {{ name = \"b-{v}\"; system = \"x86_64-linux\"; builder = \"/bin/sh\"; PATH = \"/usr/bin:/bin\"; args = [ \"-c\" \"mkdir -p $out/share; echo b > $out/share/b\" ]; }};\n    packages.x86_64-linux.a = derivation {{"
        );
        super::hello_flake(v).replace("packages.x86_64-linux.default = derivation {", &b)
    };
    write_flake_at(&f, "pair", &two(1), 1700000000);
    let url = format!("path:{}", f.env.path("work/pair").display());
    for attr in ["a", "b"] {
        f.nix_ok(&[
            "profile",
            "install",
            "--profile",
            &p,
            &format!("{url}#{attr}"),
        ]);
    }
    write_flake_at(&f, "pair", &two(2), 1700000100);
    let out = f.rflake(&["profile", "upgrade", "--profile", &p, "--all"]);
    assert!(out.success(), "{out}");
    assert!(
        out.stderr().contains("upgrading 'packages.x86_64-linux.a'"),
        "{out}"
    );
    assert!(
        out.stderr().contains("upgrading 'packages.x86_64-linux.b'"),
        "{out}"
    );
    let m = manifest(&f);
    let v: serde_json::Value = serde_json::from_str(&m).unwrap();
    let path_of = |name: &str| {
        v["elements"][name]["storePaths"][0]
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert!(path_of("a").ends_with("-hello-2.0"), "{m}");
    assert!(path_of("b").ends_with("-b-2"), "{m}");
}
