//! The environment a builder starts with, and the files written into its build directory
//! first (Nix's `initEnv`, `initTmpDir`, `writeStructuredAttrs` in the local derivation
//! builder; spec E4.1).
//!
//! Pure: the caller writes [`Prepared::files`] into the build directory and starts the builder
//! with [`Prepared::env`].

use std::collections::BTreeMap;

use crate::hash::{Algo, Hash};
use crate::store::derivation::{Derivation, Kind};

/// What the environment depends on besides the derivation.
pub struct Params<'a> {
    /// The logical store directory (`NIX_STORE`).
    pub store_dir: &'a str,
    /// The build directory as the builder sees it.
    pub build_dir: &'a str,
    /// `NIX_BUILD_CORES`.
    pub cores: u64,
    /// The calling process's environment, for `impureEnvVars` of fixed-output derivations.
    pub caller_env: &'a BTreeMap<String, String>,
    /// The path of each output as the builder must see it (the scratch paths).
    pub outputs: &'a BTreeMap<String, String>,
}

/// A builder's environment and the files to create in its build directory first.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Prepared {
    /// The environment, from empty.
    pub env: BTreeMap<Vec<u8>, Vec<u8>>,
    /// Files to write, by name relative to the build directory.
    pub files: Vec<(String, Vec<u8>)>,
}

/// Errors from reading a derivation's structured attributes.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// `__json` is not a JSON object.
    #[error("cannot process __json attribute of '{drv}': {msg}")]
    Json {
        /// The derivation's name.
        drv: String,
        /// What is wrong.
        msg: String,
    },
}

/// Builds the environment of `drv` (spec E4.1).
pub fn prepare(drv: &Derivation, p: &Params<'_>) -> Result<Prepared, Error> {
    let mut out = Prepared::default();
    let mut set = |k: &str, v: &[u8]| {
        out.env.insert(k.as_bytes().to_vec(), v.to_vec());
    };
    set("PATH", b"/path-not-set");
    set("HOME", b"/homeless-shelter");
    set("NIX_STORE", p.store_dir.as_bytes());
    set("NIX_BUILD_CORES", p.cores.to_string().as_bytes());
    if let Some(json) = drv.env_var("__json") {
        structured(drv, json, p, &mut out)?;
    } else {
        let pass_as_file: Vec<&[u8]> = drv
            .env_var("passAsFile")
            .map(|v| {
                v.split(|b| b" \t\n\r".contains(b))
                    .filter(|t| !t.is_empty())
                    .collect()
            })
            .unwrap_or_default();
        for (k, v) in &drv.env {
            if pass_as_file.contains(&k.as_slice()) {
                let file = format!(".attr-{}", Hash::digest(Algo::Sha256, k).to_nix32());
                let mut key = k.clone();
                key.extend_from_slice(b"Path");
                out.env
                    .insert(key, format!("{}/{file}", p.build_dir).into_bytes());
                out.files.push((file, v.clone()));
            } else {
                out.env.insert(k.clone(), v.clone());
            }
        }
    }
    let mut set = |k: &str, v: &[u8]| {
        out.env.insert(k.as_bytes().to_vec(), v.to_vec());
    };
    for k in ["NIX_BUILD_TOP", "TMPDIR", "TEMPDIR", "TMP", "TEMP", "PWD"] {
        set(k, p.build_dir.as_bytes());
    }
    if drv.kind() == Ok(Kind::Fixed) {
        set("NIX_OUTPUT_CHECKED", b"1");
        let impure = drv.env_var("impureEnvVars").unwrap_or_default();
        for name in String::from_utf8_lossy(impure).split_whitespace() {
            if let Some(v) = p.caller_env.get(name) {
                set(name, v.as_bytes());
            }
        }
    }
    set("NIX_LOG_FD", b"2");
    set("TERM", b"xterm-256color");
    Ok(out)
}

