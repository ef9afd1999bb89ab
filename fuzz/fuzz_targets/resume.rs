//! `cargo +nightly fuzz run resume`: see `acttrace::fuzz::resume` for what it checks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| acttrace::fuzz::resume(data));
