//! `profile upgrade` of elements picked by store path, of a Git flake, and of the default
//! profile (`~/.nix-profile` in the test's HOME), on profiles Nix 2.8 installed.

use std::path::{Path, PathBuf};

use super::Fixture;
use super::upgrade::{HELLO_1, HELLO_2, install, manifest, profile_state, write_flake_at};
use crate::support::GitRepo;

/// The store object the profile link `link` leads to (through its generation), as kept in
/// the test's store.
fn object_of(f: &Fixture, link: &Path) -> PathBuf {
    let generation = std::fs::read_link(link).unwrap();
    let generation = link.parent().unwrap().join(generation);
    f.real(
        &std::fs::read_link(generation)
            .unwrap()
            .display()
            .to_string(),
    )
}

/// What `bin/<program>` of the profile at `link` says.
fn program(f: &Fixture, link: &Path, program: &str) -> String {
    let object = object_of(f, link);
    let bin = std::fs::read_link(object.join("bin")).unwrap();
    std::fs::read_to_string(f.real(&bin.display().to_string()).join(program)).unwrap()
}

/// A store path picks its element: one of two elements is upgraded.
#[test]
fn by_store_path_one_of_two() {
    let Some(f) = Fixture::new() else { return };
    let p = f.profile();
    install(&f, "flake1");
    let other = |v| super::hello_flake(v).replace("hello", "other");
    write_flake_at(&f, "flake2", &other(1), 1700000000);
    let flake2 = format!("path:{}", f.env.path("work/flake2").display());
    f.nix_ok(&["profile", "install", "--profile", &p, &flake2]);
    write_flake_at(&f, "flake1", &super::hello_flake(2), 1700000100);
    write_flake_at(&f, "flake2", &other(2), 1700000100);
    let m = manifest(&f);
    let other_1 = m
        .split('"')
        .find(|s| s.ends_with("-other-1.0"))
        .unwrap()
        .to_owned();

    let out = f.rflake(&["profile", "upgrade", "--profile", &p, HELLO_1]);
    assert!(out.success(), "{out}");
    assert_eq!(
        out.stderr(),
        "upgrading 'packages.x86_64-linux.default' from flake 'path:$TEST_ENV/work/flake1?lastModified=1700000000&narHash=sha256-GaQOHP1tkctDak8caFrNpiPWOT%2BY/QHIkqbG%2ByeelCY%3D' to 'path:$TEST_ENV/work/flake1?lastModified=1700000100&narHash=sha256-IZRkQx4l67atFmnlYy0MHPGSr3PjPQNGm0sYLS49dHw%3D'\n\
         building '/nix/store/rcmjq5ay6qiq5vdm9h1licgd2hxb2miv-hello-2.0.drv'...\n"
    );
    let m = manifest(&f);
    assert!(m.contains(HELLO_2) && !m.contains(HELLO_1), "{m}");
    assert!(
        m.contains(&format!("\"storePaths\":[\"{other_1}\"]")),
        "{m}"
    );
    let object = object_of(&f, Path::new(&p));
    assert_eq!(
        std::fs::read_link(object.join("bin/hello")).unwrap(),
        Path::new(&format!("{HELLO_2}/bin/hello"))
    );
    assert_eq!(
        std::fs::read_link(object.join("bin/other")).unwrap(),
        Path::new(&format!("{other_1}/bin/other"))
    );

    // The old store path no longer matches anything.
    let before = profile_state(&f);
    let out = f.rflake(&["profile", "upgrade", "--profile", &p, HELLO_1]);
    assert_eq!(
        out.stderr(),
        "warning: Store path '110wni8ja3mn5bfyakpvaqmrjdb9b85p-hello-1.0' does not match any packages in the profile.\n\
         warning: No packages to upgrade. Use 'nix profile list' to see the current profile.\n"
    );
    assert!(out.success(), "{out}");
    assert_eq!(profile_state(&f), before);
}