/// Structured attributes: `.attrs.json` (the `__json` object with `outputs` mapped to the
/// output paths) and `.attrs.sh` (the shell-representable attributes as `declare`s), named by
/// `NIX_ATTRS_JSON_FILE` and `NIX_ATTRS_SH_FILE`; no derivation variable is exported.
fn structured(
    drv: &Derivation,
    json: &[u8],
    p: &Params<'_>,
    out: &mut Prepared,
) -> Result<(), Error> {
    let bad = |msg: String| Error::Json {
        drv: drv.name.clone(),
        msg,
    };
    let value: serde_json::Value = serde_json::from_slice(json).map_err(|e| bad(e.to_string()))?;
    let serde_json::Value::Object(mut attrs) = value else {
        return Err(bad("not a JSON object".to_owned()));
    };
    let outputs: serde_json::Map<String, serde_json::Value> = p
        .outputs
        .iter()
        .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
        .collect();
    attrs.insert("outputs".to_owned(), serde_json::Value::Object(outputs));
    let sh = shell_declarations(&attrs);
    let text = serde_json::Value::Object(attrs).to_string();
    out.files
        .push((".attrs.json".to_owned(), text.into_bytes()));
    out.files.push((".attrs.sh".to_owned(), sh.into_bytes()));
    for (var, file) in [
        ("NIX_ATTRS_JSON_FILE", ".attrs.json"),
        ("NIX_ATTRS_SH_FILE", ".attrs.sh"),
    ] {
        out.env.insert(
            var.as_bytes().to_vec(),
            format!("{}/{file}", p.build_dir).into_bytes(),
        );
    }
    Ok(())
}

/// Quotes `s` for a POSIX shell: in single quotes, each `'` written as `'\''`.
fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// A JSON scalar as a shell word: strings quoted, integers as digits, `null` as `''`, `true`
/// as `1`, `false` as the empty string; `None` for anything else.
fn shell_scalar(v: &serde_json::Value) -> Option<String> {
    match v {
        serde_json::Value::String(s) => Some(shell_quote(s)),
        serde_json::Value::Number(n) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => Some(i.to_string()),
            (None, Some(f)) if f.fract() == 0.0 && f.abs() < 9.0e15 => {
                Some(format!("{}", f as i64))
            }
            _ => None,
        },
        serde_json::Value::Null => Some("''".to_owned()),
        serde_json::Value::Bool(b) => Some(if *b { "1" } else { "" }.to_owned()),
        _ => None,
    }
}

