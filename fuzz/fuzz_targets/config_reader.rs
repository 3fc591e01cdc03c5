#![no_main]
//! See `dualprop_fuzz::config_reader`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| dualprop_fuzz::config_reader(data));
