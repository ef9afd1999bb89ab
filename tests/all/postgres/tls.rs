//! TLS to the real server, as Debian sets it up by default (`ssl = on`, a self-signed
//! certificate for `localhost`): a chain written, read back and pulled over connections that
//! checked the server's certificate, seen encrypted from the server's side; a certificate
//! that does not check out, or a connection string that would not check it, refused before
//! anything is written.

use std::path::PathBuf;

use acttrace::store::{AuditLog, Durability};

use super::{SERVER, assert_verifies, fresh_chain, open, probe, server};
use crate::support::Scratch;

/// The server's certificate file and a URL builder for its TLS tests, or `None` (and a note)
/// when the server has TLS off. On CI the server must have it on.
struct Tls {
    cert: PathBuf,
    user: String,
    port: u16,
    dbname: String,
}

impl Tls {
    fn of(url: &str) -> Option<Self> {
        let mut admin = postgres::Client::connect(url, postgres::NoTls).unwrap();
        let on: String = admin.query_one("SHOW ssl", &[]).unwrap().get(0);
        if on != "on" {
            assert!(
                std::env::var_os("CI").is_none(),
                "the PostgreSQL server has ssl off; the TLS tests need it on"
            );
            eprintln!("skipped: the PostgreSQL server has ssl off");
            return None;
        }
        let file: String = admin.query_one("SHOW ssl_cert_file", &[]).unwrap().get(0);
        let data: String = admin.query_one("SHOW data_directory", &[]).unwrap().get(0);
        let config: postgres::Config = url.parse().unwrap();
        Some(Self {
            cert: PathBuf::from(data).join(file),
            user: config.get_user().unwrap_or("postgres").to_owned(),
            port: config.get_ports().first().copied().unwrap_or(5432),
            dbname: config.get_dbname().unwrap_or("postgres").to_owned(),
        })
    }

    fn url(&self, host: &str, params: &str) -> String {
        format!(
            "postgres://{}@{host}:{}/{}?{params}",
            self.user, self.port, self.dbname
        )
    }
}

/// Opening a log at `conninfo` fails, saying `says`, and writes nothing to the server at `url`.
fn assert_refused(rt: &tokio::runtime::Runtime, url: &str, conninfo: &str, says: &str) {
    let chain = fresh_chain("tls-refused");
    let err = rt
        .block_on(AuditLog::builder("pg-test").open_postgres(conninfo, &chain))
        .unwrap_err()
        .to_string();
    assert!(err.contains(says), "{conninfo}: {err}");
    let mut admin = postgres::Client::connect(url, postgres::NoTls).unwrap();
    // On a fresh database no test may have made the schema yet.
    let made: bool = admin
        .query_one("SELECT to_regclass('acttrace_chains') IS NOT NULL", &[])
        .unwrap()
        .get(0);
    let written: i64 = match made {
        false => 0,
        true => admin
            .query_one(
                "SELECT count(*) FROM acttrace_chains WHERE chain = $1",
                &[&chain],
            )
            .unwrap()
            .get(0),
    };
    assert_eq!(written, 0, "{conninfo}: nothing written");
}

/// Whether the server sees the sessions named `app` encrypted: their count and how many are.
fn sessions(url: &str, app: &str) -> (i64, i64) {
    let mut admin = postgres::Client::connect(url, postgres::NoTls).unwrap();
    let row = admin
        .query_one(
            "SELECT count(*), count(*) FILTER (WHERE s.ssl) FROM pg_stat_ssl s
             JOIN pg_stat_activity a USING (pid) WHERE a.application_name = $1",
            &[&app],
        )
        .unwrap();
    (row.get(0), row.get(1))
}

