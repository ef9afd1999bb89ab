//! `cargo +nightly fuzz run resume`: see `acttrace::chain::fuzz::resume` for what it checks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| acttrace::chain::fuzz::resume(data));
