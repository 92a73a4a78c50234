//! The zsh completion script: clap_complete's, with rflake's entry point around it.
//!
//! Installed through `fpath` (as `_rflake`), zsh autoloads the file on the first TAB and runs it
//! as the body of `_rflake`; sourced, it registers `_rflake` with `compdef`. Either way the
//! entry point is the function `_rflake` defined here: it completes flake references (registry
//! ids and schemes, from `rflake __complete`) where a command takes them, the element names of
//! the default profile after `profile upgrade`, the `--<setting>`
//! flags, and hands everything else to clap's function (renamed `_rflake_clap`), which
//! completes subcommands and options. clap's script offers whatever zsh's `_default` finds for a
//! positional argument, and lists the hidden `__complete`; neither is wanted.

/// rflake's part of the script; `__WORDS__`, `__SETTINGS__` and `__VALUE_OPTS__` are filled in.
const ENTRY: &str = r#"
_rflake() {
    local cur="${words[CURRENT]}" prev="${words[CURRENT-1]}"
    if [[ "$cur" == --* ]]; then
        _rflake_clap "$@"
        local -a settings
        settings=(__SETTINGS__)
        compadd -a settings
        return 0
    fi
    if [[ "$cur" != -* && " __VALUE_OPTS__ " != *" $prev "* ]]; then
        local w
        for w in "${(@)words[2,CURRENT-1]}"; do
            if [[ "$w" == upgrade ]]; then
                local -a elements
                elements=(${(f)"$(rflake __complete profile-element -- "$cur" 2>/dev/null)"})
                compadd -Q -a elements
                return 0
            fi
            if [[ " __WORDS__ " == *" $w "* ]]; then
                local -a refs
                refs=(${(f)"$(rflake __complete flakeref -- "$cur" 2>/dev/null)"})
                compadd -Q -S '' -a refs
                [[ "$cur" == (.|/|\~)* ]] && _files
                return 0
            fi
        done
    fi
    _rflake_clap "$@"
}

if [ "$funcstack[1]" = "_rflake" ]; then
    _rflake "$@"
else
    compdef _rflake rflake
fi
"#;

/// Turns clap_complete's zsh script into rflake's: `ref_words` are the subcommands whose
/// arguments are flake references, `settings` the setting flags (with `--`), `value_opts` the
/// long options that take a value (with `--`).
pub fn finish(
    clap_script: &str,
    ref_words: &str,
    settings: &[String],
    value_opts: &[String],
) -> String {
    let mut out = String::with_capacity(clap_script.len() + ENTRY.len());
    let mut lines = clap_script.lines();
    while let Some(line) = lines.next() {
        if line == "_rflake() {" {
            out.push_str("_rflake_clap() {\n");
        } else if line.starts_with("'__complete:") {
            // The hidden helper command.
        } else if line == r#"if [ "$funcstack[1]" = "_rflake" ]; then"# {
            // clap's entry point (four lines), replaced by ours.
            lines.by_ref().take(4).for_each(drop);
        } else {
            out.push_str(line);
            out.push('\n');
        }
    }
    out.push_str(
        &ENTRY
            .replace("__WORDS__", ref_words)
            .replace("__SETTINGS__", &settings.join(" "))
            .replace("__VALUE_OPTS__", &value_opts.join(" ")),
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wraps_clap_entry_point() {
        let clap = "#compdef rflake\n_rflake() {\n  body\n}\n_rflake_commands() {\n    local commands; commands=(\n'flake:Manage' \\\n'__complete:List' \\\n    )\n}\n\nif [ \"$funcstack[1]\" = \"_rflake\" ]; then\n    _rflake \"$@\"\nelse\n    compdef _rflake rflake\nfi\n";
        let s = finish(clap, "add", &["--tarball-ttl".into()], &["--to".into()]);
        assert!(
            s.starts_with("#compdef rflake\n_rflake_clap() {\n  body\n}\n"),
            "{s}"
        );
        assert!(s.contains("'flake:Manage' \\\n    )"), "{s}");
        assert!(!s.contains("__complete:"), "{s}");
        assert_eq!(s.matches("compdef _rflake rflake").count(), 1, "{s}");
        assert!(
            s.contains("settings=(--tarball-ttl)") && s.contains(" --to "),
            "{s}"
        );
    }
}
