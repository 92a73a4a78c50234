//! Errors raised while reading Nix configuration.
//!
//! Messages reuse the text of Nix 2.34+ (`src/libutil/configuration.cc`,
//! `src/libutil/include/nix/util/config-impl.hh`, `src/libstore/globals.cc`,
//! `src/libutil/args.cc`), which quotes paths in double quotes and values in
//! single quotes.

use std::path::PathBuf;

/// An error in a configuration source or in a setting's value.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Error {
    /// A line that is neither `name = value` nor `include PATH` / `!include PATH`.
    #[error("syntax error in configuration line '{line}' in \"{}\"", .origin.display())]
    Syntax {
        /// The offending line, with any comment removed.
        line: String,
        /// The file (or `NIX_CONFIG`) the line came from.
        origin: PathBuf,
    },

    /// An `include PATH` whose target does not exist.
    #[error(
        "file \"{}\" included from \"{}\" not found",
        .path.display(),
        .origin.display()
    )]
    IncludeNotFound {
        /// The resolved path of the missing file.
        path: PathBuf,
        /// The file that included it.
        origin: PathBuf,
    },

    /// Includes nested deeper than rflake allows (most likely a cycle).
    #[error("too many nested includes in \"{}\"", .origin.display())]
    IncludeTooDeep {
        /// The file whose include exceeded the limit.
        origin: PathBuf,
    },

    /// A path that must be absolute is not: a relative include from
    /// `NIX_CONFIG`, or a relative value for a path setting.
    #[error("not an absolute path: \"{}\"", .path.display())]
    NotAbsolute {
        /// The relative path.
        path: PathBuf,
    },

    /// A path setting that was set to the empty string.
    #[error("setting '{name}' is a path and paths cannot be empty")]
    EmptyPath {
        /// The setting's name.
        name: String,
    },

    /// A boolean setting with a value other than `true`/`yes`/`1`/`false`/`no`/`0`.
    #[error("Boolean setting '{name}' has invalid value '{value}'")]
    InvalidBool {
        /// The setting's name.
        name: String,
        /// The rejected value.
        value: String,
    },

    /// An integer setting whose value is not an integer in range.
    #[error("setting '{name}' has invalid value '{value}'")]
    InvalidInteger {
        /// The setting's name.
        name: String,
        /// The rejected value.
        value: String,
    },

    /// A `lint-*` setting with a value other than `ignore`, `warn` or `fatal`.
    #[error("option '{name}' has invalid value '{value}' (expected 'ignore', 'warn', or 'fatal')")]
    InvalidDiagnose {
        /// The setting's name.
        name: String,
        /// The rejected value.
        value: String,
    },
    /// `sandbox` with a value other than `true`, `false` or `relaxed`.
    #[error("option '{name}' has invalid value '{value}'")]
    InvalidSandboxMode {
        /// The setting's name.
        name: String,
        /// The rejected value.
        value: String,
    },

    /// `max-jobs` with a value other than `auto` or an integer.
    #[error("configuration setting '{name}' should be 'auto' or an integer")]
    InvalidMaxJobs {
        /// The setting's name.
        name: String,
        /// The rejected value.
        value: String,
    },

    /// A setting flag such as `--tarball-ttl` at the end of the command line.
    #[error("flag '{flag}' requires 1 argument(s), but only 0 were given")]
    MissingFlagArgument {
        /// The flag, with its leading `--`.
        flag: String,
    },

    /// A setting flag whose argument is not valid UTF-8.
    #[error("argument of flag '{flag}' is not valid UTF-8: '{}'", .argument.to_string_lossy())]
    NonUtf8FlagArgument {
        /// The flag, with its leading `--`.
        flag: String,
        /// The rejected argument.
        argument: std::ffi::OsString,
    },
}
