//! flakeref (skeleton)
