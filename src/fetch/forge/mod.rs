//! `github`, `gitlab` and `sourcehut` inputs (spec §7.4, Nix's `src/libfetchers/github.cc`):
//! resolve `ref` (default `HEAD`) to a commit with the forge's API, download the archive of that
//! commit and unpack it like a tarball. The result has `rev` and `lastModified` and never `ref`.
//!
//! Caches (fetcher cache domains):
//!
//! | Domain | Key | Value | Expires |
//! |---|---|---|---|
//! | `forgeApi` | `{url}` | `{body, etag, url}` (an API answer) | after `tarball-ttl` |
//! | `gitRevToStorePath` | `{rev}` | `{narHash, storePath}` | never (dropped when the path is gone) |
//! | `gitRevToLastModified` | `{rev}` | `{lastModified}` | never |
//!
//! A known `rev` whose tree is still in the store is thus fetched without any network access.
//! Access tokens (`access-tokens`) go to the API and archive requests of their forge only, and
//! appear in no message.
//!
//! # Deviations
//!
//! - API answers are kept in the fetcher cache (Nix adds them to the store as files).
//! - `gitRevToStorePath` replaces Nix's `gitRevToTreeHash` (rflake has no git tarball cache).
//! - SourceHut refs are compared literally (Nix builds a regular expression from the ref).
//! - A rate-limited request (HTTP 403/429 with `X-RateLimit-Remaining: 0`) says when the limit
//!   resets (`X-RateLimit-Reset`) and which `access-tokens` entry would raise it.
//! - Test-only: `_RFLAKE_FORGE_BASE_URL` sends every request to `<base>/<host>/<path>` (the
//!   `host` attribute cannot hold a port, so tests cannot name a loopback server there).

pub mod api;

use anyhow::Context as _;
use serde_json::{Value, json};

use self::api::{ForgeKind, Repo};
use super::http::{self, Reply, Request};
use super::tarball::{Added, is_fresh, unpack_to_store};
use super::{Env, Fetched, Place, Tree, cache};
use crate::flakeref::Input;
use crate::flakeref::attrs::Attr;
use crate::report::Silent;

/// API answers larger than this are refused.
const MAX_API_ANSWER: u64 = 64 << 20;

/// Fetches a forge input.
pub fn fetch(env: &Env<'_>, input: &Input) -> anyhow::Result<Fetched> {
    let repo = Repo::of(input, env.settings.forge_base_url.as_deref())?;
    let token = repo.token(&env.settings.access_tokens);
    let mut headers = Vec::new();
    if let Some(t) = token {
        let (header, warning) = repo.auth_header(t);
        if let Some(w) = warning {
            env.reporter.warn(&w);
        }
        headers.push(header);
    }
    let client = http::Client::new(&env.settings, env.http, env.reporter, env.now);
    let forge = Forge {
        env,
        repo: &repo,
        client: &client,
        headers: &headers,
        has_token: token.is_some(),
    };
    let rev = match input.rev() {
        Some(rev) => rev.to_base16(),
        None => {
            let reference = input.git_ref().unwrap_or("HEAD");
            let rev = forge.resolve(reference, input)?;
            env.reporter.debug(&format!(
                "HEAD revision for '{}' is {rev}",
                input.to_display()
            ));
            rev
        }
    };
    let mut attrs = input.attrs().clone();
    attrs.remove("ref");
    attrs.insert("rev".into(), Attr::Str(rev.clone()));
    let (tree, last_modified) = match lookup_rev(env, &rev)? {
        Some(found) => found,
        None => match forge.download(&rev, input)? {
            Ok(found) => found,
            Err(mismatch) => {
                return Ok(Fetched {
                    tree: mismatch,
                    input: Input::from_attrs(attrs, &Silent)?,
                });
            }
        },
    };
    attrs.insert("lastModified".into(), Attr::Int(last_modified));
    Ok(Fetched {
        tree,
        input: Input::from_attrs(attrs, &Silent)?,
    })
}

