//! Link headers, redaction, dates, retry classes, offline.

use super::*;

#[test]
fn immutable_links() {
    let cases = [
        (
            "<https://x/a.tar.gz?rev=1>; rel=\"immutable\"",
            Some("https://x/a.tar.gz?rev=1"),
        ),
        ("  <http://x/y>; REL=\"Immutable\"  ", Some("http://x/y")),
        ("<http://x/y>;rel=\"immutable\"", None),
        (
            "<http://x/y>; rel=\"immutable\", <http://z>; rel=\"next\"",
            None,
        ),
        ("<http://x/y>; rel=immutable", None),
        ("<http://x/y>; rel=\"next\"", None),
        ("http://x/y; rel=\"immutable\"", None),
        ("<>; rel=\"immutable\"", Some("")),
    ];
    for (value, want) in cases {
        assert_eq!(parse_immutable_link(value).as_deref(), want, "{value}");
    }
}

#[test]
fn redacts_user_info() {
    assert_eq!(
        redact_url("https://user:secret@example.org/a?b=c"),
        "https://example.org/a?b=c"
    );
    assert_eq!(redact_url("https://example.org/a"), "https://example.org/a");
    assert_eq!(redact_url("not a url"), "not a url");
}

#[test]
fn formats_utc() {
    assert_eq!(format_utc(0), "1970-01-01 00:00:00 UTC");
    assert_eq!(format_utc(951_782_400), "2000-02-29 00:00:00 UTC");
    assert_eq!(format_utc(1_700_000_000), "2023-11-14 22:13:20 UTC");
}

#[test]
fn transient_statuses() {
    let status = |s| Error::Status {
        url: String::new(),
        status: s,
        body: None,
        rate_limit_reset: None,
        hint: None,
    };
    for s in [500, 502, 503, 408, 429] {
        assert!(status(s).is_transient(), "{s}");
    }
    for s in [400, 401, 403, 404, 410, 501, 505, 511] {
        assert!(!status(s).is_transient(), "{s}");
    }
}

#[test]
fn offline_opens_no_socket() {
    let settings = Settings {
        offline: true,
        ..Settings::default()
    };
    let http = crate::util::http::HttpClient::default();
    let client = Client::new(&settings, &http, &crate::report::Silent, 0);
    let err = match client.get(Request::get("http://127.0.0.1:1/x.tar.gz")) {
        Err(e) => e.to_string(),
        Ok(_) => panic!("offline download succeeded"),
    };
    assert_eq!(
        err,
        "cannot download 'http://127.0.0.1:1/x.tar.gz' while offline"
    );
    assert!(client.inner.get().is_none(), "no HTTP client was built");
}
