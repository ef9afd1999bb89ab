//! `cargo +nightly fuzz run line`: see `acttrace::fuzz::line` for what it checks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| acttrace::fuzz::line(data));
