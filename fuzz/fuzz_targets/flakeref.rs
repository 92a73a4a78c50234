//! Fuzzes `rflake::fuzzing::flakeref`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| rflake::fuzzing::flakeref(data));
