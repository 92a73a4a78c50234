//! A real `nix-daemon` (Nix 2.8) serving a private chroot store, for the daemon-store tests.
//!
//! The daemon runs in its own process group with a cleared environment: its configuration
//! (`NIX_CONF_DIR`) names a store under the test root (`store = <root>/daemon-store`), so the
//! machine's `/nix` is never touched, and its socket is `<root>/daemon.sock`
//! (`NIX_DAEMON_SOCKET_PATH`). Dropping the handle kills the daemon and the workers it forked
//! (one per connection, each in a session of its own), found by their parent in `/proc`.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running `nix-daemon` on a private store.
pub struct NixDaemon {
    child: Option<Child>,
    dir: PathBuf,
    /// Whether the daemon runs with a scratch directory over `/nix/store` (see
    /// [`NixDaemon::start_isolated`]).
    isolated: bool,
    /// The socket it listens on.
    pub socket: PathBuf,
    /// The root of its chroot store (the store directory is `<store>/nix/store`).
    pub store: PathBuf,
}

impl NixDaemon {
    /// Starts a daemon whose files live under `dir`, waiting until it accepts connections.
    pub fn start(dir: &Path) -> NixDaemon {
        NixDaemon::start_with(dir, "")
    }

    /// [`NixDaemon::start`] with more lines for the daemon's `nix.conf`.
    pub fn start_with(dir: &Path, extra_conf: &str) -> NixDaemon {
        NixDaemon::start_inner(dir, &dir.join("daemon-store"), extra_conf, false)
    }

    /// [`NixDaemon::start_with`] for a daemon that builds: it runs in a private mount
    /// namespace with a scratch directory (`<dir>/host-nix-store`) mounted on `/nix/store`
    /// (through rflake's builder helper), because Nix 2.8 building into a chroot store writes
    /// the outputs of failed builds to the host's `/nix/store`; its sandbox gets the host's
    /// `/usr`, `/bin`, `/lib` and `/lib64` (`extra-sandbox-paths`) for `/bin/sh`.
    pub fn start_isolated(dir: &Path, extra_conf: &str) -> NixDaemon {
        NixDaemon::start_isolated_on(dir, &dir.join("daemon-store"), extra_conf)
    }

    /// [`NixDaemon::start_isolated`] serving the chroot store `store` (one the test may have
    /// made already) instead of `<dir>/daemon-store`.
    pub fn start_isolated_on(dir: &Path, store: &Path, extra_conf: &str) -> NixDaemon {
        let host_dirs: Vec<&str> = ["/usr", "/bin", "/lib", "/lib64"]
            .into_iter()
            .filter(|d| Path::new(d).exists())
            .collect();
        let conf = format!(
            "extra-sandbox-paths = {}\n{extra_conf}",
            host_dirs.join(" ")
        );
        NixDaemon::start_inner(dir, store, &conf, true)
    }

    fn start_inner(dir: &Path, store: &Path, extra_conf: &str, isolated: bool) -> NixDaemon {
        let mut d = NixDaemon {
            child: None,
            isolated,
            dir: dir.to_owned(),
            socket: dir.join("daemon.sock"),
            store: store.to_owned(),
        };
        fs::create_dir_all(dir.join("daemon-etc")).unwrap();
        fs::create_dir_all(dir.join("daemon-state")).unwrap();
        fs::create_dir_all(dir.join("daemon-home")).unwrap();
        let conf = format!(
            "experimental-features = nix-command flakes\nbuild-users-group =\nsubstituters =\n\
             store = {}\n{extra_conf}",
            d.store.display()
        );
        fs::write(dir.join("daemon-etc/nix.conf"), conf).unwrap();
        d.spawn();
        d
    }

    fn spawn(&mut self) {
        let _ = fs::remove_file(&self.socket);
        let mut cmd = if self.isolated {
            let scratch = self.dir.join("host-nix-store");
            fs::create_dir_all(&scratch).unwrap();
            let mut cmd = Command::new(env!("CARGO_BIN_EXE_rflake"));
            cmd.arg("__run-builder")
                .arg(&scratch)
                .arg("/nix/store")
                .arg("nix-daemon");
            cmd
        } else {
            Command::new("nix-daemon")
        };
        cmd.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.dir.join("daemon-home"))
            .env("NIX_CONF_DIR", self.dir.join("daemon-etc"))
            .env("NIX_STATE_DIR", self.dir.join("daemon-state"))
            .env("NIX_DAEMON_SOCKET_PATH", &self.socket)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        self.child = Some(cmd.spawn().expect("spawning nix-daemon"));
        let deadline = Instant::now() + Duration::from_secs(20);
        // The socket file appears before the daemon listens, and the first worker creates the
        // store's database: wait until a worker greets us back.
        while !greets(&self.socket) {
            assert!(
                Instant::now() < deadline,
                "nix-daemon did not answer on its socket"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Kills the daemon and its workers (SIGKILL, each by its process id) and waits until
    /// they are gone.
    pub fn kill(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        let workers = children_of(child.id());
        let _ = child.kill();
        let _ = child.wait();
        for pid in &workers {
            let _ = Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .stderr(Stdio::null())
                .status();
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        while workers
            .iter()
            .any(|p| Path::new(&format!("/proc/{p}")).exists() && !is_zombie(*p))
            && Instant::now() < deadline
        {
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Starts the daemon again on the same store and socket.
    pub fn restart(&mut self) {
        self.kill();
        self.spawn();
    }

    /// The store URI of the socket, `unix://<socket>`.
    pub fn uri(&self) -> String {
        format!("unix://{}", self.socket.display())
    }
}

impl Drop for NixDaemon {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The processes whose parent is `pid` (from `/proc/<pid>/stat`).
fn children_of(pid: u32) -> Vec<u32> {
    let mut out = Vec::new();
    let Ok(dir) = fs::read_dir("/proc") else {
        return out;
    };
    for e in dir.flatten() {
        let Some(p) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        if stat_field(p, 1).is_some_and(|ppid| ppid == pid.to_string()) {
            out.push(p);
        }
    }
    out
}

fn is_zombie(pid: u32) -> bool {
    stat_field(pid, 0).is_none_or(|state| state == "Z" || state == "X")
}

/// Field `n` after the command name of `/proc/<pid>/stat` (0: the state, 1: the parent).
fn stat_field(pid: u32, n: usize) -> Option<String> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 2..];
    rest.split(' ').nth(n).map(str::to_owned)
}

/// Whether a worker on `socket` answers the client's greeting with the daemon's.
fn greets(socket: &Path) -> bool {
    use std::io::{Read as _, Write as _};
    let Ok(mut s) = std::os::unix::net::UnixStream::connect(socket) else {
        return false;
    };
    let mut hello = 0x6e69_7863u64.to_le_bytes().to_vec();
    hello.extend_from_slice(&0x122u64.to_le_bytes());
    let mut answer = [0u8; 8];
    s.write_all(&hello).is_ok()
        && s.read_exact(&mut answer).is_ok()
        && u64::from_le_bytes(answer) == 0x6478_696f
}
