//! Installable strings: `<flake-ref>[#<attribute path>][^<outputs>]` (spec §3.7).
//!
//! Mirrors `ExtendedOutputsSpec::parse` (`src/libstore/outputs-spec.cc`) and the flake branch
//! of `parseInstallables` (`src/libcmd/installables.cc`). rflake's own commands take no
//! installables; `profile upgrade` re-parses stored references with this module.

use std::collections::BTreeSet;
use std::fmt;
use std::path::Path;

use super::{Error, FlakeRef, ParseOptions, parse_with_fragment};
use crate::report::Reporter;

/// Which outputs of a derivation an installable selects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OutputsSpec {
    /// No `^`: the package's default outputs.
    Default,
    /// `^*`: all outputs.
    All,
    /// `^a,b`: the named outputs.
    Names(BTreeSet<String>),
}

impl fmt::Display for OutputsSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OutputsSpec::Default => Ok(()),
            OutputsSpec::All => f.write_str("^*"),
            OutputsSpec::Names(names) => {
                write!(
                    f,
                    "^{}",
                    names.iter().cloned().collect::<Vec<_>>().join(",")
                )
            }
        }
    }
}

/// A parsed installable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Installable {
    /// The flake reference.
    pub flake_ref: FlakeRef,
    /// The decoded fragment: the attribute path (empty for the default).
    pub attr_path: String,
    /// The selected outputs.
    pub outputs: OutputsSpec,
}

/// Returns whether `name` is a valid store path name (as an output name must be).
pub fn is_valid_output_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 211
        && name != "."
        && name != ".."
        && !name.starts_with(".-")
        && !name.starts_with("..-")
        && name
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || b"+-._?=".contains(&c))
}

/// Splits off the outputs spec at the last `^`.
pub fn split_outputs(s: &str) -> Result<(&str, OutputsSpec), Error> {
    let Some(i) = s.rfind('^') else {
        return Ok((s, OutputsSpec::Default));
    };
    let (prefix, spec) = (&s[..i], &s[i + 1..]);
    if spec == "*" {
        return Ok((prefix, OutputsSpec::All));
    }
    let names: BTreeSet<String> = spec.split(',').map(str::to_owned).collect();
    if names.iter().all(|n| is_valid_output_name(n)) {
        Ok((prefix, OutputsSpec::Names(names)))
    } else {
        Err(Error::Invalid(format!(
            "invalid extended outputs specifier '{s}'"
        )))
    }
}

/// Parses an installable given on the command line; a leading `~` is `home`.
pub fn parse(
    s: &str,
    home: Option<&Path>,
    opts: &ParseOptions<'_>,
    report: &dyn Reporter,
) -> Result<Installable, Error> {
    let (prefix, outputs) = split_outputs(s)?;
    let expanded = match (home, prefix.strip_prefix('~')) {
        (Some(h), Some(rest)) if rest.is_empty() || rest.starts_with('/') => {
            format!("{}{rest}", h.display())
        }
        _ => prefix.to_owned(),
    };
    let (flake_ref, attr_path) = parse_with_fragment(&expanded, opts, report)?;
    Ok(Installable {
        flake_ref,
        attr_path,
        outputs,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::Silent;

    #[test]
    fn outputs_and_fragments() {
        let opts = ParseOptions::default();
        let i = parse("nixpkgs#hello^out,dev", None, &opts, &Silent).unwrap();
        assert_eq!(i.flake_ref.to_url_string().unwrap(), "flake:nixpkgs");
        assert_eq!(i.attr_path, "hello");
        assert_eq!(i.outputs.to_string(), "^dev,out");
        let i = parse("github:a/b#x.y^*", None, &opts, &Silent).unwrap();
        assert_eq!((i.attr_path.as_str(), i.outputs), ("x.y", OutputsSpec::All));
        let i = parse("/foo/bar#sth%20sth", None, &opts, &Silent).unwrap();
        assert_eq!(
            (i.attr_path.as_str(), i.outputs),
            ("sth sth", OutputsSpec::Default)
        );
        let i = parse("~/f#a", Some(Path::new("/home/u")), &opts, &Silent).unwrap();
        assert_eq!(i.flake_ref.to_url_string().unwrap(), "path:/home/u/f");
        let i = parse(".#foo?bar", None, &ParseOptions::default(), &Silent);
        assert!(i.is_err(), "relative path without a base directory");
    }

    #[test]
    fn bad_outputs() {
        for s in [
            "nixpkgs#hello^",
            "nixpkgs#hello^a,,b",
            "nixpkgs#hello^.",
            "nixpkgs#hello^a b",
            "x^.-y",
        ] {
            let e = parse(s, None, &ParseOptions::default(), &Silent).unwrap_err();
            assert_eq!(
                e.to_string(),
                format!("invalid extended outputs specifier '{s}'")
            );
        }
        assert!(is_valid_output_name(&"a".repeat(211)));
        assert!(!is_valid_output_name(&"a".repeat(212)));
    }
}
