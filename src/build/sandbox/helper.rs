//! The processes that set up the sandbox and execute the builder: the rflake binary run with a
//! hidden first argument (its `main` dispatches here before anything else, while it has one
//! thread, as `unshare` of a user namespace requires).
//!
//! 1. [`OUTER_ARG`] (Nix's helper that `clone`s the builder): drops supplementary groups,
//!    unshares the mount, PID, IPC, UTS and (unless fixed-output) network namespaces, and, when
//!    not root, a user namespace where it is root; then runs step 2 as its child, which is
//!    PID 1 of the new PID namespace, and exits as that child did.
//! 2. [`INNER_ARG`] (Nix's `runChild`): brings up the loopback interface, sets the host name,
//!    bind-mounts the [`Spec`]'s paths into the chroot directory, mounts `/proc`, `/dev/shm`
//!    and `/dev/pts`, `pivot_root`s into it, becomes the build user (as root with
//!    `build-users-group`), enters a user namespace of its own mapping uid 1000 / gid 100 to
//!    itself, and executes the builder in the build directory.
//!
//! [`PROBE_ARG`] only checks that the namespaces can be created (for `sandbox-fallback`).

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt as _;
use std::os::unix::process::{CommandExt as _, ExitStatusExt as _};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};

use rustix::mount::{MountFlags, MountPropagationFlags, UnmountFlags};
use rustix::thread::UnshareFlags;

use super::{SANDBOX_GID, SANDBOX_UID};

/// Runs the outer helper: `rflake __sandbox`, with the [`Spec`] as JSON on its standard input.
pub const OUTER_ARG: &str = "__sandbox";
/// Runs the inner helper: `rflake __sandbox-init`, with the [`Spec`] on its standard input.
pub const INNER_ARG: &str = "__sandbox-init";
/// Checks that namespaces can be created: `rflake __sandbox-probe`.
pub const PROBE_ARG: &str = "__sandbox-probe";

/// One path made visible in the sandbox.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Mount {
    /// The path on the host.
    pub source: PathBuf,
    /// The path in the sandbox (absolute).
    pub target: String,
    /// Skipped when `source` does not exist (`sandbox-paths` entries ending in `?`).
    pub optional: bool,
}

/// What the helpers do, written by the builder to the outer helper's standard input and passed on
/// to the inner one the same way (no file, so nothing is left behind when a build is killed).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Spec {
    /// The chroot directory on the host, prepared by [`super::prepare`].
    pub chroot: PathBuf,
    /// The paths to bind-mount, in order.
    pub mounts: Vec<Mount>,
    /// Whether the build gets a network namespace of its own (all but fixed-output ones).
    pub private_network: bool,
    /// The build user's uid and gid on the host, when root builds as a build user.
    pub build_user: Option<(u32, u32)>,
    /// The size of `/dev/shm` (`sandbox-dev-shm-size`).
    pub shm_size: String,
    /// The builder, its arguments and environment.
    pub builder: Vec<u8>,
    /// The builder's arguments.
    pub args: Vec<Vec<u8>>,
    /// The builder's environment.
    pub env: Vec<(Vec<u8>, Vec<u8>)>,
    /// The builder's working directory in the sandbox (`sandbox-build-dir`).
    pub cwd: String,
}

/// Dispatches `argv[1..]` when `argv[1]` is one of the helper arguments; `None` otherwise.
pub fn dispatch(argv: &[std::ffi::OsString]) -> Option<ExitCode> {
    let first = argv.get(1)?;
    let rest = &argv[2..];
    let result = if first == OUTER_ARG {
        outer(rest)
    } else if first == INNER_ARG {
        inner(rest)
    } else if first == PROBE_ARG {
        probe().map(|()| ExitCode::SUCCESS)
    } else {
        return None;
    };
    Some(result.unwrap_or_else(|msg| {
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), "error: {msg}");
        ExitCode::FAILURE
    }))
}

fn read_spec(args: &[std::ffi::OsString]) -> Result<(Spec, Vec<u8>), String> {
    if !args.is_empty() {
        return Err("usage: rflake __sandbox < SPEC".to_owned());
    }
    let mut text = Vec::new();
    std::io::Read::read_to_end(&mut std::io::stdin().lock(), &mut text)
        .map_err(|e| format!("reading the sandbox spec: {e}"))?;
    let spec =
        serde_json::from_slice(&text).map_err(|e| format!("reading the sandbox spec: {e}"))?;
    Ok((spec, text))
}

/// `unshare` of the namespaces a sandbox needs (deprecated in rustix only for
/// `CLONE_FILES`, which is never passed).
#[allow(deprecated)]
fn unshare(flags: UnshareFlags) -> rustix::io::Result<()> {
    rustix::thread::unshare(flags)
}

fn write_file(path: &str, text: &str) -> Result<(), String> {
    std::fs::write(path, text).map_err(|e| format!("writing '{path}': {e}"))
}

