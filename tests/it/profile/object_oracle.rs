//! The profile store object against Nix 2.8's: the same elements give the same symlink tree and
//! the same store path (with Nix 2.8's own version-2 manifest text in it), and the same
//! conflicts. Current Nix writes version 3, so its objects differ from 2.8's by the manifest
//! only (spec P3.4, P4.3).

use std::collections::BTreeSet;
use std::path::Path;

use rflake::profile::buildenv::{self, Package};
use rflake::profile::manifest;
use rflake::profile::object;
use rflake::profile::store_fs::StoreFs;
use rflake::report::Collect;
use rflake::store::{StoreDir, StorePath};

use super::Fixture;

fn store_fs(f: &Fixture) -> StoreFs {
    StoreFs::new("/nix/store", f.env.path("store/nix/store"))
}

/// The packages of a manifest, as `ProfileManifest::build` hands them to buildenv.
fn packages(m: &manifest::Manifest) -> Vec<Package> {
    m.elements
        .values()
        .flat_map(|e| {
            e.store_paths.iter().map(|p| Package {
                path: StoreDir::default().print(p),
                active: e.active,
                priority: e.priority,
            })
        })
        .collect()
}

#[test]
fn tree_and_path_as_nix_2_8() {
    let Some(f) = Fixture::new() else { return };
    let p = f.profile();
    let flake = f.write_flake("flake1", 1);
    // A package with its own bin (bin becomes a real directory) and share.
    f.env.write("work/other/bin/other", "#!/bin/sh\n");
    f.env.write("work/other/share/doc/other.txt", "other\n");
    f.env.write("work/other/.hidden", "");
    f.env.write("work/other/manifest.json", "{}");
    f.env.write("work/other/log/x", "");
    f.env.write("work/other/share/info/dir", "");
    std::os::unix::fs::symlink(
        "/nix/store/00000000000000000000000000000000-gone",
        f.env.path("work/other/gone"),
    )
    .unwrap();
    // A package propagated by another one.
    f.env.write("work/prop/lib/prop.txt", "prop\n");
    let prop = f.add_path("prop-2.1", "prop");
    f.env.write(
        "work/propagator/nix-support/propagated-user-env-packages",
        format!("{prop}\n"),
    );
    f.env.write("work/propagator/share/doc/propagator.txt", "");
    let other = f.add_path("other-0.1", "other");
    let propagator = f.add_path("propagator", "propagator");
    // A store path that is a file.
    f.env.write("work/afile", "just a file\n");
    let afile = f.add_path("afile", "afile");
    f.nix_ok(&[
        "profile",
        "install",
        "--profile",
        &p,
        &format!("path:{}", flake.display()),
        &other,
        &propagator,
        &afile,
    ]);
    let target = f.generation(1);
    let text = std::fs::read_to_string(f.real(&target).join("manifest.json")).unwrap();
    let dir = StoreDir::default();
    let m = manifest::parse(text.as_bytes(), Path::new("m"), &dir, &Collect::default()).unwrap();
    let fs = store_fs(&f);
    let plan = buildenv::plan(&fs, "/out", packages(&m)).unwrap();
    let mut warnings = plan.warnings.clone();
    warnings.sort();
    assert_eq!(
        warnings,
        [
            format!(
                "not including \"{afile}\" in the user environment because it's not a directory"
            ),
            "skipping dangling symlink '/out/gone'".to_owned(),
        ]
    );
    let ours = object::assemble(&plan.root, &text, m.references(), &dir);
    assert_eq!(
        dir.print(&ours.info.path),
        target,
        "the object of Nix 2.8's own manifest text"
    );
    // The tree on disk has the shape the plan says.
    let real = f.real(&target);
    assert!(real.join("bin").is_dir() && !real.join("bin").is_symlink());
    assert_eq!(
        std::fs::read_link(real.join("share/doc/other.txt")).unwrap(),
        Path::new(&format!("{other}/share/doc/other.txt"))
    );
    assert_eq!(
        std::fs::read_link(real.join("lib")).unwrap(),
        Path::new(&format!("{prop}/lib"))
    );
    assert!(!real.join("log").exists() && !real.join(".hidden").exists());

    // What current Nix writes instead: version 3, so another path for the same tree.
    let v3 = object::plan(&m, &fs, &dir, &Collect::default()).unwrap();
    assert_ne!(v3.info.path, ours.info.path);
    let refs: BTreeSet<StorePath> = m.references();
    assert_eq!(v3.info.references, refs);
}

#[test]
fn conflicts_as_nix_2_8() {
    let Some(f) = Fixture::new() else { return };
    let p = f.profile();
    f.env.write("work/a/bin/hello", "a\n");
    f.env.write("work/b/bin/hello", "b\n");
    let a = f.add_path("hello-a", "a");
    let b = f.add_path("hello-b", "b");
    let nix = f.nix(&["profile", "install", "--profile", &p, &a, &b]);
    assert!(!nix.success());
    assert!(!f.env.path("profiles/profile").exists());
    let (first, second) = if a < b { (&a, &b) } else { (&b, &a) };
    // 2.8 names the incoming file first, current Nix the existing one.
    assert!(
        nix.stderr().contains(&format!(
            "error: packages '{second}/bin/hello' and '{first}/bin/hello' have the same priority 5"
        )),
        "{nix}"
    );
    let fs = store_fs(&f);
    let pkgs = [&a, &b].map(|p| Package {
        path: p.clone(),
        active: true,
        priority: 5,
    });
    let e = buildenv::plan(&fs, "/out", pkgs.to_vec()).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "Unable to build profile. There is a conflict for the following files:\n\n  \"{first}/bin/hello\"\n  \"{second}/bin/hello\""
        )
    );
    // Different priorities resolve it; the lower number wins (Nix 2.8 has no priorities).
    let mut pkgs = pkgs.to_vec();
    pkgs[1].priority = 4;
    let plan = buildenv::plan(&fs, "/out", pkgs).unwrap();
    let buildenv::Node::Dir(bin) = &plan.root["bin"] else {
        panic!("bin is split: {plan:?}")
    };
    let buildenv::Node::Link { target, priority } = &bin["hello"] else {
        panic!("{plan:?}")
    };
    assert_eq!(
        (target.as_str(), *priority),
        (format!("{b}/bin/hello").as_str(), 4)
    );
}
