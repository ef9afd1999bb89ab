//! Client certificates (`sslcert`, `sslkey`): the real server behind a TLS proxy on 127.0.0.1
//! that, like a server with `clientcert=verify-full`, admits only clients that show a
//! certificate from its client CA. A chain is written, read back and pulled through it with
//! the writer's certificate; without one, with a certificate from another CA, with a key that
//! is not the certificate's or that others may read, the connection is refused before anything
//! is written.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use acttrace::store::Durability;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::pem::PemObject as _;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};

use super::super::{SERVER, assert_verifies, fresh_chain, open, probe, server};
use super::assert_refused;
use crate::support::{Scratch, openssl};

/// PostgreSQL's `SSLRequest`: length 8, code 80877103.
const SSL_REQUEST: [u8; 8] = [0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f];

/// Two CAs (the server's, the clients') with a certificate each under them, and a third CA
/// the proxy does not trust with a client certificate under it, all in `dir`.
pub(super) fn make_pki(dir: &Path) {
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    for ca in ["server-ca", "client-ca", "rogue-ca"] {
        let subject = format!("/CN=acttrace test {ca}");
        let mut args = vec!["req", "-x509", "-days", "2", "-subj", &subject];
        args.extend(ec);
        let (key, cert) = (format!("{ca}.key"), format!("{ca}.pem"));
        args.extend(["-keyout", &key, "-out", &cert]);
        openssl(dir, &args);
    }
    for (name, ca, ext) in [
        (
            "server",
            "server-ca",
            "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n",
        ),
        ("writer", "client-ca", "extendedKeyUsage=clientAuth\n"),
        ("rogue", "rogue-ca", "extendedKeyUsage=clientAuth\n"),
    ] {
        std::fs::write(
            dir.join(format!("{name}.ext")),
            format!("basicConstraints=CA:FALSE\n{ext}"),
        )
        .unwrap();
        let subject = format!("/CN=acttrace-{name}");
        let (key, csr) = (format!("{name}.key"), format!("{name}.csr"));
        let mut args = vec![
            "req", "-new", "-subj", &subject, "-keyout", &key, "-out", &csr,
        ];
        args.extend(ec);
        openssl(dir, &args);
        let (ca_cert, ca_key) = (format!("{ca}.pem"), format!("{ca}.key"));
        let (cert, ext) = (format!("{name}.pem"), format!("{name}.ext"));
        openssl(
            dir,
            &[
                "x509",
                "-req",
                "-days",
                "2",
                "-in",
                &csr,
                "-CA",
                &ca_cert,
                "-CAkey",
                &ca_key,
                "-CAcreateserial",
                "-out",
                &cert,
                "-extfile",
                &ext,
            ],
        );
        chmod(&dir.join(&key), 0o600);
    }
}

pub(super) fn chmod(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// What the proxy saw: one line per connection, the client certificate's subject or why the
/// handshake failed.
pub(super) type Seen = Arc<Mutex<Vec<Result<String, String>>>>;

/// A proxy on 127.0.0.1 in front of the server at `upstream` (`host:port`): it answers
/// PostgreSQL's `SSLRequest`, completes TLS with the server certificate in `dir` only for a
/// client that shows a certificate from `client-ca`, and then relays the session to the
/// server in plain text.
pub(super) async fn mtls_proxy(dir: &Path, upstream: String) -> (SocketAddr, Seen) {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_file(dir.join("client-ca.pem")).unwrap())
        .unwrap();
    let clients = rustls::server::WebPkiClientVerifier::builder_with_provider(
        Arc::new(roots),
        Arc::clone(&provider),
    )
    .build()
    .unwrap();
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_client_cert_verifier(clients)
        .with_single_cert(
            vec![CertificateDer::from_pem_file(dir.join("server.pem")).unwrap()],
            PrivateKeyDer::from_pem_file(dir.join("server.key")).unwrap(),
        )
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = Seen::default();
    let record = Arc::clone(&seen);
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let (acceptor, record) = (acceptor.clone(), Arc::clone(&record));
            let upstream = upstream.clone();
            tokio::spawn(async move {
                let mut request = [0u8; 8];
                if socket.read_exact(&mut request).await.is_err() || request != SSL_REQUEST {
                    record.lock().unwrap().push(Err("no SSLRequest".to_owned()));
                    return;
                }
                if socket.write_all(b"S").await.is_err() {
                    return;
                }
                let mut tls = match acceptor.accept(socket).await {
                    Ok(tls) => tls,
                    Err(e) => {
                        record.lock().unwrap().push(Err(e.to_string()));
                        return;
                    }
                };
                let subject = tls
                    .get_ref()
                    .1
                    .peer_certificates()
                    .and_then(|c| c.first())
                    .map(|c| String::from_utf8_lossy(c.as_ref()).into_owned())
                    .unwrap_or_default();
                record.lock().unwrap().push(Ok(subject));
                let Ok(mut server) = tokio::net::TcpStream::connect(&upstream).await else {
                    return;
                };
                let _ = tokio::io::copy_bidirectional(&mut tls, &mut server).await;
            });
        }
    });
    (addr, seen)
}

