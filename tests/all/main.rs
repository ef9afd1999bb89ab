//! Integration tests: one binary, one module per area.

mod support;

#[cfg(feature = "cli")]
mod cli;
mod interop;
mod vectors;
mod writer;
