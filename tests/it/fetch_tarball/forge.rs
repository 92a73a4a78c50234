//! github, gitlab and sourcehut inputs against a fake forge on loopback
//! (`_RFLAKE_FORGE_BASE_URL` sends `https://<host>/<path>` to `<server>/<host>/<path>`).

use super::{SAMPLE_HASH, SAMPLE_PATH, gzip, paths, prefetch, sample_tar};
use crate::support::{HttpServer, Response, TestEnv};

const REV: &str = "0123456789abcdef0123456789abcdef01234567";

fn forge_env(server: &HttpServer) -> TestEnv {
    let mut env = TestEnv::new();
    env.add_env("_RFLAKE_FORGE_BASE_URL", server.url(""));
    env
}

#[test]
fn github_resolves_head_then_reuses_the_rev_without_network() {
    let server = HttpServer::start();
    server.route(
        "/api.github.com/repos/owner/repo/commits/HEAD",
        Response::ok(format!(
            r#"{{"sha":"{REV}","commit":{{"tree":{{"sha":"x"}}}}}}"#
        ))
        .header("ETag", "\"c1\""),
    );
    let archive = format!("/github.com/owner/repo/archive/{REV}.tar.gz");
    server.route(&archive, Response::ok(gzip(&sample_tar())));
    let env = forge_env(&server);
    let (out, json) = prefetch(&env, &["github:owner/repo"]);
    assert!(out.success(), "{out}");
    assert_eq!(json["storePath"], SAMPLE_PATH);
    assert_eq!(
        json["locked"],
        serde_json::json!({
            "lastModified": 1_700_000_100,
            "narHash": SAMPLE_HASH,
            "owner": "owner",
            "repo": "repo",
            "rev": REV,
            "type": "github",
        })
    );
    assert_eq!(
        paths(&server),
        [
            "/api.github.com/repos/owner/repo/commits/HEAD",
            archive.as_str()
        ]
    );
    // Within tarball-ttl the API answer is cached, and the rev's tree is in the store.
    let (_, again) = prefetch(&env, &["github:owner/repo"]);
    assert_eq!(again, json);
    assert_eq!(server.requests().len(), 2);
    // A locked rev needs no network at all, even with the server gone.
    drop(server);
    let (out, locked) = prefetch(&env, &[&format!("github:owner/repo/{REV}")]);
    assert!(out.success(), "{out}");
    assert_eq!(locked["storePath"], SAMPLE_PATH);
}