/// Whether `name` is a shell variable name.
fn is_shell_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The `.attrs.sh` text: `declare NAME=VALUE` for scalars, `declare -a` for lists of scalars,
/// `declare -A` for sets of scalars; other attributes are left out.
fn shell_declarations(attrs: &serde_json::Map<String, serde_json::Value>) -> String {
    let mut sh = String::new();
    for (key, value) in attrs {
        if !is_shell_name(key) {
            continue;
        }
        if let Some(s) = shell_scalar(value) {
            sh.push_str(&format!("declare {key}={s}\n"));
            continue;
        }
        match value {
            serde_json::Value::Array(items) => {
                let words: Option<Vec<String>> = items.iter().map(shell_scalar).collect();
                if let Some(words) = words {
                    let body: String = words.iter().map(|w| format!("{w} ")).collect();
                    sh.push_str(&format!("declare -a {key}=({body})\n"));
                }
            }
            serde_json::Value::Object(map) => {
                let pairs: Option<Vec<String>> = map
                    .iter()
                    .map(|(k, v)| Some(format!("[{}]={} ", shell_quote(k), shell_scalar(v)?)))
                    .collect();
                if let Some(pairs) = pairs {
                    sh.push_str(&format!("declare -A {key}=({})\n", pairs.concat()));
                }
            }
            _ => {}
        }
    }
    sh
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drv(env: &[(&str, &str)]) -> Derivation {
        Derivation {
            name: "x".to_owned(),
            env: env
                .iter()
                .map(|(k, v)| (k.as_bytes().to_vec(), v.as_bytes().to_vec()))
                .collect(),
            ..Derivation::default()
        }
    }

    fn params<'a>(
        caller: &'a BTreeMap<String, String>,
        outputs: &'a BTreeMap<String, String>,
    ) -> Params<'a> {
        Params {
            store_dir: "/nix/store",
            build_dir: "/tmp/nix-build-x.drv-0",
            cores: 2,
            caller_env: caller,
            outputs,
        }
    }

    fn text(env: &BTreeMap<Vec<u8>, Vec<u8>>, k: &str) -> String {
        String::from_utf8_lossy(&env[k.as_bytes()]).into_owned()
    }

    #[test]
    fn plain_environment_has_nix_variables_and_the_derivation_env() {
        let (c, o) = (BTreeMap::new(), BTreeMap::new());
        let p = prepare(&drv(&[("name", "x"), ("TERM", "dumb")]), &params(&c, &o)).unwrap();
        let keys: Vec<String> = p
            .env
            .keys()
            .map(|k| String::from_utf8_lossy(k).into_owned())
            .collect();
        assert_eq!(
            keys,
            [
                "HOME",
                "NIX_BUILD_CORES",
                "NIX_BUILD_TOP",
                "NIX_LOG_FD",
                "NIX_STORE",
                "PATH",
                "PWD",
                "TEMP",
                "TEMPDIR",
                "TERM",
                "TMP",
                "TMPDIR",
                "name"
            ]
        );
        assert_eq!(text(&p.env, "TERM"), "xterm-256color");
        assert_eq!(text(&p.env, "PWD"), "/tmp/nix-build-x.drv-0");
    }

    #[test]
    fn pass_as_file_writes_a_hashed_file_name() {
        let (c, o) = (BTreeMap::new(), BTreeMap::new());
        let d = drv(&[("passAsFile", "big"), ("big", "contents")]);
        let p = prepare(&d, &params(&c, &o)).unwrap();
        let name = format!(".attr-{}", Hash::digest(Algo::Sha256, b"big").to_nix32());
        assert_eq!(p.files, vec![(name.clone(), b"contents".to_vec())]);
        assert_eq!(
            text(&p.env, "bigPath"),
            format!("/tmp/nix-build-x.drv-0/{name}")
        );
        assert!(!p.env.contains_key(b"big".as_slice()));
    }

    #[test]
    fn structured_attributes_become_files_only() {
        let (c, mut o) = (BTreeMap::new(), BTreeMap::new());
        o.insert("out".to_owned(), "/nix/store/a-x".to_owned());
        let d = drv(&[(
            "__json",
            r#"{"name":"x","n":1,"b":true,"l":["a","it's"],"s":{"k":null},"deep":[[1]]}"#,
        )]);
        let p = prepare(&d, &params(&c, &o)).unwrap();
        assert!(!p.env.contains_key(b"name".as_slice()));
        assert_eq!(
            text(&p.env, "NIX_ATTRS_SH_FILE"),
            "/tmp/nix-build-x.drv-0/.attrs.sh"
        );
        assert_eq!(
            String::from_utf8_lossy(&p.files[0].1),
            r#"{"b":true,"deep":[[1]],"l":["a","it's"],"n":1,"name":"x","outputs":{"out":"/nix/store/a-x"},"s":{"k":null}}"#
        );
        assert_eq!(
            String::from_utf8_lossy(&p.files[1].1),
            "declare b=1\ndeclare -a l=('a' 'it'\\''s' )\ndeclare n=1\ndeclare name='x'\n\
             declare -A outputs=(['out']='/nix/store/a-x' )\ndeclare -A s=(['k']='' )\n"
        );
    }

    #[test]
    fn fixed_output_derivations_get_impure_variables() {
        let mut c = BTreeMap::new();
        c.insert("http_proxy".to_owned(), "http://p".to_owned());
        let o = BTreeMap::new();
        let mut d = drv(&[("impureEnvVars", "http_proxy ftp_proxy")]);
        let h = Hash::digest(Algo::Sha256, b"hi");
        d.outputs.insert(
            "out".to_owned(),
            crate::store::derivation::Output::fixed(
                &crate::store::StoreDir::default(),
                "x",
                "out",
                crate::store::ca::Method::Flat,
                h,
            )
            .unwrap(),
        );
        let p = prepare(&d, &params(&c, &o)).unwrap();
        assert_eq!(text(&p.env, "http_proxy"), "http://p");
        assert_eq!(text(&p.env, "NIX_OUTPUT_CHECKED"), "1");
        assert!(!p.env.contains_key(b"ftp_proxy".as_slice()));
    }
}
