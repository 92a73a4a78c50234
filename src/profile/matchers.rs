//! The elements a `profile upgrade`/`remove` names (Nix's `MixProfileElementMatchers`,
//! `src/nix/profile.cc`; spec U1): store paths, names, `--regex`, `--all`, with the checks and
//! warnings in Nix's order.
//!
//! # Deviations
//!
//! `--regex` uses the `regex` crate, case-insensitive and anchored at both ends, for Nix's
//! POSIX extended `std::regex`; patterns using syntax outside POSIX ERE may be read
//! differently (spec U1).

use std::collections::BTreeSet;

use super::manifest::{Element, Manifest};
use crate::store::{StoreDir, StorePath};

/// One matcher.
#[derive(Debug, Clone)]
pub enum Matcher {
    /// A positional argument that is a store path.
    StorePath(StorePath),
    /// Any other positional argument: an element name.
    Name(String),
    /// `--regex`, matched against the whole identifier.
    Regex {
        /// As given.
        pattern: String,
        /// Compiled: `(?is-u)^(?:pattern)$` (bytes, ASCII case folding).
        regex: regex::bytes::Regex,
    },
    /// `--all`.
    All,
}

/// A matcher error or usage error.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A number among the arguments (checked while parsing arguments).
    #[error("'nix profile' no longer supports indices ('{0}')")]
    Index(u64),
    /// No argument, `--regex` or `--all`.
    #[error("No packages specified.")]
    NoneGiven,
    /// `--all` with anything else.
    #[error("--all cannot be used with package names or regular expressions.")]
    AllWithOthers,
    /// A `--regex` that does not compile.
    #[error("invalid regular expression '{pattern}': {message}")]
    BadRegex {
        /// As given.
        pattern: String,
        /// The compiler's message.
        message: String,
    },
}

impl Error {
    /// Whether Nix reports this as a usage error (followed by `Try 'nix --help' …`).
    pub fn is_usage(&self) -> bool {
        matches!(self, Error::NoneGiven | Error::AllWithOthers)
    }
}

impl Matcher {
    /// The title in `warning: <title> does not match any packages in the profile.`
    pub fn title(&self) -> String {
        match self {
            Matcher::StorePath(p) => format!("Store path '{}'", p.base_name()),
            Matcher::Name(n) => format!("Package name '{n}'"),
            Matcher::Regex { pattern, .. } => format!("Regex '{pattern}'"),
            Matcher::All => "--all".to_owned(),
        }
    }

    /// Whether the element `name` matches.
    pub fn matches(&self, name: &str, element: &Element) -> bool {
        match self {
            Matcher::StorePath(p) => element.store_paths.contains(p),
            Matcher::Name(n) => n == name,
            Matcher::Regex { regex, .. } => regex.is_match(element.identifier().as_bytes()),
            Matcher::All => true,
        }
    }
}

/// Builds the matchers: `--all` and `--regex` flags first (Nix runs flag handlers as it meets
/// them and the positional handler at the end), then the positional arguments.
pub fn parse(
    positional: &[String],
    regexes: &[String],
    all: bool,
    store_dir: &StoreDir,
) -> Result<Vec<Matcher>, Error> {
    let mut out = Vec::new();
    if all {
        out.push(Matcher::All);
    }
    for pattern in regexes {
        let regex = regex::bytes::Regex::new(&format!("(?is-u)^(?:{pattern})$")).map_err(|e| {
            Error::BadRegex {
                pattern: pattern.clone(),
                message: e.to_string(),
            }
        })?;
        out.push(Matcher::Regex {
            pattern: pattern.clone(),
            regex,
        });
    }
    for arg in positional {
        if !arg.is_empty() && arg.bytes().all(|b| b.is_ascii_digit()) {
            return Err(Error::Index(arg.parse().unwrap_or(u64::MAX)));
        }
        match store_dir.parse(arg) {
            Ok(p) if store_dir.print(&p) == *arg => out.push(Matcher::StorePath(p)),
            _ => out.push(Matcher::Name(arg.clone())),
        }
    }
    Ok(out)
}

/// What matching found: the names, and the warnings to print, in order.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Matched {
    /// The names of the matching elements.
    pub names: BTreeSet<String>,
    /// Warnings (without `warning: `).
    pub warnings: Vec<String>,
}

/// Applies the checks of Nix's `getMatchingElementNames` in order.
pub fn select(manifest: &Manifest, matchers: &[Matcher]) -> Result<Matched, Error> {
    if matchers.is_empty() {
        return Err(Error::NoneGiven);
    }
    if matchers.len() > 1 && matchers.iter().any(|m| matches!(m, Matcher::All)) {
        return Err(Error::AllWithOthers);
    }
    let mut out = Matched::default();
    if manifest.elements.is_empty() {
        out.warnings
            .push("There are no packages in the profile.".to_owned());
        return Ok(out);
    }
    for m in matchers {
        let mut found = false;
        for (name, element) in &manifest.elements {
            if m.matches(name, element) {
                out.names.insert(name.clone());
                found = true;
            }
        }
        if !found {
            out.warnings.push(format!(
                "{} does not match any packages in the profile.",
                m.title()
            ));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