#[test]
fn a_chain_is_written_and_read_over_tls_that_checked_the_server() {
    let Some(url) = server() else { return };
    let _shared = SERVER.blocking_read();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let Some(tls) = Tls::of(&url) else { return };
    let scratch = Scratch::new("pg-tls");
    let cert = tls.cert.display().to_string();
    for (mode, host) in [("verify-full", "localhost"), ("verify-ca", "127.0.0.1")] {
        let chain = fresh_chain(mode);
        let app = format!("acttrace-tls-{}", std::process::id());
        let secured = tls.url(
            host,
            &format!("sslmode={mode}&sslrootcert={cert}&application_name={app}"),
        );
        let log = rt.block_on(async {
            let log = open(&secured, &chain, Durability::Fsync).await;
            for i in 0..20 {
                log.append(probe(1, i)).await.unwrap();
            }
            log
        });
        let (open_sessions, encrypted) = sessions(&url, &app);
        assert!(open_sessions >= 1, "{mode}: the writer's session is open");
        assert_eq!(
            encrypted, open_sessions,
            "{mode}: every session is encrypted"
        );
        rt.block_on(log.shutdown()).unwrap();
        // Read back, pulled and verified (here and in the reference) over TLS as well.
        let rows = assert_verifies(&secured, &chain, &scratch);
        assert_eq!(rows.len(), 21, "{mode}");
    }
}

/// `ssl_min_protocol_version` and `ssl_max_protocol_version` are the versions spoken: the
/// server (which speaks both) sees each session at the version asked for.
#[test]
fn the_tls_versions_asked_for_are_the_ones_spoken() {
    let Some(url) = server() else { return };
    let _shared = SERVER.blocking_read();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let Some(tls) = Tls::of(&url) else { return };
    let cert = tls.cert.display().to_string();
    for (asked, spoken) in [
        ("ssl_max_protocol_version=TLSv1.2", "TLSv1.2"),
        ("ssl_min_protocol_version=TLSv1.3", "TLSv1.3"),
    ] {
        let app = format!("acttrace-tls-version-{}-{spoken}", std::process::id());
        let secured = tls.url(
            "localhost",
            &format!("sslmode=verify-full&sslrootcert={cert}&application_name={app}&{asked}"),
        );
        let log = rt.block_on(open(
            &secured,
            &fresh_chain("tls-version"),
            Durability::Fsync,
        ));
        let mut admin = postgres::Client::connect(&url, postgres::NoTls).unwrap();
        let versions: Vec<String> = admin
            .query(
                "SELECT s.version FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid)
                 WHERE a.application_name = $1",
                &[&app],
            )
            .unwrap()
            .iter()
            .map(|r| r.get::<_, Option<String>>(0).unwrap_or_default())
            .collect();
        assert!(
            !versions.is_empty(),
            "{asked}: the writer's session is open"
        );
        assert!(
            versions.iter().all(|v| v == spoken),
            "{asked}: {versions:?}"
        );
        rt.block_on(log.shutdown()).unwrap();
    }
}

#[test]
fn a_certificate_that_does_not_check_out_is_refused() {
    let Some(url) = server() else { return };
    let _shared = SERVER.blocking_read();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let Some(tls) = Tls::of(&url) else { return };
    let cert = tls.cert.display().to_string();
    for (conninfo, says) in [
        // The certificate names `localhost`, not the address.
        (
            tls.url(
                "127.0.0.1",
                &format!("sslmode=verify-full&sslrootcert={cert}"),
            ),
            "certificate",
        ),
        // Self-signed: the public CAs' bundle does not vouch for it.
        (
            tls.url(
                "localhost",
                "sslmode=verify-full&sslrootcert=/etc/ssl/certs/ca-certificates.crt",
            ),
            "certificate",
        ),
        (
            tls.url(
                "localhost",
                "sslmode=verify-full&sslrootcert=/nonexistent/ca.pem",
            ),
            "sslrootcert",
        ),
        (tls.url("localhost", "sslmode=require"), "without checking"),
    ] {
        assert_refused(&rt, &url, &conninfo, says);
    }
}

mod client_cert;
mod environment;
mod revocation;
