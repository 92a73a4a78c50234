//! Nix's activities and log levels (`src/libutil/include/nix/util/logging.hh` and `error.hh`):
//! a long task (a download, a copy) is an *activity* with an id, a type, a level and a text; it
//! may report *results* (progress) and ends when its [`Activity`] guard is dropped.
//!
//! The numbers are Nix's: tools such as nix-output-monitor read them from
//! `--log-format internal-json`. A reporter that only prints lines shows an activity as its text
//! followed by `...` when the verbosity admits its level, as Nix's simple logger does.

use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering};

use super::Reporter;

/// Nix's `Verbosity`: the level of a message or activity. A message is shown when its level is
/// at most the verbosity (`-v` raises it, `--quiet` lowers it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Verbosity {
    /// `lvlError`.
    Error = 0,
    /// `lvlWarn`.
    Warn = 1,
    /// `lvlNotice`.
    Notice = 2,
    /// `lvlInfo`, the default verbosity.
    Info = 3,
    /// `lvlTalkative` (`-v`): what is fetched and copied.
    Talkative = 4,
    /// `lvlChatty` (`-vv`).
    Chatty = 5,
    /// `lvlDebug` (`-vvv`, `--debug`).
    Debug = 6,
    /// `lvlVomit`.
    Vomit = 7,
}

impl Verbosity {
    /// The level's number, as Nix writes it.
    pub fn number(self) -> u64 {
        self as u64
    }
}

/// Nix's `ActivityType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActivityType {
    /// `actUnknown`: anything else (copying a path input into the store, …).
    Unknown = 0,
    /// `actCopyPath`: one store path copied to another store.
    CopyPath = 100,
    /// `actFileTransfer`: a download.
    FileTransfer = 101,
    /// `actRealise`.
    Realise = 102,
    /// `actCopyPaths`: a set of store paths copied to another store.
    CopyPaths = 103,
    /// `actBuilds`.
    Builds = 104,
    /// `actBuild`.
    Build = 105,
    /// `actOptimiseStore`.
    OptimiseStore = 106,
    /// `actVerifyPaths`.
    VerifyPaths = 107,
    /// `actSubstitute`.
    Substitute = 108,
    /// `actQueryPathInfo`.
    QueryPathInfo = 109,
    /// `actPostBuildHook`.
    PostBuildHook = 110,
    /// `actBuildWaiting`.
    BuildWaiting = 111,
    /// `actFetchTree`: fetching a repository (`git fetch`).
    FetchTree = 112,
}

impl ActivityType {
    /// The type's number, as Nix writes it.
    pub fn number(self) -> u64 {
        self as u64
    }
}

/// Nix's `ResultType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResultType {
    /// `resFileLinked`.
    FileLinked = 100,
    /// `resBuildLogLine`.
    BuildLogLine = 101,
    /// `resUntrustedPath`.
    UntrustedPath = 102,
    /// `resCorruptedPath`.
    CorruptedPath = 103,
    /// `resSetPhase`.
    SetPhase = 104,
    /// `resProgress`: fields `done`, `expected`, `running`, `failed`.
    Progress = 105,
    /// `resSetExpected`.
    SetExpected = 106,
    /// `resPostBuildLogLine`.
    PostBuildLogLine = 107,
    /// `resFetchStatus`.
    FetchStatus = 108,
}

impl ResultType {
    /// The type's number, as Nix writes it.
    pub fn number(self) -> u64 {
        self as u64
    }
}

/// A field of an activity or result: a number or a string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Field {
    /// An unsigned number.
    Int(u64),
    /// A string.
    Str(String),
}

impl From<u64> for Field {
    fn from(i: u64) -> Field {
        Field::Int(i)
    }
}

impl From<&str> for Field {
    fn from(s: &str) -> Field {
        Field::Str(s.to_owned())
    }
}

impl From<String> for Field {
    fn from(s: String) -> Field {
        Field::Str(s)
    }
}

/// An activity's id: unique in the process, and across processes as in Nix (the process id in
/// the upper 32 bits). 0 means "no activity" (the parent of a top-level one).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct ActivityId(pub u64);

impl ActivityId {
    /// A fresh id.
    pub fn next() -> ActivityId {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        ActivityId(n + (u64::from(std::process::id()) << 32))
    }
}

thread_local! {
    /// The activity that new activities of this thread are children of (Nix's `curActivity`).
    static CURRENT: Cell<ActivityId> = const { Cell::new(ActivityId(0)) };
}

