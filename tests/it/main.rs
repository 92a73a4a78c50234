//! Integration tests: the rflake binary run in a hermetic environment.

mod binary_cache;
mod completions;
mod completions_zsh;
mod differential;
mod docs_agree;
mod fetch_git;
mod fetch_hg;
mod fetch_path;
mod fetch_tarball;
mod flake_archive;
mod flake_differential;
mod flake_functional;
mod global_registry;
mod help;
mod hostile_input;
mod lazy_locking;
mod local_store;
mod messages;
mod nar_oracle;
mod offline_registry;
mod readme_example;
mod registry_cli;
mod settings_cli;
mod settings_discovery;
mod store_copy;
mod support;
