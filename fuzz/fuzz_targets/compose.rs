//! Fuzz target: see [`envgen_fuzz::compose`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| envgen_fuzz::compose(data));
