//! A flake's `nixConfig` during `profile upgrade` (spec U4): applied as current Nix applies it
//! for installables — settings other than a few harmless ones only with
//! `accept-flake-config` or when `trusted-settings.json` trusts the value, else ignored with
//! Nix's warning. The setting used is `cores`, which a build sees as `NIX_BUILD_CORES`.

use super::Fixture;
use super::upgrade::{manifest, write_flake_at};

/// A flake whose package records the `NIX_BUILD_CORES` its build saw.
fn cores_flake(version: u32) -> String {
    format!(
        r#"{{
  nixConfig.cores = 7;
  outputs = {{ self }}: {{
    packages.x86_64-linux.default = derivation {{
      name = "cores-{version}";
      system = "x86_64-linux";
      builder = "/bin/sh";
      PATH = "/usr/bin:/bin";
      args = [ "-c" "mkdir -p $out/bin; echo cores=$NIX_BUILD_CORES > $out/bin/cores" ];
    }};
  }};
}}
"#
    )
}

/// What the current generation's `bin/cores` says.
fn cores(f: &Fixture) -> String {
    let m: serde_json::Value = serde_json::from_str(&manifest(f)).unwrap();
    let path = m["elements"]["cores"]["storePaths"][0]
        .as_str()
        .unwrap()
        .to_owned();
    std::fs::read_to_string(f.real(&path).join("bin/cores")).unwrap()
}

#[test]
fn nix_config_needs_trust() {
    let Some(f) = Fixture::new() else { return };
    let p = f.profile();
    write_flake_at(&f, "cores", &cores_flake(1), 1700000000);
    let url = format!("path:{}", f.env.path("work/cores").display());
    f.nix_ok(&["profile", "install", "--profile", &p, "--cores", "2", &url]);

    // Untrusted: Nix's warning, and the configured value.
    write_flake_at(&f, "cores", &cores_flake(2), 1700000100);
    let out = f.rflake(&[
        "profile",
        "upgrade",
        "--profile",
        &p,
        "--all",
        "--cores",
        "2",
    ]);
    assert!(out.success(), "{out}");
    assert!(
        out.stderr().starts_with(
            "warning: ignoring untrusted flake configuration setting 'cores'.\nPass '--accept-flake-config' to trust it\nupgrading "
        ),
        "{out}"
    );
    assert_eq!(cores(&f), "cores=2\n");

    // `--accept-flake-config`: the flake's value, silently.
    write_flake_at(&f, "cores", &cores_flake(3), 1700000200);
    let out = f.rflake(&[
        "profile",
        "upgrade",
        "--profile",
        &p,
        "--all",
        "--cores",
        "2",
        "--accept-flake-config",
    ]);
    assert!(out.success(), "{out}");
    assert!(!out.stderr().contains("warning:"), "{out}");
    assert_eq!(cores(&f), "cores=7\n");

    // A value saved as trusted in `trusted-settings.json`.
    f.env
        .write("data/nix/trusted-settings.json", r#"{"cores":{"7":true}}"#);
    write_flake_at(&f, "cores", &cores_flake(4), 1700000300);
    let out = f.rflake(&[
        "profile",
        "upgrade",
        "--profile",
        &p,
        "--all",
        "--cores",
        "2",
    ]);
    assert!(out.success(), "{out}");
    assert!(
        out.stderr().starts_with(
            "Using saved setting for 'cores = 7' from ~/.local/share/nix/trusted-settings.json.\nupgrading "
        ),
        "{out}"
    );
    assert_eq!(cores(&f), "cores=7\n");

    // Saved as not trusted: ignored with the warning.
    f.env
        .write("data/nix/trusted-settings.json", r#"{"cores":{"7":false}}"#);
    write_flake_at(&f, "cores", &cores_flake(5), 1700000400);
    let out = f.rflake(&[
        "profile",
        "upgrade",
        "--profile",
        &p,
        "--all",
        "--cores",
        "2",
    ]);
    assert!(out.success(), "{out}");
    assert!(
        out.stderr()
            .contains("warning: ignoring untrusted flake configuration setting 'cores'."),
        "{out}"
    );
    assert_eq!(cores(&f), "cores=2\n");
}