/// The test server's address (host and port), user and database, from its URL.
pub(super) fn upstream(url: &str) -> (String, String, String) {
    let config: postgres::Config = url.parse().unwrap();
    let host = match config.get_hosts().first() {
        Some(postgres::config::Host::Tcp(host)) => host.clone(),
        _ => "127.0.0.1".to_owned(),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let user = config.get_user().unwrap_or("postgres").to_owned();
    let dbname = config.get_dbname().unwrap_or(&user).to_owned();
    (format!("{host}:{port}"), user, dbname)
}

#[test]
fn a_server_that_asks_for_a_client_certificate_gets_the_writers_and_no_other() {
    let Some(url) = server() else { return };
    let _shared = SERVER.blocking_read();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let scratch = Scratch::new("pg-client-cert");
    let dir = scratch.join("");
    make_pki(&dir);
    let (upstream, user, dbname) = upstream(&url);
    let (proxy, seen) = rt.block_on(mtls_proxy(&dir, upstream));
    let file = |name: &str| -> PathBuf { dir.join(name) };
    let through = |cert: &str, key: &str| {
        let mut url = format!(
            "postgres://{user}@127.0.0.1:{}/{dbname}?sslmode=verify-full&sslrootcert={}",
            proxy.port(),
            file("server-ca.pem").display()
        );
        if !cert.is_empty() {
            url += &format!(
                "&sslcert={}&sslkey={}",
                file(cert).display(),
                file(key).display()
            );
        }
        url
    };

    // The writer's certificate: the chain is written, read back and pulled through the proxy.
    let chain = fresh_chain("client-cert");
    let secured = through("writer.pem", "writer.key");
    let log = rt.block_on(async {
        let log = open(&secured, &chain, Durability::Fsync).await;
        for i in 0..20 {
            log.append(probe(1, i)).await.unwrap();
        }
        log
    });
    rt.block_on(log.shutdown()).unwrap();
    let rows = assert_verifies(&secured, &chain, &scratch);
    assert_eq!(rows.len(), 21);
    {
        let seen = seen.lock().unwrap();
        assert!(!seen.is_empty(), "the connections went through the proxy");
        for s in seen.iter() {
            let subject = s.as_ref().expect("every handshake succeeded");
            assert!(subject.contains("acttrace-writer"), "{subject}");
        }
    }

    // Anything else is refused, and nothing is written.
    let other_key = file("other.key");
    std::fs::copy(file("rogue.key"), &other_key).unwrap();
    chmod(&other_key, 0o600);
    openssl(
        &dir,
        &[
            "pkcs8",
            "-topk8",
            "-in",
            "writer.key",
            "-out",
            "locked.key",
            "-passout",
            "pass:x",
        ],
    );
    chmod(&file("locked.key"), 0o600);
    let shared_key = file("shared.key");
    std::fs::copy(file("writer.key"), &shared_key).unwrap();
    chmod(&shared_key, 0o644);
    for (conninfo, says, handshake_failed) in [
        (through("", ""), "CertificateRequired", true),
        (through("rogue.pem", "rogue.key"), "UnknownCA", true),
        (
            through("writer.pem", "other.key"),
            "sslcert and sslkey",
            false,
        ),
        (
            through("writer.pem", "shared.key"),
            "permissions 644",
            false,
        ),
        (through("missing.pem", "writer.key"), "sslcert", false),
        (
            through("writer.pem", "locked.key"),
            "encrypted sslkey",
            false,
        ),
    ] {
        seen.lock().unwrap().clear();
        assert_refused(&rt, &url, &conninfo, says);
        let seen = seen.lock().unwrap();
        assert!(seen.iter().all(Result::is_err), "{conninfo}: {seen:?}");
        assert_eq!(
            !seen.is_empty(),
            handshake_failed,
            "{conninfo}: refused by the server ({handshake_failed}) or before connecting: {seen:?}"
        );
    }
}
