//! Derivation names: the first check `derivationStrict` makes (Nix's `checkDerivationName` in
//! `libexpr/primops.cc` over `checkName` in `libstore/path.cc`), with Nix's messages.

use crate::store::path::MAX_NAME_LEN;

/// A derivation name that cannot name a store path.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid derivation name: {reason}. Please pass a different 'name'.")]
pub struct NameError {
    /// The name.
    pub name: String,
    /// Why, as Nix's `checkName` says it.
    pub reason: String,
}

/// Checks a derivation's `name` as current Nix does: 1 to 211 characters of `A–Z a–z 0–9 + -
/// . _ ? =`, not `.` or `..`, and its first dash-separated component not `.` or `..`.
pub fn check_name(name: &str) -> Result<(), NameError> {
    let fail = |reason: String| {
        Err(NameError {
            name: name.to_owned(),
            reason,
        })
    };
    if name.is_empty() {
        return fail("name must not be empty".to_owned());
    }
    if name.len() > MAX_NAME_LEN {
        return fail(format!(
            "name '{name}' must be no longer than {MAX_NAME_LEN} characters"
        ));
    }
    // Nix checks the dots before the characters.
    for dots in ["..", "."] {
        if let Some(rest) = name.strip_prefix(dots) {
            if rest.is_empty() {
                return fail(format!("name '{name}' is not valid"));
            }
            if rest.starts_with('-') {
                return fail(format!(
                    "name '{name}' is not valid: first dash-separated component must not be '{dots}'"
                ));
            }
        }
    }
    if let Some(c) = name
        .chars()
        .find(|&c| !(c.is_ascii_alphanumeric() || "+-._?=".contains(c)))
    {
        return fail(format!("name '{name}' contains illegal character '{c}'"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_as_nix_words_them() {
        for ok in ["hello-1.0", ".foo", "..foo", "a-.", "x?=+_", "fixed.txt"] {
            check_name(ok).unwrap();
        }
        check_name(&"a".repeat(211)).unwrap();
        let cases = [
            ("", "name must not be empty"),
            (".", "name '.' is not valid"),
            ("..", "name '..' is not valid"),
            (
                ".-x",
                "name '.-x' is not valid: first dash-separated component must not be '.'",
            ),
            (
                "..-x y",
                "name '..-x y' is not valid: first dash-separated component must not be '..'",
            ),
            ("a b", "name 'a b' contains illegal character ' '"),
            ("é", "name 'é' contains illegal character 'é'"),
        ];
        for (name, reason) in cases {
            let e = check_name(name).unwrap_err();
            assert_eq!(e.reason, reason, "{name:?}");
            assert_eq!(
                e.to_string(),
                format!("invalid derivation name: {reason}. Please pass a different 'name'.")
            );
        }
        let long = "a".repeat(212);
        assert_eq!(
            check_name(&long).unwrap_err().reason,
            format!("name '{long}' must be no longer than 211 characters")
        );
    }
}
