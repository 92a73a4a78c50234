//! The `rflake` binary: parses the command line, runs it, renders errors.
//!
//! Everything of substance lives in the library (`rflake::cli::run`); this
//! file only turns the outcome into an exit code, like ripgrep's `main.rs`.

use std::process::ExitCode;

fn main() -> ExitCode {
    rflake::cli::main()
}
