//! The checks and messages of `profile upgrade` that need no evaluation (spec U1, U8), on a
//! profile Nix 2.8 made.

use insta::assert_snapshot;

use super::Fixture;

/// A profile with a store-path element `dep` and a locked flake element `flake1`.
fn setup(f: &Fixture) -> String {
    let p = f.profile();
    let flake = f.write_flake("flake1", 1);
    let locked = format!(
        "path:{}?narHash={}",
        flake.display(),
        super::FLAKE1_NAR_HASH
    );
    f.nix_ok(&["profile", "install", "--profile", &p, &locked]);
    f.env.write("work/dep/share/dep.txt", "dep\n");
    let dep = f.add_path("dep", "dep");
    f.nix_ok(&["profile", "install", "--profile", &p, &dep]);
    p
}

#[test]
fn usage_errors_and_no_match() {
    let Some(f) = Fixture::new() else { return };
    let p = setup(&f);
    let before = std::fs::read_link(f.env.path("profiles/profile")).unwrap();
    assert_snapshot!(f.rflake(&["profile", "upgrade", "--profile", &p]), @r"
    ------- stderr -------
    error: No packages specified.
    Try 'rflake --help' for more information.
    [exit status: 1]
    ");
    assert_snapshot!(f.rflake(&["profile", "upgrade", "--profile", &p, "--all", "dep"]), @r"
    ------- stderr -------
    error: --all cannot be used with package names or regular expressions.
    Try 'rflake --help' for more information.
    [exit status: 1]
    ");
    assert_snapshot!(f.rflake(&["profile", "upgrade", "--profile", &p, "03"]), @r"
    ------- stderr -------
    error: 'nix profile' no longer supports indices ('3')
    [exit status: 1]
    ");
    assert_snapshot!(f.rflake(&["profile", "upgrade", "--profile", &p, "this_package_is_not_installed", "--regex", "flake1"]), @r"
    ------- stderr -------
    warning: Regex 'flake1' does not match any packages in the profile.
    warning: Package name 'this_package_is_not_installed' does not match any packages in the profile.
    warning: No packages to upgrade. Use 'nix profile list' to see the current profile.
    ");
    assert_eq!(
        std::fs::read_link(f.env.path("profiles/profile")).unwrap(),
        before
    );
}

#[test]
fn elements_that_cannot_be_upgraded() {
    let Some(f) = Fixture::new() else { return };
    let p = setup(&f);
    assert_snapshot!(f.rflake(&["profile", "upgrade", "--profile", &p, "--all"]), @r"
    ------- stderr -------
    warning: Found package 'dep', but it was not added from a flake, so it can't be checked for upgrades!
    warning: Found package 'path:$TEST_ENV/work/flake1?narHash=sha256-GaQOHP1tkctDak8caFrNpiPWOT%2BY/QHIkqbG%2ByeelCY%3D#packages.x86_64-linux.default', but it was added from a locked flake reference so it can't be upgraded!
    warning: Found some packages but none of them could be upgraded.
    ");
    assert_snapshot!(f.rflake(&["profile", "upgrade", "--profile", &p, "--regex", ".*#PACKAGES.*", "/nix/store/00000000000000000000000000000000-x"]), @r"
    ------- stderr -------
    warning: Store path '00000000000000000000000000000000-x' does not match any packages in the profile.
    warning: Found package 'path:$TEST_ENV/work/flake1?narHash=sha256-GaQOHP1tkctDak8caFrNpiPWOT%2BY/QHIkqbG%2ByeelCY%3D#packages.x86_64-linux.default', but it was added from a locked flake reference so it can't be upgraded!
    warning: Found some packages but none of them could be upgraded.
    ");
    assert_eq!(
        std::fs::read_link(f.env.path("profiles/profile")).unwrap(),
        std::path::Path::new("profile-2-link")
    );
    assert!(!f.env.path("profiles/profile-3-link").exists());
}
