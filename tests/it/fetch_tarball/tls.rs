//! HTTPS on loopback with a test CA: downloads and forge API calls trust exactly what
//! `ssl-cert-file` (or `NIX_SSL_CERT_FILE`/`SSL_CERT_FILE`) names.

use super::{SAMPLE_PATH, gzip, prefetch, sample_tar};
use crate::support::{HttpServer, Response, TestEnv};

const REV: &str = "0123456789abcdef0123456789abcdef01234567";

fn tls_server() -> HttpServer {
    let server = HttpServer::start_tls();
    server.route("/x.tar.gz", Response::ok(gzip(&sample_tar())));
    server
}

#[test]
fn tarballs_over_https_need_the_test_ca() {
    let server = tls_server();
    let url = server.url("/x.tar.gz");
    assert!(url.starts_with("https://localhost:"), "{url}");
    let env = TestEnv::new();
    env.write("ca.pem", server.ca_pem());
    let ca = env.path("ca.pem").display().to_string();

    // Without the CA the certificate is not trusted, and nothing is added.
    let (out, _) = prefetch(&env, &["--download-attempts", "1", &url]);
    assert!(!out.success(), "{out}");
    assert!(out.stderr().contains("error: "), "{out}");

    let (out, json) = prefetch(&env, &["--ssl-cert-file", &ca, &url]);
    assert!(out.success(), "{out}");
    assert_eq!(json["storePath"], SAMPLE_PATH);

    // The same through the environment variable Nix reads.
    let mut env2 = TestEnv::new();
    env2.write("ca.pem", server.ca_pem());
    env2.add_env("NIX_SSL_CERT_FILE", env2.path("ca.pem"));
    let (out, json) = prefetch(&env2, &[&url]);
    assert!(out.success(), "{out}");
    assert_eq!(json["storePath"], SAMPLE_PATH);
}

#[test]
fn a_forge_on_a_custom_host_over_https() {
    let server = HttpServer::start_tls();
    let api = "/gitlab.example.org/api/v4/projects/owner%2Frepo/repository";
    server.route(
        &format!("{api}/commits?ref_name=main"),
        Response::ok(format!(r#"[{{"id":"{REV}"}}]"#)),
    );
    server.route(
        &format!("{api}/archive.tar.gz?sha={REV}"),
        Response::ok(gzip(&sample_tar())),
    );
    let mut env = TestEnv::new();
    env.add_env("_RFLAKE_FORGE_BASE_URL", server.url(""));
    env.write("ca.pem", server.ca_pem());
    let ca = env.path("ca.pem").display().to_string();
    let (out, json) = prefetch(
        &env,
        &[
            "--ssl-cert-file",
            &ca,
            "gitlab:owner/repo/main?host=gitlab.example.org",
        ],
    );
    assert!(out.success(), "{out}");
    assert_eq!(json["storePath"], SAMPLE_PATH);
    assert_eq!(json["locked"]["host"], "gitlab.example.org");
    assert_eq!(json["locked"]["rev"], REV);
    assert_eq!(server.requests().len(), 2);
}
