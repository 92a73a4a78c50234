//! Nix's code frame under an error with a position (`printCodeLines` in the Nix source's
//! `src/libutil/error.cc`): the line before, the line, a caret under the column, the line
//! after, each with a five-wide line-number gutter:
//!
//! ```text
//!      2|   description = "x";
//!      3|   outputs = }
//!       |             ^
//!      4| }
//! ```

/// Returns the frame's lines for 1-based `line` and `column` of `text` (no line for a line or
/// column of 0, or a line past the end).
pub fn lines(text: &str, line: u32, column: u32) -> Vec<String> {
    let all: Vec<&str> = text.split('\n').collect();
    let Some(index) = (line as usize).checked_sub(1) else {
        return Vec::new();
    };
    let Some(this) = all.get(index) else {
        return Vec::new();
    };
    let numbered = |n: usize, code: &str| format!(" {n:>5}| {}", code.trim_end_matches('\r'));
    let mut out = Vec::new();
    if let Some(prev) = index.checked_sub(1).and_then(|i| all.get(i)) {
        out.push(numbered(index, prev));
    }
    out.push(numbered(index + 1, this));
    if column > 0 {
        out.push(format!("      |{}^", " ".repeat(column as usize)));
    }
    // A file ending with a newline has no line after its last one.
    if let Some(next) = all.get(index + 1)
        && !(index + 2 == all.len() && next.is_empty())
    {
        out.push(numbered(index + 2, next));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_as_nix_prints_them() {
        let text = "{\n  description = \"x\";\n  outputs = }\n}\n";
        assert_eq!(
            lines(text, 3, 13),
            [
                "     2|   description = \"x\";",
                "     3|   outputs = }",
                "      |             ^",
                "     4| }",
            ]
        );
        // The first line has no line before it; the last none after it.
        assert_eq!(lines("a = 1;\n", 1, 3), ["     1| a = 1;", "      |   ^"]);
        assert_eq!(lines("x\ny", 2, 1), ["     1| x", "     2| y", "      | ^"]);
        // Unknown positions give no frame.
        assert!(lines(text, 0, 0).is_empty());
        assert!(lines(text, 9, 1).is_empty());
        // Line numbers take five columns, then grow.
        assert_eq!(lines("a", 1, 0), ["     1| a"]);
    }
}
