//! `profile upgrade` killed (SIGKILL) after its build, while it registers the package, builds
//! the profile object, makes the generation and switches (issue #16: "a kill during the switch
//! never leaves a dangling `profile` link"; issue #17's fault campaign, `tests/faults/`, does
//! the same at random points of the whole command).
//!
//! The package's builder signals its end by creating a file; the test then kills rflake after
//! a delay that grows from round to round (0 to ~60 ms), so the kills spread over what follows
//! the build. After each kill the profile must resolve to a complete generation (its object
//! valid, its manifest parsing, its packages valid) and the generations must be the old ones
//! or those and one more; at the end an unkilled upgrade succeeds and leaves nothing but the
//! profile and its generations behind. Nothing asserts timing: a round whose upgrade finished
//! before the kill checks the same things.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rflake::store::StoreDir;
use rflake::store::local::{LocalStore, Options};

use super::{Fixture, pin_mtime};

/// Version `v` of a flake whose package's builder creates `<ready>/<v>` as its last step.
fn flake(v: u32, ready: &Path) -> String {
    format!(
        r#"{{
  outputs = {{ self }}: {{
    packages.x86_64-linux.default = derivation {{
      name = "hello-{v}.0";
      system = "x86_64-linux";
      builder = "/bin/sh";
      PATH = "/usr/bin:/bin";
      args = [ "-c" "mkdir -p $out/bin; echo 'echo Hello {v}' > $out/bin/hello; chmod +x $out/bin/hello; touch {ready}/{v}" ];
    }};
  }};
}}
"#,
        ready = ready.display()
    )
}

/// The profile's generation numbers.
fn generations(f: &Fixture) -> BTreeSet<u64> {
    std::fs::read_dir(f.env.path("profiles"))
        .unwrap()
        .filter_map(|e| {
            let name = e.unwrap().file_name().to_string_lossy().into_owned();
            rflake::profile::generations::parse_name("profile", &name)
        })
        .collect()
}

/// Asserts that the profile resolves to a complete generation.
fn assert_complete(f: &Fixture, round: u32) {
    let profile = PathBuf::from(f.profile());
    let generation = std::fs::read_link(&profile)
        .unwrap_or_else(|e| panic!("round {round}: the profile is not a link: {e}"));
    let object = std::fs::read_link(f.env.path("profiles").join(&generation))
        .unwrap_or_else(|e| panic!("round {round}: '{}' dangles: {e}", generation.display()));
    let object = object.display().to_string();
    let store = LocalStore::open(Options::new(Some(f.env.path("store")))).unwrap();
    let dir = StoreDir::default();
    assert!(
        store.is_valid_path(&dir.parse(&object).unwrap()).unwrap(),
        "round {round}: the generation's object {object} is not valid"
    );
    let text = std::fs::read_to_string(f.real(&object).join("manifest.json")).unwrap();
    let manifest: serde_json::Value = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("round {round}: the manifest does not parse: {e}"));
    let elements = manifest["elements"].as_object().map_or_else(
        || manifest["elements"].as_array().unwrap().clone(),
        |o| o.values().cloned().collect(),
    );
    for e in elements {
        for p in e["storePaths"].as_array().unwrap() {
            let p = dir.parse(p.as_str().unwrap()).unwrap();
            assert!(
                store.is_valid_path(&p).unwrap(),
                "round {round}: the package {} is not valid",
                dir.print(&p)
            );
        }
    }
}

#[test]
fn a_kill_around_the_switch_leaves_a_complete_profile() {
    let Some(f) = Fixture::new() else { return };
    let profile = f.profile();
    let ready = f.env.path("ready");
    std::fs::create_dir_all(&ready).unwrap();
    let write = |v: u32| {
        f.env.write("work/flake1/flake.nix", flake(v, &ready));
        pin_mtime(&f.env.path("work/flake1/flake.nix"));
    };
    write(1);
    f.nix_ok(&[
        "profile",
        "install",
        "--profile",
        &profile,
        &format!("path:{}", f.env.path("work/flake1").display()),
    ]);
    for round in 2..=14u32 {
        write(round);
        let before = generations(&f);
        let mut cmd = f.env.command(env!("CARGO_BIN_EXE_rflake"));
        cmd.args(["profile", "upgrade", "--profile", &profile, "--all"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        let mut child = cmd.spawn().unwrap();
        let signal = ready.join(round.to_string());
        while !signal.exists() && child.try_wait().unwrap().is_none() {
            std::thread::sleep(Duration::from_millis(1));
        }
        std::thread::sleep(Duration::from_millis(u64::from(round - 2) * 5));
        let _ = child.kill();
        child.wait().unwrap();

        assert_complete(&f, round);
        let after = generations(&f);
        let max = before.iter().max().copied().unwrap_or(0);
        assert!(
            after == before || after == &before | &BTreeSet::from([max + 1]),
            "round {round}: generations {before:?} became {after:?}"
        );
    }
    // The next upgrade (of a new version, so that it surely writes) succeeds and leaves
    // nothing of the killed ones in the profile's directory.
    write(20);
    let out = f.rflake(&["profile", "upgrade", "--profile", &profile, "--all"]);
    assert!(out.success(), "{out}");
    assert_complete(&f, 20);
    for e in std::fs::read_dir(f.env.path("profiles")).unwrap() {
        let name = e.unwrap().file_name().to_string_lossy().into_owned();
        assert!(
            name == "profile"
                || rflake::profile::generations::parse_name("profile", &name).is_some()
                    && name.ends_with("-link"),
            "left in the profile's directory: {name}"
        );
    }
}
