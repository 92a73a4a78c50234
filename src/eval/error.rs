//! Evaluation errors (Nix's `EvalError` family, `libexpr/eval-error.hh`): a message, where it
//! happened, and the frames (`… while evaluating …`) added as the error travels up. Which
//! kinds `builtins.tryEval` may catch is part of the kind.

use super::pos::{self, PosIdx};

/// What went wrong.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Kind {
    /// A type error, a missing attribute, …: not catchable.
    Eval,
    /// `throw`: `tryEval` catches it.
    Throw,
    /// A failed `assert`: `tryEval` catches it.
    Assert,
    /// `abort`: never caught.
    Abort,
    /// A thunk forced while being forced.
    InfiniteRecursion,
    /// `max-call-depth` passed.
    StackOverflow,
    /// An error of the world (a file that cannot be read, a store that fails).
    Io,
}

/// A frame of the trace.
#[derive(Clone, Debug)]
pub struct Frame {
    /// What was being done (`while evaluating …`).
    pub msg: String,
    /// Where.
    pub pos: PosIdx,
}

/// An evaluation error.
#[derive(Clone, Debug)]
pub struct EvalError {
    /// What kind of error.
    pub kind: Kind,
    /// The message.
    pub msg: String,
    /// Where it happened.
    pub pos: PosIdx,
    /// Innermost first.
    pub frames: Vec<Frame>,
}

/// The evaluator's result type (boxed: `Result` stays two words).
pub type R<T> = Result<T, Box<EvalError>>;

/// An uncatchable error with a message.
pub fn err<T>(msg: impl Into<String>) -> R<T> {
    Err(Box::new(EvalError {
        kind: Kind::Eval,
        msg: msg.into(),
        pos: PosIdx::NONE,
        frames: Vec::new(),
    }))
}

/// An error of `kind`.
pub fn err_kind<T>(kind: Kind, msg: impl Into<String>) -> R<T> {
    Err(Box::new(EvalError {
        kind,
        msg: msg.into(),
        pos: PosIdx::NONE,
        frames: Vec::new(),
    }))
}

impl EvalError {
    /// An uncatchable error with a message, boxed.
    pub fn boxed(msg: impl Into<String>) -> Box<EvalError> {
        Box::new(EvalError {
            kind: Kind::Eval,
            msg: msg.into(),
            pos: PosIdx::NONE,
            frames: Vec::new(),
        })
    }

    /// Whether `builtins.tryEval` catches it.
    pub fn catchable(&self) -> bool {
        matches!(self.kind, Kind::Throw | Kind::Assert)
    }

    /// Sets the position if none is set yet.
    pub fn at(mut self: Box<Self>, p: PosIdx) -> Box<Self> {
        if !self.pos.is_some() {
            self.pos = p;
        }
        self
    }

    /// Adds a frame.
    pub fn frame(mut self: Box<Self>, msg: impl Into<String>, pos: PosIdx) -> Box<Self> {
        self.frames.push(Frame {
            msg: msg.into(),
            pos,
        });
        self
    }

