//! `cargo +nightly fuzz run canonical`: see `acttrace::fuzz::canonical` for what it checks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| acttrace::fuzz::canonical(data));
