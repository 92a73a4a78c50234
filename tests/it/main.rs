//! Integration tests: the rflake binary run in a hermetic environment.

mod differential;
mod support;