    /// Renders the error as Nix's `showErrorInfo` prints it: the frames (outermost first;
    /// without `show_trace` only the first few, counting a frame with a position twice),
    /// runs of frames seen before elided, then `error:` with the message and its position.
    /// Every line after the first is indented under `error: `, trailing blanks removed.
    pub fn render(&self, show_trace: bool) -> String {
        let mut body = String::new();
        if !self.frames.is_empty() {
            let mut seen: std::collections::HashSet<(&str, PosIdx)> = Default::default();
            let mut skipped: Vec<&Frame> = Vec::new();
            let mut count = 0usize;
            let mut truncate = false;
            for f in self.frames.iter().rev() {
                if f.msg.is_empty() {
                    continue;
                }
                if !show_trace && count > 3 {
                    truncate = true;
                    break;
                }
                if !seen.insert((f.msg.as_str(), f.pos)) {
                    skipped.push(f);
                    continue;
                }
                flush_skipped(&mut body, &mut count, &mut skipped, &mut seen);
                count += 1;
                push_frame(&mut body, &mut count, f);
            }
            flush_skipped(&mut body, &mut count, &mut skipped, &mut seen);
            if truncate {
                body.push_str(
                    "\n(stack trace truncated; use '--show-trace' to show the full, detailed trace)\n",
                );
            }
            body.push_str("\nerror: ");
        }
        body.push_str(&self.msg);
        body.push('\n');
        push_code(&mut body, self.pos, "");
        let mut out = String::new();
        for (i, line) in body.trim_end().split('\n').enumerate() {
            let line = if i == 0 {
                format!("error: {line}")
            } else {
                out.push('\n');
                format!("       {line}")
            };
            out.push_str(line.trim_end());
        }
        if self.frames.is_empty() {
            return out;
        }
        // With frames the first line is `error:` alone.
        match out.strip_prefix("error: ") {
            Some(rest) => format!("error:{rest}"),
            None => out,
        }
    }
}

/// Prints frames skipped as seen before: a few as they are, more as a count (after which
/// frames count as new again).
fn flush_skipped<'a>(
    out: &mut String,
    count: &mut usize,
    skipped: &mut Vec<&'a Frame>,
    seen: &mut std::collections::HashSet<(&'a str, PosIdx)>,
) {
    if skipped.len() > 5 {
        out.push_str(&format!("\n({} duplicate frames omitted)\n", skipped.len()));
        seen.clear();
    } else {
        for f in skipped.iter() {
            push_frame(out, count, f);
        }
    }
    skipped.clear();
}

fn push_frame(out: &mut String, count: &mut usize, f: &Frame) {
    out.push_str(&format!("\n… {}\n", f.msg));
    if push_code(out, f.pos, "  ") {
        *count += 1;
    }
}

/// `at FILE:LINE:COL:` and the code lines around it (Nix's `printPosMaybe`); whether there
/// was a position.
fn push_code(out: &mut String, p: PosIdx, indent: &str) -> bool {
    let Some(r) = pos::resolve(p) else {
        return false;
    };
    out.push_str(&format!("{indent}at {}:", r.location()));
    // Lines as Nix's `LinesIterator` gives them: a text ending in a newline has an empty
    // line after it.
    let all: Vec<&str> = r
        .text
        .split('\n')
        .map(|l| l.trim_end_matches('\r'))
        .collect();
    let Some(index) = (r.pos.line as usize).checked_sub(1) else {
        return true;
    };
    let Some(this) = all.get(index) else {
        return true;
    };
    if let Some(prev) = index.checked_sub(1).and_then(|i| all.get(i)) {
        out.push_str(&format!("\n {index:>5}| {prev}"));
    }
    out.push_str(&format!("\n {:>5}| {this}", index + 1));
    if r.pos.column > 0 {
        out.push_str(&format!("\n      |{}^", " ".repeat(r.pos.column as usize)));
    }
    if let Some(next) = all.get(index + 1) {
        out.push_str(&format!("\n {:>5}| {next}", index + 2));
    }
    out.push('\n');
    true
}

/// A warning at a position, as Nix logs one (`warning:` and the code frame under it).
pub fn render_warning(msg: &str, p: PosIdx) -> String {
    let mut out = format!("warning: {msg}");
    push_pos(&mut out, p, "         ", "  ");
    out
}

fn push_pos(out: &mut String, p: PosIdx, indent: &str, at_indent: &str) {
    let Some(r) = pos::resolve(p) else {
        return;
    };
    out.push_str(&format!("\n{indent}{at_indent}at {}:", r.location()));
    for l in crate::util::code_frame::lines(&r.text, r.pos.line, r.pos.column) {
        out.push_str(&format!("\n{indent}{l}"));
    }
}
