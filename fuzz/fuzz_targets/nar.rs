//! Fuzzes `rflake::fuzzing::nar`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| rflake::fuzzing::nar(data));
