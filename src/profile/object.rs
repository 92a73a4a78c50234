//! The profile store object (Nix's `ProfileManifest::build`; spec P3.3, P3.4): the planned
//! symlink tree plus `manifest.json` (version 3), added to the store as a content-addressed
//! object named `profile` that refers to every element's store paths.

use std::collections::BTreeSet;

use super::buildenv::{self, Package};
use super::manifest::{self, Manifest};
use super::nar_tree;
use super::store_fs::StoreFs;
use crate::hash::{Algo, Hash};
use crate::report::Reporter;
use crate::store::ca::ContentAddress;
use crate::store::path::References;
use crate::store::{CheckSigs, PathInfo, Store, StoreDir, StorePath};

/// The name of every profile object.
pub const NAME: &str = "profile";

/// A profile object ready to be added: its path, metadata and NAR.
#[derive(Debug, Clone)]
pub struct Object {
    /// Its metadata (path, NAR hash and size, references, `ca`).
    pub info: PathInfo,
    /// Its NAR serialisation.
    pub nar: Vec<u8>,
}

/// Plans the object of `manifest`: links the active elements' store paths (read through
/// `tree`), writes the version-3 manifest, and computes the NAR and store path. Buildenv's
/// warnings go to `report`.
pub fn plan(
    manifest: &Manifest,
    tree: &dyn buildenv::Tree,
    store_dir: &StoreDir,
    report: &dyn Reporter,
) -> Result<Object, buildenv::Error> {
    let mut packages = Vec::new();
    for element in manifest.elements.values() {
        if element.active {
            packages.extend(element.store_paths.iter().map(|p| Package {
                path: store_dir.print(p),
                active: true,
                priority: element.priority,
            }));
        }
    }
    let planned = buildenv::plan(tree, "<profile>", packages)?;
    for w in &planned.warnings {
        report.warn(w);
    }
    let text = manifest::to_json(manifest, store_dir);
    Ok(assemble(
        &planned.root,
        &text,
        manifest.references(),
        store_dir,
    ))
}

/// The object holding the tree `root` and the manifest text `manifest_json`, referring to
/// `references`.
pub fn assemble(
    root: &buildenv::Dir,
    manifest_json: &str,
    references: BTreeSet<StorePath>,
    store_dir: &StoreDir,
) -> Object {
    let nar = nar_tree::serialise(root, manifest_json);
    let nar_hash = Hash::digest(Algo::Sha256, &nar);
    let refs = References {
        others: references.iter().collect(),
        self_ref: false,
    };
    let path = store_dir
        .make_source_path(&nar_hash, NAME, &refs)
        .expect("'profile' is a valid store path name");
    let info = PathInfo {
        path,
        ca: Some(ContentAddress::source(&nar_hash)),
        nar_hash,
        nar_size: nar.len() as u64,
        references,
        deriver: None,
        registration_time: 0,
        ultimate: false,
        sigs: BTreeSet::new(),
    };
    Object { info, nar }
}

/// Builds the object of `manifest` and adds it to `store` (unless it is there already);
/// returns its path. Packages are read through `fs`.
pub fn build(
    manifest: &Manifest,
    store: &dyn Store,
    fs: &StoreFs,
    report: &dyn Reporter,
) -> anyhow::Result<StorePath> {
    let object = plan(manifest, fs, store.store_dir(), report)?;
    let mut nar = object.nar.as_slice();
    store.add_nar(&object.info, &mut nar, CheckSigs::Check)?;
    Ok(object.info.path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::buildenv::Node;

    const HELLO: &str = "110wni8ja3mn5bfyakpvaqmrjdb9b85p-hello-1.0";

    fn hello_tree() -> buildenv::Dir {
        buildenv::Dir::from([(
            "bin".to_owned(),
            Node::Link {
                target: format!("/nix/store/{HELLO}/bin"),
                priority: 5,
            },
        )])
    }

    /// Spec W2 step 3 (observed with Nix 2.8) and P4.3 (the same profile as current Nix
    /// writes it).
    #[test]
    fn profile_paths_of_the_worked_example() {
        let v2 = r#"{"elements":[{"active":true,"attrPath":"packages.x86_64-linux.default","originalUrl":"path:/home/alice/flake1","storePaths":["/nix/store/110wni8ja3mn5bfyakpvaqmrjdb9b85p-hello-1.0"],"url":"path:/home/alice/flake1?lastModified=1700000000&narHash=sha256-GaQOHP1tkctDak8caFrNpiPWOT+Y%2fQHIkqbG+yeelCY="}],"version":2}"#;
        assert_eq!(v2.len(), 314);
        let dir = StoreDir::default();
        let refs = BTreeSet::from([StorePath::from_base_name(HELLO).unwrap()]);
        let o = assemble(&hello_tree(), v2, refs.clone(), &dir);
        assert_eq!(
            dir.print(&o.info.path),
            "/nix/store/9il1fg9c00gfhzxrlnjyn2qq73rrqxj2-profile"
        );
        assert_eq!(
            o.info.nar_hash.to_sri(),
            "sha256-1B7xmbcVQagoonwndjGPNC7wjaOMJ8tZ95pODdiw9zY="
        );
        assert_eq!(o.info.nar_size, 856);
        assert!(o.info.is_content_addressed(&dir));

        let m = manifest::parse(
            v2.as_bytes(),
            std::path::Path::new("m"),
            &dir,
            &crate::report::Silent,
        )
        .unwrap();
        let v3 = manifest::to_json(&m, &dir);
        let o = assemble(&hello_tree(), &v3, refs, &dir);
        assert_eq!(
            dir.print(&o.info.path),
            "/nix/store/cpkf8xv49hsk0acrd6kwgky3zzsq1xgz-profile"
        );
    }
}
