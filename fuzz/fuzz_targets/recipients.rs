//! Fuzz target: see [`envgen_fuzz::recipients`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| envgen_fuzz::recipients(data));
