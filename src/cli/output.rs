//! The `Printer`: the only place that writes to stdout and stderr (STYLE.md §2), and the
//! [`Reporter`] the core reports through.
//!
//! Verbosity follows Nix's levels: error 0, warn 1, notice 2, info 3 (the default), talkative 4,
//! chatty 5, debug 6. `-v` raises it, `--quiet` lowers it, `--debug` sets it to debug.

use std::io::{self, Write as _};

use crate::report::Reporter;

/// Nix's `lvlWarn`.
const WARN: i32 = 1;
/// Nix's `lvlNotice`.
const NOTICE: i32 = 2;
/// Nix's `lvlInfo`, the default verbosity.
pub const INFO: i32 = 3;
/// Nix's `lvlDebug`.
pub const DEBUG: i32 = 6;

/// Writes data to stdout and diagnostics to stderr.
#[derive(Debug, Clone, Copy)]
pub struct Printer {
    level: i32,
}

impl Printer {
    /// Makes a printer with a verbosity level.
    pub fn new(level: i32) -> Printer {
        Printer { level }
    }

    /// Writes data to stdout.
    pub fn out(&self, s: &str) -> io::Result<()> {
        let mut out = io::stdout().lock();
        out.write_all(s.as_bytes())?;
        out.flush()
    }

    /// Writes one line of data to stdout.
    pub fn out_line(&self, s: &str) -> io::Result<()> {
        self.out(&format!("{s}\n"))
    }

    /// Writes a line to stderr whatever the verbosity (errors, usage messages).
    pub fn err_line(&self, s: &str) {
        let _ = writeln!(io::stderr().lock(), "{s}");
    }

    /// Writes a line to stderr if the verbosity is at least `level`.
    fn log(&self, level: i32, s: &str) {
        if self.level >= level {
            self.err_line(s);
        }
    }
}

impl Reporter for Printer {
    fn warn(&self, msg: &str) {
        self.log(WARN, &format!("warning: {msg}"));
    }

    fn notice(&self, msg: &str) {
        self.log(NOTICE, msg);
    }

    fn debug(&self, msg: &str) {
        self.log(DEBUG, msg);
    }
}
