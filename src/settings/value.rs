//! Parsing of setting values, mirroring the `BaseSetting<T>::parse`
//! specialisations in Nix's `src/libutil/configuration.cc`,
//! `src/libutil/include/nix/util/config-impl.hh` and `src/libstore/globals.cc`.
//!
//! # Deviations
//!
//! An integer whose `K`/`M`/`G`/`T` suffix makes it overflow its type is an
//! error here; Nix silently truncates it.

use std::path::{Component, Path, PathBuf};

use super::Error;
use super::known::{Kind, Setting};

/// Splits on the characters Nix's `tokenizeString` uses by default.
pub(crate) fn tokens(s: &str) -> impl Iterator<Item = &str> {
    s.split([' ', '\t', '\n', '\r']).filter(|t| !t.is_empty())
}

/// Parses a boolean as Nix's `BaseSetting<bool>::parse` does.
pub(crate) fn parse_bool(name: &str, value: &str) -> Result<bool, Error> {
    match value {
        "true" | "yes" | "1" => Ok(true),
        "false" | "no" | "0" => Ok(false),
        _ => Err(Error::InvalidBool {
            name: name.to_owned(),
            value: value.to_owned(),
        }),
    }
}

/// Splits off a binary unit suffix (`string2IntWithUnitPrefix`); `None` for
/// an unknown letter.
fn split_unit(value: &str) -> Option<(&str, u64)> {
    let Some(last) = value.chars().last().filter(char::is_ascii_alphabetic) else {
        return Some((value, 1));
    };
    let shift = match last.to_ascii_uppercase() {
        'K' => 10,
        'M' => 20,
        'G' => 30,
        'T' => 40,
        _ => return None,
    };
    Some((&value[..value.len() - 1], 1 << shift))
}

/// Parses an unsigned integer with an optional unit suffix, at most `max`.
pub(crate) fn parse_unsigned(name: &str, value: &str, max: u64) -> Result<u64, Error> {
    let invalid = || Error::InvalidInteger {
        name: name.to_owned(),
        value: value.to_owned(),
    };
    let (digits, multiplier) = split_unit(value).ok_or_else(invalid)?;
    let n: u64 = digits.parse().map_err(|_| invalid())?;
    n.checked_mul(multiplier)
        .filter(|n| *n <= max)
        .ok_or_else(invalid)
}

/// Parses a signed 64-bit integer with an optional unit suffix.
pub(crate) fn parse_signed(name: &str, value: &str) -> Result<i64, Error> {
    let invalid = || Error::InvalidInteger {
        name: name.to_owned(),
        value: value.to_owned(),
    };
    let (digits, multiplier) = split_unit(value).ok_or_else(invalid)?;
    let n: i64 = digits.parse().map_err(|_| invalid())?;
    let multiplier = i64::try_from(multiplier).map_err(|_| invalid())?;
    n.checked_mul(multiplier).ok_or_else(invalid)
}

/// Canonicalises an absolute path lexically, as Nix's `canonPath` does
/// without resolving symlinks: drops `.` and empty components, applies `..`.
/// Returns `None` for a relative path.
pub(crate) fn canon_path(path: &Path) -> Option<PathBuf> {
    if !path.is_absolute() {
        return None;
    }
    let mut out = PathBuf::from("/");
    for component in path.components() {
        match component {
            Component::ParentDir => {
                out.pop();
            }
            Component::Normal(part) => out.push(part),
            Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
        }
    }
    Some(out)
}

/// Parses an absolute path setting (`AbsolutePath`): non-empty and absolute.
pub(crate) fn parse_abs_path(name: &str, value: &str) -> Result<PathBuf, Error> {
    if value.is_empty() {
        return Err(Error::EmptyPath {
            name: name.to_owned(),
        });
    }
    canon_path(Path::new(value)).ok_or_else(|| Error::NotAbsolute { path: value.into() })
}

/// Parses an optional absolute path setting: empty means none.
pub(crate) fn parse_opt_abs_path(name: &str, value: &str) -> Result<Option<PathBuf>, Error> {
    if value.is_empty() {
        Ok(None)
    } else {
        parse_abs_path(name, value).map(Some)
    }
}

/// Parses a `StringMap` value (`host=token ...`); tokens without `=` are
/// ignored and the first occurrence of a key wins, as in Nix.
pub(crate) fn parse_map(value: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for token in tokens(value) {
        if let Some((key, val)) = token.split_once('=')
            && !out.iter().any(|(k, _)| k == key)
        {
            out.push((key.to_owned(), val.to_owned()));
        }
    }
    out
}

