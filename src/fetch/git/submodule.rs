//! Submodules: parsing `.gitmodules` and resolving their URLs (Nix's `parseSubmodules` and
//! `resolveSubmoduleUrl`, which calls libgit2's `git_submodule_resolve_url`).
//!
//! # Deviations
//!
//! None known.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Context as _;
use git2::Repository;

/// A submodule declared in `.gitmodules`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Submodule {
    /// Its path in the parent's tree (relative, no leading or trailing `/`).
    pub path: String,
    /// Its URL as written (possibly relative: `../other.git`).
    pub url: String,
    /// Its `branch` (empty when absent; `.` means "the parent's branch").
    pub branch: String,
}

/// Parses a `.gitmodules` file.
pub fn parse_file(file: &Path) -> anyhow::Result<Vec<Submodule>> {
    let config = git2::Config::open(file)
        .with_context(|| format!("parsing .gitmodules file \"{}\"", file.display()))?;
    let mut entries: BTreeMap<String, String> = BTreeMap::new();
    let mut iter = config
        .entries(Some(r"^submodule\..*\.(path|url|branch)$"))
        .context("iterating over .gitmodules")?;
    while let Some(entry) = iter.next() {
        let entry = entry.context("iterating over .gitmodules")?;
        let (Ok(name), Ok(value)) = (entry.name(), entry.value()) else {
            continue;
        };
        if let Some(key) = name.strip_prefix("submodule.") {
            entries
                .entry(key.to_owned())
                .or_insert_with(|| value.to_owned());
        }
    }
    let get = |k: String| entries.get(&k).cloned().unwrap_or_default();
    Ok(entries
        .iter()
        .filter_map(|(key, value)| {
            let name = key.strip_suffix(".path")?;
            Some(Submodule {
                path: value.trim_matches('/').to_owned(),
                url: get(format!("{name}.url")),
                branch: get(format!("{name}.branch")),
            })
        })
        .collect())
}

/// Parses `.gitmodules` contents (read from a commit) through a temporary file.
pub fn parse_bytes(contents: &[u8]) -> anyhow::Result<Vec<Submodule>> {
    let tmp = tempfile::Builder::new()
        .prefix("rflake-git-submodules")
        .tempfile()
        .context("creating a temporary file for .gitmodules")?;
    std::fs::write(tmp.path(), contents)
        .with_context(|| format!("writing file \"{}\"", tmp.path().display()))?;
    parse_file(tmp.path())
}

/// Resolves a submodule URL: `./x` and `../x` are relative to the URL of the remote of the
/// current branch (else `origin`, else the repository's own directory); anything with a `:` or
/// starting with `/` is used as it is.
pub fn resolve_url(repo: &Repository, url: &str) -> anyhow::Result<String> {
    if url.starts_with("./") || url.starts_with("../") {
        let base = remote_url(repo).unwrap_or_else(|| {
            repo.workdir()
                .unwrap_or_else(|| repo.path())
                .display()
                .to_string()
        });
        Ok(apply_relative(&base, url))
    } else if url.contains(':') || url.starts_with('/') {
        Ok(url.to_owned())
    } else {
        anyhow::bail!("resolving Git submodule URL '{url}': invalid format for submodule URL")
    }
}

/// Returns the URL of the remote of `HEAD`'s branch, else of `origin`.
fn remote_url(repo: &Repository) -> Option<String> {
    let config = repo.config().ok()?;
    let branch_remote = repo
        .find_reference("HEAD")
        .ok()
        .and_then(|h| h.symbolic_target().ok().flatten().map(str::to_owned))
        .and_then(|t| t.strip_prefix("refs/heads/").map(str::to_owned))
        .and_then(|b| config.get_string(&format!("branch.{b}.remote")).ok());
    let name = branch_remote.unwrap_or_else(|| "origin".to_owned());
    config.get_string(&format!("remote.{name}.url")).ok()
}

/// Joins `rel` to `base`, resolving `.` and `..` components.
fn apply_relative(base: &str, rel: &str) -> String {
    let mut out = base.trim_end_matches('/').to_owned();
    for part in rel.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if let Some(i) = out.rfind('/') {
                    out.truncate(i);
                }
            }
            p => {
                out.push('/');
                out.push_str(p);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_urls() {
        let cases = [
            ("https://h/a/b.git", "../c.git", "https://h/a/c.git"),
            ("https://h/a/b.git/", "./sub", "https://h/a/b.git/sub"),
            ("/w/repo/", "../sub", "/w/sub"),
            ("file:///w/repo", "../../x/y", "file:///x/y"),
        ];
        for (base, rel, want) in cases {
            assert_eq!(apply_relative(base, rel), want, "{base} + {rel}");
        }
    }

    #[test]
    fn parses_gitmodules() {
        let text = b"[submodule \"a\"]\n\tpath = sub/a/\n\turl = ../a.git\n\
                     [submodule \"b\"]\n\tpath = b\n\turl = /x/b\n\tbranch = .\n";
        let subs = parse_bytes(text).unwrap();
        assert_eq!(
            subs,
            vec![
                Submodule {
                    path: "sub/a".into(),
                    url: "../a.git".into(),
                    branch: String::new()
                },
                Submodule {
                    path: "b".into(),
                    url: "/x/b".into(),
                    branch: ".".into()
                },
            ]
        );
    }
}
