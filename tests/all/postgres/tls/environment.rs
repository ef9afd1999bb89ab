//! libpq's environment, read by the real CLI in a process of its own: `PGSSLMODE` and
//! `PGSSLROOTCERT` secure a connection whose URL says nothing of TLS (a root that does not
//! vouch for the server, or a name that does not match, is refused, where a client blind to
//! them would have connected in plain text); `PGPORT`, `PGUSER` and `PGDATABASE` fill in a
//! bare URL; and the files under `~/.postgresql/` give the roots and the client certificate a
//! server behind a proxy that asks for one receives. What `verify` prints of a database names
//! it without its password.

use std::path::Path;
use std::process::{Command, Output};

use acttrace::store::Durability;

use super::super::{SERVER, fresh_chain, open, probe, server};
use super::Tls;
use super::client_cert::{chmod, make_pki, mtls_proxy, upstream};
use crate::support::Scratch;

/// `acttrace verify URL --chain CHAIN` with only `vars` of libpq's environment (and `HOME`).
fn verify(url: &str, chain: &str, home: &Path, vars: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_acttrace"));
    cmd.args(["verify", url, "--chain", chain]);
    for (name, _) in std::env::vars() {
        if name.starts_with("PG") {
            cmd.env_remove(name);
        }
    }
    cmd.env("HOME", home).envs(vars.iter().copied());
    cmd.output().unwrap()
}

fn said(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn pgsslmode_and_pgsslrootcert_secure_a_url_that_says_nothing_of_tls() {
    let Some(url) = server() else { return };
    let _shared = SERVER.blocking_read();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let Some(tls) = Tls::of(&url) else { return };
    let scratch = Scratch::new("pg-env-tls");
    let home = scratch.join("home");
    std::fs::create_dir_all(&home).unwrap();
    let chain = fresh_chain("env-tls");
    rt.block_on(async {
        let log = open(&url, &chain, Durability::Fsync).await;
        for i in 0..5 {
            log.append(probe(1, i)).await.unwrap();
        }
        log.shutdown().await.unwrap();
    });
    let cert = tls.cert.display().to_string();
    let bare = |host: &str| tls.url(host, "").trim_end_matches('?').to_owned();

    let checked = [
        ("PGSSLMODE", "verify-full"),
        ("PGSSLROOTCERT", cert.as_str()),
    ];
    let out = verify(&bare("localhost"), &chain, &home, &checked);
    assert_eq!(out.status.code(), Some(0), "{}", said(&out));
    assert!(said(&out).contains("ok: 6 entries"), "{}", said(&out));

    for (host, vars, says) in [
        // The certificate names `localhost`, not the address.
        ("127.0.0.1", &checked[..], "certificate"),
        // The public CAs' bundle does not vouch for the self-signed certificate.
        (
            "localhost",
            &[
                ("PGSSLMODE", "verify-full"),
                ("PGSSLROOTCERT", "/etc/ssl/certs/ca-certificates.crt"),
            ][..],
            "certificate",
        ),
        (
            "localhost",
            &[("PGSSLMODE", "require")][..],
            "sslmode from PGSSLMODE",
        ),
        (
            "localhost",
            &[("PGSSLCRL", "/etc/crl.pem")][..],
            "revocation lists",
        ),
    ] {
        let out = verify(&bare(host), &chain, &home, vars);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{host} {vars:?}: {}",
            said(&out)
        );
        assert!(said(&out).contains(says), "{host} {vars:?}: {}", said(&out));
    }

    // The URL's own sslmode wins over the environment's.
    let plain = tls.url("127.0.0.1", "sslmode=disable");
    let out = verify(&plain, &chain, &home, &checked);
    assert_eq!(out.status.code(), Some(0), "{}", said(&out));
}

#[test]
fn the_port_user_database_and_default_certificates_come_from_the_environment() {
    let Some(url) = server() else { return };
    let _shared = SERVER.blocking_read();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let scratch = Scratch::new("pg-env-home");
    let pki = scratch.join("pki");
    std::fs::create_dir_all(&pki).unwrap();
    make_pki(&pki);
    let (upstream, user, dbname) = upstream(&url);
    let (proxy, seen) = rt.block_on(mtls_proxy(&pki, upstream));
    let chain = fresh_chain("env-home");
    rt.block_on(async {
        let log = open(&url, &chain, Durability::Fsync).await;
        for i in 0..5 {
            log.append(probe(1, i)).await.unwrap();
        }
        log.shutdown().await.unwrap();
    });

    let home = scratch.join("home");
    let defaults = home.join(".postgresql");
    std::fs::create_dir_all(&defaults).unwrap();
    let port = proxy.port().to_string();
    let vars = [
        ("PGPORT", port.as_str()),
        ("PGUSER", user.as_str()),
        ("PGDATABASE", dbname.as_str()),
    ];
    // Only the host and the mode in the URL.
    let bare = "postgres://127.0.0.1?sslmode=verify-ca";

    // No root.crt yet: the system's roots do not vouch for the proxy's CA.
    let out = verify(bare, &chain, &home, &vars);
    assert_eq!(out.status.code(), Some(2), "{}", said(&out));
    assert!(said(&out).contains("certificate"), "{}", said(&out));

    // root.crt, but no client certificate: the proxy refuses the handshake.
    std::fs::copy(pki.join("server-ca.pem"), defaults.join("root.crt")).unwrap();
    seen.lock().unwrap().clear();
    let out = verify(bare, &chain, &home, &vars);
    assert_eq!(out.status.code(), Some(2), "{}", said(&out));
    assert!(said(&out).contains("CertificateRequired"), "{}", said(&out));

    // postgresql.crt and postgresql.key: the writer's certificate is shown, the chain read.
    std::fs::copy(pki.join("writer.pem"), defaults.join("postgresql.crt")).unwrap();
    std::fs::copy(pki.join("writer.key"), defaults.join("postgresql.key")).unwrap();
    chmod(&defaults.join("postgresql.key"), 0o600);
    seen.lock().unwrap().clear();
    let out = verify(bare, &chain, &home, &vars);
    assert_eq!(out.status.code(), Some(0), "{}", said(&out));
    assert!(said(&out).contains("ok: 6 entries"), "{}", said(&out));
    let seen = seen.lock().unwrap();
    assert!(!seen.is_empty(), "the connection went through the proxy");
    for s in seen.iter() {
        let subject = s.as_ref().expect("the handshake succeeded");
        assert!(subject.contains("acttrace-writer"), "{subject}");
    }
}

#[test]
fn no_password_appears_in_what_verify_prints() {
    let Some(url) = server() else { return };
    let _shared = SERVER.blocking_read();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let chain = fresh_chain("password");
    rt.block_on(async {
        let log = open(&url, &chain, Durability::Fsync).await;
        log.append(probe(1, 0)).await.unwrap();
        log.shutdown().await.unwrap();
    });
    // The test server trusts its clients: any password is let in, none is needed.
    let (upstream, user, dbname) = upstream(&url);
    let with_password = format!("postgres://{user}:hunter2@{upstream}/{dbname}");
    for json in [false, true] {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_acttrace"));
        cmd.args(["verify", &with_password, "--chain", &chain]);
        if json {
            cmd.arg("--json");
        }
        let out = cmd.env("PGPASSWORD", "s3cret-from-env").output().unwrap();
        let text = said(&out);
        assert_eq!(out.status.code(), Some(0), "{text}");
        assert!(
            text.contains(&format!("{user}@{upstream}/{dbname}")),
            "{text}"
        );
        assert!(
            !text.contains("hunter2") && !text.contains("s3cret"),
            "{text}"
        );
    }
}
