#![no_main]
//! See `dualprop_fuzz::case_reader`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| dualprop_fuzz::case_reader(data));
