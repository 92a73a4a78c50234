//! `hint:` lines after an error, found by walking its chain for errors that have one (jj's
//! `print_error_hints`, uv's diagnostics).

/// Returns the hints for `err`, without the `hint: ` prefix.
pub fn hints(err: &anyhow::Error) -> Vec<String> {
    let mut out = Vec::new();
    for cause in err.chain() {
        if let Some(crate::flakeref::Error::Unsupported(reference)) = cause.downcast_ref()
            && let Some(fixed) = crate::flakeref::schemes::suggest(reference)
        {
            out.push(format!("did you mean '{fixed}'?"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unsupported_scheme_typos_get_a_hint() {
        let e = |r: &str| anyhow::Error::new(crate::flakeref::Error::Unsupported(r.into()));
        assert_eq!(
            hints(&e("githb:foo/bar")),
            ["did you mean 'github:foo/bar'?"]
        );
        assert!(hints(&e("foo:bar")).is_empty());
        let wrapped = e("gitlba:o/r").context("while parsing");
        assert_eq!(hints(&wrapped), ["did you mean 'gitlab:o/r'?"]);
    }
}