fn rev_key(rev: &str) -> cache::Fields {
    cache::fields([("rev", json!(rev))])
}

/// Returns the tree and `lastModified` cached for `rev`, if its store path is still valid.
fn lookup_rev(env: &Env<'_>, rev: &str) -> anyhow::Result<Option<(Tree, u64)>> {
    let key = rev_key(rev);
    let (Some(paths), Some(times)) = (
        env.cache.lookup("gitRevToStorePath", &key)?,
        env.cache.lookup("gitRevToLastModified", &key)?,
    ) else {
        return Ok(None);
    };
    let store_dir = crate::store::Store::store_dir(env.store);
    let path = paths.value.get("storePath").and_then(Value::as_str);
    let Some(Ok(path)) = path.map(|p| store_dir.parse(p)) else {
        return Ok(None);
    };
    let Some(info) = env.store.path_info(&path)? else {
        env.reporter.debug(&format!(
            "the tree of '{rev}' has disappeared from the store, refetching"
        ));
        return Ok(None);
    };
    let last_modified = times
        .value
        .get("lastModified")
        .and_then(Value::as_u64)
        .unwrap_or(0);
    let tree = Tree {
        path: env.store.real_path(&path),
        place: Place::Stored(path, info),
    };
    Ok(Some((tree, last_modified)))
}

struct Forge<'e, 'a> {
    env: &'e Env<'a>,
    repo: &'e Repo,
    client: &'e http::Client<'e>,
    headers: &'e [(String, String)],
    has_token: bool,
}

impl Forge<'_, '_> {
    /// Resolves `reference` to a commit (lower-case hex).
    fn resolve(&self, reference: &str, input: &Input) -> anyhow::Result<String> {
        match self.repo.kind {
            ForgeKind::GitHub => {
                api::parse_github_commit(&self.api_text(&self.repo.commits_url(reference))?)
            }
            ForgeKind::GitLab => {
                api::parse_gitlab_commits(&self.api_text(&self.repo.commits_url(reference))?)
            }
            ForgeKind::SourceHut => self.resolve_sourcehut(reference, input),
        }
    }

    fn resolve_sourcehut(&self, reference: &str, input: &Input) -> anyhow::Result<String> {
        let (wanted, full) = if reference == "HEAD" {
            let head = self.api_text(&self.repo.sourcehut_url("/HEAD"))?;
            let line = head.lines().next().unwrap_or_default();
            match api::parse_ls_remote_line(line) {
                Some((target, _)) => (target.to_owned(), true),
                None => anyhow::bail!(
                    "in '{}', couldn't resolve HEAD ref '{reference}'",
                    input.to_display()
                ),
            }
        } else {
            (reference.to_owned(), false)
        };
        let refs = self.api_text(&self.repo.sourcehut_url("/info/refs"))?;
        let Some(id) = api::find_ref(&refs, &wanted, full) else {
            anyhow::bail!(
                "in '{}', couldn't find ref '{reference}'",
                input.to_display()
            );
        };
        Ok(crate::flakeref::input::parse_rev(&id)?.to_base16())
    }

