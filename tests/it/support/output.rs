//! `CommandOutput`: stdout, stderr and exit status of one command, shaped like jj's
//! `cli/tests/common/command_output.rs`.

use std::fmt;
use std::path::Path;
use std::process::{ExitStatus, Output};

/// The placeholder that replaces the test root in captured output.
pub const ROOT_PLACEHOLDER: &str = "$TEST_ENV";

/// What a command printed and how it exited, with the test root replaced by `$TEST_ENV`.
///
/// `Display` renders stdout, then `------- stderr -------` and stderr (when stderr is not empty),
/// then `[exit status: N]` (when the status is not 0), for insta inline snapshots. Two outputs
/// compare equal when stdout, stderr and status are all equal.
#[derive(Clone, PartialEq, Eq)]
pub struct CommandOutput {
    stdout: String,
    stderr: String,
    status: ExitStatus,
}

impl CommandOutput {
    /// Captures `output`, replacing every occurrence of one of `roots` by `$TEST_ENV`.
    pub fn new(output: Output, roots: &[&Path]) -> Self {
        let normalize = |bytes: &[u8]| {
            let mut text = String::from_utf8_lossy(bytes).into_owned();
            for root in roots {
                text = text.replace(&*root.to_string_lossy(), ROOT_PLACEHOLDER);
            }
            text
        };
        CommandOutput {
            stdout: normalize(&output.stdout),
            stderr: normalize(&output.stderr),
            status: output.status,
        }
    }

    /// Returns the normalized stdout.
    pub fn stdout(&self) -> &str {
        &self.stdout
    }

    /// Returns the normalized stderr.
    pub fn stderr(&self) -> &str {
        &self.stderr
    }

    /// Returns the exit status.
    pub fn status(&self) -> ExitStatus {
        self.status
    }

    /// Returns whether the command exited with status 0.
    pub fn success(&self) -> bool {
        self.status.success()
    }
}

impl fmt::Display for CommandOutput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.stdout)?;
        if !self.stderr.is_empty() {
            writeln!(f, "------- stderr -------")?;
            write!(f, "{}", self.stderr)?;
        }
        if !self.status.success() {
            // `ExitStatus`'s own Display says "exit status: N" only on some platforms.
            match self.status.code() {
                Some(code) => writeln!(f, "[exit status: {code}]")?,
                None => writeln!(f, "[exit status: {}]", self.status)?,
            }
        }
        Ok(())
    }
}

/// Shows the rendered form, so `assert_eq!` failures read like snapshots.
impl fmt::Debug for CommandOutput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "\n{self}")
    }
}
