//! `cargo +nightly fuzz run summary`: see `acttrace::fuzz::summary` for what it checks
//! (what `acttrace show` and `stats` read and print).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| acttrace::fuzz::summary(data));
