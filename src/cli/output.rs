//! The `Printer`: the only place that writes to stdout and stderr (STYLE.md §2), and the
//! [`Reporter`] the core reports through.
//!
//! Verbosity follows Nix's levels: error 0, warn 1, notice 2, info 3 (the default), talkative 4,
//! chatty 5, debug 6. `-v` raises it, `--quiet` lowers it, `--debug` sets it to debug.

use std::collections::HashMap;
use std::io::{self, IsTerminal as _, Write as _};
use std::sync::{Arc, Mutex};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::log_json::{self, JsonLog, LogFormat};
use crate::report::activity::Start;
use crate::report::{ActivityId, Field, Reporter, ResultType, Verbosity};

/// Nix's `lvlWarn`.
const WARN: i32 = 1;
/// Nix's `lvlNotice`.
const NOTICE: i32 = 2;
/// Nix's `lvlInfo`, the default verbosity.
pub const INFO: i32 = 3;
/// Nix's `lvlDebug`.
pub const DEBUG: i32 = 6;

/// Writes data to stdout and diagnostics to stderr.
#[derive(Clone)]
pub struct Printer {
    level: i32,
    progress: Option<Arc<Progress>>,
    /// The `internal-json` logger, with `--log-format internal-json`.
    json: Option<Arc<JsonLog>>,
}

/// Progress bars on a terminal, one per running task.
struct Progress {
    multi: MultiProgress,
    bars: Mutex<HashMap<String, ProgressBar>>,
}

impl Printer {
    /// Makes a printer with a verbosity level, without progress bars.
    pub fn new(level: i32) -> Printer {
        Printer {
            level,
            progress: None,
            json: None,
        }
    }

    /// Makes the printer `--log-format` asks for: `internal-json` lines, plain lines (`raw`), or
    /// progress bars on a terminal (`bar`, the default).
    pub fn for_format(level: i32, format: LogFormat) -> Printer {
        match format {
            LogFormat::Raw => Printer::new(level),
            LogFormat::InternalJson => Printer {
                json: Some(Arc::new(JsonLog::default())),
                ..Printer::new(level)
            },
            LogFormat::Bar => Printer::with_progress(level),
        }
    }

    /// Makes a printer that also draws progress bars, if stderr is a terminal and the
    /// verbosity is at least the default one (`--quiet` hides them; `-v` shows log lines
    /// above them).
    pub fn with_progress(level: i32) -> Printer {
        let mut p = Printer::new(level);
        if LogFormat::Bar.draws_bars(level, io::stderr().is_terminal()) {
            p.progress = Some(Arc::new(Progress {
                multi: MultiProgress::with_draw_target(ProgressDrawTarget::stderr()),
                bars: Mutex::new(HashMap::new()),
            }));
        }
        p
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

    /// Writes a line to stderr whatever the verbosity (errors, usage messages), above any
    /// progress bars.
    pub fn err_line(&self, s: &str) {
        match &self.progress {
            Some(p) => p.multi.suspend(|| {
                let _ = writeln!(io::stderr().lock(), "{s}");
            }),
            None => {
                let _ = writeln!(io::stderr().lock(), "{s}");
            }
        }
    }

    /// Writes a line to stderr if the verbosity is at least `level`.
    fn log(&self, level: i32, s: &str) {
        if self.level >= level {
            match &self.json {
                Some(j) => j.msg(u64::try_from(level).unwrap_or(0), s),
                None => self.err_line(s),
            }
        }
    }

    /// Prints a failure: `rendered` (`error: …`, as the terminal shows it) as is, or in
    /// `internal-json` as Nix's error message with `raw` (the message without `error:` and
    /// position) and the position (file, line, column) if there is one.
    pub fn error(&self, rendered: &str, raw: &str, pos: Option<(&str, u32, u32)>) {
        match &self.json {
            Some(j) => {
                let colored = rendered.replacen("error: ", log_json::ERROR_PREFIX, 1);
                j.error(&colored, raw, pos);
            }
            None => self.err_line(rendered),
        }
    }
}

impl Reporter for Printer {
    fn warn(&self, msg: &str) {
        let prefix = match self.json {
            Some(_) => log_json::WARNING_PREFIX,
            None => "warning: ",
        };
        self.log(WARN, &format!("{prefix}{msg}"));
    }

