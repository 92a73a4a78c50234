//! The upgrade assertions of Nix's `tests/functional/nix-profile.sh`, ported: the profile is
//! installed by Nix 2.8 and upgraded by rflake, in the default profile (`~/.nix-profile`) as
//! in Nix's script, with its flake (`who` and `version` files, outputs `out`, `man`, `dev`,
//! `meta.outputsToInstall = [ "out" "man" ]`) and a store-path package `foo` with `bin/foo`
//! (Nix's script installs `foo-1.0` with `nix-env`), so that `bin` is a directory.
//!
//! Ported: "Test upgrading a package" (by name, `bin/hello` and `history`), "upgrading package
//! using regular expression" (`--regex '.*'`), "upgrading all packages" (`--all`), "--all
//! exclusivity", "matching no packages" by name and by regex, and the upgrades of "Test
//! rollback" (the rollbacks are Nix 2.8's: rflake has no `profile rollback`; they only switch
//! links). Differences, because Nix 2.8 installed the element: 2.8 ignores
//! `outputsToInstall` and installs `out` only, so the first upgrade's history reads
//! `1.0 -> 2.0, 2.0-man` where Nix's reads `1.0, 1.0-man -> 2.0, 2.0-man`.
//!
//! Not ported: "upgrade to CA package" (`__contentAddressed` needs the `ca-derivations`
//! feature, which rflake's builder does not implement), the `^*` and `^man` upgrades (Nix 2.8
//! cannot install an output selection, so no such element exists in a profile it made; the
//! outputs' rule is tested in `upgrade.rs`), and "upgrading from profile version 2" (it tests
//! `list` and `remove` only).

use std::path::PathBuf;

use super::Fixture;

/// Nix's `flake1` of `nix-profile.sh`, with `derivation` in place of `config.nix`'s
/// `mkDerivation` and `ca.nix` left out.
const FLAKE: &str = r#"{
  description = "Bla bla";

  outputs = { self }: {
    packages.x86_64-linux.default = derivation {
      name = "profile-test-${builtins.readFile ./version}";
      system = "x86_64-linux";
      builder = "/bin/sh";
      PATH = "/usr/bin:/bin";
      outputs = [ "out" "man" "dev" ];
      args = [ "-c" ''
        mkdir -p $out/bin
        printf '#! /bin/sh\necho Hello ${builtins.readFile ./who}\n' > $out/bin/hello
        chmod +x $out/bin/hello
        echo DONE
        mkdir -p $man/share/man
        mkdir -p $dev/include
      '' ];
    } // { meta.outputsToInstall = [ "out" "man" ]; };
  };
}
"#;

struct Script {
    f: Fixture,
    /// `$TEST_HOME/.nix-profile`.
    link: PathBuf,
}

impl Script {
    fn printf(&self, file: &str, text: &str) {
        self.f.env.write(format!("work/flake1/{file}"), text);
    }

    /// `rflake profile upgrade args…`, which must succeed.
    fn upgrade(&self, args: &[&str]) {
        let mut all = vec!["profile", "upgrade"];
        all.extend_from_slice(args);
        let out = self.f.rflake(&all);
        assert!(out.success(), "{out}");
    }

    /// Where `path` below `~/.nix-profile` leads, one link at a time, in logical paths
    /// (the store's objects are read where the test keeps them).
    fn readlink(&self, rel: &str) -> String {
        let object = self.object();
        let mut real = object.clone();
        let mut logical = String::new();
        for part in rel.split('/') {
            real = real.join(part);
            if let Ok(t) = std::fs::read_link(&real) {
                logical = t.display().to_string();
                real = self.f.real(&logical);
            } else {
                logical = format!("{logical}/{part}");
            }
        }
        logical
    }

    /// `$(~/.nix-profile/bin/hello)`: the script's `echo` line, run by `sh`.
    fn hello(&self) -> String {
        let path = self.f.real(&self.readlink("bin/hello"));
        let out = std::process::Command::new("sh").arg(path).output().unwrap();
        String::from_utf8(out.stdout).unwrap().trim_end().to_owned()
    }

