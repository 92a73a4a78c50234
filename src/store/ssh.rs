//! Reaching another machine's Nix over SSH as Nix does (Nix's `SSHMaster`,
//! `src/libstore/ssh.cc`): the system `ssh` binary with the options of `NIX_SSHOPTS`
//! (shell-split), the store parameters `ssh-key`, `base64-ssh-public-host-key` and `compress`,
//! and Nix's trick of a local command that prints `started` once the connection is up, so that
//! a failed connection is an error before any protocol byte is sent. A host named `localhost`
//! runs the command directly, without `ssh`, as Nix does.
//!
//! # Deviations
//!
//! - No ControlMaster: each connection is its own `ssh` process (Nix uses a master connection
//!   for `ssh://` stores only).

use std::io::{BufRead as _, BufReader, Read};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

use anyhow::Context as _;

/// Where and how to connect.
#[derive(Debug, Clone, Default)]
pub struct Target {
    /// `[user@]host`.
    pub host: String,
    /// The port, if not SSH's default.
    pub port: Option<u16>,
    /// `ssh-key`: the private key to authenticate with.
    pub key: Option<PathBuf>,
    /// `base64-ssh-public-host-key`: the host's public key, trusted instead of
    /// `known_hosts`.
    pub host_key: Option<String>,
    /// `compress`: ask SSH to compress the connection.
    pub compress: bool,
    /// `NIX_SSHOPTS`, split as a shell would.
    pub ssh_opts: Vec<String>,
}

/// A running remote command: its standard streams and the `ssh` process (killed when this is
/// dropped).
pub struct Process {
    child: Child,
    /// The remote command's standard input.
    pub stdin: Option<ChildStdin>,
    /// The remote command's standard output, buffered.
    pub stdout: Option<BufReader<ChildStdout>>,
    /// Holds the known-hosts file of `base64-ssh-public-host-key` while `ssh` runs.
    _known_hosts: Option<tempfile::TempDir>,
}

impl Drop for Process {
    fn drop(&mut self) {
        drop(self.stdin.take());
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Splits `NIX_SSHOPTS` as Nix does (shell words).
pub fn split_ssh_opts(opts: &str) -> anyhow::Result<Vec<String>> {
    shlex::split(opts).with_context(|| format!("while splitting NIX_SSHOPTS '{opts}'"))
}

impl Target {
    /// The host without the user.
    fn host_name(&self) -> &str {
        self.host.rsplit_once('@').map_or(&self.host, |(_, h)| h)
    }

    /// Checks the host and user as Nix does (`checkValidAuthority`).
    fn check(&self) -> anyhow::Result<()> {
        let (user, host) = match self.host.rsplit_once('@') {
            Some((u, h)) => (Some(u), h),
            None => (None, self.host.as_str()),
        };
        let bad =
            |reason: String| anyhow::anyhow!("invalid SSH authority: '{}': {reason}", self.host);
        if let Some(u) = user {
            if u.is_empty() {
                return Err(bad("user name must not be empty".into()));
            }
            if u.starts_with('-') {
                return Err(bad(format!("user name '{u}' must not start with '-'")));
            }
        }
        if host.is_empty() {
            return Err(bad("host name must not be empty".into()));
        }
        if host.starts_with('-') {
            return Err(bad(format!("host name '{host}' must not start with '-'")));
        }
        Ok(())
    }

    /// Runs `command` on the host and waits until the connection is up.
    pub fn start(&self, command: &[String]) -> anyhow::Result<Process> {
        self.check()?;
        let mut known_hosts = None;
        let mut cmd = if self.host == "localhost" {
            let mut cmd = Command::new(&command[0]);
            cmd.args(&command[1..]);
            cmd
        } else {
            let mut cmd = Command::new("ssh");
            cmd.arg(&self.host).arg("-x").args(&self.ssh_opts);
            if let Some(key) = &self.key {
                cmd.arg("-i").arg(key);
            }
            if let Some(b64) = &self.host_key {
                let dir = tempfile::Builder::new().prefix("rflake-ssh").tempdir()?;
                let file = dir.path().join("host-key");
                let decoded = decode_host_key(self.host_name(), b64)?;
                crate::util::fs::write_atomic(
                    &file,
                    format!("{} {decoded}\n", self.host_name()).as_bytes(),
                )?;
                cmd.arg(format!("-oUserKnownHostsFile={}", file.display()));
                known_hosts = Some(dir);
            }
            if self.compress {
                cmd.arg("-C");
            }
            if let Some(p) = self.port {
                cmd.arg(format!("-p{p}"));
            }
            cmd.args([
                "-oPermitLocalCommand=yes",
                "-oLocalCommand=echo started",
                "--",
            ])
            .args(command)
            .env("SHELL", "/bin/sh");
            cmd
        };
        cmd.stdin(Stdio::piped()).stdout(Stdio::piped());
        let program = if self.host == "localhost" {
            command[0].clone()
        } else {
            "ssh".to_owned()
        };
        let mut child = cmd
            .spawn()
            .with_context(|| format!("unable to execute '{program}'"))?;
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().map(BufReader::new);
        let mut process = Process {
            child,
            stdin,
            stdout,
            _known_hosts: known_hosts,
        };
        if self.host != "localhost" {
            let mut line = String::new();
            if let Some(out) = process.stdout.as_mut() {
                let _ = out.by_ref().take(4096).read_line(&mut line);
            }
            if line.trim_end() != "started" {
                anyhow::bail!("failed to start SSH connection to '{}'", self.host_name());
            }
        }
        Ok(process)
    }
}

/// Decodes `base64-ssh-public-host-key` (the text of a `.pub` file, base64-encoded).
fn decode_host_key(host: &str, b64: &str) -> anyhow::Result<String> {
    use base64::Engine as _;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(b64.trim())
        .with_context(|| format!("while decoding ssh public host key for host '{host}'"))?;
    Ok(String::from_utf8_lossy(&bytes).trim().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nix_sshopts_split_as_a_shell_would() {
        assert_eq!(
            split_ssh_opts("-p 2222 -o 'UserKnownHostsFile=/a b' -i\\ k").unwrap(),
            ["-p", "2222", "-o", "UserKnownHostsFile=/a b", "-i k"]
        );
        assert!(split_ssh_opts("-o 'unterminated").is_err());
    }

    #[test]
    fn authorities_are_checked_as_nix_does() {
        let t = |host: &str| Target {
            host: host.to_owned(),
            ..Target::default()
        };
        for (host, msg) in [
            (
                "-oProxyCommand=x",
                "host name '-oProxyCommand=x' must not start with '-'",
            ),
            ("@h", "user name must not be empty"),
            ("-u@h", "user name '-u' must not start with '-'"),
            ("u@", "host name must not be empty"),
        ] {
            let err = t(host).check().unwrap_err().to_string();
            assert_eq!(err, format!("invalid SSH authority: '{host}': {msg}"));
        }
        assert!(t("root@example.org").check().is_ok());
    }

    #[test]
    fn a_host_that_cannot_be_reached_is_an_error_before_any_byte() {
        let target = Target {
            host: "127.0.0.1".to_owned(),
            port: Some(1),
            ssh_opts: split_ssh_opts("-oBatchMode=yes -oConnectTimeout=5 -F /dev/null").unwrap(),
            ..Target::default()
        };
        let err = match target.start(&["true".to_owned()]) {
            Ok(_) => panic!("connected to port 1"),
            Err(e) => e.to_string(),
        };
        assert_eq!(err, "failed to start SSH connection to '127.0.0.1'");
    }
}
