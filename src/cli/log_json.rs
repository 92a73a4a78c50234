//! `--log-format`: Nix's log formats (`src/libmain/loggers.cc`) and its `internal-json` logger
//! (`JSONLogger` in `src/libutil/logging.cc`), which writes one `@nix {…}` line per message,
//! activity start, activity stop and result on stderr for tools such as nix-output-monitor.
//!
//! The lines are Nix's: keys in sorted order (as nlohmann's JSON objects print them), `fields`
//! left out when empty, messages unfiltered by colour (a warning carries Nix's ANSI codes
//! around `warning:`, whatever `NO_COLOR` says), every activity written whatever its level
//! (only messages are filtered by the verbosity), and progress results of one activity at
//! most every 100 ms except the one that reaches the expected total.

use std::collections::HashMap;
use std::io::Write as _;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::{Map, Value, json};

use crate::report::activity::Start;
use crate::report::{ActivityId, Field, ResultType};

/// Nix's `ANSI_WARNING` … `ANSI_NORMAL` around `warning:`, as its JSON messages carry it.
pub const WARNING_PREFIX: &str = "\u{1b}[35;1mwarning:\u{1b}[0m ";
/// Nix's `ANSI_RED` … `ANSI_NORMAL` around `error:`.
pub const ERROR_PREFIX: &str = "\u{1b}[31;1merror:\u{1b}[0m ";

/// How often one activity's progress is written at most.
const PROGRESS_INTERVAL: Duration = Duration::from_millis(100);

/// A value of `--log-format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    /// `raw`, `raw-with-logs`: plain lines, no progress bar.
    Raw,
    /// `internal-json`: `@nix {…}` lines.
    InternalJson,
    /// `bar`, `bar-with-logs` (the default): a progress bar when stderr is a terminal, plain
    /// lines otherwise. rflake runs no builds, so "with logs" changes nothing.
    #[default]
    Bar,
}

impl LogFormat {
    /// Parses a value of `--log-format` (clap has checked it).
    pub fn parse(s: &str) -> Option<LogFormat> {
        match s {
            "raw" | "raw-with-logs" => Some(LogFormat::Raw),
            "internal-json" => Some(LogFormat::InternalJson),
            "bar" | "bar-with-logs" => Some(LogFormat::Bar),
            _ => None,
        }
    }

    /// Whether this format draws progress bars at verbosity `level` (Nix's numbers) on stderr
    /// that is (`terminal`) or is not a terminal: only `bar` does, on a terminal, unless
    /// `--quiet` lowered the verbosity.
    pub fn draws_bars(self, level: i32, terminal: bool) -> bool {
        self == LogFormat::Bar && terminal && level >= super::output::INFO
    }

    /// The format the arguments ask for, found before they are parsed, so that even a failure
    /// to parse them is reported in it: the last `--log-format F` or `--log-format=F`.
    pub fn from_args(args: &[std::ffi::OsString]) -> LogFormat {
        let mut format = LogFormat::default();
        let mut it = args.iter().filter_map(|a| a.to_str());
        while let Some(a) = it.next() {
            if a == "--" {
                break;
            }
            let value = match a.strip_prefix("--log-format") {
                Some("") => it.next(),
                Some(rest) => rest.strip_prefix('='),
                None => None,
            };
            if let Some(f) = value.and_then(LogFormat::parse) {
                format = f;
            }
        }
        format
    }
}

/// The `internal-json` logger: writes `@nix` lines to stderr.
#[derive(Default)]
pub struct JsonLog {
    /// When each running activity's progress was last written.
    last_progress: Mutex<HashMap<ActivityId, Instant>>,
}

impl JsonLog {
    /// A message (`{"action":"msg","level":N,"msg":"…"}`).
    pub fn msg(&self, level: u64, msg: &str) {
        self.write(&json!({"action": "msg", "level": level, "msg": msg}));
    }

    /// An error as Nix's `logEI` writes it: the rendered message, the raw one and the
    /// position (`null`s when there is none).
    pub fn error(&self, rendered: &str, raw: &str, pos: Option<(&str, u32, u32)>) {
        let (file, line, column) = match pos {
            Some((f, l, c)) => (json!(f), json!(l), json!(c)),
            None => (Value::Null, Value::Null, Value::Null),
        };
        self.write(&json!({
            "action": "msg",
            "column": column,
            "file": file,
            "level": 0,
            "line": line,
            "msg": rendered,
            "raw_msg": raw,
        }));
    }

    /// An activity starts.
    pub fn start(&self, s: &Start<'_>) {
        self.write(&start_value(s));
    }

    /// An activity stops.
    pub fn stop(&self, id: ActivityId) {
        if let Ok(mut last) = self.last_progress.lock() {
            last.remove(&id);
        }
        self.write(&json!({"action": "stop", "id": id.0}));
    }

    /// An activity's result; progress is sampled (see the module docs).
    pub fn result(&self, id: ActivityId, kind: ResultType, fields: &[Field]) {
        if kind == ResultType::Progress
            && !is_final_progress(fields)
            && let Ok(mut last) = self.last_progress.lock()
        {
            let now = Instant::now();
            if let Some(t) = last.get(&id)
                && now.duration_since(*t) < PROGRESS_INTERVAL
            {
                return;
            }
            last.insert(id, now);
        }
        self.write(&result_value(id, kind, fields));
    }

