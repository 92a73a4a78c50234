//! Building into a chroot store (`--store DIR`, whose objects live under `DIR/nix/store` but
//! are named `/nix/store/…`): the builder must find its inputs and write its outputs at their
//! logical paths. Nix forces its sandbox for such a store; rflake runs the builder through a
//! small helper (the rflake binary itself, [`HELPER_ARG`]) that enters a private mount
//! namespace, bind-mounts the real store directory over the logical one, and executes the
//! builder, when `sandbox = false` (otherwise [`super::sandbox`] builds it). Nothing else of
//! the host is hidden, and the host's own store directory is never written.

use std::ffi::{OsStr, OsString};
use std::os::unix::process::CommandExt as _;
use std::path::Path;

/// The hidden first argument that makes the rflake binary act as the helper:
/// `rflake __run-builder <real store dir> <logical store dir> <builder> <args…>`.
pub const HELPER_ARG: &str = "__run-builder";

/// The hidden first argument that makes the rflake binary only set the parent-death signal and
/// execute the builder, for a store at its logical path with `sandbox = false`:
/// `rflake __exec-builder <builder> <args…>`.
pub const DIRECT_ARG: &str = "__exec-builder";

/// Sets the parent-death signal (the builder dies with the rflake thread that started it, as
/// Nix's builders do through `dieWithParent`: a killed rflake leaves no builder writing into the
/// store behind it).
fn die_with_parent() -> Result<(), String> {
    rustix::process::set_parent_process_death_signal(Some(rustix::process::Signal::KILL))
        .map_err(|e| format!("setting the parent death signal: {e}"))
}

/// Executes `builder` with `args` and `argv[0]` its base name. Returns only on failure.
fn exec(builder: &OsStr, args: &[OsString]) -> String {
    let e = std::process::Command::new(builder)
        .arg0(base_name(builder))
        .args(args)
        .exec();
    format!(
        "executing '{}': {}",
        builder.to_string_lossy(),
        crate::util::fs::strerror(&e)
    )
}

/// Enters a private mount namespace (and a user namespace when not root), mounts `real` over
/// `logical` and executes `builder` with `args`. Returns only on failure.
fn enter_and_exec(real: &Path, logical: &Path, builder: &OsStr, args: &[OsString]) -> String {
    use rustix::mount::{MountPropagationFlags, mount_bind, mount_change};
    use rustix::thread::UnshareFlags;
    if let Err(e) = die_with_parent() {
        return e;
    }
    let uid = rustix::process::getuid();
    let gid = rustix::process::getgid();
    let mut flags = UnshareFlags::NEWNS;
    if !uid.is_root() {
        flags |= UnshareFlags::NEWUSER;
    }
    // `unshare` is deprecated only for `CLONE_FILES`, which is not used here.
    #[allow(deprecated)]
    if let Err(e) = rustix::thread::unshare(flags) {
        return format!("creating a mount namespace for the build: {e}");
    }
    if !uid.is_root() {
        let maps = [
            ("/proc/self/setgroups", "deny".to_owned()),
            ("/proc/self/uid_map", format!("{0} {0} 1", uid.as_raw())),
            ("/proc/self/gid_map", format!("{0} {0} 1", gid.as_raw())),
        ];
        for (file, text) in maps {
            if let Err(e) = std::fs::write(file, text) {
                return format!("writing '{file}': {e}");
            }
        }
    }
    if let Err(e) = mount_change(
        "/",
        MountPropagationFlags::PRIVATE | MountPropagationFlags::REC,
    ) {
        return format!("making the mounts private: {e}");
    }
    if let Err(e) = make_mount_point(logical) {
        return e;
    }
    if let Err(e) = mount_bind(real, logical) {
        return format!(
            "mounting '{}' on '{}': {e}",
            real.display(),
            logical.display()
        );
    }
    exec(builder, args)
}

