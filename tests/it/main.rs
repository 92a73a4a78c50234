//! Integration tests: the rflake binary run in a hermetic environment.

mod binary_cache;
mod completions;
mod differential;
mod fetch_git;
mod fetch_hg;
mod fetch_path;
mod fetch_tarball;
mod flake_archive;
mod flake_differential;
mod flake_functional;
mod global_registry;
mod help;
mod interrupt;
mod local_store;
mod nar_oracle;
mod readme_example;
mod registry_cli;
mod settings_cli;
mod store_copy;
mod support;
mod temporaries;
