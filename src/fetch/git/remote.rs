//! The clone cache of remote repositories (spec §7.3.5, Nix's `getAccessorFromCommit`,
//! `readHeadCached` and `GitRepoImpl::fetch`).
//!
//! Each URL has a bare repository `<cache>/gitv3/<nix32(sha256(url))>` (`-shallow` appended for
//! shallow clones), locked through `<dir>.lock` while it is updated. Updating runs
//! `git -C <dir> --git-dir . fetch --progress --force [--depth 1] -- <url> <refspec>`. A ref's
//! file in the cache is fresh for `tarball-ttl` seconds after the last fetch of it (its mtime
//! is the clock); the remote's default branch (`git ls-remote --symref`) is cached as the
//! cache's `HEAD`, fresh as long as the `HEAD` file is.
//!
//! # Deviations
//!
//! - With `--offline`, no `git` command is run: cached refs and `HEAD` are used whatever their
//!   age, and a missing one fails with [`Error::Offline`].
//! - When the update fails but an older copy of the ref exists, Nix logs the error and warns;
//!   rflake prints the error as a notice line `error: …` before the same warning.

use std::ffi::OsStr;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Context as _;
use git2::{Oid, Repository};

use super::{Error, Flags, repo};
use crate::fetch::Env;
use crate::hash::{Algo, Hash};

/// Returns the clone cache directory of `url` (`<cache>/gitv3/<nix32(sha256(url))>[-shallow]`).
pub fn cache_path(cache_dir: &Path, url: &str, shallow: bool) -> PathBuf {
    let hash = Hash::digest(Algo::Sha256, url.as_bytes()).to_nix32();
    let suffix = if shallow { "-shallow" } else { "" };
    cache_dir.join("gitv3").join(format!("{hash}{suffix}"))
}

/// Returns whether `file` exists and was modified less than `tarball-ttl` seconds ago (always,
/// when offline).
fn is_fresh(env: &Env<'_>, file: &Path) -> bool {
    let Ok(meta) = std::fs::metadata(file) else {
        return false;
    };
    if env.settings.offline {
        return true;
    }
    let mtime = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_secs());
    mtime.saturating_add(env.settings.tarball_ttl) > env.now
}

/// Returns the remote's default branch (`refs/heads/main`), from the cache while its `HEAD` is
/// fresh, else from `git ls-remote --symref` (Nix's `readHeadCached`).
pub fn default_ref(env: &Env<'_>, url: &str, shallow: bool) -> anyhow::Result<Option<String>> {
    let dir = cache_path(&env.cache_dir, url, shallow);
    let head_file = dir.join("HEAD");
    let cached = if head_file.exists() {
        cached_head(&dir)
    } else {
        None
    };
    if let Some(c) = &cached
        && is_fresh(env, &head_file)
    {
        env.reporter
            .debug(&format!("using cached HEAD ref '{c}' for repo '{url}'"));
        return Ok(cached);
    }
    if env.settings.offline {
        return Ok(cached);
    }
    if let Some(r) = ls_remote_head(env, url)? {
        return Ok(Some(r));
    }
    if let Some(c) = &cached {
        env.reporter.warn(&format!(
            "could not get HEAD ref for repository '{url}'; using expired cached ref '{c}'"
        ));
    }
    Ok(cached)
}

/// Returns what `HEAD` of the cache repository resolves to, as the first line of
/// `git ls-remote --symref` would give it: the branch, or the commit when detached; `None`
/// when it points at nothing.
fn cached_head(dir: &Path) -> Option<String> {
    let repo = Repository::open_bare(dir).ok()?;
    let head = repo.find_reference("HEAD").ok()?;
    match head.symbolic_target().ok()? {
        Some(target) => repo.refname_to_id(target).ok().map(|_| target.to_owned()),
        None => head.target().map(|oid| oid.to_string()),
    }
}