/// Makes `logical` exist inside the private mount namespace without writing the host's file
/// system (a machine with Nix's state directory but no `/nix/store`, as Debian's `nix-bin`
/// leaves it): the nearest existing ancestor is covered by a tmpfs holding the same entries
/// (each directory and file bound back from the original, each symbolic link copied), in which
/// the missing directories are created.
fn make_mount_point(logical: &Path) -> Result<(), String> {
    use rustix::fs::{Mode, OFlags};
    use rustix::mount::{MountFlags, mount, mount_bind};
    if logical.is_dir() {
        return Ok(());
    }
    let ancestor = logical
        .ancestors()
        .skip(1)
        .find(|a| a.is_dir())
        .filter(|a| a.parent().is_some())
        .ok_or_else(|| format!("cannot make a mount point for '{}'", logical.display()))?;
    let fail = |what: &str, e: &dyn std::fmt::Display| {
        format!("{what} (making '{}'): {e}", logical.display())
    };
    let fd = rustix::fs::open(
        ancestor,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| fail(&format!("opening '{}'", ancestor.display()), &e))?;
    let original = Path::new("/proc/self/fd").join(rustix::fd::AsRawFd::as_raw_fd(&fd).to_string());
    let entries: Vec<_> = std::fs::read_dir(&original)
        .and_then(|d| d.collect::<Result<_, _>>())
        .map_err(|e| fail(&format!("reading '{}'", ancestor.display()), &e))?;
    let mode = std::ffi::CString::new("mode=0755").expect("no NUL");
    mount(
        "none",
        ancestor,
        "tmpfs",
        MountFlags::empty(),
        Some(mode.as_c_str()),
    )
    .map_err(|e| fail(&format!("mounting a tmpfs on '{}'", ancestor.display()), &e))?;
    for entry in entries {
        let (from, to) = (entry.path(), ancestor.join(entry.file_name()));
        let kind = entry
            .file_type()
            .map_err(|e| fail("reading an entry", &e))?;
        let made = if kind.is_symlink() {
            std::fs::read_link(&from).and_then(|t| std::os::unix::fs::symlink(t, &to))
        } else if kind.is_dir() {
            std::fs::create_dir(&to)
        } else {
            std::fs::File::create(&to).map(drop)
        };
        made.map_err(|e| fail(&format!("creating '{}'", to.display()), &e))?;
        if !kind.is_symlink() {
            mount_bind(&from, &to)
                .map_err(|e| fail(&format!("mounting '{}'", to.display()), &e))?;
        }
    }
    std::fs::create_dir_all(logical).map_err(|e| fail("creating it", &e))
}

/// The builder's `argv[0]`: the base name of its path, as Nix passes it.
pub fn base_name(builder: &OsStr) -> &OsStr {
    Path::new(builder).file_name().unwrap_or(builder)
}

/// The direct helper's `main`: `args` are what follows [`DIRECT_ARG`]. Writes its error to
/// stderr (the build log) and returns the exit code 1 when it cannot run the builder.
pub fn direct_main(args: &[OsString]) -> std::process::ExitCode {
    use std::io::Write as _;
    let msg = match args {
        [builder, rest @ ..] => match die_with_parent() {
            Ok(()) => exec(builder, rest),
            Err(e) => e,
        },
        _ => "usage: rflake __exec-builder BUILDER ARGS...".to_owned(),
    };
    let _ = writeln!(std::io::stderr(), "error: {msg}");
    std::process::ExitCode::FAILURE
}

/// The helper's `main`: `args` are what follows [`HELPER_ARG`]. Writes its error to stderr
/// (the build log) and returns the exit code 1 when it cannot run the builder.
pub fn helper_main(args: &[OsString]) -> std::process::ExitCode {
    use std::io::Write as _;
    let msg = match args {
        [real, logical, builder, rest @ ..] => {
            enter_and_exec(Path::new(real), Path::new(logical), builder, rest)
        }
        _ => "usage: rflake __run-builder REAL LOGICAL BUILDER ARGS...".to_owned(),
    };
    let _ = writeln!(std::io::stderr(), "error: {msg}");
    std::process::ExitCode::FAILURE
}
