//! Integration tests: one binary, one module per area.

mod support;
#[cfg(feature = "rfc3161")]
mod timestamp;

#[cfg(feature = "ed25519")]
mod c2sp;
#[cfg(feature = "cli")]
mod cli;
#[cfg(all(feature = "client", feature = "server"))]
mod client;
#[cfg(all(feature = "client", feature = "server"))]
mod demo;
mod export;
mod faults;
#[cfg(feature = "client")]
mod gateway;
#[cfg(feature = "server")]
mod guard;
#[cfg(feature = "cli")]
mod hostile;
mod interop;
#[cfg(feature = "server")]
mod layers;
mod layout;
#[cfg(feature = "server")]
mod outage;
mod pacing;
#[cfg(feature = "postgres")]
mod postgres;
mod report;
#[cfg(feature = "ed25519")]
mod segments;
mod vectors;
mod writer;
