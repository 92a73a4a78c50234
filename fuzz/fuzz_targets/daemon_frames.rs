//! Fuzzes `rflake::fuzzing::daemon_frames`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| rflake::fuzzing::daemon_frames(data));
