use std::collections::BTreeSet;

use super::*;
use crate::report::Collect;

fn at(minor: u8) -> Negotiated {
    Negotiated {
        version: Version::v1(minor),
        features: BTreeSet::new(),
    }
}

/// Builds a recorded byte stream from the daemon.
#[derive(Default)]
struct Stream(Vec<u8>);

impl Stream {
    fn u64(mut self, n: u64) -> Self {
        wire::write_u64(&mut self.0, n).unwrap();
        self
    }
    fn str(mut self, s: &str) -> Self {
        wire::write_str(&mut self.0, s).unwrap();
        self
    }
}

/// An error as a daemon speaking 1.26 or newer sends it (Nix's `operator<<(Sink &, Error)`).
fn new_error(msg: &str, traces: &[&str]) -> Stream {
    let mut s = Stream::default()
        .u64(STDERR_ERROR)
        .str("Error")
        .u64(0)
        .str("Error")
        .str(msg)
        .u64(0)
        .u64(traces.len() as u64);
    for t in traces {
        s = s.u64(0).str(t);
    }
    s
}

#[test]
fn relays_log_lines_activities_and_progress() {
    let stream = Stream::default()
        .u64(STDERR_NEXT)
        .str("hello from the daemon\n")
        .u64(STDERR_NEXT)
        .str("warning: \x1b[35;1msomething\x1b[0m odd\n")
        .u64(STDERR_START_ACTIVITY)
        .u64(7)
        .u64(3) // lvlInfo
        .u64(100) // actCopyPath
        .str("copying path '/nix/store/x'")
        .u64(2)
        .u64(1)
        .str("/nix/store/x")
        .u64(0)
        .u64(42)
        .u64(0)
        .u64(STDERR_RESULT)
        .u64(7)
        .u64(105) // resProgress
        .u64(4)
        .u64(0)
        .u64(10)
        .u64(0)
        .u64(100)
        .u64(0)
        .u64(0)
        .u64(0)
        .u64(0)
        .u64(STDERR_START_ACTIVITY)
        .u64(8)
        .u64(6) // lvlDebug: beyond the verbosity
        .u64(0)
        .str("hidden detail")
        .u64(0)
        .u64(7)
        .u64(STDERR_STOP_ACTIVITY)
        .u64(8)
        .u64(STDERR_STOP_ACTIVITY)
        .u64(7)
        .u64(STDERR_LAST)
        .u64(1234); // the answer, left unread
    let log = Collect::default();
    let mut relay = Relay::new(LVL_INFO);
    let mut r = &stream.0[..];
    process(
        &mut r,
        &mut Vec::new(),
        &at(34),
        &mut relay,
        &log,
        None,
        None,
    )
    .unwrap();
    assert_eq!(
        log.lines(),
        [
            "hello from the daemon",
            "warning: something odd",
            "copying path '/nix/store/x'...",
        ]
    );
    assert_eq!(wire::read_u64(&mut r).unwrap(), 1234);
    assert!(relay.activities.is_empty());
}

#[test]
fn errors_in_both_formats() {
    // Since 1.26: a serialised Error with traces; the coloured value loses its escapes.
    let stream = new_error(
        "path '\x1b[35;1m/nix/store/x-y\x1b[0m' is not valid",
        &["while adding"],
    );
    let err = process(
        &mut &stream.0[..],
        &mut Vec::new(),
        &at(34),
        &mut Relay::new(LVL_INFO),
        &Collect::default(),
        None,
        None,
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "path '/nix/store/x-y' is not valid\n… while adding"
    );
    assert!(err.keeps_connection());

    // Before 1.26: the message and an exit status.
    let stream = Stream::default()
        .u64(STDERR_ERROR)
        .str("build of '/nix/store/a.drv' failed")
        .u64(100);
    let err = process(
        &mut &stream.0[..],
        &mut Vec::new(),
        &at(25),
        &mut Relay::new(LVL_INFO),
        &Collect::default(),
        None,
        None,
    )
    .unwrap_err();
    assert!(
        matches!(&err, Error::Remote { message, status: 100, traces } if message == "build of '/nix/store/a.drv' failed" && traces.is_empty()),
        "{err:?}"
    );
}

