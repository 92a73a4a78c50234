//! The README's first command: `flake archive --json --dry-run` of `examples/flake`, which must
//! work offline on a fresh machine and leave the example's files as they are.

use crate::support::TestEnv;

#[test]
fn the_example_flake_archives_offline_without_changing_its_files() {
    let env = TestEnv::new();
    let example = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/flake");
    for rel in ["flake.nix", "flake.lock", "lib/flake.nix"] {
        env.write(
            format!("work/example/{rel}"),
            std::fs::read(example.join(rel)).unwrap(),
        );
    }
    let lock_before = env.read("work/example/flake.lock");
    let out = env.run(&[
        "flake",
        "archive",
        "--json",
        "--dry-run",
        "--offline",
        "path:example",
    ]);
    assert!(out.success(), "{out}");
    assert_eq!(
        out.stdout(),
        "{\"inputs\":{\"lib\":{\"inputs\":{}}},\"path\":\"/nix/store/nsykiv9fqan1vgays4aixxv51cshafva-source\"}\n"
    );
    assert_eq!(out.stderr(), "");
    assert_eq!(env.read("work/example/flake.lock"), lock_before);
}
