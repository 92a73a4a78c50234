//! Editing one registry file (`registry add` and `registry remove`; Nix's `CmdRegistryAdd`,
//! `CmdRegistryRemove` in `src/nix/registry.cc`): read it strictly, change it, write it
//! atomically. A file rflake cannot read completely is refused, never rewritten.

use std::path::Path;

use super::{Entry, layers};
use crate::flakeref::Input;
use crate::report::Reporter;

/// Adds `entry` to the registry file `file`, replacing any entry with the same `from`.
pub fn add(file: &Path, entry: Entry, report: &dyn Reporter) -> anyhow::Result<()> {
    let mut reg = layers::read_strict(file, report)?;
    reg.add(entry);
    layers::write(file, &reg)
}

/// Removes every entry whose `from` is exactly `from` from the registry file `file` (the file
/// is written even when nothing was removed, as Nix does).
pub fn remove(file: &Path, from: &Input, report: &dyn Reporter) -> anyhow::Result<()> {
    let mut reg = layers::read_strict(file, report)?;
    reg.remove(from);
    layers::write(file, &reg)
}
