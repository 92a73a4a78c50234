//! Integration tests: the rflake binary run in a hermetic environment.

mod binary_cache;
mod completions;
mod daemon_store;
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
mod local_store;
mod nar_oracle;
mod offline_registry;
mod readme_example;
mod registry_cli;
mod settings_cli;
mod settings_discovery;
mod store_copy;
mod support;
