//! `cargo +nightly fuzz run verify`: see `acttrace::fuzz::verify` for what it checks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| acttrace::fuzz::verify(data));
