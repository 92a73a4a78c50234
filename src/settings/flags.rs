//! The `--NAME` setting flags Nix derives from every setting, pulled out of
//! the command line before clap parses it.
//!
//! Mirrors `Config::convertToArgs`: `BaseSetting<T>::convertToArg` in
//! `src/libutil/include/nix/util/config-impl.hh` (`--NAME VALUE`, and
//! `--extra-NAME VALUE` for list settings), its `bool` specialisation in
//! `src/libutil/configuration.cc` (`--NAME`, `--no-NAME`), the `SandboxMode`
//! one in `src/libstore/globals.cc` (`--sandbox`, `--no-sandbox`,
//! `--relaxed-sandbox`), and flag parsing in `src/libutil/args.cc`: a flag's
//! value is the next argument, whatever it looks like, and `--NAME=VALUE` is
//! not a setting flag.
//!
//! Nix registers every flag of a setting under each of its aliases too, so an
//! alias ends up meaning the *last* flag registered: `--build-keep-log`
//! disables `keep-build-log`, `--binary-caches X` appends to `substituters`,
//! `--build-use-sandbox` selects `relaxed`. We reproduce this.
//!
//! # Deviations
//!
//! - Nix's `-j N` short form of `--max-jobs` is not extracted.
//! - Nix rejects the flag of a setting that needs a disabled experimental
//!   feature (`--flake-registry` without `flakes`) after parsing; here
//!   [`super::load`] ignores the override with a warning, as for `--option`.

#[cfg(test)]
use std::collections::HashMap;
use std::ffi::OsString;

use super::known::{self, Kind};
use super::{Error, Overrides};

/// What a setting flag does.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Action {
    /// Takes a value; the override is `(name, value)`.
    Value(String),
    /// Takes no value; the override is `(name, value)`.
    Fixed(String, &'static str),
}

/// What `--FLAG` does, if it is a setting flag: the action of the last flag
/// Nix registers under that name (a setting's aliases name each of its flags,
/// in Nix's registration order, so later ones replace earlier ones). Looked up
/// by walking the settings, without building [`table`]'s map: a command line
/// has a few `--` arguments, and the map (some 230 names) was an eighth of the
/// instructions of `rflake --version`.
fn lookup(flag: &str) -> Option<Action> {
    let mut found = None;
    for setting in known::all() {
        let name = setting.name;
        let alias = setting.aliases.contains(&flag);
        let fixed = |value| Some(Action::Fixed(name.to_owned(), value));
        match setting.kind {
            Kind::Bool | Kind::Sandbox => {
                if alias || flag == name {
                    found = fixed("true");
                }
                if alias || flag.strip_prefix("no-") == Some(name) {
                    found = fixed("false");
                }
                if setting.kind == Kind::Sandbox
                    && (alias || flag.strip_prefix("relaxed-") == Some(name))
                {
                    found = fixed("relaxed");
                }
            }
            kind => {
                if alias || flag == name {
                    found = Some(Action::Value(name.to_owned()));
                }
                if kind.is_appendable() && (alias || flag.strip_prefix("extra-") == Some(name)) {
                    found = Some(Action::Value(format!("extra-{name}")));
                }
            }
        }
    }
    found
}

/// The flag table in Nix's registration order, so that later flags replace
/// earlier ones under a shared alias: what [`lookup`] answers for every name.
#[cfg(test)]
fn table() -> HashMap<String, Action> {
    let mut flags = HashMap::new();
    let mut add = |setting: &known::Setting, flag: &str, action: Action| {
        flags.insert(flag.to_owned(), action.clone());
        for alias in setting.aliases {
            flags.insert((*alias).to_owned(), action.clone());
        }
    };
    for setting in known::all() {
        let name = setting.name;
        match setting.kind {
            Kind::Bool => {
                add(setting, name, Action::Fixed(name.to_owned(), "true"));
                add(
                    setting,
                    &format!("no-{name}"),
                    Action::Fixed(name.to_owned(), "false"),
                );
            }
            Kind::Sandbox => {
                add(setting, name, Action::Fixed(name.to_owned(), "true"));
                add(
                    setting,
                    &format!("no-{name}"),
                    Action::Fixed(name.to_owned(), "false"),
                );
                add(
                    setting,
                    &format!("relaxed-{name}"),
                    Action::Fixed(name.to_owned(), "relaxed"),
                );
            }
            kind => {
                add(setting, name, Action::Value(name.to_owned()));
                if kind.is_appendable() {
                    let extra = format!("extra-{name}");
                    add(setting, &extra, Action::Value(extra.clone()));
                }
            }
        }
    }
    flags
}

