//! Fuzzes `rflake::fuzzing::archive`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| rflake::fuzzing::archive(data));
