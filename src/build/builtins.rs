//! Builders that run inside rflake (`builder = "builtin:…"`, Nix's `src/libstore/builtins/`):
//! `builtin:fetchurl` downloads `url` to the output (a NAR to unpack with `unpack = "1"`,
//! xz-compressed when the URL ends in `.xz`; executable with `executable = "1"`).
//! `builtin:buildenv` (nix-env's user environments) links the packages of `derivations`
//! (groups of `active priority count path…`) into the output as [`super::buildenv`] plans
//! the tree, and links `manifest.nix` to `manifest`. Errors go to the build log, and the
//! build fails as a builder exiting with 1 would; buildenv's warnings go to the log too.

use std::io::Write;
use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;

use crate::store::derivation::Derivation;

/// Downloads for builtin builders: writes the body of `url` to `sink`.
pub trait Fetcher: Send + Sync {
    /// Downloads `url` into `sink`; the error is the message Nix would log.
    fn fetch(&self, url: &str, sink: &mut dyn Write) -> Result<(), String>;
}

/// Runs the builtin builder `name` of `drv`, writing the output at `out` (its real path);
/// store paths are read through `fs`. Warnings go to `warn`.
pub fn run(
    name: &str,
    drv: &Derivation,
    out: &Path,
    fetcher: Option<&dyn Fetcher>,
    fs: &super::store_fs::StoreFs,
    warn: &mut dyn FnMut(&str),
) -> Result<(), String> {
    match name {
        "fetchurl" => fetchurl(drv, out, fetcher),
        "buildenv" => buildenv(drv, out, fs, warn),
        _ => Err(format!("unsupported builtin builder 'builtin:{name}'")),
    }
}

/// The packages of `derivations`: groups of `active priority count path…`.
fn packages(text: &str) -> Result<Vec<super::buildenv::Package>, String> {
    let mut words = text.split_whitespace();
    let mut out = Vec::new();
    while let Some(active) = words.next() {
        let mut number = |what: &str| -> Result<i64, String> {
            let w = words
                .next()
                .ok_or_else(|| format!("attribute 'derivations' ends before a {what}"))?;
            w.parse()
                .map_err(|_| format!("invalid {what} '{w}' in attribute 'derivations'"))
        };
        let priority = number("priority")?;
        let count = number("count of outputs")?;
        for _ in 0..count {
            let path = words
                .next()
                .ok_or_else(|| "attribute 'derivations' ends before a path".to_owned())?;
            out.push(super::buildenv::Package {
                path: path.to_owned(),
                active: active != "false",
                priority,
            });
        }
    }
    Ok(out)
}

fn buildenv(
    drv: &Derivation,
    out: &Path,
    fs: &super::store_fs::StoreFs,
    warn: &mut dyn FnMut(&str),
) -> Result<(), String> {
    let out_name = attr(drv, "out")?;
    let pkgs = packages(attr(drv, "derivations")?)?;
    let manifest = attr(drv, "manifest")?.to_owned();
    let plan = super::buildenv::plan(fs, out_name, pkgs).map_err(|e| e.to_string())?;
    for w in &plan.warnings {
        warn(w);
    }
    let io = |what: &str, p: &Path, e: std::io::Error| {
        format!(
            "{what} '{}': {}",
            p.display(),
            crate::util::fs::strerror(&e)
        )
    };
    std::fs::create_dir_all(out).map_err(|e| io("creating directory", out, e))?;
    write_dir(&plan.root, out).map_err(|(p, e)| io("creating", &p, e))?;
    let link = out.join("manifest.nix");
    let _ = std::fs::remove_file(&link);
    std::os::unix::fs::symlink(&manifest, &link).map_err(|e| io("creating symlink", &link, e))
}

/// Writes a planned directory's entries under `at` (an existing directory).
fn write_dir(
    dir: &super::buildenv::Dir,
    at: &Path,
) -> Result<(), (std::path::PathBuf, std::io::Error)> {
    use super::buildenv::Node;
    for (name, node) in dir {
        let p = at.join(name);
        match node {
            Node::Dir(sub) => {
                std::fs::create_dir(&p).map_err(|e| (p.clone(), e))?;
                write_dir(sub, &p)?;
            }
            Node::Link { target, .. } => {
                std::os::unix::fs::symlink(target, &p).map_err(|e| (p.clone(), e))?;
            }
        }
    }
    Ok(())
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
