//! `cargo +nightly fuzz run line`: see `acttrace::chain::fuzz::line` for what it checks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| acttrace::chain::fuzz::line(data));
