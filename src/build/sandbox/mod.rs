//! Sandboxed builds on Linux (Nix's `sandbox` setting and the chroot part of its local
//! derivation builder, `src/libstore/build/local-derivation-goal.cc` in 2.8,
//! `unix/build/linux-derivation-builder.cc` today), and build users (`build-users-group`,
//! Nix's `UserLock`).
//!
//! A sandboxed build runs its builder in fresh mount, PID, IPC and UTS namespaces (and a
//! network namespace with only a loopback interface, except for fixed-output derivations),
//! chrooted into `<store>/<drv>.chroot`, a directory holding only what Nix gives a builder:
//!
//! - the closure of the inputs and of the store paths among `sandbox-paths`, and the
//!   `sandbox-paths` themselves (`/bin/sh=/path/to/sh`, `path`, `path?` when optional);
//! - the build directory at `sandbox-build-dir` (`/build`), private `/tmp`;
//! - Nix's `/etc/passwd`, `/etc/group` and `/etc/hosts` (uid 1000 `nixbld`, gid 100);
//!   fixed-output derivations get the host's `/etc/resolv.conf`, `/etc/services`, `/etc/hosts`
//!   and a `/etc/nsswitch.conf` limited to files and DNS;
//! - a minimal `/dev` (`full null random tty urandom zero`, `shm`, `pts`, `fd` links), a
//!   fresh `/proc`, host name `localhost`.
//!
//! The builder runs as uid 1000 / gid 100 of a user namespace that maps them to the build
//! user ([`users`]) or, without one, to the calling user. The rflake binary re-executes itself
//! to set this up ([`helper`]): `unsafe` code is forbidden in rflake, so there is no `fork`
//! or `clone`, only `exec`.
//!
//! # Deviations
//!
//! - The default `sandbox-paths` is empty, as in Debian's Nix (upstream builds with a
//!   bundled busybox default to `/bin/sh=<busybox>`).
//! - The builder's uid is mapped through a second, nested user namespace created after the
//!   chroot (Nix maps it in the first one): what the builder observes is the same.
//! - No seccomp filter (`filter-syscalls`), no cgroups, no `__impureHostDeps`, no recursive
//!   Nix; `pre-build-hook` is not run; `sandbox-dev-shm-size` is passed to tmpfs as it is.
//! - Build users: supplementary groups of the build user are not set, and the user's
//!   processes are not killed before and after the build (the PID namespace ends them for a
//!   sandboxed build).

pub mod helper;
mod netlink;
pub mod prepare;
pub mod users;

use crate::store::derivation::{Derivation, Kind};

/// The `sandbox` setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    /// `true`: every build is sandboxed; `__noChroot` is an error.
    #[default]
    Enabled,
    /// `false`.
    Disabled,
    /// `relaxed`: derivations with `__noChroot` and fixed-output ones run unsandboxed.
    Relaxed,
}

impl Mode {
    /// Parses the value as Nix prints it (`true`, `false`, `relaxed`).
    pub fn parse(s: &str) -> Option<Mode> {
        match s {
            "true" => Some(Mode::Enabled),
            "false" => Some(Mode::Disabled),
            "relaxed" => Some(Mode::Relaxed),
            _ => None,
        }
    }
}

/// The sandbox and build-user settings.
#[derive(Debug, Clone)]
pub struct Config {
    /// `sandbox`.
    pub mode: Mode,
    /// `sandbox-paths` (with `extra-sandbox-paths`), one entry each.
    pub paths: Vec<String>,
    /// `sandbox-build-dir`.
    pub build_dir: String,
    /// `sandbox-fallback`: build unsandboxed when namespaces are not available.
    pub fallback: bool,
    /// `sandbox-dev-shm-size`.
    pub shm_size: String,
    /// `build-users-group`; empty for none. Used only when running as root.
    pub build_users_group: String,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            mode: Mode::Enabled,
            paths: Vec::new(),
            build_dir: "/build".to_owned(),
            fallback: true,
            shm_size: "50%".to_owned(),
            build_users_group: String::new(),
        }
    }
}

/// The uid the builder has in the sandbox (Nix's `sandboxUid`).
pub const SANDBOX_UID: u32 = 1000;
/// The gid the builder has in the sandbox (Nix's `sandboxGid`).
pub const SANDBOX_GID: u32 = 100;

/// Whether the derivation asks not to be sandboxed (`__noChroot = true`).
fn no_chroot(drv: &Derivation) -> bool {
    if let Some(json) = drv.env_var("__json") {
        return serde_json::from_slice::<serde_json::Value>(json)
            .ok()
            .and_then(|v| v.get("__noChroot").and_then(serde_json::Value::as_bool))
            .unwrap_or(false);
    }
    drv.env_var("__noChroot") == Some(b"1".as_slice())
}

/// Whether a derivation is "sandboxed" in Nix's sense: every kind but fixed-output ones,
/// which keep the network.
pub fn private_network(drv: &Derivation) -> bool {
    drv.kind() != Ok(Kind::Fixed)
}

