//! Fuzz target: see [`envgen_fuzz::vault_plaintext`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| envgen_fuzz::vault_plaintext(data));
