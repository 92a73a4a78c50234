//! One connection to a daemon: the byte streams, what the handshake negotiated, and the relay
//! of the side channel (Nix's `RemoteStore::Connection` and `initConnection`).

use std::io::{self, BufReader, BufWriter, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;

use super::error::{Error, Result};
use super::handshake::{self, DaemonInfo, Negotiated, Version};
use super::stderr::{self, Frame, Relay};
use super::wire;
use crate::report::Reporter;
use crate::store::StoreDir;

/// The settings sent with `setOptions` (Nix's `RemoteStore::setOptions`): the fixed fields,
/// then the overridden settings by name.
#[derive(Clone, Debug)]
pub struct ClientOptions {
    /// `keep-failed`.
    pub keep_failed: bool,
    /// `keep-going`.
    pub keep_going: bool,
    /// `fallback`.
    pub try_fallback: bool,
    /// The verbosity (Nix's levels: 0 error … 3 info … 6 debug, 7 vomit).
    pub verbosity: u64,
    /// `max-jobs`.
    pub max_build_jobs: u64,
    /// `max-silent-time`.
    pub max_silent_time: u64,
    /// Whether build logs are shown (`verboseBuild`).
    pub verbose_build: bool,
    /// `cores`.
    pub build_cores: u64,
    /// `substitute`.
    pub use_substitutes: bool,
    /// Settings the user set explicitly, sent by name (the daemon ignores restricted ones from
    /// untrusted users with a warning).
    pub overrides: Vec<(String, String)>,
    /// Whether `setOptions` is sent after the handshake (Nix's `ssh-ng://` store sends none).
    pub send: bool,
    /// Whether the daemon's build log lines are shown (`-L`; not sent).
    pub print_build_logs: bool,
}

impl Default for ClientOptions {
    /// Nix's defaults at the `nix` command's verbosity.
    fn default() -> Self {
        ClientOptions {
            keep_failed: false,
            keep_going: false,
            try_fallback: false,
            verbosity: stderr::LVL_INFO,
            max_build_jobs: 1,
            max_silent_time: 0,
            verbose_build: false,
            build_cores: 0,
            use_substitutes: true,
            overrides: Vec::new(),
            send: true,
            print_build_logs: false,
        }
    }
}

/// A connection to a daemon after the handshake.
pub struct Connection {
    pub(super) r: BufReader<Box<dyn Read + Send>>,
    pub(super) w: Box<dyn Write + Send>,
    /// The socket, to see whether the daemon has sent something without blocking.
    pub(super) probe: Option<UnixStream>,
    /// What the handshake negotiated.
    pub negotiated: Negotiated,
    /// What the daemon told about itself.
    pub info: DaemonInfo,
    pub(super) dir: StoreDir,
    pub(super) relay: Relay,
    /// Set when the streams are out of step (an I/O or protocol error): the connection is
    /// then dropped instead of reused.
    pub(super) broken: bool,
    /// The `ssh` (or local) process whose streams these are, ended when the connection is.
    pub(super) process: Option<crate::store::ssh::Process>,
}

impl Connection {
    /// Connects to the daemon listening on `socket`, runs the handshake and sends `opts`.
    pub fn open(
        socket: &Path,
        dir: &StoreDir,
        opts: &ClientOptions,
        reporter: &dyn Reporter,
    ) -> Result<Connection> {
        let stream = UnixStream::connect(socket).map_err(|io| Error::Connect {
            socket: socket.to_owned(),
            io,
        })?;
        let reader = stream.try_clone()?;
        let probe = stream.try_clone()?;
        let mut conn = Connection::handshake(
            Box::new(reader),
            Box::new(BufWriter::with_capacity(1 << 16, stream)),
            dir,
            opts,
            reporter,
        )?;
        conn.probe = Some(probe);
        Ok(conn)
    }

    /// Runs `command` on `target` (`nix-daemon --stdio`) and speaks the protocol over its
    /// standard streams (Nix's `ssh-ng://` store).
    pub fn open_ssh(
        target: &crate::store::ssh::Target,
        command: &[String],
        dir: &StoreDir,
        opts: &ClientOptions,
        reporter: &dyn Reporter,
    ) -> std::result::Result<Connection, anyhow::Error> {
        let mut process = target.start(command)?;
        let (Some(stdin), Some(stdout)) = (process.stdin.take(), process.stdout.take()) else {
            anyhow::bail!("the SSH process has no standard streams");
        };
        let mut conn = Connection::handshake(
            Box::new(stdout),
            Box::new(BufWriter::with_capacity(1 << 16, stdin)),
            dir,
            opts,
            reporter,
        )?;
        conn.process = Some(process);
        Ok(conn)
    }

    /// Runs the handshake over any pair of streams (a socket, a recorded exchange).
    pub fn handshake(
        r: Box<dyn Read + Send>,
        mut w: Box<dyn Write + Send>,
        dir: &StoreDir,
        opts: &ClientOptions,
        reporter: &dyn Reporter,
    ) -> Result<Connection> {
        let mut r = BufReader::with_capacity(1 << 16, r);
        let negotiated = handshake::client_handshake(
            &mut r,
            &mut w,
            handshake::LATEST,
            &handshake::client_features(),
        )?;
        let info = handshake::post_handshake(&mut r, &mut w, &negotiated)?;
        for f in &negotiated.features {
            reporter.debug(&format!("negotiated feature '{f}'"));
        }
        let mut conn = Connection {
            r,
            w,
            probe: None,
            negotiated,
            info,
            dir: dir.clone(),
            relay: Relay::new(opts.verbosity),
            broken: false,
            process: None,
        };
        conn.relay.print_build_logs = opts.print_build_logs;
        // The daemon reports the outcome of authenticating the client.
        conn.process(reporter)?;
        if opts.send && !conn.negotiated.has(handshake::FEATURE_DISABLE_SET_OPTIONS) {
            conn.set_options(opts, reporter)?;
        }
        Ok(conn)
    }

    /// The negotiated version.
    pub fn version(&self) -> Version {
        self.negotiated.version
    }

    /// Whether the connection may be reused.
    pub fn is_usable(&self) -> bool {
        !self.broken
    }

    /// Fails with [`Error::Unsupported`] unless the negotiated version is `needed` or newer.
    pub(super) fn require(&self, op: &'static str, needed: Version) -> Result<()> {
        if self.negotiated.at_least(needed) {
            Ok(())
        } else {
            Err(Error::Unsupported {
                op,
                version: self.version(),
                needed,
            })
        }
    }

    /// Runs `f`, marking the connection broken if it fails in a way that leaves the streams
    /// out of step.
    pub(super) fn guard<T>(&mut self, f: impl FnOnce(&mut Self) -> Result<T>) -> Result<T> {
        let res = f(self);
        if let Err(e) = &res
            && !e.keeps_connection()
        {
            self.broken = true;
        }
        res
    }

    /// Processes the side channel up to the answer.
    pub(super) fn process(&mut self, reporter: &dyn Reporter) -> Result<()> {
        self.process_with(reporter, None, None)
    }

    /// Processes the side channel with a sink for `STDERR_WRITE` and a source for
    /// `STDERR_READ`.
    pub(super) fn process_with(
        &mut self,
        reporter: &dyn Reporter,
        sink: Option<&mut dyn Write>,
        source: Option<&mut dyn Read>,
    ) -> Result<()> {
        stderr::process(
            &mut self.r,
            &mut self.w,
            &self.negotiated,
            &mut self.relay,
            reporter,
            sink,
            source,
        )
    }

    /// Sends what `f` writes as a framed stream (then the end marker). Before each frame, what
    /// the daemon has sent meanwhile is processed without blocking (Nix's `withFramedSink`): a
    /// daemon that fails half-way stops the stream early with its error, and one that logs a
    /// lot is never left blocked while the client writes.
    pub(super) fn send_framed(
        &mut self,
        reporter: &dyn Reporter,
        f: impl FnOnce(&mut dyn Write) -> io::Result<()>,
    ) -> Result<()> {
        let Connection {
            r,
            w,
            probe,
            negotiated,
            relay,
            ..
        } = self;
        w.flush()?;
        let mut daemon_error = None;
        let res = {
            let mut check = || -> io::Result<()> {
                match drain_pending(r, probe.as_ref(), negotiated, relay, reporter) {
                    Ok(()) => Ok(()),
                    Err(e) => {
                        daemon_error = Some(e);
                        Err(io::Error::other("the Nix daemon stopped the stream"))
                    }
                }
            };
            let w: &mut dyn Write = w;
            let mut framed = wire::FramedWriter::with_check(w, &mut check);
            f(&mut framed).and_then(|()| framed.finish())
        };
        match (res, daemon_error) {
            (Ok(()), _) => Ok(()),
            (Err(_), Some(e)) => {
                // End the stream where it stopped, so that the daemon (which reads up to the
                // end marker) is ready for the next request.
                if e.keeps_connection() {
                    wire::write_u64(w, 0)?;
                    w.flush()?;
                }
                Err(e)
            }
            (Err(e), None) => Err(Error::from_io(e)),
        }
    }

    /// Sends `setOptions` (Nix's `RemoteStore::setOptions`).
    pub fn set_options(&mut self, o: &ClientOptions, reporter: &dyn Reporter) -> Result<()> {
        self.guard(|c| {
            let w: &mut dyn Write = &mut c.w;
            wire::write_u64(w, super::ops::Op::SetOptions as u64)?;
            wire::write_bool(w, o.keep_failed)?;
            wire::write_bool(w, o.keep_going)?;
            wire::write_bool(w, o.try_fallback)?;
            wire::write_u64(w, o.verbosity)?;
            wire::write_u64(w, o.max_build_jobs)?;
            wire::write_u64(w, o.max_silent_time)?;
            wire::write_bool(w, true)?; // obsolete useBuildHook
            // The build-log verbosity: error when builds are verbose, vomit otherwise.
            wire::write_u64(w, if o.verbose_build { 0 } else { 7 })?;
            wire::write_u64(w, 0)?; // obsolete logType
            wire::write_u64(w, 0)?; // obsolete printBuildTrace
            wire::write_u64(w, o.build_cores)?;
            wire::write_bool(w, o.use_substitutes)?;
            wire::write_u64(w, o.overrides.len() as u64)?;
            for (k, v) in &o.overrides {
                wire::write_str(w, k)?;
                wire::write_str(w, v)?;
            }
            c.process(reporter)
        })
    }
}

/// Processes the frames the daemon has already sent, without waiting for more: messages are
/// relayed; an error (or a frame that cannot come now) ends the exchange.
fn drain_pending(
    r: &mut BufReader<Box<dyn Read + Send>>,
    probe: Option<&UnixStream>,
    v: &Negotiated,
    relay: &mut Relay,
    reporter: &dyn Reporter,
) -> Result<()> {
    loop {
        let pending = !r.buffer().is_empty() || probe.is_some_and(readable);
        if !pending {
            return Ok(());
        }
        match stderr::read_frame(r, v)? {
            Frame::Error(e) => return Err(e),
            Frame::Last | Frame::Read(_) | Frame::Write(_) => {
                return Err(Error::Protocol(
                    "the Nix daemon sent an unexpected message while receiving data".to_owned(),
                ));
            }
            frame => relay.show(frame, reporter),
        }
    }
}

/// Whether reading `s` would not block (data, or the other end closed).
fn readable(s: &UnixStream) -> bool {
    use rustix::event::{PollFd, PollFlags, Timespec, poll};
    let mut fds = [PollFd::new(s, PollFlags::IN)];
    let zero = Timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    poll(&mut fds, Some(&zero)).is_ok_and(|n| n > 0)
}
