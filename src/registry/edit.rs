//! Editing one registry file (`registry add`, `registry remove` and the write of `registry
//! pin`; Nix's `CmdRegistryAdd`, `CmdRegistryRemove`, `CmdRegistryPin` in
//! `src/nix/registry.cc`): read it strictly, change it, write it atomically. A file rflake cannot
//! read completely is refused, never rewritten.
//!
//! # Deviations
//!
//! - The read-modify-write holds an exclusive lock (`flock`) on the registry file's directory,
//!   so concurrent rflake processes never lose each other's entries (Nix does not lock, and
//!   loses them).

use std::path::Path;

use anyhow::Context as _;

use super::{Entry, Registry, layers};
use crate::flakeref::Input;
use crate::report::Reporter;

/// Adds `entry` to the registry file `file`, replacing any entry with the same `from`.
pub fn add(file: &Path, entry: Entry, report: &dyn Reporter) -> anyhow::Result<()> {
    update(file, report, |reg| reg.add(entry))
}

/// Removes every entry whose `from` is exactly `from` from the registry file `file` (the file
/// is written even when nothing was removed, as Nix does).
pub fn remove(file: &Path, from: &Input, report: &dyn Reporter) -> anyhow::Result<()> {
    update(file, report, |reg| reg.remove(from))
}

/// Reads the registry file `file` strictly, applies `change` and writes it back, holding the
/// lock of its directory throughout.
pub fn update(
    file: &Path,
    report: &dyn Reporter,
    change: impl FnOnce(&mut Registry),
) -> anyhow::Result<()> {
    let _lock = lock_dir_of(file)?;
    let mut reg = layers::read_strict(file, report)?;
    change(&mut reg);
    layers::write(file, &reg)
}

/// Takes an exclusive lock on the directory holding `file` (creating it), released when the
/// returned handle is dropped.
fn lock_dir_of(file: &Path) -> anyhow::Result<std::fs::File> {
    let dir = match file.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    crate::util::fs::create_dir_all(dir)?;
    let handle = std::fs::File::open(dir)
        .with_context(|| format!("opening directory '{}'", dir.display()))?;
    crate::util::interrupt::lock_file(&handle)
        .with_context(|| format!("locking directory '{}'", dir.display()))?;
    Ok(handle)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flakeref::{ParseOptions, parse};
    use crate::report::Silent;

    fn entry(id: &str) -> Entry {
        let from = parse(id, &ParseOptions::default(), &Silent).unwrap();
        let to = parse("github:o/r", &ParseOptions::default(), &Silent).unwrap();
        Entry {
            from: from.input,
            to: to.input,
            dir: String::new(),
            exact: false,
        }
    }

    #[test]
    fn parallel_adds_keep_every_entry() {
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("nix/registry.json");
        std::thread::scope(|s| {
            for i in 0..8 {
                let file = &file;
                s.spawn(move || add(file, entry(&format!("id{i}")), &Silent).unwrap());
            }
        });
        let reg = layers::read_strict(&file, &Silent).unwrap();
        assert_eq!(reg.entries.len(), 8);
    }
}
