//! `cargo +nightly fuzz run crl`: see `acttrace::fuzz::crl` for what it checks (the
//! certificate revocation lists an auditor gives `--tsa-crl`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| acttrace::fuzz::crl(data));
