//! report (skeleton)
