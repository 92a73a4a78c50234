//! The builder's side of a sandboxed build (Nix's `startBuilder` with `useChroot`): the chroot
//! directory `<real store dir>/<drv>.chroot` with its `/tmp`, `/etc` files, store directory
//! and `/dev` links; the list of bind mounts; the [`Spec`] file for the helpers; afterwards,
//! moving the outputs out of the chroot.

use std::collections::{BTreeMap, BTreeSet};
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};

use super::helper::{Mount, Spec};
use super::users::BuildUser;
use super::{Config, group, passwd, private_network};
use crate::build::Error;
use crate::store::derivation::Derivation;
use crate::store::local::LocalStore;
use crate::store::local::canon::delete_path;
use crate::store::{Store as _, StorePath};

/// A prepared sandbox; dropping it deletes the chroot directory. Its [`Spec`] goes to the helper
/// through a pipe on its standard input, so a killed build leaves no file behind but the chroot
/// directory (which the next build of the derivation replaces, as Nix's does).
pub struct Sandbox {
    chroot: PathBuf,
    spec: Vec<u8>,
}

/// What a sandbox is made of.
pub struct Params<'a> {
    /// The store.
    pub store: &'a LocalStore,
    /// The derivation's path.
    pub drv_path: &'a StorePath,
    /// The derivation (after output rewriting).
    pub drv: &'a Derivation,
    /// The closure of the inputs.
    pub closure: &'a BTreeSet<StorePath>,
    /// The paths the outputs are built at.
    pub outputs: &'a BTreeMap<String, StorePath>,
    /// The build directory on the host.
    pub build_dir: &'a Path,
    /// The settings.
    pub config: &'a Config,
    /// The build user, if any.
    pub user: Option<&'a BuildUser>,
}

fn io_err(what: &str, path: &Path) -> impl FnOnce(std::io::Error) -> Error {
    let msg = format!("{what} '{}'", path.display());
    move |e| Error::Other(format!("{msg}: {}", crate::util::fs::strerror(&e)))
}

fn mkdir_mode(path: &Path, mode: u32) -> Result<(), Error> {
    std::fs::create_dir_all(path).map_err(io_err("cannot create", path))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .map_err(io_err("cannot change mode of", path))
}

fn write(path: &Path, text: &str) -> Result<(), Error> {
    std::fs::write(path, text).map_err(io_err("writing file", path))
}

/// `sandbox-paths` entries as mounts by target: `target=source`, or `path`, with a trailing
/// `?` for optional ones.
pub fn parse_paths(entries: &[String]) -> BTreeMap<String, Mount> {
    let mut out = BTreeMap::new();
    for e in entries {
        if e.is_empty() {
            continue;
        }
        let (e, optional) = match e.strip_suffix('?') {
            Some(s) => (s, true),
            None => (e.as_str(), false),
        };
        let (target, source) = e.split_once('=').unwrap_or((e, e));
        out.insert(
            target.to_owned(),
            Mount {
                source: PathBuf::from(source),
                target: target.to_owned(),
                optional,
            },
        );
    }
    out
}

/// The closure of the store paths `paths` (invalid ones are left out, as Nix does).
fn closure_of(store: &LocalStore, paths: Vec<StorePath>) -> Result<BTreeSet<StorePath>, Error> {
    let mut todo = paths;
    let mut seen = BTreeSet::new();
    while let Some(p) = todo.pop() {
        if seen.contains(&p) {
            continue;
        }
        let Some(info) = store.path_info(&p).map_err(Error::other)? else {
            continue;
        };
        seen.insert(p);
        todo.extend(info.references);
    }
    Ok(seen)
}

