//! `sslcrl`: the server's certificate checked against its CA's revocation lists, as libpq
//! checks them, through the TLS proxy on 127.0.0.1 in front of the real server. The CA's list
//! from before it revoked the proxy's certificate lets the chain be written and read; the list
//! from after, a list from another CA (which leaves the certificate's status unknown) and an
//! unreadable file are refused before anything is written; `sslcrldir` reads a directory's.

use std::path::Path;

use acttrace::store::Durability;

use super::super::{SERVER, assert_verifies, fresh_chain, open, probe, server};
use super::assert_refused;
use super::client_cert::{make_pki, mtls_proxy, upstream};
use crate::support::{Scratch, openssl};

/// Revocation lists `openssl ca` signs for the CA `ca` in `dir`: `CA-clean.crl`, and, when
/// `revoke` names a certificate, `CA-revoked.crl` after revoking it.
fn make_crls(dir: &Path, ca: &str, revoke: Option<&str>) {
    let config = format!("{ca}.cnf");
    std::fs::write(
        dir.join(&config),
        format!(
            "[ ca ]\ndefault_ca = d\n[ d ]\ndatabase = ./{ca}.index\ncrlnumber = ./{ca}.crlnumber\n\
             default_md = sha256\ndefault_crl_days = 30\n"
        ),
    )
    .unwrap();
    std::fs::write(dir.join(format!("{ca}.index")), "").unwrap();
    std::fs::write(dir.join(format!("{ca}.crlnumber")), "01\n").unwrap();
    let (key, cert) = (format!("{ca}.key"), format!("{ca}.pem"));
    let signer = ["-config", &config, "-keyfile", &key, "-cert", &cert];
    let gencrl = |out: &str| {
        let mut args = vec!["ca", "-gencrl", "-out", out];
        args.extend(signer);
        openssl(dir, &args);
    };
    gencrl(&format!("{ca}-clean.crl"));
    if let Some(victim) = revoke {
        let mut args = vec!["ca", "-revoke", victim];
        args.extend(signer);
        openssl(dir, &args);
        gencrl(&format!("{ca}-revoked.crl"));
    }
}

#[test]
fn the_servers_certificate_is_checked_against_sslcrl() {
    let Some(url) = server() else { return };
    let _shared = SERVER.blocking_read();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let scratch = Scratch::new("pg-sslcrl");
    let dir = scratch.join("");
    make_pki(&dir);
    make_crls(&dir, "server-ca", Some("server.pem"));
    make_crls(&dir, "rogue-ca", None);
    let (upstream, user, dbname) = upstream(&url);
    let (proxy, _) = rt.block_on(mtls_proxy(&dir, upstream));
    let with = |key: &str, crl: &str| {
        format!(
            "postgres://{user}@127.0.0.1:{}/{dbname}?sslmode=verify-full&sslrootcert={}\
             &sslcert={}&sslkey={}&{key}={}",
            proxy.port(),
            dir.join("server-ca.pem").display(),
            dir.join("writer.pem").display(),
            dir.join("writer.key").display(),
            dir.join(crl).display()
        )
    };
    let with_crl = |crl: &str| with("sslcrl", crl);

    // Before the CA revoked it: written, read back and verified through the proxy.
    let secured = with_crl("server-ca-clean.crl");
    let chain = fresh_chain("sslcrl");
    let log = rt.block_on(async {
        let log = open(&secured, &chain, Durability::Fsync).await;
        for i in 0..5 {
            log.append(probe(1, i)).await.unwrap();
        }
        log
    });
    rt.block_on(log.shutdown()).unwrap();
    assert_eq!(assert_verifies(&secured, &chain, &scratch).len(), 6);

    // After, or with no list from its CA, or no list at all: refused, nothing written.
    std::fs::write(dir.join("empty.crl"), "not a list\n").unwrap();
    for (crl, says) in [
        ("server-ca-revoked.crl", "Revoked"),
        ("rogue-ca-clean.crl", "UnknownRevocationStatus"),
        ("empty.crl", "no revocation list in the file"),
        ("missing.crl", "sslcrl"),
    ] {
        assert_refused(&rt, &url, &with_crl(crl), says);
    }

    // `sslcrldir`: the lists of the files in a directory (others passed over).
    for (name, list) in [
        ("clean", "server-ca-clean.crl"),
        ("revoked", "server-ca-revoked.crl"),
    ] {
        std::fs::create_dir_all(dir.join(name)).unwrap();
        std::fs::copy(dir.join(list), dir.join(name).join("0a1b2c3d.r0")).unwrap();
        std::fs::write(dir.join(name).join("README"), "not a list\n").unwrap();
    }
    std::fs::create_dir_all(dir.join("none")).unwrap();
    let from_dir = with("sslcrldir", "clean");
    let chain = fresh_chain("sslcrldir");
    rt.block_on(async {
        let log = open(&from_dir, &chain, Durability::Fsync).await;
        log.append(probe(1, 0)).await.unwrap();
        log.shutdown().await.unwrap();
    });
    assert_refused(&rt, &url, &with("sslcrldir", "revoked"), "Revoked");
    assert_refused(
        &rt,
        &url,
        &with("sslcrldir", "none"),
        "no revocation list in the directory",
    );
}
