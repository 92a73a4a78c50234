//! The daemon's side channel (Nix's `processStderr`, `src/libstore/
//! worker-protocol-connection.cc`, and the `TunnelLogger` of `src/libstore/daemon.cc`).
//!
//! After each request the daemon sends frames until `STDERR_LAST` (the answer follows) or
//! `STDERR_ERROR` (the request failed): log lines (`STDERR_NEXT`), activities and their results
//! (`STDERR_START_ACTIVITY`, `STDERR_STOP_ACTIVITY`, `STDERR_RESULT`, from 1.20), and requests
//! for data (`STDERR_READ`, `STDERR_WRITE`). Errors come as a message and an exit status before
//! 1.26 and as a serialised `Error` (level, message, traces) since.
//!
//! Messages reach the [`Reporter`] as Nix's simple logger prints them: log lines as they are
//! (without terminal escapes), activities whose level is within the verbosity as `<text>...`.

use std::collections::HashMap;
use std::io::{Read, Write};

use super::error::{Error, Result};
use super::handshake::{Negotiated, Version};
use super::wire;
use crate::report::Reporter;

/// A log line.
pub const STDERR_NEXT: u64 = 0x6f6c_6d67;
/// The daemon wants data from the client.
pub const STDERR_READ: u64 = 0x6461_7461;
/// The daemon sends data for the client's sink.
pub const STDERR_WRITE: u64 = 0x6461_7416;
/// The request succeeded; its answer follows.
pub const STDERR_LAST: u64 = 0x616c_7473;
/// The request failed.
pub const STDERR_ERROR: u64 = 0x6378_7470;
/// An activity started.
pub const STDERR_START_ACTIVITY: u64 = 0x5354_5254;
/// An activity stopped.
pub const STDERR_STOP_ACTIVITY: u64 = 0x5354_4f50;
/// A result of an activity (progress, a build log line, …).
pub const STDERR_RESULT: u64 = 0x5253_4c54;

/// Nix's `lvlInfo`, the default verbosity of the `nix` command.
pub const LVL_INFO: u64 = 3;

/// Nix's `actBuild`.
const ACT_BUILD: u64 = 105;
/// Nix's `resBuildLogLine`.
const RES_BUILD_LOG_LINE: u64 = 101;
/// Nix's `resProgress`.
const RES_PROGRESS: u64 = 105;
/// Nix's `resPostBuildLogLine`.
const RES_POST_BUILD_LOG_LINE: u64 = 107;

/// A field of an activity or result: a number or a string.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Field {
    /// Type 0.
    Int(u64),
    /// Type 1.
    Str(String),
}

/// One frame of the side channel.
#[derive(Debug)]
pub enum Frame {
    /// `STDERR_NEXT`: a log line (with its newline).
    Next(String),
    /// `STDERR_READ`: send up to this many bytes.
    Read(u64),
    /// `STDERR_WRITE`: bytes for the sink.
    Write(Vec<u8>),
    /// `STDERR_LAST`.
    Last,
    /// `STDERR_ERROR`, as [`Error::Remote`].
    Error(Error),
    /// `STDERR_START_ACTIVITY`.
    StartActivity {
        /// The activity's id.
        id: u64,
        /// Its verbosity level.
        level: u64,
        /// Nix's `ActivityType`.
        kind: u64,
        /// Its description.
        text: String,
        /// Its fields.
        fields: Vec<Field>,
        /// The parent activity (0 for none).
        parent: u64,
    },
    /// `STDERR_STOP_ACTIVITY`.
    StopActivity {
        /// The activity's id.
        id: u64,
    },
    /// `STDERR_RESULT`.
    Result {
        /// The activity.
        id: u64,
        /// Nix's `ResultType`.
        kind: u64,
        /// Its fields.
        fields: Vec<Field>,
    },
}

fn read_fields(r: &mut dyn Read) -> Result<Vec<Field>> {
    let n = wire::read_u64(r)?;
    let mut out = Vec::with_capacity(n.min(64) as usize);
    for _ in 0..n {
        match wire::read_u64(r)? {
            0 => out.push(Field::Int(wire::read_u64(r)?)),
            1 => out.push(Field::Str(wire::read_string(r)?)),
            t => {
                return Err(Error::Protocol(format!(
                    "got unsupported field type {t:x} from Nix daemon"
                )));
            }
        }
    }
    Ok(out)
}

