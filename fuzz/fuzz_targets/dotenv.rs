//! Fuzz target: see [`envgen_fuzz::dotenv`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| envgen_fuzz::dotenv(data));
