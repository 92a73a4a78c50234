//! Messages a new user meets: a download that is not an archive, a mistyped scheme, and the
//! byte progress of a long copy.

use crate::support::{HttpServer, Response, TestEnv};

#[test]
fn a_download_that_is_not_an_archive_says_what_it_is() {
    let server = HttpServer::start();
    server.route(
        "/page.tar.gz",
        Response::ok("<!DOCTYPE html>\n<html><body>arez\", not here</body></html>\n"),
    );
    server.route("/api.tar.gz", Response::ok("{\"message\": \"Not Found\"}"));
    server.route(
        "/random.tar.gz",
        Response::ok(
            (0..2000u32)
                .map(|i| (i * 7919 % 251) as u8)
                .collect::<Vec<u8>>(),
        ),
    );
    let env = TestEnv::new();
    for (path, what) in [
        (
            "/page.tar.gz",
            "the download is not a recognised archive (tar or zip): it looks like an HTML document",
        ),
        (
            "/api.tar.gz",
            "the download is not a recognised archive (tar or zip): it looks like JSON",
        ),
        (
            "/random.tar.gz",
            "unrecognised archive format (not tar or zip)",
        ),
    ] {
        let url = server.url(path);
        let out = env.run(&["flake", "prefetch", &url]);
        assert_eq!(out.status().code(), Some(1), "{out}");
        assert!(
            out.stderr()
                .contains(&format!("cannot unpack '{url}': {what}\n")),
            "{out}"
        );
        assert!(!out.stderr().contains("numeric field"), "{out}");
        assert!(!out.stderr().contains("arez"), "{out}");
    }
}

#[test]
fn a_mistyped_scheme_gets_a_hint() {
    let env = TestEnv::new();
    let out = env.run(&["flake", "prefetch", "githb:foo/bar"]);
    assert_eq!(out.status().code(), Some(1), "{out}");
    assert_eq!(
        out.stderr(),
        "error: input 'githb:foo/bar' is unsupported\nhint: did you mean 'github:foo/bar'?\n"
    );
    let out = env.run(&["registry", "add", "x", "gitlba:o/r"]);
    assert!(
        out.stderr().ends_with("hint: did you mean 'gitlab:o/r'?\n"),
        "{out}"
    );
    // No hint when nothing is close.
    let out = env.run(&["flake", "prefetch", "foo:bar"]);
    assert_eq!(out.stderr(), "error: input 'foo:bar' is unsupported\n");
}

/// On a terminal (a pseudo-terminal made by `script`), copying a path shows the bytes copied
/// and the rate.
#[test]
#[allow(clippy::print_stderr)] // a skipped check says so outside CI
fn copying_a_path_shows_bytes_and_rate_on_a_terminal() {
    if std::process::Command::new("script")
        .arg("--version")
        .output()
        .is_err()
    {
        assert!(std::env::var_os("CI").is_none(), "script is needed in CI");
        eprintln!("skipping: no 'script' to make a terminal");
        return;
    }
    let env = TestEnv::new();
    env.write("work/fl/flake.nix", "{ outputs = _: { }; }\n");
    let big: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
    env.write("work/fl/big", big);
    let cache = format!(
        "file://{}?compression=none",
        env.path("cache-out").display()
    );
    let cmd = format!(
        "{} flake archive --to '{cache}' path:./fl",
        env!("CARGO_BIN_EXE_rflake")
    );
    let out = env.run_command(
        env.command("script")
            .args(["-qefc", &cmd, "/dev/null"])
            .env("TERM", "xterm"),
    );
    assert!(out.success(), "{out}");
    let screen = out.stdout();
    assert!(screen.contains("copying path '/nix/store/"), "{screen}");
    assert!(screen.contains("MiB"), "no byte count: {screen}");
    assert!(screen.contains("/s copying paths"), "no rate: {screen}");
}