/// Reads one frame.
pub fn read_frame(r: &mut dyn Read, v: &Negotiated) -> Result<Frame> {
    let tag = wire::read_u64(r)?;
    Ok(match tag {
        STDERR_NEXT => Frame::Next(wire::read_string(r)?),
        STDERR_READ => Frame::Read(wire::read_u64(r)?),
        STDERR_WRITE => Frame::Write(wire::read_bytes(r)?),
        STDERR_LAST => Frame::Last,
        STDERR_ERROR => Frame::Error(read_error(r, v)?),
        STDERR_START_ACTIVITY => Frame::StartActivity {
            id: wire::read_u64(r)?,
            level: wire::read_u64(r)?,
            kind: wire::read_u64(r)?,
            text: wire::read_string(r)?,
            fields: read_fields(r)?,
            parent: wire::read_u64(r)?,
        },
        STDERR_STOP_ACTIVITY => Frame::StopActivity {
            id: wire::read_u64(r)?,
        },
        STDERR_RESULT => Frame::Result {
            id: wire::read_u64(r)?,
            kind: wire::read_u64(r)?,
            fields: read_fields(r)?,
        },
        other => {
            return Err(Error::Protocol(format!(
                "got unknown message type {other:x} from Nix daemon"
            )));
        }
    })
}

/// Reads the body of `STDERR_ERROR` in the format of version `v`.
fn read_error(r: &mut dyn Read, v: &Negotiated) -> Result<Error> {
    if !v.at_least(Version::v1(26)) {
        let message = strip_ansi(&wire::read_string(r)?);
        let status = wire::read_u64(r)?;
        return Ok(Error::Remote {
            message,
            status,
            traces: Vec::new(),
        });
    }
    let kind = wire::read_string(r)?;
    if kind != "Error" {
        return Err(Error::Protocol(format!("unexpected error type '{kind}'")));
    }
    let _level = wire::read_u64(r)?;
    let _name = wire::read_string(r)?;
    let message = strip_ansi(&wire::read_string(r)?);
    let no_position = |r: &mut dyn Read| -> Result<()> {
        if wire::read_u64(r)? != 0 {
            return Err(Error::Protocol(
                "deserializing error positions is not supported".to_owned(),
            ));
        }
        Ok(())
    };
    no_position(r)?;
    let n = wire::read_u64(r)?;
    let mut traces = Vec::new();
    for _ in 0..n {
        no_position(r)?;
        traces.push(strip_ansi(&wire::read_string(r)?));
    }
    Ok(Error::Remote {
        message,
        status: 1,
        traces,
    })
}

/// Removes terminal escape sequences (`ESC [ … letter`) from a message of the daemon, which
/// colours the values it quotes; Nix filters them when stderr is not a terminal.
pub fn strip_ansi(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\x1b' {
            out.push(c);
            continue;
        }
        if chars.peek() == Some(&'[') {
            chars.next();
            // Parameters and intermediates, up to the final byte '@'..'~'.
            for c in chars.by_ref() {
                if ('@'..='~').contains(&c) {
                    break;
                }
            }
        } else if chars.peek() == Some(&']') {
            // An operating system command (hyperlinks): up to BEL or ESC '\'.
            for c in chars.by_ref() {
                if c == '\x07' || c == '\\' {
                    break;
                }
            }
        }
    }
    out
}

/// Relays the side channel to a [`Reporter`], remembering the activities in flight.
pub struct Relay {
    /// The verbosity (Nix's levels) within which activities are shown.
    pub verbosity: u64,
    /// Whether build log lines are shown (`-L`), prefixed by the derivation's name as Nix's
    /// logger prints them (`hello> …`).
    pub print_build_logs: bool,
    activities: HashMap<u64, Activity>,
}

struct Activity {
    text: String,
    progress: bool,
    /// For a build: the derivation's name without its version (Nix's `DrvName`).
    name: Option<String>,
}

/// The name a build's log lines are prefixed with: the `.drv` path's name without `.drv`
/// and without the version (up to the first `-` not followed by a letter, Nix's `DrvName`).
pub fn build_log_name(drv_path: &str) -> String {
    let base = drv_path.rsplit('/').next().unwrap_or(drv_path);
    let name = base.split_once('-').map_or(base, |(_, n)| n);
    let name = name.strip_suffix(".drv").unwrap_or(name);
    name_without_version(name).to_owned()
}

/// A derivation name without its version: up to the first `-` not followed by a letter
/// (Nix's `DrvName`: `hello-2.1` → `hello`, `foo-bar` → `foo-bar`).
pub fn name_without_version(name: &str) -> &str {
    let bytes = name.as_bytes();
    for (i, b) in bytes.iter().enumerate() {
        if *b == b'-' && bytes.get(i + 1).is_some_and(|c| !c.is_ascii_alphabetic()) {
            return &name[..i];
        }
    }
    name
}

