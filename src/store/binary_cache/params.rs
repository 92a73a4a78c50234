//! The store parameters of binary caches (`file:///c?compression=zstd&secret-key=/k`), Nix's
//! `BinaryCacheStoreConfig` and `HttpBinaryCacheStoreConfig`.

use std::path::PathBuf;

use super::Error;
use crate::report::Reporter;
use crate::store::compression::Method;

/// What the query parameters of a binary cache URI select.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// `compression`: how NAR files are compressed (default `xz`).
    pub compression: Method,
    /// `compression-level`: `None` for the method's default (Nix's `-1`).
    pub compression_level: Option<i32>,
    /// `secret-key` then the comma-separated `secret-keys`: key files to sign uploads with.
    pub secret_key_files: Vec<PathBuf>,
    /// `want-mass-query`, overriding `nix-cache-info`'s `WantMassQuery`.
    pub want_mass_query: Option<bool>,
    /// `priority`, overriding `nix-cache-info`'s `Priority`.
    pub priority: Option<i32>,
    /// `narinfo-compression` (HTTP only): `Content-Encoding` of uploaded `.narinfo` files.
    pub narinfo_compression: Option<Method>,
    /// `ls-compression` (HTTP only).
    pub ls_compression: Option<Method>,
    /// `log-compression` (HTTP only).
    pub log_compression: Option<Method>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            compression: Method::Xz,
            compression_level: None,
            secret_key_files: vec![],
            want_mass_query: None,
            priority: None,
            narinfo_compression: None,
            ls_compression: None,
            log_compression: None,
        }
    }
}

/// Parameters Nix knows for these stores that change nothing rflake does: accepted (and
/// validated where they have a type) without a warning.
const IGNORED: [&str; 6] = [
    "parallel-compression",
    "local-nar-cache",
    "path-info-cache-size",
    "system-features",
    "trusted",
    "store",
];

/// Parameters rflake cannot honour: an error unless they are off or empty.
const UNSUPPORTED: [&str; 4] = [
    "write-nar-listing",
    "index-debug-info",
    "tls-certificate",
    "tls-private-key",
];

fn parse_bool(name: &str, value: &str) -> Result<bool, Error> {
    match value {
        "true" | "yes" | "1" => Ok(true),
        "false" | "no" | "0" => Ok(false),
        _ => Err(Error::BadParam {
            message: format!("Boolean setting '{name}' has invalid value '{value}'"),
        }),
    }
}

fn parse_int(name: &str, value: &str) -> Result<i32, Error> {
    value.trim().parse().map_err(|_| Error::BadParam {
        message: format!("setting '{name}' has invalid value '{value}'"),
    })
}

fn parse_method(value: &str) -> Result<Method, Error> {
    value
        .parse()
        .map_err(|e: crate::store::compression::Error| Error::BadParam {
            message: e.to_string(),
        })
}

impl Config {
    /// Reads the parameters of a store URI. Unknown names get Nix's `unknown setting '…'`
    /// warning and are otherwise ignored.
    pub fn from_params<'a>(
        params: impl IntoIterator<Item = (&'a str, &'a str)>,
        reporter: &dyn Reporter,
    ) -> Result<Config, Error> {
        let mut c = Config::default();
        // Settings: a repeated parameter replaces the earlier value.
        let mut secret_key = None;
        let mut secret_keys = vec![];
        for (name, value) in params {
            match name {
                "compression" => c.compression = parse_method(value)?,
                "compression-level" => {
                    let level = parse_int(name, value)?;
                    c.compression_level = (level != -1).then_some(level);
                }
                "secret-key" => secret_key = (!value.is_empty()).then(|| PathBuf::from(value)),
                "secret-keys" => {
                    secret_keys = value
                        .split(',')
                        .filter(|p| !p.is_empty())
                        .map(PathBuf::from)
                        .collect()
                }
                "want-mass-query" => c.want_mass_query = Some(parse_bool(name, value)?),
                "priority" => c.priority = Some(parse_int(name, value)?),
                "narinfo-compression" => c.narinfo_compression = Some(parse_method(value)?),
                "ls-compression" => c.ls_compression = Some(parse_method(value)?),
                "log-compression" => c.log_compression = Some(parse_method(value)?),
                "parallel-compression" | "trusted" => {
                    parse_bool(name, value)?;
                }
                n if IGNORED.contains(&n) => {}
                n if UNSUPPORTED.contains(&n) => {
                    if !matches!(value, "" | "false" | "no" | "0") {
                        return Err(Error::UnsupportedParam { name: n.to_owned() });
                    }
                }
                n => reporter.warn(&format!("unknown setting '{n}'")),
            }
        }
        c.secret_key_files = secret_key.into_iter().chain(secret_keys).collect();
        if !c.compression.is_supported() {
            return Err(Error::BadParam {
                message: format!(
                    "compression method '{}' is not supported by rflake",
                    c.compression
                ),
            });
        }
        Ok(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::Collect;

    fn parse(q: &[(&str, &str)]) -> (Result<Config, Error>, Vec<String>) {
        let r = Collect::default();
        let c = Config::from_params(q.iter().copied(), &r);
        (c, r.lines())
    }

    #[test]
    fn parameters() {
        let (c, warnings) = parse(&[
            ("compression", "zstd"),
            ("compression-level", "19"),
            ("secret-keys", "/b,/c"),
            ("secret-key", "/a"),
            ("parallel-compression", "true"),
            ("want-mass-query", "1"),
            ("priority", "30"),
            ("narinfo-compression", "xz"),
            ("write-nar-listing", "false"),
            ("frobnicate", "1"),
        ]);
        let c = c.unwrap();
        assert_eq!(c.compression, Method::Zstd);
        assert_eq!(c.compression_level, Some(19));
        let keys: Vec<_> = c
            .secret_key_files
            .iter()
            .map(|p| p.to_str().unwrap())
            .collect();
        assert_eq!(keys, ["/a", "/b", "/c"]);
        assert_eq!(c.want_mass_query, Some(true));
        assert_eq!(c.priority, Some(30));
        assert_eq!(c.narinfo_compression, Some(Method::Xz));
        assert_eq!(warnings, ["warning: unknown setting 'frobnicate'"]);
        assert_eq!(parse(&[]).0.unwrap(), Config::default());
        assert_eq!(
            parse(&[("compression-level", "-1")])
                .0
                .unwrap()
                .compression_level,
            None
        );
    }

    #[test]
    fn rejections() {
        let cases = [
            (("compression", "rar"), "unknown compression method 'rar'"),
            (
                ("compression", "br"),
                "compression method 'br' is not supported by rflake",
            ),
            (
                ("priority", "high"),
                "setting 'priority' has invalid value 'high'",
            ),
            (
                ("want-mass-query", "maybe"),
                "Boolean setting 'want-mass-query' has invalid value 'maybe'",
            ),
            (
                ("write-nar-listing", "true"),
                "store parameter 'write-nar-listing' is not supported by rflake",
            ),
        ];
        for ((k, v), want) in cases {
            let e = parse(&[(k, v)]).0.unwrap_err();
            assert_eq!(e.to_string(), want, "{k}={v}");
        }
    }
}
