//! The forges' endpoints, access tokens and answers (spec §7.4, Nix's
//! `src/libfetchers/github.cc`): pure functions, so that every URL and parse is unit-tested.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::flakeref::Input;
use crate::flakeref::input::parse_rev;

/// The three forges.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ForgeKind {
    /// GitHub (and GitHub Enterprise with `host`).
    GitHub,
    /// GitLab.
    GitLab,
    /// SourceHut.
    SourceHut,
}

impl ForgeKind {
    /// The host when the input has no `host`.
    pub fn default_host(self) -> &'static str {
        match self {
            ForgeKind::GitHub => "github.com",
            ForgeKind::GitLab => "gitlab.com",
            ForgeKind::SourceHut => "git.sr.ht",
        }
    }

    /// The forge's name in messages.
    pub fn title(self) -> &'static str {
        match self {
            ForgeKind::GitHub => "GitHub",
            ForgeKind::GitLab => "GitLab",
            ForgeKind::SourceHut => "SourceHut",
        }
    }
}

/// A repository on a forge.
#[derive(Debug, Clone)]
pub struct Repo {
    /// Which forge.
    pub kind: ForgeKind,
    /// `owner`, inserted into URLs as it is.
    pub owner: String,
    /// `repo`, inserted into URLs as it is.
    pub repo: String,
    /// `host`, or the forge's default.
    pub host: String,
    /// Test-only replacement of `https://` (see `fetch::Settings::forge_base_url`).
    pub base_url: Option<String>,
}

impl Repo {
    /// Reads the repository of a forge input.
    pub fn of(input: &Input, base_url: Option<&str>) -> anyhow::Result<Repo> {
        let kind = match input.type_name() {
            "github" => ForgeKind::GitHub,
            "gitlab" => ForgeKind::GitLab,
            "sourcehut" => ForgeKind::SourceHut,
            other => anyhow::bail!("input type '{other}' is not a forge"),
        };
        let get = |name| input.get_str(name).unwrap_or_default().to_owned();
        Ok(Repo {
            kind,
            owner: get("owner"),
            repo: get("repo"),
            host: input
                .get_str("host")
                .unwrap_or(kind.default_host())
                .to_owned(),
            base_url: base_url.map(str::to_owned),
        })
    }

    fn url(&self, host: &str, path: &str) -> String {
        match &self.base_url {
            Some(base) => format!("{}/{host}{path}", base.trim_end_matches('/')),
            None => format!("https://{host}{path}"),
        }
    }

    fn or(&self) -> String {
        format!("{}/{}", self.owner, self.repo)
    }

    /// The URL that resolves `reference` to a commit (GitHub, GitLab).
    pub fn commits_url(&self, reference: &str) -> String {
        match self.kind {
            ForgeKind::GitHub if self.host == "github.com" => self.url(
                "api.github.com",
                &format!("/repos/{}/commits/{reference}", self.or()),
            ),
            ForgeKind::GitHub => self.url(
                &self.host,
                &format!("/api/v3/repos/{}/commits/{reference}", self.or()),
            ),
            ForgeKind::GitLab => self.url(
                &self.host,
                &format!(
                    "/api/v4/projects/{}%2F{}/repository/commits?ref_name={reference}",
                    self.owner, self.repo
                ),
            ),
            ForgeKind::SourceHut => self.sourcehut_url("/info/refs"),
        }
    }

    /// A SourceHut repository file (`/HEAD`, `/info/refs`).
    pub fn sourcehut_url(&self, file: &str) -> String {
        self.url(&self.host, &format!("/{}{file}", self.or()))
    }

    /// The URL of the archive of `rev` (lower-case hex); GitHub uses its API with a token.
    pub fn archive_url(&self, rev: &str, has_token: bool) -> String {
        match self.kind {
            ForgeKind::GitHub if self.host != "github.com" => self.url(
                &self.host,
                &format!("/api/v3/repos/{}/tarball/{rev}", self.or()),
            ),
            ForgeKind::GitHub if has_token => self.url(
                "api.github.com",
                &format!("/repos/{}/tarball/{rev}", self.or()),
            ),
            ForgeKind::GitHub => self.url(
                "github.com",
                &format!("/{}/archive/{rev}.tar.gz", self.or()),
            ),
            ForgeKind::GitLab => self.url(
                &self.host,
                &format!(
                    "/api/v4/projects/{}%2F{}/repository/archive.tar.gz?sha={rev}",
                    self.owner, self.repo
                ),
            ),
            ForgeKind::SourceHut => self.sourcehut_url(&format!("/archive/{rev}.tar.gz")),
        }
    }

