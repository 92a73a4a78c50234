//! Fuzzes `rflake::fuzzing::derivation`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| rflake::fuzzing::derivation(data));
