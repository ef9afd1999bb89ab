//! `cargo +nightly fuzz run verify`: see `acttrace::chain::fuzz::verify` for what it checks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| acttrace::chain::fuzz::verify(data));
