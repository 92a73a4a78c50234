//! Fuzzes `rflake::fuzzing::store_path_and_hash`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| rflake::fuzzing::store_path_and_hash(data));
