//! Fuzzes `rflake::fuzzing::narinfo`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| rflake::fuzzing::narinfo(data));
