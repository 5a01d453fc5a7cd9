//! Fuzz target: see [`envgen_fuzz::schema`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| envgen_fuzz::schema(data));
