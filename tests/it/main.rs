//! Integration tests: the rflake binary run in a hermetic environment.