    fn write(&self, value: &Value) {
        let line = format!("@nix {value}\n");
        // One write of the whole line, so that lines of several threads never mix.
        let _ = std::io::stderr().lock().write_all(line.as_bytes());
    }
}

/// `{"action":"start",…}`.
fn start_value(s: &Start<'_>) -> Value {
    let mut m = Map::new();
    m.insert("action".into(), "start".into());
    m.insert("id".into(), s.id.0.into());
    m.insert("level".into(), s.level.number().into());
    m.insert("parent".into(), s.parent.0.into());
    m.insert("text".into(), s.text.into());
    m.insert("type".into(), s.kind.number().into());
    add_fields(&mut m, s.fields);
    Value::Object(m)
}

/// `{"action":"result",…}`.
fn result_value(id: ActivityId, kind: ResultType, fields: &[Field]) -> Value {
    let mut m = Map::new();
    m.insert("action".into(), "result".into());
    m.insert("id".into(), id.0.into());
    m.insert("type".into(), kind.number().into());
    add_fields(&mut m, fields);
    Value::Object(m)
}

/// Whether a progress result reaches its expected total (never dropped by the sampling).
fn is_final_progress(fields: &[Field]) -> bool {
    matches!(fields, [Field::Int(done), Field::Int(expected), ..] if *expected > 0 && done >= expected)
}

fn add_fields(m: &mut Map<String, Value>, fields: &[Field]) {
    if fields.is_empty() {
        return;
    }
    let arr = fields
        .iter()
        .map(|f| match f {
            Field::Int(i) => Value::from(*i),
            Field::Str(s) => Value::from(s.as_str()),
        })
        .collect();
    m.insert("fields".into(), Value::Array(arr));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{ActivityType, Verbosity};

    fn start_line(s: &Start<'_>) -> String {
        start_value(s).to_string()
    }

    #[test]
    fn lines_have_nix_key_order_and_omit_empty_fields() {
        let fields = [Field::from("http://x/y")];
        let s = Start {
            id: ActivityId(7),
            level: Verbosity::Talkative,
            kind: ActivityType::FileTransfer,
            text: "downloading 'http://x/y'",
            fields: &fields,
            parent: ActivityId(0),
        };
        assert_eq!(
            start_line(&s),
            r#"{"action":"start","fields":["http://x/y"],"id":7,"level":4,"parent":0,"text":"downloading 'http://x/y'","type":101}"#
        );
        let s = Start { fields: &[], ..s };
        assert_eq!(
            start_line(&s),
            r#"{"action":"start","id":7,"level":4,"parent":0,"text":"downloading 'http://x/y'","type":101}"#
        );
        assert_eq!(
            result_value(
                ActivityId(7),
                ResultType::Progress,
                &[Field::Int(1), Field::Int(2)]
            )
            .to_string(),
            r#"{"action":"result","fields":[1,2],"id":7,"type":105}"#
        );
        assert_eq!(
            json!({"action": "msg", "level": 1, "msg": format!("{WARNING_PREFIX}x")}).to_string(),
            r#"{"action":"msg","level":1,"msg":"\u001b[35;1mwarning:\u001b[0m x"}"#
        );
    }

    #[test]
    fn final_progress_is_recognised() {
        let p = |d: u64, e: u64| [Field::Int(d), Field::Int(e), Field::Int(0), Field::Int(0)];
        assert!(is_final_progress(&p(5, 5)));
        assert!(!is_final_progress(&p(4, 5)));
        assert!(!is_final_progress(&p(0, 0)));
    }

    #[test]
    fn only_bar_draws_bars_and_only_on_a_terminal() {
        use super::super::output::INFO;
        let cases = [
            (LogFormat::Bar, INFO, true, true),
            (LogFormat::Bar, INFO + 1, true, true),
            (LogFormat::Bar, INFO - 1, true, false),
            (LogFormat::Bar, INFO, false, false),
            (LogFormat::Raw, INFO, true, false),
            (LogFormat::InternalJson, INFO, true, false),
        ];
        for (format, level, terminal, want) in cases {
            assert_eq!(
                format.draws_bars(level, terminal),
                want,
                "{format:?} {level} {terminal}"
            );
        }
        assert_eq!(LogFormat::parse("bar-with-logs"), Some(LogFormat::Bar));
        assert_eq!(LogFormat::parse("raw-with-logs"), Some(LogFormat::Raw));
    }

    #[test]
    fn the_format_is_found_before_parsing() {
        let args = |a: &[&str]| {
            a.iter()
                .map(Into::into)
                .collect::<Vec<std::ffi::OsString>>()
        };
        let cases = [
            (&["rflake", "flake", "archive"][..], LogFormat::Bar),
            (
                &["rflake", "--log-format", "internal-json", "flake"],
                LogFormat::InternalJson,
            ),
            (&["rflake", "--log-format=raw"], LogFormat::Raw),
            (
                &["rflake", "--", "--log-format", "internal-json"],
                LogFormat::Bar,
            ),
        ];
        for (argv, want) in cases {
            assert_eq!(LogFormat::from_args(&args(argv)), want, "{argv:?}");
        }
    }
}