#[test]
fn github_token_goes_to_the_api_and_is_never_shown() {
    let server = HttpServer::start();
    server.route(
        "/api.github.com/repos/owner/repo/commits/main",
        Response::ok(format!(r#"{{"sha":"{REV}"}}"#)),
    );
    server.route(
        &format!("/api.github.com/repos/owner/repo/tarball/{REV}"),
        Response::status(404).body("Not Found"),
    );
    let env = forge_env(&server);
    let (out, _) = prefetch(
        &env,
        &[
            "--access-tokens",
            "github.com=s3cr3t",
            "-v",
            "github:owner/repo/main",
        ],
    );
    assert!(!out.success());
    let log = server.requests();
    assert_eq!(log.len(), 2, "{out}");
    for r in &log {
        assert_eq!(
            r.header("Authorization"),
            Some("token s3cr3t"),
            "{}",
            r.path
        );
    }
    assert!(!out.stderr().contains("s3cr3t"), "{out}");
    assert!(
        out.stderr().contains(&format!(
            "unable to download '{}': HTTP error 404",
            server.url(&format!("/api.github.com/repos/owner/repo/tarball/{REV}"))
        )),
        "{out}"
    );
}

#[test]
fn github_rate_limit_says_when_it_resets_and_which_token_to_set() {
    let server = HttpServer::start();
    server.route(
        "/api.github.com/repos/owner/repo/commits/HEAD",
        Response::status(403)
            .header("X-RateLimit-Remaining", "0")
            .header("X-RateLimit-Reset", "1700000000")
            .body(r#"{"message":"API rate limit exceeded"}"#),
    );
    let env = forge_env(&server);
    let (out, _) = prefetch(&env, &["github:owner/repo"]);
    let url = server.url("/api.github.com/repos/owner/repo/commits/HEAD");
    assert_eq!(
        out.stderr(),
        format!(
            "error: while fetching the input 'github:owner/repo'\ncaused by: unable to download \
             '{url}': HTTP error 403 (rate limit exceeded; it resets at 2023-11-14 22:13:20 UTC)\
             \n\nhint: GitHub's rate limit is higher with an access token: set 'access-tokens = \
             github.com=<token>' in nix.conf\n\nresponse body:\n\n{{\"message\":\"API rate limit \
             exceeded\"}}\n"
        )
    );
}

#[test]
fn gitlab_with_host_and_token() {
    let server = HttpServer::start();
    let api = "/gitlab.example.org/api/v4/projects/owner%2Frepo/repository";
    server.route(
        &format!("{api}/commits?ref_name=main"),
        Response::ok(format!(r#"[{{"id":"{REV}"}}]"#)),
    );
    server.route(
        &format!("{api}/archive.tar.gz?sha={REV}"),
        Response::ok(gzip(&sample_tar())),
    );
    let env = forge_env(&server);
    let (out, json) = prefetch(
        &env,
        &[
            "--access-tokens",
            "gitlab.example.org=PAT:glpat",
            "gitlab:owner/repo/main?host=gitlab.example.org",
        ],
    );
    assert!(out.success(), "{out}");
    assert_eq!(json["storePath"], SAMPLE_PATH);
    assert_eq!(json["locked"]["host"], "gitlab.example.org");
    assert_eq!(json["locked"]["rev"], REV);
    assert!(json["locked"].get("ref").is_none());
    for r in server.requests() {
        assert_eq!(r.header("Private-token"), Some("glpat"));
    }
    // An unknown ref.
    server.route(&format!("{api}/commits?ref_name=nope"), Response::ok("[]"));
    let (out, _) = prefetch(&env, &["gitlab:owner/repo/nope?host=gitlab.example.org"]);
    assert!(
        out.stderr()
            .contains("No commits returned by GitLab API -- does the git ref really exist?"),
        "{out}"
    );
}

#[test]
fn sourcehut_head_and_refs() {
    let server = HttpServer::start();
    let base = "/git.sr.ht/~owner/repo";
    server.route(
        &format!("{base}/HEAD"),
        Response::ok("ref: refs/heads/trunk\n"),
    );
    server.route(
        &format!("{base}/info/refs"),
        Response::ok(format!(
            "1111111111111111111111111111111111111111\trefs/heads/other\n{REV}\trefs/heads/trunk\n"
        )),
    );
    server.route(
        &format!("{base}/archive/{REV}.tar.gz"),
        Response::ok(gzip(&sample_tar())),
    );
    let env = forge_env(&server);
    let (out, json) = prefetch(&env, &["sourcehut:~owner/repo"]);
    assert!(out.success(), "{out}");
    assert_eq!(json["locked"]["rev"], REV);
    assert_eq!(json["storePath"], SAMPLE_PATH);
    let (out, _) = prefetch(&env, &["sourcehut:~owner/repo/missing"]);
    assert!(
        out.stderr()
            .contains("in 'sourcehut:~owner/repo/missing', couldn't find ref 'missing'"),
        "{out}"
    );
}

#[test]
fn offline_forge_input_without_cache_makes_no_request() {
    let server = HttpServer::start();
    let env = forge_env(&server);
    let (out, _) = prefetch(&env, &["--offline", "github:owner/repo"]);
    assert!(out.stderr().contains("while offline"), "{out}");
    assert!(server.requests().is_empty());
}
