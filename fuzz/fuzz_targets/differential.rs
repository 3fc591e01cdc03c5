#![no_main]
//! See `dualprop_fuzz::differential`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| dualprop_fuzz::differential(data));
