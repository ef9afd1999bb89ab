//! `cargo +nightly fuzz run summary`: see `acttrace::chain::fuzz::summary` for what it checks
//! (what `acttrace show` and `stats` read and print).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| acttrace::chain::fuzz::summary(data));