    /// Chooses the access token (Nix's `getAccessToken`): the longest key that is a prefix of
    /// `<host>/<owner>/<repo>` ending at a `/` or at its end, else the key equal to the host.
    pub fn token<'t>(&self, tokens: &'t BTreeMap<String, String>) -> Option<&'t str> {
        let candidate = format!("{}/{}", self.host, self.or());
        let best = tokens
            .iter()
            .filter(|(key, _)| {
                candidate.starts_with(key.as_str())
                    && (candidate.len() == key.len() || candidate.as_bytes()[key.len()] == b'/')
            })
            .max_by_key(|(key, _)| key.len());
        best.or_else(|| tokens.get_key_value(&self.host))
            .map(|(_, t)| t.as_str())
    }

    /// The header carrying `token`, and a warning to print when GitLab's token type is unknown.
    pub fn auth_header(&self, token: &str) -> ((String, String), Option<String>) {
        match self.kind {
            ForgeKind::GitHub => (("Authorization".into(), format!("token {token}")), None),
            ForgeKind::SourceHut => (("Authorization".into(), format!("Bearer {token}")), None),
            ForgeKind::GitLab => {
                let (kind, value) = token.split_once(':').unwrap_or((token, token));
                match kind {
                    "OAuth2" => (("Authorization".into(), format!("Bearer {value}")), None),
                    "PAT" => (("Private-token".into(), value.to_owned()), None),
                    _ => (
                        (kind.to_owned(), value.to_owned()),
                        Some(format!("Unrecognized GitLab token type {kind}")),
                    ),
                }
            }
        }
    }
}

/// Reads the commit from a GitHub `commits/<ref>` answer (`.sha`).
pub fn parse_github_commit(body: &str) -> anyhow::Result<String> {
    let json: Value = serde_json::from_str(body)
        .map_err(|e| anyhow::anyhow!("cannot parse GitHub's answer as JSON: {e}"))?;
    let sha = json
        .get("sha")
        .and_then(Value::as_str)
        .ok_or_else(|| anyhow::anyhow!("GitHub's answer has no commit hash: {json}"))?;
    Ok(parse_rev(sha)?.to_base16())
}

/// Reads the commit from a GitLab `repository/commits` answer (`[0].id`).
pub fn parse_gitlab_commits(body: &str) -> anyhow::Result<String> {
    let json: Value = serde_json::from_str(body)
        .map_err(|e| anyhow::anyhow!("cannot parse GitLab's answer as JSON: {e}"))?;
    match json.as_array() {
        Some(a) if a.is_empty() => {
            anyhow::bail!("No commits returned by GitLab API -- does the git ref really exist?")
        }
        Some(a) => match a[0].get("id").and_then(Value::as_str) {
            Some(id) => Ok(parse_rev(id)?.to_base16()),
            None => anyhow::bail!("Unexpected response received from GitLab: {json}"),
        },
        None => anyhow::bail!("Unexpected response received from GitLab: {json}"),
    }
}

/// Parses a line of `git ls-remote` output (Nix's `parseLsRemoteLine`): `ref: <target>[\t<ref>]`
/// or `<target>[\t<ref>]`. Returns the target and the reference name.
pub fn parse_ls_remote_line(line: &str) -> Option<(&str, Option<&str>)> {
    let line = line.trim_end_matches(['\r', '\n']);
    let rest = match line.strip_prefix("ref:") {
        Some(r) => r.trim_start_matches(' '),
        None => line,
    };
    let (target, name) = match rest.split_once('\t') {
        Some((t, n)) => (t, Some(n.trim_start_matches('\t'))),
        None => (rest, None),
    };
    (!target.is_empty() && !target.chars().any(char::is_whitespace)).then_some((target, name))
}

