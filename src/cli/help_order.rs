//! The order of the option sections in a command's help.
//!
//! Each command's options are built when it is run (clap's `defer`, see [`super::Command`]), so
//! clap adds the global options (`Logging-related options`, `Miscellaneous global options`)
//! to a command before its own, and lists their sections first. Nix's manual lists a command's
//! own sections (`Options`, `Common evaluation options`, …) first and the global ones after;
//! so does rflake's help, which moves the global sections back after the command's own.

/// Returns `help` (clap's rendering, possibly with ANSI styles) with the sections headed by one
/// of `global` (e.g. `Logging-related options`) moved after the last other option section.
///
/// A section starts at an unindented line reading `HEADING:` after a blank line and runs to the
/// next such line; paragraphs that are not option sections (the description, the usage line,
/// the text after the options) stay where they are.
pub fn globals_last(help: &str, global: &[&str]) -> String {
    let blocks = blocks(help);
    let is_global = |b: &Block| b.heading.as_deref().is_some_and(|h| global.contains(&h));
    let Some(last_own) = blocks
        .iter()
        .rposition(|b| b.heading.is_some() && !is_global(b))
    else {
        return help.to_owned();
    };
    let (moved, kept): (Vec<&Block>, Vec<&Block>) = blocks.iter().partition(|b| is_global(b));
    if moved.is_empty() || blocks.iter().position(is_global) > Some(last_own) {
        return help.to_owned();
    }
    let mut ordered: Vec<&Block> = Vec::with_capacity(blocks.len());
    for b in kept {
        let at_last_own = std::ptr::eq(b, &blocks[last_own]);
        ordered.push(b);
        if at_last_own {
            ordered.extend(moved.iter().copied());
        }
    }
    let trailing = help.len() - help.trim_end_matches('\n').len();
    let mut out = ordered
        .iter()
        .map(|b| b.text.trim_end_matches('\n'))
        .collect::<Vec<_>>()
        .join("\n\n");
    out.push_str(&"\n".repeat(trailing));
    out
}

/// A paragraph or section: an unindented line after a blank one (or the first line), and the
/// lines up to the next such line.
struct Block {
    /// The heading, without its colon and styles, if the first line is one.
    heading: Option<String>,
    text: String,
}

fn blocks(help: &str) -> Vec<Block> {
    let mut out: Vec<Block> = Vec::new();
    let mut after_blank = true;
    for line in help.split_inclusive('\n') {
        let plain = strip_styles(line.trim_end_matches('\n'));
        let starts = after_blank && !plain.is_empty() && !plain.starts_with(' ');
        after_blank = plain.trim().is_empty();
        match out.last_mut() {
            Some(b) if !starts => b.text.push_str(line),
            _ => out.push(Block {
                heading: plain
                    .strip_suffix(':')
                    .filter(|h| !h.contains(": "))
                    .map(str::to_owned),
                text: line.to_owned(),
            }),
        }
    }
    out
}

/// `s` without ANSI escape sequences (`ESC [ … letter`).
fn strip_styles(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const GLOBAL: &[&str] = &["Logging-related options", "Miscellaneous global options"];

    #[test]
    fn global_sections_move_after_the_commands_own() {
        let help = "About\n\nUsage: rflake x [OPTIONS]\n\nOptions:\n  --a\n\n          long a\n\n\
            Logging-related options:\n  -v\n\nMiscellaneous global options:\n  --offline\n\n\
            Common evaluation options:\n  --arg\n\nEvery Nix setting is also an option: see\n\
            rflake --help:\n";
        let want = "About\n\nUsage: rflake x [OPTIONS]\n\nOptions:\n  --a\n\n          long a\n\n\
            Common evaluation options:\n  --arg\n\nLogging-related options:\n  -v\n\n\
            Miscellaneous global options:\n  --offline\n\nEvery Nix setting is also an option: \
            see\nrflake --help:\n";
        assert_eq!(globals_last(help, GLOBAL), want);
    }

    #[test]
    fn styled_headings_are_recognised_and_kept() {
        let help = "\u{1b}[1mOptions:\u{1b}[0m\n  --a\n\n\u{1b}[1mLogging-related options:\u{1b}[0m\n  \
            -v\n\n\u{1b}[1mCommon flake-related options:\u{1b}[0m\n  --b\n";
        let want = "\u{1b}[1mOptions:\u{1b}[0m\n  --a\n\n\u{1b}[1mCommon flake-related \
            options:\u{1b}[0m\n  --b\n\n\u{1b}[1mLogging-related options:\u{1b}[0m\n  -v\n";
        assert_eq!(globals_last(help, GLOBAL), want);
    }

    #[test]
    fn help_already_in_order_or_without_global_sections_is_unchanged() {
        let ordered = "Options:\n  --a\n\nLogging-related options:\n  -v\n";
        assert_eq!(globals_last(ordered, GLOBAL), ordered);
        let none = "Usage: rflake x\n\nOptions:\n  --a\n";
        assert_eq!(globals_last(none, GLOBAL), none);
    }
}