/// Creates the chroot directory and the spec for running `builder args` with `env`.
pub fn prepare(
    p: &Params<'_>,
    env: &BTreeMap<Vec<u8>, Vec<u8>>,
    shm_size: &str,
) -> Result<Sandbox, Error> {
    let dir = p.store.store_dir();
    let chroot = p
        .store
        .real_store_dir()
        .join(format!("{}.chroot", p.drv_path.base_name()));
    delete_path(&chroot).map_err(Error::other)?;
    std::fs::DirBuilder::new()
        .create(&chroot)
        .map_err(io_err("cannot create", &chroot))?;
    let mut sandbox = Sandbox {
        chroot: chroot.clone(),
        spec: Vec::new(),
    };
    std::fs::set_permissions(&chroot, std::fs::Permissions::from_mode(0o750))
        .map_err(io_err("cannot change mode of", &chroot))?;
    if let Some(u) = p.user {
        super::users::chown(&chroot, 0, u.gid)?;
    }
    mkdir_mode(&chroot.join("tmp"), 0o1777)?;
    mkdir_mode(&chroot.join("etc"), 0o755)?;
    write(&chroot.join("etc/group"), &group())?;
    write(&chroot.join("etc/passwd"), &passwd(&p.config.build_dir))?;
    let private = private_network(p.drv);
    if private {
        write(
            &chroot.join("etc/hosts"),
            "127.0.0.1 localhost\n::1 localhost\n",
        )?;
    }
    let chroot_store = chroot.join(dir.as_str().trim_start_matches('/'));
    std::fs::create_dir_all(&chroot_store).map_err(io_err("cannot create", &chroot_store))?;
    std::fs::set_permissions(&chroot_store, std::fs::Permissions::from_mode(0o1775))
        .map_err(io_err("cannot change mode of", &chroot_store))?;
    if let Some(u) = p.user {
        super::users::chown(&chroot_store, 0, u.gid)?;
    }

    let mut mounts = parse_paths(&p.config.paths);
    mounts.insert(
        p.config.build_dir.clone(),
        Mount {
            source: p.build_dir.to_owned(),
            target: p.config.build_dir.clone(),
            optional: false,
        },
    );
    // The closure of the store paths among the sandbox paths; they are read from the real
    // store directory (a chroot store's paths are not at their logical place on the host).
    let mut in_store = Vec::new();
    for m in mounts.values_mut() {
        let text = m.source.to_string_lossy().into_owned();
        if let Some(rest) = text.strip_prefix(&format!("{}/", dir.as_str())) {
            let base = rest.split('/').next().unwrap_or(rest);
            if let Ok(sp) = StorePath::from_base_name(base) {
                let tail = &rest[base.len()..];
                m.source = PathBuf::from(format!("{}{tail}", p.store.real_path(&sp).display()));
                in_store.push(sp);
            }
        }
    }
    for sp in closure_of(p.store, in_store)? {
        let printed = dir.print(&sp);
        mounts.insert(
            printed.clone(),
            Mount {
                source: p.store.real_path(&sp),
                target: printed,
                optional: false,
            },
        );
    }
    // The inputs: directories are bind-mounted, other objects hard-linked (as in Nix).
    for sp in p.closure {
        let printed = dir.print(sp);
        let real = p.store.real_path(sp);
        let is_dir = std::fs::symlink_metadata(&real)
            .map_err(io_err("getting status of", &real))?
            .is_dir();
        let linked = !is_dir && {
            let target = chroot.join(printed.trim_start_matches('/'));
            std::fs::hard_link(&real, &target).is_ok()
        };
        if !linked {
            mounts.insert(
                printed.clone(),
                Mount {
                    source: real,
                    target: printed,
                    optional: false,
                },
            );
        }
    }
    for out in p.outputs.values() {
        mounts.remove(&dir.print(out));
    }
    if !mounts.contains_key("/dev") {
        mkdir_mode(&chroot.join("dev/shm"), 0o755)?;
        mkdir_mode(&chroot.join("dev/pts"), 0o755)?;
        for d in ["full", "null", "random", "tty", "urandom", "zero"] {
            let path = format!("/dev/{d}");
            mounts.entry(path.clone()).or_insert(Mount {
                source: PathBuf::from(&path),
                target: path,
                optional: false,
            });
        }
        for (link, to) in [
            ("fd", "/proc/self/fd"),
            ("stdin", "/proc/self/fd/0"),
            ("stdout", "/proc/self/fd/1"),
            ("stderr", "/proc/self/fd/2"),
        ] {
            let at = chroot.join("dev").join(link);
            std::os::unix::fs::symlink(to, &at).map_err(io_err("creating symlink", &at))?;
        }
    }
    if !private {
        write(
            &chroot.join("etc/nsswitch.conf"),
            "hosts: files dns\nservices: files\n",
        )?;
        for f in ["/etc/resolv.conf", "/etc/services", "/etc/hosts"] {
            if Path::new(f).exists() {
                mounts.entry(f.to_owned()).or_insert(Mount {
                    source: PathBuf::from(f),
                    target: f.to_owned(),
                    optional: false,
                });
            }
        }
    }
    let spec = Spec {
        chroot: chroot.clone(),
        mounts: mounts.into_values().collect(),
        private_network: private,
        build_user: p.user.map(|u| (u.uid, u.gid)),
        shm_size: shm_size.to_owned(),
        builder: p.drv.builder.clone(),
        args: p.drv.args.clone(),
        env: env.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
        cwd: p.config.build_dir.clone(),
    };
    sandbox.spec = serde_json::to_vec(&spec).map_err(Error::other)?;
    Ok(sandbox)
}

impl Sandbox {
    /// The spec to write to the helper's standard input (JSON).
    pub fn spec(&self) -> &[u8] {
        &self.spec
    }

    /// Moves the outputs the builder made in the chroot to their place in the store.
    pub fn take_outputs(
        &self,
        store: &LocalStore,
        outputs: &BTreeMap<String, StorePath>,
    ) -> Result<(), Error> {
        let dir = store.store_dir();
        for p in outputs.values() {
            let inside = self.chroot.join(dir.print(p).trim_start_matches('/'));
            if std::fs::symlink_metadata(&inside).is_ok() {
                let real = store.real_path(p);
                delete_path(&real).map_err(Error::other)?;
                crate::store::local::canon::move_path(&inside, &real).map_err(Error::other)?;
            }
        }
        Ok(())
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = delete_path(&self.chroot);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sandbox_paths_have_targets_sources_and_optional_marks() {
        let m = parse_paths(&[
            "/bin/sh=/usr/bin/dash".to_owned(),
            "/usr".to_owned(),
            "/opt/x?".to_owned(),
        ]);
        assert_eq!(m["/bin/sh"].source, PathBuf::from("/usr/bin/dash"));
        assert!(!m["/bin/sh"].optional);
        assert_eq!(m["/usr"].source, PathBuf::from("/usr"));
        assert!(m["/opt/x"].optional);
        assert_eq!(m["/opt/x"].source, PathBuf::from("/opt/x"));
    }
}
