//! Small helpers shared by the effects layers.

pub mod code_frame;
pub mod edit_distance;
pub mod fs;
pub mod http;
pub mod interrupt;
pub mod process;
pub mod time;
pub mod xattr;

/// Flattens a reqwest error's chain into one line, without the URL (callers name it in their
/// own words, redacted where needed).
pub fn describe_http_error(e: reqwest::Error) -> String {
    let e = e.without_url();
    let mut s = e.to_string();
    let mut src = std::error::Error::source(&e);
    while let Some(inner) = src {
        s.push_str(": ");
        s.push_str(&inner.to_string());
        src = inner.source();
    }
    s
}
