//! A database no log was ever opened on (a fresh one, made for the test): reading a chain
//! from it, listing its chains, and `acttrace verify` on it say so plainly, not with the
//! server's "relation does not exist".

use acttrace::store::postgres::ChainReader;

use super::{SERVER, server};

#[test]
fn a_database_without_the_schema_is_said_to_hold_no_chain() {
    let Some(url) = server() else { return };
    let _shared = SERVER.blocking_read();
    let name = format!("acttrace_empty_{}", std::process::id());
    let mut admin = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    // One statement each: neither may run in a transaction.
    admin
        .batch_execute(&format!("DROP DATABASE IF EXISTS {name}"))
        .unwrap();
    admin
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .unwrap();
    let config: postgres::Config = url.parse().unwrap();
    let host = match config.get_hosts().first() {
        Some(postgres::config::Host::Tcp(h)) => h.clone(),
        _ => "127.0.0.1".to_owned(),
    };
    let empty_url = format!(
        "postgres://{}@{host}:{}/{name}",
        config.get_user().unwrap_or("postgres"),
        config.get_ports().first().copied().unwrap_or(5432)
    );

    let said = "holds no acttrace chain: it has no acttrace_chains table";
    let err = ChainReader::chains(&empty_url).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
    assert!(err.to_string().contains(said), "{err}");
    let err = ChainReader::open(&empty_url, "loans", None).unwrap_err();
    assert!(err.to_string().contains(said), "{err}");
    #[cfg(feature = "cli")]
    {
        let (code, out) = crate::support::run_acttrace(&["verify", &empty_url]);
        assert_eq!(code, Some(2), "{out}");
        assert!(out.contains(said), "{out}");
    }
    admin
        .batch_execute(&format!("DROP DATABASE {name}"))
        .unwrap();
}
