//! Fuzzes `rflake::fuzzing::nix_eval`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| rflake::fuzzing::nix_eval(data));