/// Whether `drv` (printed `printed`) is built in the sandbox under `mode` (Nix's
/// `useChroot`); `__noChroot` with `sandbox = true` is Nix's error.
pub fn wanted(mode: Mode, drv: &Derivation, printed: &str) -> Result<bool, super::Error> {
    if drv.builder.starts_with(b"builtin:") {
        return Ok(false);
    }
    match mode {
        Mode::Disabled => Ok(false),
        Mode::Enabled if no_chroot(drv) => Err(super::Error::Other(format!(
            "derivation '{printed}' has '__noChroot' set, but that's not allowed when 'sandbox' is 'true'"
        ))),
        Mode::Enabled => Ok(true),
        Mode::Relaxed => Ok(private_network(drv) && !no_chroot(drv)),
    }
}

/// Whether the namespaces a sandbox needs can be created here (asked once per process, of
/// the helper `exe`).
fn available(exe: &std::path::Path) -> bool {
    static AVAILABLE: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *AVAILABLE.get_or_init(|| {
        std::process::Command::new(exe)
            .arg(helper::PROBE_ARG)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    })
}

/// Whether `drv` is built in the sandbox: [`wanted`], and the namespaces can be created; when
/// they cannot, the build runs unsandboxed if `sandbox-fallback` allows (as in Nix).
pub fn decide(
    drv: &Derivation,
    printed: &str,
    settings: &super::Settings,
) -> Result<bool, super::Error> {
    if !wanted(settings.sandbox.mode, drv, printed)? {
        return Ok(false);
    }
    if settings.helper.as_deref().is_some_and(available) {
        return Ok(true);
    }
    if settings.sandbox.fallback {
        Ok(false)
    } else {
        Err(super::Error::Other(
            "unable to start build process".to_owned(),
        ))
    }
}

/// The build user for building `drv`: as root with `build-users-group` set, a free member of
/// the group, locked in `<state dir>/userpool`; builtin builders run in rflake itself.
pub fn build_user(
    store: &crate::store::local::LocalStore,
    drv: &Derivation,
    settings: &super::Settings,
) -> Result<Option<users::BuildUser>, super::Error> {
    let group = &settings.sandbox.build_users_group;
    if group.is_empty()
        || !rustix::process::geteuid().is_root()
        || drv.builder.starts_with(b"builtin:")
    {
        return Ok(None);
    }
    let pool = store.state_dir().join("userpool");
    users::acquire(group, &pool, &crate::util::interrupt::is_interrupted).map(Some)
}

/// Gives the build directory (and the files in it) to the build user; an unsandboxed build
/// also needs to create its outputs in the store directory.
pub fn hand_over(
    store: &crate::store::local::LocalStore,
    build_dir: &std::path::Path,
    user: &users::BuildUser,
    sandboxed: bool,
) -> Result<(), super::Error> {
    users::chown(build_dir, user.uid, user.gid)?;
    for entry in std::fs::read_dir(build_dir).map_err(super::Error::other)? {
        let path = entry.map_err(super::Error::other)?.path();
        users::chown(&path, user.uid, user.gid)?;
    }
    if !sandboxed {
        users::open_store_dir(store.real_store_dir(), user.gid)?;
    }
    Ok(())
}

/// The `/etc/passwd` of the sandbox.
pub fn passwd(build_dir: &str) -> String {
    format!(
        "root:x:0:0:Nix build user:{build_dir}:/noshell\n\
         nixbld:x:{SANDBOX_UID}:{SANDBOX_GID}:Nix build user:{build_dir}:/noshell\n\
         nobody:x:65534:65534:Nobody:/:/noshell\n"
    )
}

/// The `/etc/group` of the sandbox.
pub fn group() -> String {
    format!("root:x:0:\nnixbld:!:{SANDBOX_GID}:\nnogroup:x:65534:\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drv(env: &[(&str, &str)]) -> Derivation {
        Derivation {
            name: "x".to_owned(),
            builder: b"/bin/sh".to_vec(),
            env: env
                .iter()
                .map(|(k, v)| (k.as_bytes().to_vec(), v.as_bytes().to_vec()))
                .collect(),
            ..Derivation::default()
        }
    }

    #[test]
    fn no_chroot_is_refused_only_when_the_sandbox_is_enforced() {
        let d = drv(&[("__noChroot", "1")]);
        let e = wanted(Mode::Enabled, &d, "/nix/store/x.drv").unwrap_err();
        assert_eq!(
            e.to_string(),
            "derivation '/nix/store/x.drv' has '__noChroot' set, but that's not allowed when 'sandbox' is 'true'"
        );
        assert!(!wanted(Mode::Relaxed, &d, "x").unwrap());
        assert!(wanted(Mode::Relaxed, &drv(&[]), "x").unwrap());
        assert!(!wanted(Mode::Disabled, &drv(&[]), "x").unwrap());
        let json = drv(&[("__json", r#"{"__noChroot":true}"#)]);
        assert!(!wanted(Mode::Relaxed, &json, "x").unwrap());
    }

    #[test]
    fn etc_files_are_nix_s() {
        assert_eq!(
            passwd("/build"),
            "root:x:0:0:Nix build user:/build:/noshell\nnixbld:x:1000:100:Nix build user:/build:/noshell\nnobody:x:65534:65534:Nobody:/:/noshell\n"
        );
        assert_eq!(group(), "root:x:0:\nnixbld:!:100:\nnogroup:x:65534:\n");
    }
}