    fn notice(&self, msg: &str) {
        self.log(NOTICE, msg);
    }

    fn debug(&self, msg: &str) {
        self.log(DEBUG, msg);
    }

    fn progress(&self, label: &str, done: u64, total: Option<u64>) {
        self.draw(label, done, total, false);
    }

    fn progress_bytes(&self, label: &str, done: u64, total: Option<u64>) {
        self.draw(label, done, total, true);
    }

    fn shared(&self) -> Arc<dyn Reporter + Send + Sync> {
        Arc::new(self.clone())
    }

    fn verbosity(&self) -> u8 {
        u8::try_from(self.level.clamp(0, 7)).unwrap_or(3)
    }

    fn progress_done(&self, label: &str) {
        let Some(p) = &self.progress else {
            return;
        };
        if let Some(bar) = p.bars.lock().ok().and_then(|mut b| b.remove(label)) {
            bar.finish_and_clear();
            p.multi.remove(&bar);
        }
    }

    fn message(&self, level: Verbosity, msg: &str) {
        self.log(level as i32, msg);
    }

    fn start_activity(&self, start: &Start<'_>) {
        match &self.json {
            Some(j) => j.start(start),
            None if !start.text.is_empty() => {
                self.log(start.level as i32, &format!("{}...", start.text));
            }
            None => {}
        }
    }

    fn stop_activity(&self, id: ActivityId) {
        if let Some(j) = &self.json {
            j.stop(id);
        }
    }

    fn result(&self, id: ActivityId, kind: ResultType, fields: &[Field]) {
        if let Some(j) = &self.json {
            j.result(id, kind, fields);
        }
    }
}

impl Printer {
    /// Whether progress is drawn (stderr is a terminal, `--log-format bar`).
    pub fn draws_progress(&self) -> bool {
        self.progress.is_some()
    }

    /// Shows `line` as the status line below everything else (Nix's progress bar), or removes
    /// it (`None`). Nothing is drawn unless [`Printer::draws_progress`].
    pub fn status(&self, line: Option<&str>) {
        let Some(p) = &self.progress else {
            return;
        };
        let Ok(mut bars) = p.bars.lock() else {
            return;
        };
        const KEY: &str = "\0status";
        match line {
            Some(text) => {
                let bar = bars.entry(KEY.to_owned()).or_insert_with(|| {
                    let bar = p.multi.add(ProgressBar::no_length());
                    bar.set_style(
                        ProgressStyle::with_template("{msg}")
                            .unwrap_or_else(|_| ProgressStyle::default_bar()),
                    );
                    bar
                });
                bar.set_message(text.to_owned());
            }
            None => {
                if let Some(bar) = bars.remove(KEY) {
                    bar.finish_and_clear();
                    p.multi.remove(&bar);
                }
            }
        }
    }

    /// Creates or moves the progress bar named `label`.
    fn draw(&self, label: &str, done: u64, total: Option<u64>, bytes: bool) {
        let Some(p) = &self.progress else {
            return;
        };
        let Ok(mut bars) = p.bars.lock() else {
            return;
        };
        let bar = bars.entry(label.to_owned()).or_insert_with(|| {
            let bar = p
                .multi
                .add(total.map_or_else(ProgressBar::no_length, ProgressBar::new));
            bar.set_style(style(total.is_some(), bytes));
            bar.set_message(label.to_owned());
            bar
        });
        if let Some(t) = total {
            bar.set_length(t);
        }
        bar.set_position(done);
    }
}

fn style(bounded: bool, bytes: bool) -> ProgressStyle {
    let template = match (bounded, bytes) {
        (true, false) => "[{elapsed_precise}] {bar:30} {pos}/{len} {msg}",
        (false, false) => "[{elapsed_precise}] {spinner} {pos} {msg}",
        (true, true) => "[{elapsed_precise}] {bar:30} {bytes}/{total_bytes} {bytes_per_sec} {msg}",
        (false, true) => "[{elapsed_precise}] {spinner} {bytes} {bytes_per_sec} {msg}",
    };
    ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_bar())
}