/// Finds `wanted` (a full ref name, or `refs/(heads|tags)/<ref>` when `full` is false) in an
/// `info/refs` file; returns its commit.
pub fn find_ref(info_refs: &str, wanted: &str, full: bool) -> Option<String> {
    info_refs.lines().find_map(|line| {
        let (target, name) = parse_ls_remote_line(line)?;
        let name = name?;
        let hit = if full {
            name == wanted
        } else {
            name.strip_prefix("refs/heads/") == Some(wanted)
                || name.strip_prefix("refs/tags/") == Some(wanted)
        };
        hit.then(|| target.to_owned())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repo(kind: ForgeKind, host: Option<&str>) -> Repo {
        Repo {
            kind,
            owner: "NixOS".into(),
            repo: "nix".into(),
            host: host.unwrap_or(kind.default_host()).into(),
            base_url: None,
        }
    }

    const REV: &str = "0123456789abcdef0123456789abcdef01234567";

    #[test]
    fn endpoints() {
        let gh = repo(ForgeKind::GitHub, None);
        let ghe = repo(ForgeKind::GitHub, Some("git.corp.example"));
        let gl = repo(ForgeKind::GitLab, Some("git.openldap.org"));
        let sh = repo(ForgeKind::SourceHut, None);
        let cases = [
            (
                gh.commits_url("HEAD"),
                "https://api.github.com/repos/NixOS/nix/commits/HEAD",
            ),
            (
                gh.archive_url(REV, false),
                &format!("https://github.com/NixOS/nix/archive/{REV}.tar.gz"),
            ),
            (
                gh.archive_url(REV, true),
                &format!("https://api.github.com/repos/NixOS/nix/tarball/{REV}"),
            ),
            (
                ghe.commits_url("main"),
                "https://git.corp.example/api/v3/repos/NixOS/nix/commits/main",
            ),
            (
                ghe.archive_url(REV, false),
                &format!("https://git.corp.example/api/v3/repos/NixOS/nix/tarball/{REV}"),
            ),
            (
                gl.commits_url("v1"),
                "https://git.openldap.org/api/v4/projects/NixOS%2Fnix/repository/commits?ref_name=v1",
            ),
            (
                gl.archive_url(REV, false),
                &format!(
                    "https://git.openldap.org/api/v4/projects/NixOS%2Fnix/repository/archive.tar.gz?sha={REV}"
                ),
            ),
            (
                sh.sourcehut_url("/HEAD"),
                "https://git.sr.ht/NixOS/nix/HEAD",
            ),
            (
                sh.commits_url("HEAD"),
                "https://git.sr.ht/NixOS/nix/info/refs",
            ),
            (
                sh.archive_url(REV, true),
                &format!("https://git.sr.ht/NixOS/nix/archive/{REV}.tar.gz"),
            ),
        ];
        for (got, want) in cases {
            assert_eq!(got, want);
        }
        let mut local = repo(ForgeKind::GitHub, None);
        local.base_url = Some("http://127.0.0.1:9/".into());
        assert_eq!(
            local.commits_url("HEAD"),
            "http://127.0.0.1:9/api.github.com/repos/NixOS/nix/commits/HEAD"
        );
    }

    #[test]
    fn chooses_tokens() {
        let tokens: BTreeMap<String, String> = [
            ("github.com", "host"),
            ("github.com/NixOS", "org"),
            ("github.com/NixOS/nix", "repo"),
            ("github.com/Nix", "partial"),
            ("gitlab.com/NixOS/nixpkgs", "other"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        let mut r = repo(ForgeKind::GitHub, None);
        assert_eq!(r.token(&tokens), Some("repo"));
        r.repo = "nixpkgs".into();
        assert_eq!(r.token(&tokens), Some("org"));
        r.owner = "NixOS-x".into();
        assert_eq!(r.token(&tokens), Some("host"));
        let gl = repo(ForgeKind::GitLab, None);
        assert_eq!(gl.token(&tokens), None);
    }

    #[test]
    fn auth_headers() {
        let h = |kind, t| repo(kind, None).auth_header(t);
        let pair = |a: &str, b: &str| (a.to_owned(), b.to_owned());
        assert_eq!(
            h(ForgeKind::GitHub, "t1"),
            (pair("Authorization", "token t1"), None)
        );
        assert_eq!(
            h(ForgeKind::SourceHut, "t1"),
            (pair("Authorization", "Bearer t1"), None)
        );
        assert_eq!(
            h(ForgeKind::GitLab, "OAuth2:t1"),
            (pair("Authorization", "Bearer t1"), None)
        );
        assert_eq!(
            h(ForgeKind::GitLab, "PAT:t1"),
            (pair("Private-token", "t1"), None)
        );
        assert_eq!(
            h(ForgeKind::GitLab, "X-Custom:t1"),
            (
                pair("X-Custom", "t1"),
                Some("Unrecognized GitLab token type X-Custom".into())
            )
        );
    }

    #[test]
    fn parses_answers() {
        let body = format!(
            r#"{{"sha":"{}","commit":{{"tree":{{"sha":"x"}}}}}}"#,
            REV.to_uppercase()
        );
        assert_eq!(parse_github_commit(&body).unwrap(), REV);
        assert_eq!(
            parse_gitlab_commits(&format!(r#"[{{"id":"{REV}"}}]"#)).unwrap(),
            REV
        );
        assert_eq!(
            parse_gitlab_commits("[]").unwrap_err().to_string(),
            "No commits returned by GitLab API -- does the git ref really exist?"
        );
        assert_eq!(
            parse_gitlab_commits(r#"{"message":"404 Project Not Found"}"#)
                .unwrap_err()
                .to_string(),
            r#"Unexpected response received from GitLab: {"message":"404 Project Not Found"}"#
        );
    }

    #[test]
    fn reads_refs() {
        assert_eq!(
            parse_ls_remote_line("ref: refs/heads/master"),
            Some(("refs/heads/master", None))
        );
        assert_eq!(
            parse_ls_remote_line("abc\trefs/tags/v1\n"),
            Some(("abc", Some("refs/tags/v1")))
        );
        assert_eq!(parse_ls_remote_line(""), None);
        let refs = format!(
            "{REV}\trefs/heads/master\n1111111111111111111111111111111111111111\trefs/tags/v1.0\n"
        );
        assert_eq!(
            find_ref(&refs, "refs/heads/master", true).as_deref(),
            Some(REV)
        );
        assert_eq!(find_ref(&refs, "master", false).as_deref(), Some(REV));
        assert_eq!(
            find_ref(&refs, "v1.0", false).as_deref(),
            Some("1111111111111111111111111111111111111111")
        );
        assert_eq!(find_ref(&refs, "v1x0", false), None);
        assert_eq!(find_ref(&refs, "mast", false), None);
    }
}
