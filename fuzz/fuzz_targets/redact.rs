//! `cargo +nightly fuzz run redact`: see `acttrace::fuzz::redact` for what it checks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| acttrace::fuzz::redact(data));
