//! Malformed input never aborts the process (issue #17 point 1): deep structures get an
//! `error:` line and exit 1 in bounded time, and what real flakes use still works.

// Helpers outside `#[test]` functions unwrap too: a failure is a test failure.
#![allow(clippy::unwrap_used)]

use std::fmt::Write as _;

use crate::support::TestEnv;

/// A flake at `work/f` whose lock file chains `depth` nodes (`n0 → n1 → …`).
fn chained(depth: usize) -> TestEnv {
    let mut env = TestEnv::new();
    let leaf = env.path("work/leaf");
    std::fs::create_dir_all(&leaf).unwrap();
    let leaf = leaf.display().to_string();
    let mut nodes = String::from(r#"{"root":{"inputs":{"n0":"n0"}}"#);
    for i in 0..depth {
        let inputs = if i + 1 < depth {
            format!(r#","inputs":{{"n":"n{}"}}"#, i + 1)
        } else {
            String::new()
        };
        write!(
            nodes,
            r#","n{i}":{{"locked":{{"type":"path","path":"{leaf}","narHash":"sha256-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=","lastModified":1}},"original":{{"type":"path","path":"{leaf}"}}{inputs}}}"#
        )
        .unwrap();
    }
    nodes.push('}');
    env.write(
        "work/f/flake.nix",
        format!("{{ inputs.n0.url = \"path:{leaf}\"; outputs = {{ self, ... }}: {{ }}; }}\n"),
    );
    env.write(
        "work/f/flake.lock",
        format!(r#"{{"nodes":{nodes},"root":"root","version":7}}"#),
    );
    env.set_cwd("work/f");
    env
}

#[test]
fn a_lock_file_chain_of_5000_nodes_is_an_error_not_a_crash() {
    let env = chained(5000);
    for args in [
        &["flake", "metadata"][..],
        &["flake", "archive", "--json", "--dry-run"],
    ] {
        let out = env.run(args);
        assert_eq!(out.status().code(), Some(1), "{args:?}: {out:?}");
        assert!(
            out.stderr()
                .contains("error: lock file nests inputs more than 1000 levels deep"),
            "{args:?}: {out:?}"
        );
    }
}

#[test]
fn a_lock_file_chain_of_999_nodes_is_walked() {
    let env = chained(999);
    let out = env.run(&["flake", "archive", "--json", "--dry-run"]);
    assert!(out.success(), "{out:?}");
    assert_eq!(out.stdout().matches("\"inputs\"").count(), 1000);
    let out = env.run(&["flake", "metadata"]);
    assert!(out.success(), "{out:?}");
}

#[test]
fn deeply_nested_flake_nix_is_an_error_not_a_crash() {
    let shapes = [
        (
            "lists",
            format!("{}{}", "[".repeat(50_000), "]".repeat(50_000)),
        ),
        ("minus", format!("{}1", "- ".repeat(100_000))),
        ("not", format!("{}true", "!".repeat(100_000))),
        ("select", format!("self{}", ".a".repeat(100_000))),
    ];
    for (name, expr) in shapes {
        let mut env = TestEnv::new();
        env.write(
            "work/f/flake.nix",
            format!("{{ inputs = {{ }}; outputs = {{ self }}: {expr}; }}\n"),
        );
        env.set_cwd("work/f");
        for args in [
            &["flake", "metadata"][..],
            &["flake", "archive", "--json", "--dry-run"],
        ] {
            let out = env.run(args);
            assert_eq!(out.status().code(), Some(1), "{name} {args:?}");
            // Nix's message, then the position in the user's file and the code frame.
            assert!(
                out.stderr().starts_with(
                    "error: syntax error, too deeply nested\n       at $TEST_ENV/work/f/flake.nix:1:"
                ),
                "{name} {args:?}: {}",
                &out.stderr()[..out.stderr().len().min(300)]
            );
        }
    }
}