/// Whether any argument of `args` (before a `--`) is a setting flag of [`known`]: only then does
/// [`extract`] need to know which long options clap defines itself, which takes building every
/// subcommand's options (the command line parser defers that to the subcommand being run).
pub fn mentions_setting(args: &[OsString]) -> bool {
    args.iter()
        .skip(1)
        .map_while(|a| a.to_str().filter(|t| *t != "--"))
        .filter_map(|t| t.strip_prefix("--"))
        .any(|name| lookup(name).is_some())
}

/// Pulls Nix's setting flags out of `args` before clap sees them.
///
/// `args` is the whole command line including the program name at index 0,
/// which is kept. Recognised are `--NAME VALUE`, `--extra-NAME VALUE` (list
/// settings), `--NAME` / `--no-NAME` (boolean settings) and the aliases of
/// each, for every setting in [`known`] whose flag name (without `--`) is not
/// in `reserved`, the long options clap defines itself (e.g. `store`,
/// `offline`, `option`). `--option NAME VALUE` and everything after `--` are
/// left in place.
///
/// Returns the remaining arguments and the overrides in order of appearance,
/// ready for [`super::Sources::overrides`]: `--no-warn-dirty` becomes
/// `("warn-dirty", "false")`, `--extra-substituters X` becomes
/// `("extra-substituters", "X")`.
///
/// # Errors
///
/// [`Error::MissingFlagArgument`] when a flag that takes a value is last, and
/// [`Error::NonUtf8FlagArgument`] when its value is not UTF-8.
pub fn extract(
    args: Vec<OsString>,
    reserved: &[&str],
) -> Result<(Vec<OsString>, Overrides), Error> {
    let mut remaining = Vec::with_capacity(args.len());
    let mut overrides = Vec::new();
    let mut args = args.into_iter();
    remaining.extend(args.next());
    while let Some(arg) = args.next() {
        let Some(text) = arg.to_str() else {
            remaining.push(arg);
            continue;
        };
        if text == "--" {
            remaining.push(arg);
            remaining.extend(args);
            break;
        }
        if text == "--option" {
            remaining.push(arg);
            remaining.extend(args.by_ref().take(2));
            continue;
        }
        let action = text
            .strip_prefix("--")
            .filter(|name| !reserved.contains(name))
            .and_then(lookup);
        match action {
            None => remaining.push(arg),
            Some(Action::Fixed(name, value)) => overrides.push((name, value.to_owned())),
            Some(Action::Value(name)) => {
                let flag = text.to_owned();
                let value = args
                    .next()
                    .ok_or(Error::MissingFlagArgument { flag: flag.clone() })?;
                let value = value
                    .into_string()
                    .map_err(|argument| Error::NonUtf8FlagArgument { flag, argument })?;
                overrides.push((name, value));
            }
        }
    }
    Ok((remaining, overrides))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(args: &[&str]) -> Vec<OsString> {
        args.iter().map(OsString::from).collect()
    }

    fn run(args: &[&str]) -> Result<(Vec<OsString>, Overrides), Error> {
        extract(os(args), &["store", "offline", "option", "refresh"])
    }

    #[test]
    fn mentions_setting_sees_setting_flags_before_a_double_dash_only() {
        assert!(mentions_setting(&os(&[
            "rflake",
            "build",
            "--max-jobs",
            "2"
        ])));
        assert!(mentions_setting(&os(&[
            "rflake",
            "--no-warn-dirty",
            "build"
        ])));
        assert!(mentions_setting(&os(&[
            "rflake",
            "--extra-substituters",
            "x"
        ])));
        assert!(!mentions_setting(&os(&[
            "rflake", "profile", "upgrade", "--all"
        ])));
        assert!(!mentions_setting(&os(&[
            "rflake",
            "eval",
            "--",
            "--max-jobs"
        ])));
        assert!(
            !mentions_setting(&os(&["--max-jobs"])),
            "the program name is not an argument"
        );
    }

    #[test]
    fn lookup_answers_what_the_registration_table_holds() {
        let table = table();
        assert!(table.len() > 200, "{}", table.len());
        for (flag, action) in &table {
            assert_eq!(lookup(flag).as_ref(), Some(action), "--{flag}");
        }
        for flag in [
            "no-such-setting",
            "no-store",
            "extra-sandbox",
            "relaxed-max-jobs",
            "",
        ] {
            assert_eq!(lookup(flag), table.get(flag).cloned(), "--{flag}");
        }
        // Aliases name the last flag of their setting.
        assert_eq!(
            lookup("build-use-sandbox"),
            Some(Action::Fixed("sandbox".into(), "relaxed"))
        );
    }

    #[test]
    fn extracts_setting_flags() {
        type Case<'a> = (&'a [&'a str], &'a [&'a str], &'a [(&'a str, &'a str)]);
        let cases: &[Case] = &[
            (
                &["nix", "flake", "archive"],
                &["nix", "flake", "archive"],
                &[],
            ),
            (
                &["nix", "--warn-dirty", "x"],
                &["nix", "x"],
                &[("warn-dirty", "true")],
            ),
            (
                &["nix", "--no-warn-dirty"],
                &["nix"],
                &[("warn-dirty", "false")],
            ),
            (
                &["nix", "--tarball-ttl", "0", "a"],
                &["nix", "a"],
                &[("tarball-ttl", "0")],
            ),
            // The value is taken verbatim, even if it looks like a flag.
            (
                &["nix", "--flake-registry", "--x"],
                &["nix"],
                &[("flake-registry", "--x")],
            ),
            (
                &["nix", "--extra-substituters", "s"],
                &["nix"],
                &[("extra-substituters", "s")],
            ),
            (
                &["nix", "--substituters", ""],
                &["nix"],
                &[("substituters", "")],
            ),
            (
                &["nix", "--relaxed-sandbox"],
                &["nix"],
                &[("sandbox", "relaxed")],
            ),
            // Aliases: the last flag Nix registers under an alias wins.
            (
                &["nix", "--download-attempts", "3"],
                &["nix"],
                &[("filetransfer-retry-attempts", "3")],
            ),
            (
                &["nix", "--build-keep-log"],
                &["nix"],
                &[("keep-build-log", "false")],
            ),
            (
                &["nix", "--binary-caches", "c"],
                &["nix"],
                &[("extra-substituters", "c")],
            ),
            // Reserved names, unknown flags, `=` forms and short flags are left alone.
            (
                &["nix", "--store", "/s", "--offline"],
                &["nix", "--store", "/s", "--offline"],
                &[],
            ),
            (
                &["nix", "--refresh", "--json"],
                &["nix", "--refresh", "--json"],
                &[],
            ),
            (
                &["nix", "--tarball-ttl=5", "-v"],
                &["nix", "--tarball-ttl=5", "-v"],
                &[],
            ),
            (
                &["nix", "--extra-tarball-ttl", "5"],
                &["nix", "--extra-tarball-ttl", "5"],
                &[],
            ),
            (
                &["nix", "--no-tarball-ttl"],
                &["nix", "--no-tarball-ttl"],
                &[],
            ),
            // `--option` keeps its two values, even ones that look like flags.
            (
                &[
                    "nix",
                    "--option",
                    "warn-dirty",
                    "--no-warn-dirty",
                    "--warn-dirty",
                ],
                &["nix", "--option", "warn-dirty", "--no-warn-dirty"],
                &[("warn-dirty", "true")],
            ),
            (&["nix", "--option", "a"], &["nix", "--option", "a"], &[]),
            // `--` stops extraction.
            (
                &["nix", "--", "--warn-dirty"],
                &["nix", "--", "--warn-dirty"],
                &[],
            ),
            // The program name is never a flag.
            (&["--warn-dirty"], &["--warn-dirty"], &[]),
            (
                &[
                    "nix",
                    "--no-use-registries",
                    "run",
                    "--extra-experimental-features",
                    "flakes",
                ],
                &["nix", "run"],
                &[
                    ("use-registries", "false"),
                    ("extra-experimental-features", "flakes"),
                ],
            ),
        ];
        for (args, remaining, overrides) in cases {
            let (got_remaining, got_overrides) = run(args).unwrap();
            assert_eq!(got_remaining, os(remaining), "{args:?}");
            let overrides: Vec<(String, String)> = overrides
                .iter()
                .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
                .collect();
            assert_eq!(got_overrides, overrides, "{args:?}");
        }
    }

    #[test]
    fn missing_value() {
        let err = run(&["nix", "--tarball-ttl"]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "flag '--tarball-ttl' requires 1 argument(s), but only 0 were given"
        );
        let err = run(&["nix", "--extra-substituters"]).unwrap_err();
        assert_eq!(
            err,
            Error::MissingFlagArgument {
                flag: "--extra-substituters".into()
            }
        );
    }

    #[cfg(unix)]
    #[test]
    fn non_utf8() {
        use std::os::unix::ffi::OsStringExt;
        let bad = OsString::from_vec(vec![0xff]);
        let args = vec!["nix".into(), bad.clone(), "--store".into(), "x".into()];
        let (remaining, _) = extract(args.clone(), &["store"]).unwrap();
        assert_eq!(remaining, args);
        let args = vec!["nix".into(), "--tarball-ttl".into(), bad.clone()];
        let err = extract(args, &[]).unwrap_err();
        assert_eq!(
            err,
            Error::NonUtf8FlagArgument {
                flag: "--tarball-ttl".into(),
                argument: bad
            }
        );
    }
}