/// A `git+file:` flake: a new commit is an upgrade; the locked reference carries the new
/// revision; nothing new committed is no upgrade.
#[test]
fn git_flake() {
    let Some(f) = Fixture::new() else { return };
    let p = f.profile();
    let repo = GitRepo::init(f.env.path("work/gitflake"));
    repo.write("flake.nix", super::hello_flake(1));
    let rev1 = repo.commit_all("one");
    f.nix_ok(&["profile", "install", "--profile", &p, &repo.url("")]);
    let m = manifest(&f);
    assert!(m.contains(HELLO_1), "{m}");
    assert!(m.contains(&rev1), "{m}");

    repo.write("flake.nix", super::hello_flake(2));
    let rev2 = repo.commit_all("two");
    let out = f.rflake(&["profile", "upgrade", "--profile", &p, "gitflake"]);
    assert!(out.success(), "{out}");
    let first = out.stderr().lines().next().unwrap();
    assert!(
        first.starts_with("upgrading 'packages.x86_64-linux.default' from flake 'git+file://$TEST_ENV/work/gitflake?")
            && first.contains(&format!("rev={rev1}"))
            && first.contains(&format!("rev={rev2}")),
        "{out}"
    );
    assert!(
        out.stderr()
            .contains("building '/nix/store/rcmjq5ay6qiq5vdm9h1licgd2hxb2miv-hello-2.0.drv'..."),
        "{out}"
    );
    let m = manifest(&f);
    assert!(
        m.contains(r#""originalUrl":"git+file://$TEST_ENV/work/gitflake""#),
        "{m}"
    );
    assert!(m.contains(&format!("rev={rev2}")), "{m}");
    assert!(m.contains(HELLO_2), "{m}");
    assert_eq!(program(&f, Path::new(&p), "hello"), "echo Hello 2\n");

    // Nothing new committed: no new generation. The new locked reference holds attributes
    // its URL does not (`lastModified`, `revCount`), so it differs from the stored one, and
    // current Nix (which compares the attributes, `Input::operator==`) reports the element
    // as upgraded to the same URL; the profile object is the same, so nothing is switched.
    let before = profile_state(&f);
    let out = f.rflake(&["profile", "upgrade", "--profile", &p, "--all"]);
    assert!(out.success(), "{out}");
    let url = format!("git+file://$TEST_ENV/work/gitflake?ref=refs/heads/master&rev={rev2}");
    assert_eq!(
        out.stderr(),
        format!("upgrading 'packages.x86_64-linux.default' from flake '{url}' to '{url}'\n")
    );
    assert_eq!(profile_state(&f), before);
}

/// With no `--profile`, both tools use the default profile that `~/.nix-profile` links to.
#[test]
fn default_profile() {
    let Some(f) = Fixture::new() else { return };
    // rflake makes `~/.nix-profile` (current Nix's location); Nix 2.8 then follows it.
    assert!(f.rflake(&["profile", "list"]).success());
    let link = f.env.path("home/.nix-profile");
    let profile = std::fs::read_link(&link).unwrap();
    assert!(profile.starts_with(f.env.root()), "{}", profile.display());
    let flake = f.write_flake("flake1", 1);
    f.nix_ok(&["profile", "install", &format!("path:{}", flake.display())]);
    assert_eq!(program(&f, &profile, "hello"), "echo Hello 1\n");

    write_flake_at(&f, "flake1", &super::hello_flake(2), 1700000100);
    let out = f.rflake(&["profile", "upgrade", "flake1"]);
    assert!(out.success(), "{out}");
    assert!(out.stderr().starts_with("upgrading "), "{out}");
    assert_eq!(
        std::fs::read_link(&profile).unwrap(),
        Path::new("profile-2-link")
    );
    assert_eq!(program(&f, &profile, "hello"), "echo Hello 2\n");
    let manifest = std::fs::read_to_string(object_of(&f, &profile).join("manifest.json")).unwrap();
    assert!(manifest.contains(r#""version":3}"#), "{manifest}");
    assert!(manifest.contains(HELLO_2), "{manifest}");
    // The generation is a GC root Nix 2.8 honours.
    f.nix_ok(&["store", "gc"]);
    assert!(f.real(HELLO_2).exists());
}
