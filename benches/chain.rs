//! Placeholder replaced by the benchmark harness below in a later commit.
fn main() {}