/// Checks a value of a setting rflake does not use, so that a bad value is
/// an error as it is in Nix.
pub(crate) fn validate(setting: &Setting, value: &str) -> Result<(), Error> {
    let name = setting.name;
    match setting.kind {
        Kind::Bool => parse_bool(name, value).map(drop),
        Kind::U32 => parse_unsigned(name, value, u32::MAX.into()).map(drop),
        Kind::U64 => parse_unsigned(name, value, u64::MAX).map(drop),
        Kind::I64 => parse_signed(name, value).map(drop),
        Kind::MaxJobs if value == "auto" || value.parse::<u32>().is_ok() => Ok(()),
        Kind::MaxJobs => Err(Error::InvalidMaxJobs {
            name: name.to_owned(),
            value: value.to_owned(),
        }),
        Kind::Sandbox if matches!(value, "true" | "false" | "relaxed") => Ok(()),
        Kind::Sandbox => Err(Error::InvalidSandboxMode {
            name: name.to_owned(),
            value: value.to_owned(),
        }),
        Kind::Path if value.is_empty() => Err(Error::EmptyPath {
            name: name.to_owned(),
        }),
        Kind::AbsPath => parse_abs_path(name, value).map(drop),
        Kind::OptAbsPath => parse_opt_abs_path(name, value).map(drop),
        Kind::Path | Kind::Str | Kind::List => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::known::lookup;

    #[test]
    fn bools() {
        for (value, expected) in [
            ("true", Some(true)),
            ("yes", Some(true)),
            ("1", Some(true)),
            ("false", Some(false)),
            ("no", Some(false)),
            ("0", Some(false)),
            ("True", None),
            ("on", None),
            ("", None),
        ] {
            assert_eq!(parse_bool("x", value).ok(), expected, "{value:?}");
        }
        assert_eq!(
            parse_bool("warn-dirty", "maybe").unwrap_err().to_string(),
            "Boolean setting 'warn-dirty' has invalid value 'maybe'"
        );
    }

    #[test]
    fn unsigned() {
        let max32 = u64::from(u32::MAX);
        for (value, max, expected) in [
            ("3600", max32, Some(3600)),
            ("+5", max32, Some(5)),
            ("007", max32, Some(7)),
            ("1K", max32, Some(1024)),
            ("2k", max32, Some(2048)),
            ("1M", max32, Some(1 << 20)),
            ("1G", max32, Some(1 << 30)),
            ("1T", u64::MAX, Some(1 << 40)),
            ("1T", max32, None),
            ("4294967295", max32, Some(max32)),
            ("4294967296", max32, None),
            ("-1", max32, None),
            ("1x", max32, None),
            ("K", max32, None),
            ("", max32, None),
            ("1.5", max32, None),
            ("0x10", max32, None),
        ] {
            assert_eq!(parse_unsigned("x", value, max).ok(), expected, "{value:?}");
        }
        assert_eq!(
            parse_unsigned("tarball-ttl", "1x", max32)
                .unwrap_err()
                .to_string(),
            "setting 'tarball-ttl' has invalid value '1x'"
        );
        assert_eq!(parse_signed("x", "-2K").ok(), Some(-2048));
        assert_eq!(parse_signed("x", "abc").ok(), None);
    }

    #[test]
    fn paths() {
        for (value, expected) in [
            ("/a/b", Some("/a/b")),
            ("/a/./b/", Some("/a/b")),
            ("//a//b", Some("/a/b")),
            ("/a/../b", Some("/b")),
            ("/..", Some("/")),
            ("a/b", None),
        ] {
            assert_eq!(
                canon_path(Path::new(value)),
                expected.map(PathBuf::from),
                "{value}"
            );
        }
        assert_eq!(parse_opt_abs_path("ssl-cert-file", ""), Ok(None));
        assert_eq!(
            parse_opt_abs_path("ssl-cert-file", "certs.pem")
                .unwrap_err()
                .to_string(),
            "not an absolute path: \"certs.pem\""
        );
        assert_eq!(
            parse_abs_path("netrc-file", "").unwrap_err().to_string(),
            "setting 'netrc-file' is a path and paths cannot be empty"
        );
    }

    #[test]
    fn maps() {
        assert_eq!(
            parse_map("a=b c d=e=f a=z"),
            vec![("a".into(), "b".into()), ("d".into(), "e=f".into())]
        );
    }

    #[test]
    fn validate_unused_settings() {
        let cases: &[(&str, &str, Option<&str>)] = &[
            ("keep-outputs", "true", None),
            (
                "keep-outputs",
                "maybe",
                Some("Boolean setting 'keep-outputs' has invalid value 'maybe'"),
            ),
            ("cores", "8", None),
            (
                "cores",
                "-1",
                Some("setting 'cores' has invalid value '-1'"),
            ),
            ("max-silent-time", "-1", None),
            ("max-jobs", "auto", None),
            ("max-jobs", "4", None),
            (
                "max-jobs",
                "4K",
                Some("configuration setting 'max-jobs' should be 'auto' or an integer"),
            ),
            ("sandbox", "relaxed", None),
            (
                "sandbox",
                "yes",
                Some("option 'sandbox' has invalid value 'yes'"),
            ),
            (
                "eval-profile-file",
                "",
                Some("setting 'eval-profile-file' is a path and paths cannot be empty"),
            ),
            ("build-dir", "", None),
            ("build-dir", "tmp", Some("not an absolute path: \"tmp\"")),
            ("system", "anything at all", None),
            ("trusted-users", "root @wheel", None),
        ];
        for (name, value, expected) in cases {
            let setting = lookup(name).unwrap();
            let got = validate(setting, value).err().map(|e| e.to_string());
            assert_eq!(got.as_deref(), *expected, "{name} = {value}");
        }
    }
}
