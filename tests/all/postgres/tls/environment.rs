//! libpq's environment, read by the real CLI in a process of its own: `PGSSLMODE` and
//! `PGSSLROOTCERT` secure a connection whose URL says nothing of TLS (a root that does not
//! vouch for the server, or a name that does not match, is refused, where a client blind to
//! them would have connected in plain text); `PGPORT`, `PGUSER` and `PGDATABASE` fill in a
//! bare URL; and the files under `~/.postgresql/` give the roots and the client certificate a
//! server behind a proxy that asks for one receives. What `verify` prints of a database names
//! it without its password, and a server that asks for a password gets the one libpq would
//! send: the URL's, `PGPASSWORD`, or the password file's.

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

/// A fresh chain of `n` entries (and its opening) written to the server at `url`: its name.
fn written(rt: &tokio::runtime::Runtime, url: &str, name: &str, n: u64) -> String {
    let chain = fresh_chain(name);
    rt.block_on(async {
        let log = open(url, &chain, Durability::Fsync).await;
        for i in 0..n {
            log.append(probe(1, i)).await.unwrap();
        }
        log.shutdown().await.unwrap();
    });
    chain
}

/// Waits (up to 10 s) for the proxy to note the handshake a refused client left behind, then
/// forgets it: a note arriving after the clearing would be taken for the next client's.
fn noted_then_cleared(seen: &super::client_cert::Seen) {
    let until = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while seen.lock().unwrap().is_empty() && std::time::Instant::now() < until {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    seen.lock().unwrap().clear();
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
    let chain = written(&rt, &url, "env-tls", 5);
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
            &[("PGSSLCRLDIR", "/etc/crl")][..],
            "(sslcrldir from PGSSLCRLDIR)",
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
    let chain = written(&rt, &url, "env-home", 5);

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
    noted_then_cleared(&seen);
    let out = verify(bare, &chain, &home, &vars);
    assert_eq!(out.status.code(), Some(2), "{}", said(&out));
    assert!(said(&out).contains("CertificateRequired"), "{}", said(&out));

    // postgresql.crt and postgresql.key: the writer's certificate is shown, the chain read.
    std::fs::copy(pki.join("writer.pem"), defaults.join("postgresql.crt")).unwrap();
    std::fs::copy(pki.join("writer.key"), defaults.join("postgresql.key")).unwrap();
    chmod(&defaults.join("postgresql.key"), 0o600);
    noted_then_cleared(&seen);
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
    let chain = written(&rt, &url, "password", 1);
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

/// Reads a client's startup message (declining TLS if asked), asks for its password in clear
/// and reads it: the startup message, kept for the server, and the password; `None` when the
/// client gave none and went away.
async fn ask_password(
    client: &mut tokio::net::TcpStream,
) -> std::io::Result<Option<(Vec<u8>, String)>> {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let startup = loop {
        let len = client.read_u32().await? as usize;
        let mut body = vec![0; len.saturating_sub(4)];
        client.read_exact(&mut body).await?;
        if body.get(..4) == Some(&[0x04, 0xd2, 0x16, 0x2f]) {
            client.write_all(b"N").await?;
            continue;
        }
        let mut whole = (len as u32).to_be_bytes().to_vec();
        whole.extend(body);
        break whole;
    };
    // AuthenticationCleartextPassword, then the client's PasswordMessage.
    client.write_all(&[b'R', 0, 0, 0, 8, 0, 0, 0, 3]).await?;
    let Ok(b'p') = client.read_u8().await else {
        return Ok(None);
    };
    let len = client.read_u32().await? as usize;
    let mut password = vec![0; len.saturating_sub(4)];
    client.read_exact(&mut password).await?;
    password.pop(); // its terminating NUL
    Ok(Some((
        startup,
        String::from_utf8_lossy(&password).into_owned(),
    )))
}

/// What a proxy that asks for a password was given, per connection.
type Given = std::sync::Arc<std::sync::Mutex<Vec<String>>>;

/// A proxy on 127.0.0.1 in front of the server at `upstream` that, like a server with
/// `password` authentication, asks each client for its password (in clear, over the
/// loopback), records it, and then relays the session to the server, which lets it in.
async fn password_proxy(upstream: String) -> (u16, Given) {
    use tokio::io::AsyncWriteExt as _;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let given = Given::default();
    let record = std::sync::Arc::clone(&given);
    tokio::spawn(async move {
        while let Ok((mut client, _)) = listener.accept().await {
            let (record, upstream) = (std::sync::Arc::clone(&record), upstream.clone());
            tokio::spawn(async move {
                let said = match ask_password(&mut client).await {
                    Ok(Some((startup, password))) => {
                        record.lock().unwrap().push(password);
                        let Ok(mut server) = tokio::net::TcpStream::connect(&upstream).await else {
                            return;
                        };
                        if server.write_all(&startup).await.is_ok() {
                            let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                        }
                        return;
                    }
                    Ok(None) => "(no password)".to_owned(),
                    Err(e) => format!("(broken: {e})"),
                };
                record.lock().unwrap().push(said);
            });
        }
    });
    (port, given)
}

#[test]
fn a_server_that_asks_for_a_password_gets_the_one_libpq_would_send() {
    use std::os::unix::fs::PermissionsExt as _;
    let Some(url) = server() else { return };
    let _shared = SERVER.blocking_read();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let scratch = Scratch::new("pg-env-password-file");
    let chain = written(&rt, &url, "password-file", 1);
    let (upstream, user, dbname) = upstream(&url);
    let (port, given) = rt.block_on(password_proxy(upstream));
    let home = scratch.join("home");
    std::fs::create_dir_all(&home).unwrap();
    let pgpass = home.join(".pgpass");
    std::fs::write(
        &pgpass,
        format!(
            "127.0.0.1:{port}:other-db:{user}:not-this-one\n\
             127.0.0.1:{port}:{dbname}:{user}:from\\:pgpass\n"
        ),
    )
    .unwrap();
    std::fs::set_permissions(&pgpass, std::fs::Permissions::from_mode(0o600)).unwrap();
    let other = scratch.join("other-passfile");
    std::fs::write(&other, "*:*:*:*:from-PGPASSFILE\n").unwrap();
    std::fs::set_permissions(&other, std::fs::Permissions::from_mode(0o600)).unwrap();
    let other = other.display().to_string();
    let bare = format!("postgres://{user}@127.0.0.1:{port}/{dbname}");
    let with_password = format!("postgres://{user}:in-the-url@127.0.0.1:{port}/{dbname}");

    for (url, vars, sent) in [
        (&bare, &[][..], "from:pgpass"),
        (
            &bare,
            &[("PGPASSFILE", other.as_str())][..],
            "from-PGPASSFILE",
        ),
        (
            &bare,
            &[("PGPASSWORD", "from-PGPASSWORD")][..],
            "from-PGPASSWORD",
        ),
        (&with_password, &[("PGPASSWORD", "no")][..], "in-the-url"),
    ] {
        given.lock().unwrap().clear();
        let out = verify(url, &chain, &home, vars);
        assert_eq!(out.status.code(), Some(0), "{vars:?}: {}", said(&out));
        let given = given.lock().unwrap();
        assert!(!given.is_empty(), "{vars:?}: the proxy asked");
        assert!(given.iter().all(|p| p == sent), "{vars:?}: {given:?}");
    }

    // A password file others may read is not used, and the refusal says so.
    std::fs::set_permissions(&pgpass, std::fs::Permissions::from_mode(0o644)).unwrap();
    given.lock().unwrap().clear();
    let out = verify(&bare, &chain, &home, &[]);
    assert_eq!(out.status.code(), Some(2), "{}", said(&out));
    assert!(
        said(&out).contains("password missing") && said(&out).contains("permissions 644"),
        "{}",
        said(&out)
    );
    // The proxy notes the client's leaving on its own time: wait for it.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while given.lock().unwrap().is_empty() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert_eq!(*given.lock().unwrap(), ["(no password)"]);
}
