//! Where the core sends diagnostics: Nix's `warn(…)`, `notice(…)` and debug messages.
//!
//! The core never prints (STYLE.md §5); it reports through a [`Reporter`] that the CLI
//! implements on top of its `Printer`. Tests use [`Collect`].

pub mod activity;

use std::sync::{Arc, Mutex};

pub use activity::{Activity, ActivityId, ActivityType, Field, ResultType, Verbosity};

/// A sink for the messages Nix prints while it works.
pub trait Reporter: Sync {
    /// A warning, printed by the CLI as `warning: <msg>`.
    fn warn(&self, msg: &str);
    /// An informational notice, printed as is at the default verbosity.
    fn notice(&self, msg: &str);
    /// A debug message, printed only with `-v`/`--debug`.
    fn debug(&self, msg: &str);

    /// Progress of a long task named `label`: `done` of `total` units (bytes or items). The
    /// CLI draws a progress bar on a terminal; other reporters ignore it.
    fn progress(&self, label: &str, done: u64, total: Option<u64>) {
        let _ = (label, done, total);
    }

    /// Like [`Reporter::progress`] for a transfer counted in bytes (downloads, clones): the CLI
    /// shows sizes and the rate.
    fn progress_bytes(&self, label: &str, done: u64, total: Option<u64>) {
        self.progress(label, done, total);
    }

    /// The task named `label` has finished; its progress display goes away.
    fn progress_done(&self, label: &str) {
        let _ = label;
    }

    /// A message at a Nix log level (Nix's `printMsg`): levels up to info are shown as notices,
    /// higher ones as debug messages, unless the reporter knows better.
    fn message(&self, level: Verbosity, msg: &str) {
        if level <= Verbosity::Info {
            self.notice(msg);
        } else {
            self.debug(msg);
        }
    }

    /// An activity starts (see [`activity`]); by default its text, if any, is shown as a
    /// message `text...` at its level, as Nix's simple logger does.
    fn start_activity(&self, start: &activity::Start<'_>) {
        if !start.text.is_empty() {
            self.message(start.level, &format!("{}...", start.text));
        }
    }

    /// An activity has stopped.
    fn stop_activity(&self, id: ActivityId) {
        let _ = id;
    }

    /// An activity reports a result (progress, …).
    fn result(&self, id: ActivityId, kind: ResultType, fields: &[Field]) {
        let _ = (id, kind, fields);
    }

    /// The verbosity in Nix's levels (0 error … 3 info, the default … 6 debug), which a Nix
    /// daemon is told so that it sends the messages that will be shown.
    fn verbosity(&self) -> u8 {
        3
    }

    /// A handle on this reporter that a store may keep, for what it reports later (the
    /// messages of a Nix daemon). Reporters that cannot be shared drop those messages.
    fn shared(&self) -> Arc<dyn Reporter + Send + Sync> {
        Arc::new(Silent)
    }
}

/// A reporter that drops everything.
pub struct Silent;

impl Reporter for Silent {
    fn warn(&self, _: &str) {}
    fn notice(&self, _: &str) {}
    fn debug(&self, _: &str) {}
}

/// A reporter that keeps the messages, prefixed as the CLI would print them (shared handles
/// add to the same list).
#[derive(Default, Clone)]
pub struct Collect {
    lines: Arc<Mutex<Vec<String>>>,
}

impl Collect {
    /// Returns the collected lines (`warning: …` for warnings, notices as is).
    pub fn lines(&self) -> Vec<String> {
        self.lines.lock().map(|l| l.clone()).unwrap_or_default()
    }

    fn push(&self, line: String) {
        if let Ok(mut l) = self.lines.lock() {
            l.push(line);
        }
    }
}

impl Reporter for Collect {
    fn warn(&self, msg: &str) {
        self.push(format!("warning: {msg}"));
    }
    fn notice(&self, msg: &str) {
        self.push(msg.to_owned());
    }
    fn debug(&self, _: &str) {}

    fn shared(&self) -> Arc<dyn Reporter + Send + Sync> {
        Arc::new(self.clone())
    }
}