/// Maps `inside` to the caller's own uid and gid in the user namespace it just entered.
fn map_self(inside_uid: u32, inside_gid: u32, uid: u32, gid: u32) -> Result<(), String> {
    write_file("/proc/self/uid_map", &format!("{inside_uid} {uid} 1"))?;
    write_file("/proc/self/setgroups", "deny")?;
    write_file("/proc/self/gid_map", &format!("{inside_gid} {gid} 1"))
}

fn probe() -> Result<(), String> {
    let flags = UnshareFlags::NEWUSER
        | UnshareFlags::NEWNS
        | UnshareFlags::NEWPID
        | UnshareFlags::NEWIPC
        | UnshareFlags::NEWUTS
        | UnshareFlags::NEWNET;
    unshare(flags).map_err(|e| format!("cloning builder process: {e}"))
}

fn outer(args: &[std::ffi::OsString]) -> Result<ExitCode, String> {
    let (spec, text) = read_spec(args)?;
    let uid = rustix::process::getuid();
    let gid = rustix::process::getgid();
    let root = uid.is_root();
    // Supplementary groups cannot be dropped in a user namespace; root drops them here.
    if root {
        rustix::thread::set_thread_groups(&[]).map_err(|e| format!("setgroups failed: {e}"))?;
    }
    let mut flags =
        UnshareFlags::NEWNS | UnshareFlags::NEWPID | UnshareFlags::NEWIPC | UnshareFlags::NEWUTS;
    if spec.private_network {
        flags |= UnshareFlags::NEWNET;
    }
    if !root {
        flags |= UnshareFlags::NEWUSER;
    }
    unshare(flags).map_err(|e| format!("cloning builder process: {e}"))?;
    if !root {
        map_self(0, 0, uid.as_raw(), gid.as_raw())?;
    }
    let _ = rustix::process::set_parent_process_death_signal(Some(rustix::process::Signal::KILL));
    let exe = std::env::current_exe().map_err(|e| format!("finding rflake itself: {e}"))?;
    let mut child = Command::new(exe)
        .arg(INNER_ARG)
        .stdin(Stdio::piped())
        .spawn()
        .map_err(|e| format!("starting the sandbox: {e}"))?;
    if let Some(mut stdin) = child.stdin.take() {
        // If the inner helper died first, its exit status says why.
        let _ = std::io::Write::write_all(&mut stdin, &text);
    }
    let status = child
        .wait()
        .map_err(|e| format!("starting the sandbox: {e}"))?;
    if let Some(sig) = status.signal() {
        // Die of the same signal, so the build fails "due to signal N" as without the helper.
        if let Some(s) = rustix::process::Signal::from_named_raw(sig) {
            let _ = rustix::process::kill_process(rustix::process::getpid(), s);
        }
        return Ok(ExitCode::from(128u8.wrapping_add(sig as u8)));
    }
    Ok(ExitCode::from(status.code().unwrap_or(1) as u8))
}

fn bind(source: &Path, target: &Path, optional: bool) -> Result<(), String> {
    let meta = match std::fs::metadata(source) {
        Ok(m) => m,
        Err(e) if optional && e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => {
            return Err(format!(
                "getting attributes of path '{}': {e}",
                source.display()
            ));
        }
    };
    let made = if meta.is_dir() {
        std::fs::create_dir_all(target)
    } else {
        target
            .parent()
            .map_or(Ok(()), std::fs::create_dir_all)
            .and_then(|()| {
                std::fs::OpenOptions::new()
                    .create(true)
                    .truncate(false)
                    .write(true)
                    .open(target)
                    .map(drop)
            })
    };
    made.map_err(|e| format!("creating '{}': {e}", target.display()))?;
    rustix::mount::mount_bind_recursive(source, target).map_err(|e| {
        format!(
            "bind mount from '{}' to '{}' failed: {e}",
            source.display(),
            target.display()
        )
    })
}

/// Mounts `/proc`, `/dev/shm` and `/dev/pts` in the chroot `root`.
fn special_mounts(root: &Path, spec: &Spec) -> Result<(), String> {
    let proc_dir = root.join("proc");
    std::fs::create_dir_all(&proc_dir).map_err(|e| format!("creating /proc: {e}"))?;
    rustix::mount::mount("none", &proc_dir, "proc", MountFlags::empty(), None)
        .map_err(|e| format!("mounting /proc: {e}"))?;
    let has_dev = spec.mounts.iter().any(|m| m.target == "/dev");
    if has_dev {
        return Ok(());
    }
    if Path::new("/dev/shm").exists() {
        let data = std::ffi::CString::new(format!("size={}", spec.shm_size))
            .map_err(|e| format!("mounting /dev/shm: {e}"))?;
        rustix::mount::mount(
            "none",
            root.join("dev/shm"),
            "tmpfs",
            MountFlags::empty(),
            Some(data.as_c_str()),
        )
        .map_err(|e| format!("mounting /dev/shm: {e}"))?;
    }
    let pts = root.join("dev/pts");
    if Path::new("/dev/pts/ptmx").exists() && !root.join("dev/ptmx").exists() {
        let mounted = rustix::mount::mount(
            "none",
            &pts,
            "devpts",
            MountFlags::empty(),
            Some(c"newinstance,mode=0620"),
        );
        match mounted {
            Ok(()) => {
                std::os::unix::fs::symlink("/dev/pts/ptmx", root.join("dev/ptmx"))
                    .map_err(|e| format!("creating /dev/ptmx: {e}"))?;
                use std::os::unix::fs::PermissionsExt as _;
                let _ = std::fs::set_permissions(
                    pts.join("ptmx"),
                    std::fs::Permissions::from_mode(0o666),
                );
            }
            Err(_) => {
                bind(Path::new("/dev/pts"), &pts, false)?;
                bind(Path::new("/dev/ptmx"), &root.join("dev/ptmx"), false)?;
            }
        }
    }
    Ok(())
}