/// Returns the innermost activity pushed on this thread, or `ActivityId(0)`.
pub fn current() -> ActivityId {
    CURRENT.with(Cell::get)
}

/// What starts an activity, as a reporter receives it.
#[derive(Debug, Clone, Copy)]
pub struct Start<'a> {
    /// The new activity's id.
    pub id: ActivityId,
    /// Its level: a line-printing reporter shows `text...` when the verbosity admits it.
    pub level: Verbosity,
    /// Its type.
    pub kind: ActivityType,
    /// What it does (`copying path '…' to '…'`), possibly empty.
    pub text: &'a str,
    /// Its fields (for a download, the URL).
    pub fields: &'a [Field],
    /// The activity it belongs to, or `ActivityId(0)`.
    pub parent: ActivityId,
}

/// A running activity; it stops when dropped (Nix's `Activity`).
pub struct Activity<'r> {
    reporter: &'r dyn Reporter,
    id: ActivityId,
}

impl<'r> Activity<'r> {
    /// Starts an activity, a child of this thread's [`current`] one.
    pub fn start(
        reporter: &'r dyn Reporter,
        level: Verbosity,
        kind: ActivityType,
        text: &str,
        fields: &[Field],
    ) -> Activity<'r> {
        Activity::child(reporter, level, kind, text, fields, current())
    }

    /// Starts an activity with an explicit parent (work done on another thread).
    pub fn child(
        reporter: &'r dyn Reporter,
        level: Verbosity,
        kind: ActivityType,
        text: &str,
        fields: &[Field],
        parent: ActivityId,
    ) -> Activity<'r> {
        let id = ActivityId::next();
        reporter.start_activity(&Start {
            id,
            level,
            kind,
            text,
            fields,
            parent,
        });
        Activity { reporter, id }
    }

    /// Returns the id.
    pub fn id(&self) -> ActivityId {
        self.id
    }

    /// Reports progress: `done` of `expected` units (bytes for transfers and copies).
    pub fn progress(&self, done: u64, expected: u64) {
        self.result(
            ResultType::Progress,
            &[
                Field::Int(done),
                Field::Int(expected),
                Field::Int(0),
                Field::Int(0),
            ],
        );
    }

    /// Reports a result.
    pub fn result(&self, kind: ResultType, fields: &[Field]) {
        self.reporter.result(self.id, kind, fields);
    }

    /// Makes this activity the parent of the activities this thread starts until the guard is
    /// dropped (Nix's `PushActivity`).
    pub fn push(&self) -> Pushed {
        let prev = CURRENT.with(|c| c.replace(self.id));
        Pushed { prev }
    }
}

impl Drop for Activity<'_> {
    fn drop(&mut self) {
        self.reporter.stop_activity(self.id);
    }
}

/// Restores the previous current activity when dropped.
pub struct Pushed {
    prev: ActivityId,
}

impl Drop for Pushed {
    fn drop(&mut self) {
        CURRENT.with(|c| c.set(self.prev));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::Collect;

    #[test]
    fn ids_are_unique_and_carry_the_process_id() {
        let a = ActivityId::next();
        let b = ActivityId::next();
        assert_ne!(a, b);
        assert_eq!(a.0 >> 32, u64::from(std::process::id()));
    }

    #[test]
    fn pushed_activities_are_parents_until_dropped() {
        let log = Collect::default();
        assert_eq!(current(), ActivityId(0));
        let outer = Activity::start(&log, Verbosity::Info, ActivityType::CopyPaths, "", &[]);
        {
            let _p = outer.push();
            assert_eq!(current(), outer.id());
        }
        assert_eq!(current(), ActivityId(0));
    }

    #[test]
    fn line_reporters_show_the_text_of_activities_they_admit() {
        let log = Collect::default();
        drop(Activity::start(
            &log,
            Verbosity::Info,
            ActivityType::CopyPaths,
            "copying 2 paths",
            &[],
        ));
        drop(Activity::start(
            &log,
            Verbosity::Talkative,
            ActivityType::FileTransfer,
            "downloading 'x'",
            &[],
        ));
        drop(Activity::start(
            &log,
            Verbosity::Info,
            ActivityType::Realise,
            "",
            &[],
        ));
        assert_eq!(log.lines(), ["copying 2 paths..."]);
    }
}
