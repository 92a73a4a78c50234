//! What rflake adds to `profile upgrade` (issue 16.5): `--json` (with and without `--dry-run`),
//! the plan for people at `-v`, and `--skip-failed`, on profiles Nix 2.8 installed. Nix's own
//! messages stay as they are.

use serde_json::Value;

use super::Fixture;
use super::upgrade::{HELLO_1, HELLO_2, install, manifest, profile_state, write_flake_at};

/// `flake1` (W1's hello), `flake2` (the same package named `other`) and a store path `dep`.
fn three_elements(f: &Fixture) -> String {
    let p = f.profile();
    install(f, "flake1");
    write_flake_at(f, "flake2", &other_flake(1, ""), 1700000000);
    f.nix_ok(&[
        "profile",
        "install",
        "--profile",
        &p,
        &format!("path:{}", f.env.path("work/flake2").display()),
    ]);
    f.env.write("work/dep/share/dep.txt", "dep\n");
    let dep = f.add_path("dep", "dep");
    f.nix_ok(&["profile", "install", "--profile", &p, &dep]);
    p
}

/// W1's flake with the package renamed `other`; `broken` replaces its build script's start.
fn other_flake(version: u32, broken: &str) -> String {
    let text = super::hello_flake(version).replace("hello", "other");
    match broken {
        "" => text,
        b => text.replace("mkdir -p $out/bin;", b),
    }
}

fn json(out: &crate::support::CommandOutput) -> Value {
    serde_json::from_str(out.stdout()).unwrap_or_else(|e| panic!("{e}:\n{out}"))
}

fn element<'a>(doc: &'a Value, name: &str) -> &'a Value {
    doc["elements"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == name)
        .unwrap_or_else(|| panic!("no element {name} in {doc}"))
}