impl Relay {
    /// A relay showing activities up to `verbosity`.
    pub fn new(verbosity: u64) -> Relay {
        Relay {
            verbosity,
            print_build_logs: false,
            activities: HashMap::new(),
        }
    }

    /// Shows one frame that carries a message.
    pub fn show(&mut self, frame: Frame, reporter: &dyn Reporter) {
        match frame {
            Frame::Next(text) => {
                let text = strip_ansi(text.strip_suffix('\n').unwrap_or(&text));
                match text.strip_prefix("warning: ") {
                    Some(w) => reporter.warn(w),
                    None => reporter.notice(&text),
                }
            }
            Frame::StartActivity {
                id,
                level,
                text,
                kind,
                fields,
                ..
            } => {
                let text = strip_ansi(&text);
                if !text.is_empty() {
                    let line = format!("{text}...");
                    if level <= self.verbosity {
                        reporter.notice(&line);
                    } else {
                        reporter.debug(&line);
                    }
                }
                let name = match (kind, fields.first()) {
                    (ACT_BUILD, Some(Field::Str(drv))) => Some(build_log_name(drv)),
                    _ => None,
                };
                self.activities.insert(
                    id,
                    Activity {
                        text,
                        progress: false,
                        name,
                    },
                );
            }
            Frame::StopActivity { id } => {
                if let Some(a) = self.activities.remove(&id)
                    && a.progress
                {
                    reporter.progress_done(&a.text);
                }
            }
            Frame::Result { id, kind, fields } => match (kind, fields.as_slice()) {
                (RES_BUILD_LOG_LINE | RES_POST_BUILD_LOG_LINE, [Field::Str(line), ..]) => {
                    let line = strip_ansi(line);
                    if self.print_build_logs {
                        let name = self
                            .activities
                            .get(&id)
                            .and_then(|a| a.name.as_deref())
                            .unwrap_or("unnamed");
                        let suffix = if kind == RES_POST_BUILD_LOG_LINE {
                            " (post)> "
                        } else {
                            "> "
                        };
                        reporter.notice(&format!("{name}{suffix}{line}"));
                    } else {
                        reporter.debug(&line);
                    }
                }
                (RES_PROGRESS, [Field::Int(done), Field::Int(expected), ..]) => {
                    if let Some(a) = self.activities.get_mut(&id)
                        && !a.text.is_empty()
                    {
                        a.progress = true;
                        let total = (*expected > 0).then_some(*expected);
                        reporter.progress(&a.text, *done, total);
                    }
                }
                _ => {}
            },
            Frame::Read(_) | Frame::Write(_) | Frame::Last | Frame::Error(_) => {}
        }
    }
}

/// Processes frames until `STDERR_LAST` (`Ok`) or `STDERR_ERROR` (the daemon's error):
/// messages go to `reporter`, `STDERR_WRITE` data to `sink`, and `STDERR_READ` is answered from
/// `source` (an empty answer at its end).
pub fn process(
    r: &mut dyn Read,
    w: &mut dyn Write,
    v: &Negotiated,
    relay: &mut Relay,
    reporter: &dyn Reporter,
    mut sink: Option<&mut dyn Write>,
    mut source: Option<&mut dyn Read>,
) -> Result<()> {
    w.flush()?;
    loop {
        match read_frame(r, v)? {
            Frame::Last => return Ok(()),
            Frame::Error(e) => return Err(e),
            Frame::Write(data) => {
                let sink = sink
                    .as_deref_mut()
                    .ok_or_else(|| Error::Protocol("no sink".to_owned()))?;
                sink.write_all(&data)
                    .map_err(|e| Error::Io(crate::util::fs::strerror(&e)))?;
            }
            Frame::Read(len) => {
                let source = source
                    .as_deref_mut()
                    .ok_or_else(|| Error::Protocol("no source".to_owned()))?;
                let mut buf = vec![0u8; len.min(wire::FRAME_SIZE as u64) as usize];
                let n = loop {
                    match source.read(&mut buf) {
                        Ok(n) => break n,
                        Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                        Err(e) => return Err(Error::Io(crate::util::fs::strerror(&e))),
                    }
                };
                wire::write_bytes(w, &buf[..n])?;
                w.flush()?;
            }
            frame => relay.show(frame, reporter),
        }
    }
}

#[cfg(test)]
mod tests;