/// Asks the remote for its `HEAD` (`git ls-remote --symref <url>`, first line).
fn ls_remote_head(env: &Env<'_>, url: &str) -> anyhow::Result<Option<String>> {
    let out = run_git(
        env,
        &["ls-remote".as_ref(), "--symref".as_ref(), url.as_ref()],
    )?;
    if !out.status.success() {
        env.reporter.debug(&format!(
            "git ls-remote --symref '{url}' failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
        return Ok(None);
    }
    let text = String::from_utf8_lossy(&out.stdout);
    Ok(text.lines().next().and_then(parse_ls_remote_head))
}

/// Parses a line of `git ls-remote --symref` naming `HEAD`: `ref: <target>\tHEAD` or
/// `<sha>\tHEAD`; returns the target.
fn parse_ls_remote_head(line: &str) -> Option<String> {
    let (target, name) = match line.strip_prefix("ref:") {
        Some(rest) => {
            let mut parts = rest.split_whitespace();
            (parts.next()?, parts.next()?)
        }
        None => {
            let mut parts = line.split_whitespace();
            let sha = parts.next()?;
            if sha.len() != 40 || !sha.bytes().all(|c| c.is_ascii_hexdigit()) {
                return None;
            }
            (sha, parts.next()?)
        }
    };
    (name == "HEAD").then(|| target.to_owned())
}

/// What [`update`] needs to know about the input.
pub struct Request<'a> {
    /// The URL handed to `git`.
    pub url: &'a str,
    /// The ref (given, or the default branch).
    pub r#ref: &'a str,
    /// Whether the ref was given (else the remote's `HEAD` is cached after a fetch).
    pub ref_given: bool,
    /// The commit asked for, if any.
    pub rev: Option<Oid>,
    /// The input's flags (`shallow`, `allRefs`).
    pub flags: Flags,
}

/// Brings the clone cache of `req.url` up to date as far as needed and returns its directory
/// and the commit to use.
pub fn update(env: &Env<'_>, req: &Request<'_>) -> anyhow::Result<(PathBuf, Oid)> {
    let dir = cache_path(&env.cache_dir, req.url, req.flags.shallow);
    let parent = dir.parent().unwrap_or(&dir);
    crate::util::fs::create_dir_all(parent)?;
    let _lock = lock(&dir)?;
    let repo = if dir.join("HEAD").exists() {
        Repository::open_bare(&dir)
    } else {
        Repository::init_bare(&dir)
    }
    .with_context(|| format!("opening Git repository \"{}\"", dir.display()))?;
    // Relative submodule URLs are resolved against `origin`.
    repo.remote_set_url("origin", req.url)
        .with_context(|| format!("setting remote 'origin' URL to '{}'", req.url))?;
    let local_ref_file = if req.r#ref.starts_with("refs/") {
        dir.join(req.r#ref)
    } else {
        dir.join("refs/heads").join(req.r#ref)
    };
    let do_fetch = match req.rev {
        Some(rev) => !repo::has_object(&repo, rev),
        None => req.flags.all_refs || !is_fresh(env, &local_ref_file),
    };
    drop(repo);
    if do_fetch {
        if env.settings.offline {
            if req.rev.is_some() || !local_ref_file.exists() {
                return Err(Error::Offline(req.url.to_owned()).into());
            }
        } else {
            fetch_and_record(env, req, &dir, &local_ref_file)?;
        }
    }
    let repo = repo::open(&dir)?;
    let rev = match req.rev {
        Some(rev) if repo::has_object(&repo, rev) => rev,
        Some(rev) => {
            return Err(Error::MissingRev {
                rev: rev.to_string(),
                ref_name: req.r#ref.to_owned(),
                url: req.url.to_owned(),
            }
            .into());
        }
        None => repo::resolve_ref(&repo, req.r#ref)?,
    };
    Ok((dir, rev))
}

/// Runs `git fetch` and then records the time of the fetch (the ref file's mtime) and the
/// remote's `HEAD`. A failed fetch is only a warning when an older copy of the ref exists.
fn fetch_and_record(
    env: &Env<'_>,
    req: &Request<'_>,
    dir: &Path,
    local_ref_file: &Path,
) -> anyhow::Result<()> {
    let r = req.r#ref;
    let refspec = if req.flags.all_refs {
        "refs/*:refs/*".to_owned()
    } else if let Some(rev) = req.rev {
        rev.to_string()
    } else if r.starts_with("refs/") {
        format!("{r}:{r}")
    } else if r == "HEAD" {
        "HEAD:HEAD".to_owned()
    } else {
        format!("refs/heads/{r}:refs/heads/{r}")
    };
    if let Err(e) = git_fetch(env, dir, req.url, &refspec, req.flags.shallow) {
        if !local_ref_file.exists() {
            return Err(e);
        }
        env.reporter.notice(&format!("error: {e:#}"));
        env.reporter.warn(&format!(
            "could not update local clone of Git repository '{}'; continuing with the most \
             recent version",
            req.url
        ));
    }
    if req.rev.is_none()
        && let Err(e) = touch(local_ref_file, env.now)
    {
        env.reporter.warn(&format!(
            "could not update mtime for file \"{}\": {}",
            local_ref_file.display(),
            crate::util::fs::strerror(&e)
        ));
    }
    if !req.ref_given {
        let stored = Repository::open_bare(dir).and_then(|repo| {
            repo.reference_symbolic("HEAD", r, true, "rflake: remote HEAD")
                .map(|_| ())
        });
        if stored.is_err() {
            env.reporter.warn(&format!(
                "could not update cached head '{r}' for '{}'",
                req.url
            ));
        }
    }
    Ok(())
}

/// Runs `git fetch` into the cache repository `dir`.
fn git_fetch(
    env: &Env<'_>,
    dir: &Path,
    url: &str,
    refspec: &str,
    shallow: bool,
) -> anyhow::Result<()> {
    // A `git fetch` that was interrupted leaves `shallow.lock` behind, and then every later one
    // fails. The cache lock is held, so no other fetch is running.
    let _ = std::fs::remove_file(dir.join("shallow.lock"));
    let mut args: Vec<&OsStr> = vec![
        "-C".as_ref(),
        dir.as_os_str(),
        "--git-dir".as_ref(),
        ".".as_ref(),
        "fetch".as_ref(),
        "--progress".as_ref(),
        "--force".as_ref(),
    ];
    if shallow {
        args.extend::<[&OsStr; 2]>(["--depth".as_ref(), "1".as_ref()]);
    }
    args.extend::<[&OsStr; 3]>(["--".as_ref(), url.as_ref(), refspec.as_ref()]);
    let label = format!("fetching Git repository '{url}'");
    let _act = crate::report::Activity::start(
        env.reporter,
        crate::report::Verbosity::Talkative,
        crate::report::ActivityType::FetchTree,
        &label,
        &[],
    );
    env.reporter.progress(&label, 0, None);
    let out = run_git(env, &args);
    env.reporter.progress_done(&label);
    let out = out?;
    if out.status.success() {
        return Ok(());
    }
    let failure = anyhow::Error::new(Error::FetchFailed(url.to_owned()));
    Err(match git_complaint(&out.stderr) {
        Some(text) => anyhow::anyhow!(text).context(failure.to_string()),
        None => failure,
    })
}

/// Returns the lines of git's stderr worth showing: those that say `fatal:` or `error:`, else
/// the last line.
fn git_complaint(stderr: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(stderr);
    let lines: Vec<&str> = text
        .split(['\n', '\r'])
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let serious: Vec<&str> = lines
        .iter()
        .copied()
        .filter(|l| l.starts_with("fatal:") || l.starts_with("error:"))
        .collect();
    if serious.is_empty() {
        lines.last().map(|l| (*l).to_owned())
    } else {
        Some(serious.join("\n"))
    }
}

/// Runs `git` with `args`, capturing its output. Variables that would point git at another
/// repository than the one named on the command line are removed.
pub fn run_git(env: &Env<'_>, args: &[&OsStr]) -> anyhow::Result<Output> {
    let _ = env;
    let mut cmd = Command::new("git");
    cmd.args(args)
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE")
        .env_remove("GIT_INDEX_FILE")
        .env_remove("GIT_OBJECT_DIRECTORY")
        .env_remove("GIT_ALTERNATE_OBJECT_DIRECTORIES")
        .stdin(Stdio::null());
    crate::util::process::output(&mut cmd).context("running 'git'")
}

/// Locks the cache repository `dir` through `<dir>.lock` until the file is dropped.
fn lock(dir: &Path) -> anyhow::Result<File> {
    let mut path = dir.as_os_str().to_owned();
    path.push(".lock");
    let path = PathBuf::from(path);
    let file = File::options()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .with_context(|| format!("opening lock file \"{}\"", path.display()))?;
    crate::util::interrupt::lock_file(&file)
        .with_context(|| format!("acquiring lock \"{}\"", path.display()))?;
    Ok(file)
}

/// Sets the access and modification times of `file` to `now` (Unix seconds).
fn touch(file: &Path, now: u64) -> std::io::Result<()> {
    let t = SystemTime::UNIX_EPOCH + Duration::from_secs(now);
    let f = File::options().write(true).open(file)?;
    f.set_times(std::fs::FileTimes::new().set_accessed(t).set_modified(t))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ls_remote_lines() {
        let cases = [
            ("ref: refs/heads/main\tHEAD", Some("refs/heads/main")),
            (
                "0123456789abcdef0123456789abcdef01234567\tHEAD",
                Some("0123456789abcdef0123456789abcdef01234567"),
            ),
            ("ref: refs/heads/main\trefs/remotes/x", None),
            ("garbage", None),
            ("", None),
        ];
        for (line, want) in cases {
            assert_eq!(parse_ls_remote_head(line).as_deref(), want, "line {line:?}");
        }
    }

    #[test]
    fn cache_paths() {
        let p = cache_path(Path::new("/c"), "https://example.org/r.git", true);
        assert!(p.starts_with("/c/gitv3"));
        assert!(p.to_string_lossy().ends_with("-shallow"));
        assert_eq!(p.file_name().unwrap().len(), 52 + 8);
    }

    #[test]
    fn complaints() {
        assert_eq!(
            git_complaint(b"remote: x\rremote: y\nfatal: no such ref\n").as_deref(),
            Some("fatal: no such ref")
        );
        assert_eq!(git_complaint(b"just this\n").as_deref(), Some("just this"));
        assert_eq!(git_complaint(b""), None);
    }
}
