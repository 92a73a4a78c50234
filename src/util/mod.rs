//! Small helpers shared by the effects layers.

pub mod fs;
