//! Replays the fuzz corpora (`fuzz/corpus/<target>/`, the committed seeds and what fuzzing
//! kept) and every crash fuzzing found (`fuzz/artifacts/<target>/`) through the same entry
//! points as `cargo fuzz` (`rflake::fuzzing`), so that a fixed crash stays fixed (issue #17).

use std::path::Path;

#[test]
fn every_corpus_and_artifact_input_is_handled() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    for (name, target) in rflake::fuzzing::TARGETS {
        let mut seen = 0;
        for kind in ["corpus", "artifacts"] {
            let Ok(entries) = std::fs::read_dir(root.join(kind).join(name)) else {
                continue;
            };
            for entry in entries {
                let path = entry.expect("a directory entry").path();
                let data = match std::fs::read(&path) {
                    Ok(data) => data,
                    // A fuzzer running meanwhile replaced it with a smaller input.
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                    Err(e) => panic!("reading {}: {e}", path.display()),
                };
                let handled = std::panic::catch_unwind(|| target(&data));
                assert!(handled.is_ok(), "{name} panicked on {}", path.display());
                seen += 1;
            }
        }
        assert!(seen > 0, "fuzz/corpus/{name} has no seed");
    }
}
