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

    /// Renders the error as Nix prints it: `error:` and the message, with frames (outermost
    /// first) when `show_trace`, and the position with its code frame.
    pub fn render(&self, show_trace: bool) -> String {
        let mut out = String::from("error:");
        let indent = "       ";
        // The lines of a message after its first are indented as the rest of the error.
        let msg = self.msg.replace('\n', &format!("\n{indent}"));
        if show_trace {
            for f in self.frames.iter().rev() {
                out.push_str(&format!("\n{indent}… {}", f.msg));
                push_pos(&mut out, f.pos, indent, "  ");
                out.push('\n');
            }
            if !self.frames.is_empty() {
                out.push_str(&format!("\n{indent}error: {msg}"));
            } else {
                out.push_str(&format!(" {msg}"));
            }
        } else {
            out.push_str(&format!(" {msg}"));
        }
        // The error's own position is not indented further, a frame's is.
        push_pos(&mut out, self.pos, indent, "");
        out
    }
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
