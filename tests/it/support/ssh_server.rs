//! A real OpenSSH server on a loopback port with temporary host and user keys, whose sessions
//! see a private Nix configuration and store (through `SetEnv`), for the `ssh-ng://` tests.
//! Clients reach it through `NIX_SSHOPTS` ([`SshServer::ssh_opts`]), which keeps the machine's
//! `~/.ssh` (configuration, keys and `known_hosts`) out of it.

use std::fs;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running `sshd`, killed when dropped.
pub struct SshServer {
    child: Child,
    /// The loopback port it listens on.
    pub port: u16,
    dir: PathBuf,
    /// The root of the chroot store its sessions' Nix uses.
    pub remote_store: PathBuf,
}

/// The OpenSSH server binary (sshd must be started by its absolute path).
const SSHD: &str = "/usr/sbin/sshd";

impl SshServer {
    /// Starts a server whose files live under `dir`. Panics if OpenSSH is missing: the README's
    /// test command installs it.
    pub fn start(dir: &Path) -> SshServer {
        assert!(
            Path::new(SSHD).exists(),
            "{SSHD} is missing: the test command installs openssh-server"
        );
        fs::create_dir_all(dir).unwrap();
        for key in ["host_key", "user_key"] {
            let status = Command::new("ssh-keygen")
                .args(["-q", "-t", "ed25519", "-N", "", "-f"])
                .arg(dir.join(key))
                .stdin(Stdio::null())
                .status()
                .unwrap();
            assert!(status.success());
        }
        fs::copy(dir.join("user_key.pub"), dir.join("authorized_keys")).unwrap();
        let remote_store = dir.join("remote-store");
        let etc = dir.join("remote-etc");
        fs::create_dir_all(&etc).unwrap();
        fs::create_dir_all(dir.join("remote-state")).unwrap();
        fs::create_dir_all(dir.join("remote-home")).unwrap();
        fs::write(
            etc.join("nix.conf"),
            format!(
                "experimental-features = nix-command flakes\nbuild-users-group =\n\
                 substituters =\nstore = {}\n",
                remote_store.display()
            ),
        )
        .unwrap();
        init_remote_store(dir);
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let config = format!(
            "Port {port}\nListenAddress 127.0.0.1\nHostKey {d}/host_key\n\
             AuthorizedKeysFile {d}/authorized_keys\nPidFile {d}/sshd.pid\nStrictModes no\n\
             UsePAM no\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n\
             PubkeyAuthentication yes\nPermitRootLogin yes\nLogLevel ERROR\n\
             SetEnv NIX_CONF_DIR={d}/remote-etc NIX_STATE_DIR={d}/remote-state \
             HOME={d}/remote-home NIX_USER_CONF_FILES={d}/remote-etc/nix.conf\n",
            d = dir.display()
        );
        fs::write(dir.join("sshd_config"), config).unwrap();
        // sshd insists on its privilege-separation directory when started as root.
        let _ = fs::create_dir_all("/run/sshd");
        let child = Command::new(SSHD)
            .args(["-D", "-e", "-f"])
            .arg(dir.join("sshd_config"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "sshd did not listen on {port}");
            std::thread::sleep(Duration::from_millis(20));
        }
        SshServer {
            child,
            port,
            dir: dir.to_owned(),
            remote_store,
        }
    }

    /// `NIX_SSHOPTS` for reaching this server: its port, the user key, no host-key check, and
    /// no user configuration or `known_hosts` of the machine.
    pub fn ssh_opts(&self) -> String {
        format!(
            "-p {} -i {}/user_key -o IdentitiesOnly=yes -o BatchMode=yes \
             -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR \
             -F /dev/null",
            self.port,
            self.dir.display()
        )
    }
}

/// Creates the sessions' store database once, before any session: two sessions opening a
/// fresh chroot store at once race to create it, and Nix 2.8 gives up on the loser with
/// "SQLite database ... is busy" (its retries cover statements, not the database's creation),
/// which disables a remote builder for the rest of a build. Nothing to do without Nix.
fn init_remote_store(dir: &Path) {
    if !crate::support::nix_available() {
        return;
    }
    let d = dir.display();
    let status = Command::new("nix-store")
        .arg("--init")
        .env("NIX_CONF_DIR", format!("{d}/remote-etc"))
        .env("NIX_STATE_DIR", format!("{d}/remote-state"))
        .env("HOME", format!("{d}/remote-home"))
        .env("NIX_USER_CONF_FILES", format!("{d}/remote-etc/nix.conf"))
        .stdin(Stdio::null())
        .status()
        .unwrap();
    assert!(
        status.success(),
        "nix-store --init of the remote store failed"
    );
}

impl Drop for SshServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
