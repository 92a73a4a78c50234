//! settings (skeleton)
