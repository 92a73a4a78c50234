//! `profile upgrade` through a Nix daemon (`--store unix://…`, issue 16.4): a real
//! `nix-daemon` 2.8 serves the store Nix 2.8 installed the profile into; rflake evaluates,
//! has the daemon build the new package, adds the profile object through it and registers
//! the generation as the daemon's indirect root. The generation is the one rflake makes
//! upgrading the same profile in its own store; nothing changed makes none; a failing build
//! (the daemon's message) leaves the profile as it was; a store without a local file system
//! is refused as Nix refuses it.

use super::Fixture;
use super::upgrade::{HELLO_2, install, profile_state, write_flake_at};
use crate::support::NixDaemon;

/// A fixture with version 1 installed by Nix 2.8 and the flake at version 2.
fn installed() -> Option<Fixture> {
    let f = Fixture::new()?;
    install(&f, "flake1");
    write_flake_at(&f, "flake1", &super::hello_flake(2), 1700000100);
    Some(f)
}

/// The store URI of `daemon`, reading its store in place (`root`, as Nix's `unix://` store).
fn uri(f: &Fixture, daemon: &NixDaemon) -> String {
    format!("{}?root={}", daemon.uri(), f.env.path("store").display())
}

#[test]
fn upgrades_through_the_daemon_as_in_its_own_store() {
    let Some(f) = installed() else { return };
    let p = f.profile();
    // The same profile, upgraded in rflake's own store afterwards.
    std::fs::create_dir_all(f.env.path("own")).unwrap();
    for name in ["profile", "profile-1-link"] {
        let target = std::fs::read_link(f.env.path(format!("profiles/{name}"))).unwrap();
        std::os::unix::fs::symlink(target, f.env.path(format!("own/{name}"))).unwrap();
    }
    let daemon = NixDaemon::start_isolated_on(&f.env.path("daemon"), &f.env.path("store"), "");
    let store = uri(&f, &daemon);

    let out = f.rflake(&[
        "profile",
        "upgrade",
        "--store",
        &store,
        "--profile",
        &p,
        "flake1",
    ]);
    assert!(out.success(), "{out}");
    assert!(
        out.stderr().contains(
            "upgrading 'packages.x86_64-linux.default' from flake 'path:$TEST_ENV/work/flake1?lastModified=1700000000&narHash="
        ),
        "{out}"
    );
    assert!(
        out.stderr()
            .contains("building '/nix/store/rcmjq5ay6qiq5vdm9h1licgd2hxb2miv-hello-2.0.drv'..."),
        "{out}"
    );
    let generation = f.generation(2);
    assert_eq!(
        std::fs::read_link(f.env.path("profiles/profile")).unwrap(),
        std::path::Path::new("profile-2-link")
    );
    let object = f.real(&generation);
    let bin = std::fs::read_link(object.join("bin")).unwrap();
    assert_eq!(bin, std::path::Path::new(&format!("{HELLO_2}/bin")));
    let own_p = f.env.path("own/profile").display().to_string();
    let mine = f.rflake(&["profile", "upgrade", "--profile", &own_p, "flake1"]);
    assert!(mine.success(), "{mine}");
    assert_eq!(
        std::fs::read_link(f.env.path("own/profile-2-link")).unwrap(),
        std::path::Path::new(&generation)
    );
    // The daemon built it and holds the object valid; the generation is its indirect root.
    let verify = f.nix_ok(&["path-info", &generation, HELLO_2]);
    assert_eq!(verify.lines().count(), 2, "{verify}");
    let root = f.env.path("store/nix/var/nix/gcroots/auto").join(
        rflake::profile::generations::indirect_root_name(&f.env.path("profiles/profile-2-link")),
    );
    assert_eq!(
        std::fs::read_link(&root).unwrap(),
        f.env.path("profiles/profile-2-link")
    );

    // Nothing changed: no new generation, nothing touched.
    let state = profile_state(&f);
    let again = f.rflake(&[
        "profile",
        "upgrade",
        "--store",
        &store,
        "--profile",
        &p,
        "flake1",
    ]);
    assert!(again.success(), "{again}");
    assert_eq!(profile_state(&f), state);
}

#[test]
fn a_failed_daemon_build_changes_nothing() {
    let Some(f) = Fixture::new() else { return };
    install(&f, "flake1");
    let failing = super::hello_flake(2).replace("mkdir -p $out/bin;", "echo oops; exit 3;");
    write_flake_at(&f, "flake1", &failing, 1700000100);
    let p = f.profile();
    let daemon = NixDaemon::start_isolated_on(&f.env.path("daemon"), &f.env.path("store"), "");
    let before = profile_state(&f);
    let out = f.rflake(&[
        "profile",
        "upgrade",
        "--store",
        &uri(&f, &daemon),
        "--profile",
        &p,
        "flake1",
    ]);
    assert!(!out.success(), "{out}");
    assert!(out.stderr().contains("failed with exit code 3"), "{out}");
    assert_eq!(profile_state(&f), before);
}

#[test]
fn stores_without_a_local_file_system_are_refused() {
    let Some(f) = installed() else { return };
    let p = f.profile();
    let before = profile_state(&f);
    let cache = format!("file://{}", f.env.path("cache-store").display());
    let out = f.rflake(&[
        "profile",
        "upgrade",
        "--store",
        &cache,
        "--profile",
        &p,
        "flake1",
    ]);
    assert!(!out.success(), "{out}");
    assert!(
        out.stderr()
            .contains("error: '--profile' is not supported for this Nix store"),
        "{out}"
    );
    assert_eq!(profile_state(&f), before);
}
