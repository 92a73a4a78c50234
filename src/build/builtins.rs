//! Builders that run inside rflake (`builder = "builtin:…"`, Nix's `src/libstore/builtins/`):
//! `builtin:fetchurl` downloads `url` to the output (a NAR to unpack with `unpack = "1"`,
//! xz-compressed when the URL ends in `.xz`; executable with `executable = "1"`). Its errors
//! go to the build log, and the build fails as a builder exiting with 1 would.

use std::io::Write;
use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;

use crate::store::derivation::Derivation;

/// Downloads for builtin builders: writes the body of `url` to `sink`.
pub trait Fetcher: Send + Sync {
    /// Downloads `url` into `sink`; the error is the message Nix would log.
    fn fetch(&self, url: &str, sink: &mut dyn Write) -> Result<(), String>;
}

/// Runs the builtin builder `name` of `drv`, writing the output at `out` (its real path).
pub fn run(
    name: &str,
    drv: &Derivation,
    out: &Path,
    fetcher: Option<&dyn Fetcher>,
) -> Result<(), String> {
    match name {
        "fetchurl" => fetchurl(drv, out, fetcher),
        _ => Err(format!("unsupported builtin builder 'builtin:{name}'")),
    }
}

fn attr<'a>(drv: &'a Derivation, name: &str) -> Result<&'a str, String> {
    let v = drv
        .env_var(name)
        .ok_or_else(|| format!("attribute '{name}' missing"))?;
    std::str::from_utf8(v).map_err(|_| format!("attribute '{name}' is not UTF-8"))
}

fn fetchurl(drv: &Derivation, out: &Path, fetcher: Option<&dyn Fetcher>) -> Result<(), String> {
    let url = attr(drv, "url")?;
    let unpack = drv.env_var("unpack") == Some(b"1");
    let Some(fetcher) = fetcher else {
        return Err(format!("unable to download '{url}': no downloader"));
    };
    let mut body = Vec::new();
    fetcher.fetch(url, &mut body)?;
    if unpack {
        let nar: Box<dyn std::io::Read> = if url.ends_with(".xz") {
            Box::new(liblzma::read::XzDecoder::new(body.as_slice()))
        } else {
            Box::new(body.as_slice())
        };
        let mut nar = nar;
        crate::store::nar::restore(&mut nar, out).map_err(|e| e.to_string())?;
    } else {
        std::fs::write(out, &body).map_err(|e| {
            format!(
                "writing file '{}': {}",
                out.display(),
                crate::util::fs::strerror(&e)
            )
        })?;
    }
    if drv.env_var("executable") == Some(b"1") {
        std::fs::set_permissions(out, std::fs::Permissions::from_mode(0o755)).map_err(|e| {
            format!(
                "making '{}' executable: {}",
                out.display(),
                crate::util::fs::strerror(&e)
            )
        })?;
    }
    Ok(())
}
