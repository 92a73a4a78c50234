//! A cache of the declarations read from `flake.nix` files in the store (beyond Nix, which
//! parses a flake's `flake.nix` every time it locks it). A file in a store path never changes:
//! the path is named by the NAR hash of the whole tree. So what was read from
//! `<store path>/<dir>/flake.nix` once ([`crate::flake::decl::read`]: `description`, `inputs`,
//! `nixConfig`, the implicit inputs of `outputs`) is kept in
//! `~/.cache/nix/rflake-flake-decl-v1/<key>.json` and read back instead of parsing the file
//! again: `profile upgrade` of an unchanged flake re-locks it without parsing it.
//!
//! Only successful reads are kept (an error is found again, with its message, by reading the
//! file), only for trees in the store (never for a local tree read in place), and only for
//! the same rflake version, since what is read may change with it. The `follows` of a
//! declaration are kept as written; the caller prefixes them. A missing, unreadable or damaged
//! entry is a miss; writing one is best effort.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::decl::FlakeDecl;

/// The layout of an entry and of its key: bumped when either changes.
const VERSION: u32 = 1;

/// One entry: the full key (checked on reading) and the declaration.
#[derive(Serialize, Deserialize)]
struct Entry {
    key: String,
    decl: FlakeDecl,
}

/// The key of the `flake.nix` in directory `dir` of the store path `tree` (as printed).
pub fn key(tree: &str, dir: &str) -> String {
    format!(
        "rflake-flake-decl-{VERSION}\0{}\0{tree}\0{dir}",
        env!("CARGO_PKG_VERSION")
    )
}

/// The file of `key` under Nix's cache directory `cache_dir`.
fn file(cache_dir: &Path, key: &str) -> PathBuf {
    crate::util::fs::cache_file(cache_dir, &format!("rflake-flake-decl-v{VERSION}"), key)
}

/// The declaration kept for `key`, if any.
pub fn get(cache_dir: &Path, key: &str) -> Option<FlakeDecl> {
    let bytes = std::fs::read(file(cache_dir, key)).ok()?;
    let entry: Entry = serde_json::from_slice(&bytes).ok()?;
    (entry.key == key).then_some(entry.decl)
}

/// Keeps `decl` for `key` (atomically; errors are ignored).
pub fn put(cache_dir: &Path, key: &str, decl: &FlakeDecl) {
    let path = file(cache_dir, key);
    let entry = Entry {
        key: key.to_owned(),
        decl: decl.clone(),
    };
    // Best effort: `write_atomic` creates the directory; a failure only costs a parse.
    if let Ok(text) = serde_json::to_vec(&entry) {
        let _ = crate::util::fs::write_atomic(&path, &text);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flake::decl::{self, ReadOptions};

    fn read(text: &str) -> FlakeDecl {
        let opts = ReadOptions {
            file_label: "/nix/store/x-source/flake.nix".into(),
            flake_label: "path:/x".into(),
            subdir: String::new(),
        };
        decl::read(text, &opts).unwrap()
    }

    #[test]
    fn a_declaration_comes_back_as_it_was_read() {
        let tmp = tempfile::tempdir().unwrap();
        let decl = read(
            r#"{
              description = "d";
              inputs.a.url = "github:NixOS/nixpkgs/nixos-24.05";
              inputs.b = { url = "git+https://example.org/b?ref=main"; flake = false; };
              inputs.c.follows = "a";
              inputs.d.inputs.e.follows = "a";
              inputs.self.submodules = true;
              nixConfig = { x = "y"; n = 3; t = true; l = [ "p" "q" ]; };
              outputs = { self, a, f, ... }: { };
            }"#,
        );
        assert_eq!(decl.inputs.len(), 5);
        let k = key("/nix/store/abc-source", "");
        assert_eq!(get(tmp.path(), &k), None);
        put(tmp.path(), &k, &decl);
        assert_eq!(get(tmp.path(), &k), Some(decl));
        assert_eq!(get(tmp.path(), &key("/nix/store/abc-source", "sub")), None);
    }

    #[test]
    fn a_damaged_or_foreign_entry_is_a_miss() {
        let tmp = tempfile::tempdir().unwrap();
        let decl = read("{ outputs = { self }: { }; }");
        let (k1, k2) = (
            key("/nix/store/a-source", ""),
            key("/nix/store/b-source", ""),
        );
        put(tmp.path(), &k1, &decl);
        // Another key's entry under this key's name.
        std::fs::copy(file(tmp.path(), &k1), file(tmp.path(), &k2)).unwrap();
        assert_eq!(get(tmp.path(), &k2), None);
        std::fs::write(file(tmp.path(), &k1), b"{\"key\":").unwrap();
        assert_eq!(get(tmp.path(), &k1), None);
        // An input whose attributes do not check is refused; the same entry with checked
        // attributes is read.
        let entry = |input: &str| {
            format!(
                r#"{{"key":{},"decl":{{"description":null,"inputs":{{"a":{{"flake_ref":{{"input":{input},"subdir":""}},"follows":null,"is_flake":true,"overrides":{{}},"pos":{{"line":1,"column":1}}}}}},"self_attrs":{{}},"nix_config":{{}}}}}}"#,
                serde_json::to_string(&k1).unwrap()
            )
        };
        let good = r#"{"owner":"o","repo":"r","type":"github"}"#;
        std::fs::write(file(tmp.path(), &k1), entry(good)).unwrap();
        let hit = get(tmp.path(), &k1).unwrap();
        assert_eq!(
            hit.inputs["a"]
                .flake_ref
                .as_ref()
                .unwrap()
                .input
                .type_name(),
            "github"
        );
        std::fs::write(file(tmp.path(), &k1), entry(r#"{"type":"github"}"#)).unwrap();
        assert_eq!(get(tmp.path(), &k1), None);
    }
}
