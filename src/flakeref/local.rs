//! Resolving a path-like flake reference on the command line (spec §3.5): make it absolute,
//! resolve symlinks, search upward for `flake.nix`, and detect an enclosing git repository.
//!
//! Mirrors the path branch of the Nix source's `parsePathFlakeRefWithFragment`
//! (`src/libflake/flakeref.cc`). File system access goes through [`FsProbe`], which the
//! effects layer implements (`util::fs::RealFs`) and tests can fake.

use std::collections::BTreeMap;
use std::io;
use std::path::{Component, Path, PathBuf};

use super::Error;
use super::parse::plain_url;
use super::url::{Authority, ParsedUrl};
use crate::report::Reporter;
pub use crate::util::fs::{FsProbe, Stat};

/// A path-like reference split into its parts.
pub struct Request<'a> {
    /// The path, taken literally.
    pub path: &'a str,
    /// The decoded query.
    pub query: BTreeMap<String, String>,
    /// The whole string as given (for messages).
    pub original: &'a str,
    /// Skip the existence checks and the `flake.nix` search.
    pub allow_missing: bool,
}

/// Joins `path` to `base` and removes `.`, `..` and duplicate slashes, without touching the
/// file system (Nix's `absPath` without symlink resolution).
pub fn absolute_lexical(base: &Path, path: &str) -> String {
    let joined = if path.starts_with('/') {
        PathBuf::from(path)
    } else {
        base.join(path)
    };
    let mut parts: Vec<String> = Vec::new();
    for c in joined.components() {
        match c {
            Component::Normal(s) => parts.push(s.to_string_lossy().into_owned()),
            Component::ParentDir => {
                parts.pop();
            }
            _ => {}
        }
    }
    format!("/{}", parts.join("/"))
}

/// Like [`absolute_lexical`] but resolving every symlink on the way (Nix's
/// `canonPath(…, true)`); components that do not exist are kept as they are.
pub fn canonicalise(fs: &dyn FsProbe, base: &Path, path: &str) -> Result<PathBuf, Error> {
    let start = PathBuf::from(absolute_lexical(base, path));
    let mut todo: Vec<String> = start
        .components()
        .rev()
        .filter_map(|c| normal(&c))
        .collect();
    let mut out = PathBuf::from("/");
    let mut links = 0;
    while let Some(comp) = todo.pop() {
        match comp.as_str() {
            "." => continue,
            ".." => {
                out.pop();
                continue;
            }
            _ => {}
        }
        let next = out.join(&comp);
        match fs.lstat(&next) {
            Ok(st) if st.is_symlink => {
                links += 1;
                if links > 1024 {
                    return Err(Error::Path(format!(
                        "infinite symlink recursion in path \"{}\"",
                        start.display()
                    )));
                }
                let target = fs.read_link(&next).map_err(|e| stat_error(&next, &e))?;
                if target.is_absolute() {
                    out = PathBuf::from("/");
                }
                let extra: Vec<String> = target
                    .components()
                    .rev()
                    .filter_map(|c| normal(&c))
                    .collect();
                todo.extend(extra);
            }
            _ => out = next,
        }
    }
    Ok(out)
}

fn normal(c: &Component<'_>) -> Option<String> {
    match c {
        Component::Normal(s) => Some(s.to_string_lossy().into_owned()),
        Component::ParentDir => Some("..".into()),
        _ => None,
    }
}

fn stat_error(path: &Path, e: &io::Error) -> Error {
    Error::Path(format!(
        "getting status of \"{}\": {}",
        path.display(),
        crate::util::fs::strerror(e)
    ))
}

/// Resolves a path-like reference to a `git+file:` or `path:` URL (with `dir` in the query).
pub fn resolve(
    req: &Request<'_>,
    base: &Path,
    fs: &dyn FsProbe,
    report: &dyn Reporter,
) -> Result<ParsedUrl, Error> {
    let mut path = canonicalise(fs, base, req.path)?;
    if !req.allow_missing {
        path = find_flake_dir(path, fs, report)?;
    }
    let mut query = req.query.clone();
    let mut sub = String::new();
    let mut dir = path.clone();
    while dir != Path::new("/") {
        if fs.exists(&dir.join(".git")) {
            if !sub.is_empty() {
                if query.contains_key("dir") {
                    return Err(Error::Path(format!(
                        "flake URL '{}' has an inconsistent 'dir' parameter",
                        req.original
                    )));
                }
                query.insert("dir".into(), sub);
            }
            if fs.exists(&dir.join(".git/shallow")) {
                query.insert("shallow".into(), "1".into());
            }
            return Ok(file_url("git+file", &dir, query));
        }
        let name = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        sub = if sub.is_empty() {
            name
        } else {
            format!("{name}/{sub}")
        };
        dir.pop();
    }
    Ok(file_url("path", &path, query))
}

fn file_url(scheme: &str, path: &Path, query: BTreeMap<String, String>) -> ParsedUrl {
    let mut u = plain_url(scheme, Some(Authority::default()), Vec::new(), query);
    u.set_path_string(&path.to_string_lossy());
    u
}

/// Steps 2–4 of spec §3.5: the path must exist; a `flake.nix` file means its directory;
/// otherwise search upward for a directory with `flake.nix`.
fn find_flake_dir(
    mut path: PathBuf,
    fs: &dyn FsProbe,
    report: &dyn Reporter,
) -> Result<PathBuf, Error> {
    let st = fs.lstat(&path).map_err(|e| stat_error(&path, &e))?;
    if !st.is_dir {
        if path.file_name().is_some_and(|n| n == "flake.nix") {
            let parent = path
                .parent()
                .map(Path::to_path_buf)
                .unwrap_or_else(|| "/".into());
            report.warn(&format!(
                "Path \"{}\" should point at the directory containing the 'flake.nix' file, not the file itself. Pretending that you meant \"{}\"",
                path.display(),
                parent.display()
            ));
            path = parent;
        } else {
            return Err(Error::Path(format!(
                "path \"{}\" is not a flake (because it's not a directory)",
                path.display()
            )));
        }
    }
    if fs.exists(&path.join("flake.nix")) {
        return Ok(path);
    }
    report.notice(&format!(
        "path \"{}\" does not contain a 'flake.nix', searching up",
        path.display()
    ));
    let dev = fs.lstat(&path).map_err(|e| stat_error(&path, &e))?.dev;
    while path != Path::new("/") {
        if fs.exists(&path.join("flake.nix")) {
            return Ok(path);
        }
        if fs.exists(&path.join(".git")) {
            return Err(Error::Path(format!(
                "path \"{}\" is not part of a flake (neither it nor its parent directories contain a 'flake.nix' file)",
                path.display()
            )));
        }
        let here = fs.lstat(&path).map_err(|e| stat_error(&path, &e))?;
        if here.dev != dev {
            return Err(Error::Path(format!(
                "unable to find a flake before encountering filesystem boundary at \"{}\"",
                path.display()
            )));
        }
        path.pop();
    }
    Err(Error::Path("could not find a flake.nix file".into()))
}
