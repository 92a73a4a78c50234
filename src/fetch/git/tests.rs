//! Unit tests of the git fetcher.