#[test]
fn rejects_unknown_frames_and_bad_errors() {
    let cases: [(&str, Stream, &str); 4] = [
        (
            "unknown tag",
            Stream::default().u64(0x1234),
            "got unknown message type 1234 from Nix daemon",
        ),
        (
            "error type",
            Stream::default().u64(STDERR_ERROR).str("Exception"),
            "unexpected error type 'Exception'",
        ),
        (
            "error position",
            Stream::default()
                .u64(STDERR_ERROR)
                .str("Error")
                .u64(0)
                .str("Error")
                .str("m")
                .u64(1),
            "deserializing error positions is not supported",
        ),
        (
            "field type",
            Stream::default()
                .u64(STDERR_RESULT)
                .u64(1)
                .u64(101)
                .u64(1)
                .u64(9),
            "got unsupported field type 9 from Nix daemon",
        ),
    ];
    for (name, stream, msg) in cases {
        let err = process(
            &mut &stream.0[..],
            &mut Vec::new(),
            &at(34),
            &mut Relay::new(LVL_INFO),
            &Collect::default(),
            None,
            None,
        )
        .unwrap_err();
        assert_eq!(err.to_string(), msg, "{name}");
        assert!(!err.keeps_connection(), "{name}");
    }
    // A stream that ends before STDERR_LAST: the daemon went away.
    let stream = Stream::default().u64(STDERR_NEXT).str("x\n");
    let err = process(
        &mut &stream.0[..],
        &mut Vec::new(),
        &at(34),
        &mut Relay::new(LVL_INFO),
        &Collect::default(),
        None,
        None,
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "Nix daemon disconnected unexpectedly (maybe it crashed?)"
    );
}

#[test]
fn answers_read_requests_and_takes_writes() {
    let stream = Stream::default()
        .u64(STDERR_READ)
        .u64(3)
        .u64(STDERR_WRITE)
        .str("data")
        .u64(STDERR_READ)
        .u64(100)
        .u64(STDERR_READ)
        .u64(100)
        .u64(STDERR_LAST);
    let mut sent = Vec::new();
    let mut sink = Vec::new();
    let mut source: &[u8] = b"abcdef";
    process(
        &mut &stream.0[..],
        &mut sent,
        &at(22),
        &mut Relay::new(LVL_INFO),
        &Collect::default(),
        Some(&mut sink),
        Some(&mut source),
    )
    .unwrap();
    assert_eq!(sink, b"data");
    let expected = Stream::default().str("abc").str("def").str("");
    assert_eq!(sent, expected.0);
    // Without a sink, STDERR_WRITE is a protocol error.
    let stream = Stream::default().u64(STDERR_WRITE).str("x");
    let err = process(
        &mut &stream.0[..],
        &mut Vec::new(),
        &at(22),
        &mut Relay::new(LVL_INFO),
        &Collect::default(),
        None,
        None,
    )
    .unwrap_err();
    assert_eq!(err.to_string(), "no sink");
}

#[test]
fn strips_terminal_escapes() {
    let cases = [
        ("plain", "plain"),
        ("\x1b[31;1merror:\x1b[0m x", "error: x"),
        ("a\x1b]8;;http://x\x07link\x1b]8;;\x07b", "alinkb"),
    ];
    for (input, out) in cases {
        assert_eq!(strip_ansi(input), out, "{input:?}");
    }
}

#[test]
fn build_log_names_drop_the_version() {
    assert_eq!(
        build_log_name("/nix/store/00000000000000000000000000000000-multi-1.0.drv"),
        "multi"
    );
    assert_eq!(build_log_name("/nix/store/0-foo-bar.drv"), "foo-bar");
    assert_eq!(name_without_version("hello-2.1-x"), "hello");
    assert_eq!(name_without_version("dep"), "dep");
}
