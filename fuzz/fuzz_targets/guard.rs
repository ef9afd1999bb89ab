//! `cargo +nightly fuzz run guard`: see `acttrace::fuzz::guard` for what it checks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| acttrace::fuzz::guard(data));
