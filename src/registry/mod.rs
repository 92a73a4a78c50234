//! registry (skeleton)