/// `--dry-run --json` is the plan, `--json` the result: old → new locked reference, versions,
/// store paths, what is built, and the generations; stderr is Nix's.
#[test]
fn json_plan_and_result() {
    let Some(f) = Fixture::new() else { return };
    let p = three_elements(&f);
    write_flake_at(&f, "flake1", &super::hello_flake(2), 1700000100);
    let before = profile_state(&f);

    let out = f.rflake(&[
        "profile",
        "upgrade",
        "--profile",
        &p,
        "--all",
        "--dry-run",
        "--json",
    ]);
    assert!(out.success(), "{out}");
    assert_eq!(
        out.stderr(),
        "warning: Found package 'dep', but it was not added from a flake, so it can't be checked for upgrades!\n\
         upgrading 'packages.x86_64-linux.default' from flake 'path:$TEST_ENV/work/flake1?lastModified=1700000000&narHash=sha256-GaQOHP1tkctDak8caFrNpiPWOT%2BY/QHIkqbG%2ByeelCY%3D' to 'path:$TEST_ENV/work/flake1?lastModified=1700000100&narHash=sha256-IZRkQx4l67atFmnlYy0MHPGSr3PjPQNGm0sYLS49dHw%3D'\n"
    );
    // The fields keep their order: the document is an interface.
    assert!(
        out.stdout().starts_with(r#"{"dryRun":true,"profile":"$TEST_ENV/profiles/profile","elements":[{"name":"dep","status":"not-from-flake","#),
        "{out}"
    );
    let plan = json(&out);
    assert_eq!(profile_state(&f), before);
    assert!(!f.real(HELLO_2).exists());
    let flake1 = element(&plan, "flake1");
    assert_eq!(flake1["status"], "upgrade");
    assert_eq!(flake1["attrPath"], "packages.x86_64-linux.default");
    assert_eq!(flake1["originalUrl"], "path:$TEST_ENV/work/flake1");
    assert_eq!(
        flake1["oldUrl"],
        "path:$TEST_ENV/work/flake1?lastModified=1700000000&narHash=sha256-GaQOHP1tkctDak8caFrNpiPWOT%2BY/QHIkqbG%2ByeelCY%3D"
    );
    assert_eq!(
        flake1["newUrl"],
        "path:$TEST_ENV/work/flake1?lastModified=1700000100&narHash=sha256-IZRkQx4l67atFmnlYy0MHPGSr3PjPQNGm0sYLS49dHw%3D"
    );
    assert_eq!(flake1["oldVersion"], "1.0");
    assert_eq!(flake1["newVersion"], "2.0");
    assert_eq!(flake1["oldStorePaths"], serde_json::json!([HELLO_1]));
    assert_eq!(flake1["newStorePaths"], serde_json::json!([HELLO_2]));
    assert_eq!(
        flake1["drvPath"],
        "/nix/store/rcmjq5ay6qiq5vdm9h1licgd2hxb2miv-hello-2.0.drv"
    );
    assert_eq!(flake1["error"], Value::Null);
    let flake2 = element(&plan, "flake2");
    assert_eq!(flake2["status"], "unchanged");
    assert_eq!(flake2["newUrl"], Value::Null);
    assert_eq!(flake2["oldVersion"], "1.0");
    assert_eq!(element(&plan, "dep")["status"], "not-from-flake");
    assert_eq!(element(&plan, "dep")["oldVersion"], "ε");
    assert_eq!(
        plan["built"],
        serde_json::json!(["/nix/store/rcmjq5ay6qiq5vdm9h1licgd2hxb2miv-hello-2.0.drv"])
    );
    assert_eq!(plan["fetched"], serde_json::json!([]));
    assert_eq!(
        plan["generation"],
        serde_json::json!({"before": 3, "after": null})
    );
    assert_eq!(plan["success"], true);

    // The same for people at `-v`, on stderr after Nix's lines; stdout stays empty.
    let out = f.rflake(&[
        "profile",
        "upgrade",
        "--profile",
        &p,
        "--all",
        "--dry-run",
        "-v",
    ]);
    assert!(out.success(), "{out}");
    assert!(out.stdout().is_empty(), "{out}");
    let plan_lines: Vec<&str> = out
        .stderr()
        .lines()
        .skip_while(|l| !l.starts_with("dep: "))
        .collect();
    assert_eq!(
        plan_lines,
        [
            "dep: not added from a flake",
            "flake1: would upgrade 1.0 -> 2.0 (from 'path:$TEST_ENV/work/flake1?lastModified=1700000000&narHash=sha256-GaQOHP1tkctDak8caFrNpiPWOT%2BY/QHIkqbG%2ByeelCY%3D' to 'path:$TEST_ENV/work/flake1?lastModified=1700000100&narHash=sha256-IZRkQx4l67atFmnlYy0MHPGSr3PjPQNGm0sYLS49dHw%3D')",
            "flake2: unchanged (1.0)",
            "1 derivation would be built:",
            "  /nix/store/rcmjq5ay6qiq5vdm9h1licgd2hxb2miv-hello-2.0.drv",
        ],
        "{out}"
    );
    assert_eq!(profile_state(&f), before);

    // The result.
    let out = f.rflake(&[
        "profile",
        "upgrade",
        "--profile",
        &p,
        "flake1",
        "flake2",
        "--json",
    ]);
    assert!(out.success(), "{out}");
    assert!(
        out.stderr()
            .ends_with("building '/nix/store/rcmjq5ay6qiq5vdm9h1licgd2hxb2miv-hello-2.0.drv'...\n"),
        "{out}"
    );
    let result = json(&out);
    assert_eq!(result["dryRun"], false);
    assert_eq!(result["elements"].as_array().unwrap().len(), 2);
    assert_eq!(element(&result, "flake1")["status"], "upgrade");
    assert_eq!(
        element(&result, "flake1")["newStorePaths"],
        serde_json::json!([HELLO_2])
    );
    assert_eq!(
        result["built"],
        serde_json::json!(["/nix/store/rcmjq5ay6qiq5vdm9h1licgd2hxb2miv-hello-2.0.drv"])
    );
    assert_eq!(
        result["generation"],
        serde_json::json!({"before": 3, "after": 4})
    );
    assert_eq!(result["success"], true);
    assert!(manifest(&f).contains(HELLO_2));

    // Nothing changed: no generation, the same generation before and after.
    let before = profile_state(&f);
    let out = f.rflake(&["profile", "upgrade", "--profile", &p, "--all", "--json"]);
    assert!(out.success(), "{out}");
    let result = json(&out);
    assert_eq!(element(&result, "flake1")["status"], "unchanged");
    assert_eq!(result["built"], serde_json::json!([]));
    assert_eq!(
        result["generation"],
        serde_json::json!({"before": 4, "after": 4})
    );
    assert_eq!(profile_state(&f), before);

    // Nothing matched: an empty report.
    let out = f.rflake(&["profile", "upgrade", "--profile", &p, "nothing", "--json"]);
    assert!(out.success(), "{out}");
    assert_eq!(json(&out)["elements"], serde_json::json!([]));
}

/// `--skip-failed`: a package that fails to build, and then one whose attribute is gone, are
/// reported and left as they were; the other is upgraded; the exit status is 1. Without it
/// the same failure leaves the whole profile as it was.
#[test]
fn skip_failed_upgrades_the_others() {
    let Some(f) = Fixture::new() else { return };
    let p = three_elements(&f);
    let other_1 = element_paths(&f, "flake2");
    write_flake_at(&f, "flake1", &super::hello_flake(2), 1700000100);
    write_flake_at(
        &f,
        "flake2",
        &other_flake(2, "echo oops; exit 3;"),
        1700000100,
    );

    // Without the flag the failed build leaves everything as it was (and --json says so).
    let before = profile_state(&f);
    let out = f.rflake(&["profile", "upgrade", "--profile", &p, "--all", "--json"]);
    assert_eq!(out.status().code(), Some(1), "{out}");
    assert!(out.stderr().contains("failed with exit code 3"), "{out}");
    assert_eq!(profile_state(&f), before);
    let result = json(&out);
    assert_eq!(result["success"], false);
    assert_eq!(element(&result, "flake2")["status"], "failed");
    assert!(
        element(&result, "flake2")["error"]
            .as_str()
            .unwrap()
            .contains("failed with exit code 3"),
        "{result}"
    );
    assert_eq!(
        result["generation"],
        serde_json::json!({"before": 3, "after": 3})
    );

    // With it flake1 is upgraded, flake2 left as it was.
    let out = f.rflake(&[
        "profile",
        "upgrade",
        "--profile",
        &p,
        "--all",
        "--skip-failed",
        "--json",
    ]);
    assert_eq!(out.status().code(), Some(1), "{out}");
    assert!(out.stderr().contains("failed with exit code 3"), "{out}");
    let result = json(&out);
    assert_eq!(result["success"], false);
    assert_eq!(element(&result, "flake1")["status"], "upgrade");
    assert_eq!(element(&result, "flake2")["status"], "failed");
    assert_eq!(
        result["generation"],
        serde_json::json!({"before": 3, "after": 4})
    );
    let m = manifest(&f);
    assert!(m.contains(HELLO_2), "{m}");
    assert_eq!(element_paths(&f, "flake2"), other_1);
    // flake2 keeps its old locked reference, so the next upgrade tries it again.
    assert!(m.contains("work/flake2?lastModified=1700000000&"), "{m}");

    // An evaluation failure: the attribute is gone from flake2; flake1 changes again.
    let gone =
        other_flake(3, "").replace("packages.x86_64-linux.default", "packages.x86_64-linux.x");
    write_flake_at(&f, "flake2", &gone, 1700000200);
    write_flake_at(&f, "flake1", &super::hello_flake(3), 1700000200);
    let out = f.rflake(&[
        "profile",
        "upgrade",
        "--profile",
        &p,
        "--all",
        "--skip-failed",
    ]);
    assert_eq!(out.status().code(), Some(1), "{out}");
    assert!(out.stdout().is_empty(), "{out}");
    assert!(
        out.stderr().contains(
            "error: flake 'path:$TEST_ENV/work/flake2' does not provide attribute 'packages.x86_64-linux.default'\n"
        ),
        "{out}"
    );
    assert!(manifest(&f).contains("-hello-3.0\""));
    assert_eq!(element_paths(&f, "flake2"), other_1);
    assert_eq!(
        std::fs::read_link(&p).unwrap(),
        std::path::Path::new("profile-5-link")
    );

    // Every element failing changes nothing at all.
    write_flake_at(
        &f,
        "flake1",
        &super::hello_flake(4).replace("mkdir", "exit 4; mkdir"),
        1700000300,
    );
    let before = profile_state(&f);
    let out = f.rflake(&[
        "profile",
        "upgrade",
        "--profile",
        &p,
        "--all",
        "--skip-failed",
    ]);
    assert_eq!(out.status().code(), Some(1), "{out}");
    assert_eq!(profile_state(&f), before);
}

/// The store paths of the element `name` of the current generation.
fn element_paths(f: &Fixture, name: &str) -> Value {
    let m: Value = serde_json::from_str(&manifest(f)).unwrap();
    match m["version"].as_u64() {
        Some(3) => m["elements"][name]["storePaths"].clone(),
        _ => m["elements"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["originalUrl"].as_str().is_some_and(|u| u.ends_with(name)))
            .unwrap()["storePaths"]
            .clone(),
    }
}

/// Nothing changed, but the current generation is not the last (after a rollback): as Nix
/// compares the object with the last generation, a new generation is made for the current
/// object. (rflake skips rebuilding the object only when the current generation is the last
/// and its manifest is what it would write.)
#[test]
fn nothing_changed_after_a_rollback_makes_a_generation() {
    let Some(f) = Fixture::new() else { return };
    let p = f.profile();
    install(&f, "flake1");
    // The first upgrade rewrites Nix 2.8's version-2 manifest as version 3: generation 2.
    assert!(
        f.rflake(&["profile", "upgrade", "--profile", &p, "--all"])
            .success()
    );
    write_flake_at(&f, "flake1", &super::hello_flake(2), 1700000100);
    assert!(
        f.rflake(&["profile", "upgrade", "--profile", &p, "--all"])
            .success()
    );
    f.nix_ok(&["profile", "rollback", "--profile", &p]);
    assert_eq!(
        std::fs::read_link(&p).unwrap(),
        std::path::Path::new("profile-2-link")
    );
    // The flake as generation 2 has it, byte for byte and mtime for mtime.
    write_flake_at(&f, "flake1", &super::hello_flake(1), 1700000000);
    let out = f.rflake(&["profile", "upgrade", "--profile", &p, "--all"]);
    assert!(out.success() && out.stderr().is_empty(), "{out}");
    assert_eq!(
        std::fs::read_link(&p).unwrap(),
        std::path::Path::new("profile-4-link")
    );
    assert_eq!(f.generation(4), f.generation(2));
    // Now the current generation is the last: nothing more.
    let before = profile_state(&f);
    let out = f.rflake(&["profile", "upgrade", "--profile", &p, "--all"]);
    assert!(out.success() && out.stderr().is_empty(), "{out}");
    assert_eq!(profile_state(&f), before);
}
