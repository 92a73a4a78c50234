//! Where the default profile lives (spec P1), as current Nix makes it: the links every profile
//! command creates before it looks at its arguments.

use std::path::Path;

use crate::support::TestEnv;

fn link(env: &TestEnv, rel: &str) -> String {
    std::fs::read_link(env.path(rel))
        .unwrap_or_else(|e| panic!("{rel}: {e}"))
        .display()
        .to_string()
        .replace(&env.root().display().to_string(), "$TEST_ENV")
}

#[test]
fn default_profile_links() {
    let root = rustix::process::geteuid().is_root();
    let env = TestEnv::new();
    let out = env.run(&["profile", "list"]);
    assert!(out.success() && out.stdout().is_empty(), "{out}");
    let profile = if root {
        "$TEST_ENV/nix-state/profiles/per-user/root/profile"
    } else {
        "$TEST_ENV/state/nix/profiles/profile"
    };
    assert_eq!(link(&env, "home/.nix-profile"), profile);
    if root {
        assert_eq!(link(&env, "nix-state/profiles/default"), profile);
    }
    // Even a command that then fails made them, and `--profile` does not prevent it.
    let env = TestEnv::new();
    let out = env.run(&["profile", "upgrade", "--profile", "elsewhere"]);
    assert!(!out.success(), "{out}");
    assert_eq!(link(&env, "home/.nix-profile"), profile);

    // With use-xdg-base-directories the link is <state>/nix/profile.
    let mut env = TestEnv::new();
    env.add_nix_config("use-xdg-base-directories = true");
    assert!(env.run(&["profile", "history"]).success());
    assert_eq!(link(&env, "state/nix/profile"), profile);
    assert!(!env.path("home/.nix-profile").exists());

    // An existing link is followed one level, wherever it points.
    let env = TestEnv::new();
    std::os::unix::fs::symlink("../old/profile", env.path("home/.nix-profile")).unwrap();
    env.write("old/gen/manifest.json", r#"{"elements":{},"version":3}"#);
    std::os::unix::fs::symlink(env.path("old/gen"), env.path("old/profile")).unwrap();
    assert!(env.run(&["profile", "list"]).success());
    assert!(!Path::new(&env.path("old/profile-1-link")).exists());
    let out = env.run(&["profile", "upgrade", "--all"]);
    assert_eq!(
        out.stderr(),
        "warning: There are no packages in the profile.\nwarning: No packages to upgrade. Use 'nix profile list' to see the current profile.\n"
    );
}
