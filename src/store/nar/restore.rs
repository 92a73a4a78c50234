//! Materialising a NAR on disk.

use std::io::Read;
use std::path::Path;

/// Errors while restoring.
#[derive(Debug, thiserror::Error)]
pub enum RestoreError {
    /// The NAR is malformed.
    #[error(transparent)]
    Parse(#[from] super::ParseError),
}

/// Restores the NAR read from `reader` at `dest`, which must not exist. Symlinks are created,
/// never followed.
pub fn restore(reader: &mut dyn Read, dest: &Path) -> Result<(), RestoreError> {
    let _ = (reader, dest);
    Err(RestoreError::Parse(super::ParseError::Bad(
        "not written yet".into(),
    )))
}
