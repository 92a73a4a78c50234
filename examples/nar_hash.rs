//! Prints the NAR hash of a path in SRI form, like `nix hash path PATH`.
//!
//! Used by `bench/nar_hash.sh` to time rflake's NAR hashing against Nix's.

#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::process::ExitCode;

/// The allocator of the `rflake` binary, so the benchmark measures what users run.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let Some(path) = std::env::args_os().nth(1) else {
        eprintln!("usage: nar_hash PATH");
        return ExitCode::from(2);
    };
    match rflake::store::nar::hash_path(std::path::Path::new(&path)) {
        Ok((hash, _)) => {
            println!("{}", hash.to_sri());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