    /// Downloads a small API answer, cached for `tarball-ttl` and revalidated by `ETag`; on a
    /// failure the cached copy is used with a warning (Nix's `downloadFile`).
    fn api_text(&self, url: &str) -> anyhow::Result<String> {
        let env = self.env;
        let key = cache::fields([("url", json!(url))]);
        let cached = env.cache.lookup("forgeApi", &key)?;
        let body_of = |e: &cache::Entry| {
            e.value
                .get("body")
                .and_then(Value::as_str)
                .map(str::to_owned)
        };
        if let Some(c) = &cached
            && is_fresh(env, c.timestamp)
            && let Some(body) = body_of(c)
        {
            return Ok(body);
        }
        let etag = cached
            .as_ref()
            .and_then(|c| c.value.get("etag"))
            .and_then(Value::as_str)
            .filter(|e| !e.is_empty());
        let req = Request {
            url,
            etag,
            headers: self.headers,
        };
        let (meta, body) = match (self.client.get(req), cached.as_ref().and_then(body_of)) {
            (Ok(Reply::NotModified(meta)), Some(body)) => (meta, body),
            (Ok(Reply::NotModified(_)), None) => {
                anyhow::bail!("the server answered '304 Not Modified' to a fresh request")
            }
            (Ok(Reply::Body(meta, body)), _) => {
                let mut text = String::new();
                std::io::Read::read_to_string(
                    &mut std::io::Read::take(body, MAX_API_ANSWER),
                    &mut text,
                )
                .with_context(|| format!("reading '{}'", http::redact_url(url)))?;
                (meta, text)
            }
            (Err(e), Some(body)) => {
                env.reporter
                    .warn(&format!("{:#}; using cached version", self.explain(e)));
                return Ok(body);
            }
            (Err(e), None) => return Err(self.explain(e)),
        };
        let value = cache::fields([
            ("body", json!(body)),
            ("etag", json!(meta.etag.clone().unwrap_or_default())),
            ("url", json!(meta.final_url())),
        ]);
        for u in &meta.urls {
            env.cache.upsert(
                "forgeApi",
                &cache::fields([("url", json!(u))]),
                &value,
                env.now,
            )?;
        }
        Ok(body)
    }

    /// Adds advice to a rate-limit error: which access token would raise the limit.
    fn explain(&self, e: anyhow::Error) -> anyhow::Error {
        match e.downcast::<http::Error>() {
            Ok(mut err) => {
                if let http::Error::Status {
                    rate_limit_reset: Some(_),
                    hint,
                    ..
                } = &mut err
                {
                    let host = &self.repo.host;
                    *hint = Some(if self.has_token {
                        format!(
                            "the access token for '{host}' has reached {}'s rate limit too",
                            self.repo.kind.title()
                        )
                    } else {
                        format!(
                            "{}'s rate limit is higher with an access token: set \
                             'access-tokens = {host}=<token>' in nix.conf",
                            self.repo.kind.title()
                        )
                    });
                }
                err.into()
            }
            Err(e) => e,
        }
    }

    /// Downloads and unpacks the archive of `rev`; `Err` carries a tree whose NAR hash is not
    /// the requested one.
    fn download(&self, rev: &str, input: &Input) -> anyhow::Result<Result<(Tree, u64), Tree>> {
        let env = self.env;
        let url = self.repo.archive_url(rev, self.has_token);
        let req = Request {
            url: &url,
            etag: None,
            headers: self.headers,
        };
        let mut body = match self.client.get(req).map_err(|e| self.explain(e))? {
            Reply::Body(_, body) => body,
            Reply::NotModified(_) => {
                anyhow::bail!("the server answered '304 Not Modified' to a fresh request")
            }
        };
        let expected = input.nar_hash()?;
        let (added, last_modified) =
            unpack_to_store(env, &mut body, "source", expected.as_ref())
                .with_context(|| format!("unpacking '{}'", http::redact_url(&url)))?;
        let (path, info) = match added {
            Added::Stored(path, info) => (path, info),
            Added::Mismatch(tree) => return Ok(Err(tree)),
        };
        let key = rev_key(rev);
        let printed_path = crate::store::Store::store_dir(env.store).print(&path);
        let paths = cache::fields([
            ("narHash", json!(info.nar_hash.to_sri())),
            ("storePath", json!(printed_path)),
        ]);
        env.cache
            .upsert("gitRevToStorePath", &key, &paths, env.now)?;
        let times = cache::fields([("lastModified", json!(last_modified))]);
        env.cache
            .upsert("gitRevToLastModified", &key, &times, env.now)?;
        let tree = Tree {
            path: env.store.real_path(&path),
            place: Place::Stored(path, info),
        };
        Ok(Ok((tree, last_modified)))
    }
}