/// Makes the chroot directory the root of this mount namespace.
fn pivot(root: &Path) -> Result<(), String> {
    rustix::process::chdir(root)
        .map_err(|e| format!("cannot change directory to '{}': {e}", root.display()))?;
    std::fs::create_dir("real-root")
        .map_err(|e| format!("cannot create real-root directory: {e}"))?;
    rustix::process::pivot_root(".", "real-root").map_err(|e| {
        format!(
            "cannot pivot old root directory onto '{}': {e}",
            root.join("real-root").display()
        )
    })?;
    rustix::process::chroot(".")
        .map_err(|e| format!("cannot change root directory to '{}': {e}", root.display()))?;
    rustix::mount::unmount("real-root", UnmountFlags::DETACH)
        .map_err(|e| format!("cannot unmount real root filesystem: {e}"))?;
    std::fs::remove_dir("real-root").map_err(|e| format!("cannot remove real-root directory: {e}"))
}

fn inner(args: &[std::ffi::OsString]) -> Result<ExitCode, String> {
    let (spec, _) = read_spec(args)?;
    if spec.private_network {
        super::netlink::loopback_up()?;
    }
    rustix::system::sethostname(b"localhost").map_err(|e| format!("cannot set host name: {e}"))?;
    rustix::system::setdomainname(b"(none)").map_err(|e| format!("cannot set domain name: {e}"))?;
    rustix::mount::mount_change(
        "/",
        MountPropagationFlags::PRIVATE | MountPropagationFlags::REC,
    )
    .map_err(|e| format!("unable to make '/' private: {e}"))?;
    let root = &spec.chroot;
    rustix::mount::mount_bind(root, root)
        .map_err(|e| format!("unable to bind mount '{}': {e}", root.display()))?;
    for m in &spec.mounts {
        let target = root.join(m.target.trim_start_matches('/'));
        bind(&m.source, &target, m.optional)?;
    }
    special_mounts(root, &spec)?;
    pivot(root)?;
    if let Some((uid, gid)) = spec.build_user {
        rustix::thread::set_thread_gid(rustix::process::Gid::from_raw(gid))
            .map_err(|e| format!("setgid failed: {e}"))?;
        rustix::thread::set_thread_uid(rustix::process::Uid::from_raw(uid))
            .map_err(|e| format!("setuid failed: {e}"))?;
        // Changing uid made the process undumpable, which makes /proc/self root's.
        let _ = rustix::process::set_dumpable_behavior(rustix::process::DumpableBehavior::Dumpable);
    }
    let uid = rustix::process::geteuid().as_raw();
    let gid = rustix::process::getegid().as_raw();
    match unshare(UnshareFlags::NEWUSER) {
        Ok(()) => map_self(SANDBOX_UID, SANDBOX_GID, uid, gid)?,
        // Without user namespaces the build user's own ids are the builder's (as in Nix).
        Err(_) if spec.build_user.is_some() => {}
        Err(_) => {
            return Err("cannot perform a sandboxed build because user namespaces are not enabled; check /proc/sys/user/max_user_namespaces".to_owned());
        }
    }
    let _ = rustix::thread::set_no_new_privs(true);
    let _ = rustix::process::set_parent_process_death_signal(Some(rustix::process::Signal::KILL));
    let builder = OsStr::from_bytes(&spec.builder);
    let e = Command::new(builder)
        .arg0(crate::build::chroot::base_name(builder))
        .args(spec.args.iter().map(|a| OsStr::from_bytes(a)))
        .env_clear()
        .envs(
            spec.env
                .iter()
                .map(|(k, v)| (OsStr::from_bytes(k), OsStr::from_bytes(v))),
        )
        .current_dir(&spec.cwd)
        .stdin(Stdio::null())
        .exec();
    Err(format!(
        "executing '{}': {}",
        builder.to_string_lossy(),
        crate::util::fs::strerror(&e)
    ))
}
