//! Fuzzes `rflake::fuzzing::flake_nix`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| rflake::fuzzing::flake_nix(data));
