//! util (skeleton)