    /// The store object `~/.nix-profile` leads to.
    fn object(&self) -> PathBuf {
        let profile = std::fs::read_link(&self.link).unwrap();
        let generation = profile
            .parent()
            .unwrap()
            .join(std::fs::read_link(&profile).unwrap());
        self.f.real(
            &std::fs::read_link(generation)
                .unwrap()
                .display()
                .to_string(),
        )
    }

    fn rollback(&self) {
        self.f.nix_ok(&["profile", "rollback"]);
    }
}

#[test]
fn nix_profile_sh_upgrades() {
    let Some(f) = Fixture::new() else { return };
    // rflake makes `~/.nix-profile`, so both tools use the same default profile.
    assert!(f.rflake(&["profile", "list"]).success());
    let s = Script {
        link: f.env.path("home/.nix-profile"),
        f,
    };
    s.f.env.write("work/flake1/flake.nix", FLAKE);
    s.printf("who", "World");
    s.printf("version", "1.0");
    s.f.env.write("work/foo/bin/foo", "#! /bin/sh\necho foo\n");
    let foo = s.f.add_path("foo-1.0", "foo");
    s.f.nix_ok(&["profile", "install", &foo]);
    let flake1 = s.f.env.path("work/flake1").display().to_string();
    s.f.nix_ok(&["profile", "install", &flake1, "-L"]);
    assert_eq!(s.hello(), "Hello World");

    // Test upgrading a package.
    s.printf("who", "NixOS");
    s.printf("version", "2.0");
    s.upgrade(&["flake1"]);
    assert_eq!(s.hello(), "Hello NixOS");
    let history = s.f.rflake(&["profile", "history"]);
    assert!(
        history
            .stdout()
            .contains("packages.x86_64-linux.default: 1.0 -> 2.0, 2.0-man"),
        "{history}"
    );
    assert!(s.f.real(&s.readlink("share/man")).is_dir());
    assert!(std::fs::symlink_metadata(s.object().join("include")).is_err());

    // Test upgrading package using regular expression.
    s.printf("version", "2.1");
    s.upgrade(&["--regex", ".*"]);
    let target = s.readlink("bin/hello");
    assert!(target.ends_with("-profile-test-2.1/bin/hello"), "{target}");
    s.rollback();

    // Test upgrading all packages.
    s.printf("version", "2.2");
    s.upgrade(&["--all"]);
    let target = s.readlink("bin/hello");
    assert!(target.ends_with("-profile-test-2.2/bin/hello"), "{target}");
    s.rollback();
    s.printf("version", "1.0");

    // Test --all exclusivity.
    let out =
        s.f.rflake(&["--offline", "profile", "upgrade", "--all", "foo"]);
    assert_eq!(out.status().code(), Some(1), "{out}");
    assert_eq!(
        out.stderr(),
        "error: --all cannot be used with package names or regular expressions.\n\
         Try 'rflake --help' for more information.\n"
    );

    // Test matching no packages using literal package name.
    let out = s.f.rflake(&[
        "--offline",
        "profile",
        "upgrade",
        "this_package_is_not_installed",
    ]);
    assert!(out.success(), "{out}");
    assert_eq!(
        out.stderr(),
        "warning: Package name 'this_package_is_not_installed' does not match any packages in the profile.\n\
         warning: No packages to upgrade. Use 'nix profile list' to see the current profile.\n"
    );

    // Test matching no packages using regular expression.
    let out = s.f.rflake(&[
        "--offline",
        "profile",
        "upgrade",
        "--regex",
        ".*unknown_package.*",
    ]);
    assert!(out.success(), "{out}");
    assert_eq!(
        out.stderr(),
        "warning: Regex '.*unknown_package.*' does not match any packages in the profile.\n\
         warning: No packages to upgrade. Use 'nix profile list' to see the current profile.\n"
    );

    // Test rollback.
    s.printf("who", "World");
    s.upgrade(&["flake1"]);
    s.printf("who", "NixOS");
    s.upgrade(&["flake1"]);
    s.rollback();
    assert_eq!(s.hello(), "Hello World");
}
