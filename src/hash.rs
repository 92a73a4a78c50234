//! hash (skeleton)
