//! RFC 3161 trusted time against a real time-stamping authority: OpenSSL's `openssl ts`
//! answering over HTTP on 127.0.0.1, with a CA and a TSA certificate this test makes.

use std::io::{Read as _, Write as _};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;

use acttrace::evidence::timestamp::{
    Certificate, Crl, TimestampError, TimestampToken, request_token,
};

use crate::support::{Scratch, openssl};

const TS_CONFIG: &str = "\
[ tsa ]
default_tsa = tsa_config1
[ tsa_config1 ]
dir = .
serial = ./serial
crypto_device = builtin
signer_cert = ./tsa.crt
certs = ./ca.crt
signer_key = ./tsa.key
signer_digest = sha256
default_policy = 1.2.3.4.1
digests = sha256, sha384, sha512
accuracy = secs:1
ordering = yes
tsa_name = no
ess_cert_id_chain = no
ess_cert_id_alg = sha256
[ tsa_ext ]
basicConstraints = critical,CA:false
keyUsage = critical,digitalSignature
extendedKeyUsage = critical,timeStamping
";

/// A CA named `name` with a TSA certificate under it, in `dir`, both with RSA keys.
fn make_authority(dir: &Path, name: &str) {
    make_authority_with(dir, name, &["-newkey", "rsa:2048"], "sha256");
}

/// As [`make_authority`], with keys made by `newkey` (`openssl req` arguments), signing with
/// `digest`.
fn make_authority_with(dir: &Path, name: &str, newkey: &[&str], digest: &str) {
    make_authority_ext(dir, name, newkey, digest, "");
}

/// As [`make_authority_with`], with `tsa_ext` added to the authority certificate's extensions
/// (`openssl x509 -extfile` lines).
fn make_authority_ext(dir: &Path, name: &str, newkey: &[&str], digest: &str, tsa_ext: &str) {
    std::fs::create_dir_all(dir).unwrap();
    let config = TS_CONFIG.replace(
        "signer_digest = sha256",
        &format!("signer_digest = {digest}"),
    ) + tsa_ext;
    std::fs::write(dir.join("ts.cnf"), config).unwrap();
    std::fs::write(dir.join("serial"), "01\n").unwrap();
    let ca_subject = format!("/CN={name} CA");
    let tsa_subject = format!("/CN={name}");
    let mut ca = vec!["req", "-x509"];
    ca.extend(newkey);
    ca.extend([
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.crt",
        "-days",
        "30",
        "-subj",
        &ca_subject,
    ]);
    openssl(dir, &ca);
    let mut csr = vec!["req"];
    csr.extend(newkey);
    csr.extend([
        "-nodes",
        "-keyout",
        "tsa.key",
        "-out",
        "tsa.csr",
        "-subj",
        &tsa_subject,
    ]);
    openssl(dir, &csr);
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "tsa.csr",
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "tsa.crt",
            "-days",
            "30",
            "-extfile",
            "ts.cnf",
            "-extensions",
            "tsa_ext",
        ],
    );
}

/// An HTTP/1.1 200 answer carrying `body`.
fn ok_answer(content_type: &str, body: Vec<u8>) -> Vec<u8> {
    let mut out = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    out.extend(body);
    out
}

/// Serves `openssl ts -reply` over HTTP on 127.0.0.1 from `dir`; gives its URL.
fn serve_authority(dir: PathBuf) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/tsa", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for (n, conn) in listener.incoming().enumerate() {
            let Ok(mut conn) = conn else { continue };
            let mut data = Vec::new();
            let mut buf = [0u8; 4096];
            let body = loop {
                let Ok(got) = conn.read(&mut buf) else {
                    break None;
                };
                if got == 0 {
                    break None;
                }
                data.extend_from_slice(&buf[..got]);
                let Some(end) = data.windows(4).position(|w| w == b"\r\n\r\n") else {
                    continue;
                };
                let head = String::from_utf8_lossy(&data[..end]).to_lowercase();
                let len: usize = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .and_then(|v| v.trim().parse().ok())
                    .unwrap_or(0);
                if data.len() >= end + 4 + len {
                    break Some(data[end + 4..end + 4 + len].to_vec());
                }
            };
            let Some(body) = body else { continue };
            let (query, reply) = (format!("q{n}.tsq"), format!("r{n}.tsr"));
            std::fs::write(dir.join(&query), body).unwrap();
            let ok = Command::new("openssl")
                .current_dir(&dir)
                .args([
                    "ts",
                    "-reply",
                    "-config",
                    "ts.cnf",
                    "-queryfile",
                    &query,
                    "-out",
                    &reply,
                ])
                .output()
                .is_ok_and(|o| o.status.success());
            let answer = if ok {
                let der = std::fs::read(dir.join(&reply)).unwrap();
                ok_answer("application/timestamp-reply", der)
            } else {
                b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n".to_vec()
            };
            let _ = conn.write_all(&answer);
        }
    });
    url
}

fn certs(path: PathBuf) -> Vec<Certificate> {
    Certificate::read(path).unwrap()
}

/// An authority named `name` served on 127.0.0.1 and another one beside it, under
/// `scratch`: their directories and the first one's URL.
fn two_authorities(scratch: &Scratch, name: &str) -> (PathBuf, PathBuf, String) {
    let tsa = scratch.join("tsa");
    make_authority(&tsa, name);
    let other = scratch.join("other");
    make_authority(&other, "another TSA");
    let url = serve_authority(tsa.clone());
    (tsa, other, url)
}

#[test]
fn tokens_from_a_real_authority_verify_offline_and_catch_every_change() {
    let scratch = Scratch::new("rfc3161");
    let (tsa, other, url) = two_authorities(&scratch, "acttrace test TSA");

    let note = b"example.com/loan\n3\nDXS+pwI8eo3fAuG+HPYBHu2O2kAP0XI1AJWkMmkQJyM=\n\n\xe2\x80\x94 example.com/loan abc=\n";
    let token = request_token(&url, note).expect("a token from the authority");
    let ca = certs(tsa.join("ca.crt"));

    // Checked against the CA that issued the authority's certificate, or that certificate.
    let stamp = token.verify(note, &ca).expect("the token verifies");
    assert_eq!(stamp.authority, "acttrace test TSA");
    assert_eq!(stamp.policy, "1.2.3.4.1");
    assert!(
        stamp.time.ends_with('Z') && stamp.time.len() >= 20,
        "{}",
        stamp.time
    );
    let year: u64 = stamp.time[..4].parse().unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(
        year.abs_diff(1970 + now / 31_556_952) <= 1,
        "{}",
        stamp.time
    );
    token.verify(note, &certs(tsa.join("tsa.crt"))).unwrap();

    // OpenSSL verifies the token we keep, over the same bytes.
    std::fs::write(scratch.join("note"), note).unwrap();
    std::fs::write(scratch.join("note.tst"), token.as_der()).unwrap();
    let out = Command::new("openssl")
        .current_dir(scratch.join(""))
        .args([
            "ts",
            "-verify",
            "-token_in",
            "-in",
            "note.tst",
            "-data",
            "note",
            "-CAfile",
        ])
        .arg(tsa.join("ca.crt"))
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("Verification: OK"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // Other data, another authority's CA: refused.
    assert_eq!(
        token.verify(b"another note\n", &ca),
        Err(TimestampError::OtherData)
    );
    let untrusted = token
        .verify(note, &certs(other.join("ca.crt")))
        .unwrap_err();
    assert!(
        matches!(untrusted, TimestampError::Untrusted(_)),
        "{untrusted}"
    );

    // Every single-byte change of the token is refused, or changes nothing it says (CMS
    // leaves some fields unsigned, such as the carried CA certificate when the trusted one
    // is used). Every change of the signed time is refused.
    let der = token.as_der().to_vec();
    for at in 0..der.len() {
        let mut bent = der.clone();
        bent[at] ^= 0x01;
        if let Ok(s) = TimestampToken::from_der(&bent).and_then(|t| t.verify(note, &ca)) {
            assert_eq!(s, stamp, "a token changed at byte {at} verified as another");
        }
    }
    let time_at = der
        .windows(2)
        .position(|w| w == [0x18, 0x0f] || w == [0x18, 0x13])
        .expect("the token holds its time")
        + 2;
    for at in time_at..time_at + 14 {
        let mut bent = der.clone();
        bent[at] = if bent[at] == b'0' { b'1' } else { b'0' };
        let err = TimestampToken::from_der(&bent)
            .and_then(|t| t.verify(note, &ca))
            .unwrap_err();
        assert!(matches!(err, TimestampError::BadSignature(_)), "{err}");
    }
    // The token ends with the authority's RSA-2048 signature: every change of it is refused.
    for at in der.len() - 256..der.len() {
        let mut bent = der.clone();
        bent[at] ^= 0x80;
        let err = TimestampToken::from_der(&bent)
            .and_then(|t| t.verify(note, &ca))
            .unwrap_err();
        assert!(matches!(err, TimestampError::BadSignature(_)), "{err}");
    }
    // Every cut is an error, not a panic.
    for len in 0..der.len() {
        assert!(TimestampToken::from_der(&der[..len]).is_err());
    }

    // A second request gets a token of its own (a fresh nonce, a new serial).
    let again = request_token(&url, note).unwrap();
    assert_ne!(again.verify(note, &ca).unwrap().serial, stamp.serial);

    // Nobody listening: an error that says so.
    let closed = TcpListener::bind("127.0.0.1:0").unwrap();
    let dead = format!("http://{}/tsa", closed.local_addr().unwrap());
    drop(closed);
    let err = request_token(&dead, note).unwrap_err();
    assert!(matches!(err, TimestampError::Http(_)), "{err}");
}

/// The CLI: `checkpoint --note --tsa` writes the token beside the note; `verify --note` and
/// `check-proof` check it with `--tsa-cert`, and refuse it for an edited note or another CA.
#[cfg(feature = "cli")]
#[tokio::test]
async fn the_cli_timestamps_tree_heads_and_checks_them() {
    use crate::cli::append_decisions;

    let scratch = Scratch::new("rfc3161-cli");
    let (tsa, other, url) = two_authorities(&scratch, "acttrace test TSA");

    let log = scratch.join("audit.jsonl");
    append_decisions(&log, 5).await;
    use crate::support::run_acttrace as run;
    let os = |s: &str| std::ffi::OsString::from(s);
    let key = scratch.join("ck");
    run(&[&os("keygen"), &os("-o"), key.as_os_str()]);
    let (code, said) = run(&[
        &os("checkpoint"),
        log.as_os_str(),
        &os("--note"),
        &os("--signing-key-file"),
        scratch.join("ck.key").as_os_str(),
        &os("--tsa"),
        &os(&url),
    ]);
    assert_eq!(code, Some(0), "{said}");
    let note = scratch.join("audit.jsonl.note");
    assert!(scratch.join("audit.jsonl.note.tst").exists(), "{said}");
    let verifier = crate::support::verifier_key(&said);

    // `verify --note` with the token checked against `ca`, and `extra` (the token, or CRLs).
    let verify_with = |ca: &Path, extra: [&std::ffi::OsStr; 2]| {
        run(&[
            &os("verify"),
            log.as_os_str(),
            &os("--note"),
            note.as_os_str(),
            &os("--verifier"),
            &os(&verifier),
            &os("--tsa-cert"),
            ca.as_os_str(),
            extra[0],
            extra[1],
        ])
    };
    let token = scratch.join("audit.jsonl.note.tst");
    let verify = |ca: &Path| verify_with(ca, [&os("--timestamp"), token.as_os_str()]);
    let (code, said) = verify(&tsa.join("ca.crt"));
    assert_eq!(code, Some(0), "{said}");
    assert!(
        said.contains("timestamp verified: the tree head existed at 20"),
        "{said}"
    );
    assert!(said.contains("acttrace test TSA"), "{said}");

    let (code, said) = verify(&other.join("ca.crt"));
    assert_eq!(code, Some(1), "{said}");
    assert!(said.contains("timestamp invalid"), "{said}");

    // With the CA's revocation lists: before and after it revokes the authority.
    make_crls(&tsa);
    let with_crl = |crl: &str| {
        verify_with(
            &tsa.join("ca.crt"),
            [&os("--tsa-crl"), tsa.join(crl).as_os_str()],
        )
    };
    let (code, said) = with_crl("clean.crl");
    assert_eq!(code, Some(0), "{said}");
    assert!(said.contains("; not revoked)"), "{said}");
    let (code, said) = with_crl("revoked.crl");
    assert_eq!(code, Some(1), "{said}");
    assert!(
        said.contains("revoked: acttrace test TSA was revoked"),
        "{said}"
    );

    // A later tree head of the same log verifies, but the token is not for it.
    let (code, said) = run(&[
        &os("prove"),
        log.as_os_str(),
        &os("--seq"),
        &os("2"),
        &os("-o"),
        scratch.join("entry.proof").as_os_str(),
    ]);
    assert_eq!(code, Some(0), "{said}");
    let check = |proof: &Path, note: &Path| {
        run(&[
            &os("check-proof"),
            proof.as_os_str(),
            &os("--note"),
            note.as_os_str(),
            &os("--verifier"),
            &os(&verifier),
            &os("--tsa-cert"),
            tsa.join("ca.crt").as_os_str(),
            &os("--timestamp"),
            scratch.join("audit.jsonl.note.tst").as_os_str(),
        ])
    };
    let (code, said) = check(&scratch.join("entry.proof"), &note);
    assert_eq!(code, Some(0), "{said}");
    assert!(
        said.contains("valid: entry 2") && said.contains("timestamp verified"),
        "{said}"
    );

    append_decisions(&log, 1).await;
    let later = scratch.join("later.note");
    let (code, said) = run(&[
        &os("checkpoint"),
        log.as_os_str(),
        &os("--note"),
        &os("-o"),
        later.as_os_str(),
        &os("--signing-key-file"),
        scratch.join("ck.key").as_os_str(),
    ]);
    assert_eq!(code, Some(0), "{said}");
    let (code, said) = run(&[
        &os("prove"),
        log.as_os_str(),
        &os("--seq"),
        &os("2"),
        &os("--note"),
        later.as_os_str(),
        &os("-o"),
        scratch.join("later.proof").as_os_str(),
    ]);
    assert_eq!(code, Some(0), "{said}");
    let (code, said) = check(&scratch.join("later.proof"), &later);
    assert_eq!(code, Some(1), "{said}");
    assert!(said.contains("timestamp invalid"), "{said}");
}

/// Revocation lists for the CA in `dir` (made by [`make_authority`]), as `openssl ca` keeps
/// and signs them: `clean.crl` before the authority's certificate is revoked, `revoked.crl`
/// after.
fn make_crls(dir: &Path) {
    std::fs::write(
        dir.join("ca.cnf"),
        "[ ca ]\ndefault_ca = ca_default\n[ ca_default ]\ndatabase = ./index.txt\n\
         crlnumber = ./crlnumber\ndefault_md = sha256\ndefault_crl_days = 30\n",
    )
    .unwrap();
    std::fs::write(dir.join("index.txt"), "").unwrap();
    std::fs::write(dir.join("crlnumber"), "01\n").unwrap();
    let ca = ["-config", "ca.cnf", "-keyfile", "ca.key", "-cert", "ca.crt"];
    let gencrl = |out: &str| {
        let mut args = vec!["ca", "-gencrl", "-out", out];
        args.extend(ca);
        openssl(dir, &args);
    };
    gencrl("clean.crl");
    let mut revoke = vec!["ca", "-revoke", "tsa.crt"];
    revoke.extend(ca);
    openssl(dir, &revoke);
    gencrl("revoked.crl");
}

/// Given revocation lists, a token verifies while the authority's certificate is not revoked
/// and is refused once its CA has revoked it; a list from another CA, an altered one, or none,
/// cannot vouch for it. OpenSSL reads the same lists the same way.
#[test]
fn a_revoked_authority_is_refused_when_revocation_lists_are_given() {
    let scratch = Scratch::new("rfc3161-crl");
    let (tsa, other, url) = two_authorities(&scratch, "acttrace CRL TSA");
    let note = b"example.com/loan\n3\nDXS+pwI8eo3fAuG+HPYBHu2O2kAP0XI1AJWkMmkQJyM=\n";
    let token = request_token(&url, note).expect("a token from the authority");
    make_crls(&tsa);
    make_crls(&other);
    let ca = certs(tsa.join("ca.crt"));
    let crl = |dir: &Path, name: &str| Crl::read(dir.join(name)).unwrap();

    let stamp = token
        .verify_with_crls(note, &ca, &crl(&tsa, "clean.crl"))
        .expect("not revoked");
    assert_eq!(stamp.authority, "acttrace CRL TSA");

    let err = token
        .verify_with_crls(note, &ca, &crl(&tsa, "revoked.crl"))
        .unwrap_err();
    assert!(matches!(err, TimestampError::Revoked(_)), "{err}");
    assert!(
        err.to_string()
            .contains("acttrace CRL TSA was revoked by acttrace CRL TSA CA at 20"),
        "{err}"
    );
    // Without lists, revocation is not asked about.
    token.verify(note, &ca).unwrap();

    for (lists, why) in [
        (crl(&other, "revoked.crl"), "another CA's list"),
        (Vec::new(), "no list"),
        (
            {
                let mut bytes = crl(&tsa, "revoked.crl").remove(0).as_der().to_vec();
                let last = bytes.len() - 1;
                bytes[last] ^= 1; // in the signature
                vec![Crl::from_der(&bytes).unwrap()]
            },
            "an altered list",
        ),
    ] {
        let err = token.verify_with_crls(note, &ca, &lists).unwrap_err();
        assert!(
            matches!(&err, TimestampError::Untrusted(m) if m.contains("no revocation list signed by acttrace CRL TSA CA")),
            "{why}: {err}"
        );
    }

    // OpenSSL agrees on both lists.
    let verify = |crl: &str| {
        Command::new("openssl")
            .current_dir(tsa.join(""))
            .args([
                "verify",
                "-crl_check",
                "-CAfile",
                "ca.crt",
                "-CRLfile",
                crl,
                "tsa.crt",
            ])
            .output()
            .unwrap()
            .status
            .success()
    };
    assert!(verify("clean.crl"));
    assert!(!verify("revoked.crl"));
}

/// A running log's published tree heads carry tokens from the authority, saved beside the
/// note; an authority that cannot be reached stops publication with an error, not silently.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn published_tree_heads_are_timestamped() {
    use acttrace::chain::Entry;
    use acttrace::chain::checkpoint::CheckpointKey;
    use acttrace::evidence::publish::TreeHeads;
    use acttrace::json::Map;
    use acttrace::store::AuditLog;

    let scratch = Scratch::new("rfc3161-publish");
    let tsa = scratch.join("tsa");
    make_authority(&tsa, "acttrace test TSA");
    let url = serve_authority(tsa.clone());
    let ca = certs(tsa.join("ca.crt"));

    let log = AuditLog::open("loan-triage", scratch.join("audit.jsonl"))
        .await
        .unwrap();
    let note_path = scratch.join("audit.jsonl.note");
    let key = CheckpointKey::generate().unwrap();
    let heads = log
        .publish_tree_heads(
            TreeHeads::new("example.com/loan", key.clone())
                .timestamp_by(&url)
                .save_to(&note_path),
        )
        .await
        .unwrap();
    log.append(Entry::new("decision", Map::new()))
        .await
        .unwrap();
    let published = heads.publish_now().await.unwrap();
    assert_eq!(published.head.size, 2);
    let token = published.timestamp.as_ref().expect("a token");
    token.verify(published.note.as_bytes(), &ca).unwrap();
    assert_eq!(std::fs::read_to_string(&note_path).unwrap(), published.note);
    let saved = std::fs::read(scratch.join("audit.jsonl.note.tst")).unwrap();
    TimestampToken::from_der(&saved)
        .unwrap()
        .verify(published.note.as_bytes(), &ca)
        .unwrap();

    let closed = TcpListener::bind("127.0.0.1:0").unwrap();
    let dead = format!("http://{}/tsa", closed.local_addr().unwrap());
    drop(closed);
    let refused = log
        .publish_tree_heads(TreeHeads::new("example.com/loan", key).timestamp_by(dead))
        .await
        .unwrap_err();
    assert!(
        refused.to_string().contains("cannot timestamp"),
        "{refused}"
    );
    log.shutdown().await.unwrap();
}

/// Authorities with elliptic-curve keys (ECDSA on P-256 with SHA-256, on P-384 with SHA-384):
/// their tokens verify, and a changed signature or another CA is refused.
#[test]
fn tokens_signed_with_ecdsa_verify() {
    let scratch = Scratch::new("rfc3161-ecdsa");
    for (curve, digest) in [("prime256v1", "sha256"), ("secp384r1", "sha384")] {
        let dir = scratch.join(curve);
        let param = format!("ec_paramgen_curve:{curve}");
        let newkey = ["-newkey", "ec", "-pkeyopt", param.as_str()];
        make_authority_with(&dir, &format!("{curve} TSA"), &newkey, digest);
        let url = serve_authority(dir.clone());
        let note = format!("example.com/loan\n7\n{curve}\n").into_bytes();
        let token = request_token(&url, &note).expect("a token");
        let stamp = token
            .verify(&note, &certs(dir.join("ca.crt")))
            .unwrap_or_else(|e| panic!("{curve}: {e}"));
        assert_eq!(stamp.authority, format!("{curve} TSA"));
        let mut bent = token.as_der().to_vec();
        let last = bent.len() - 3;
        bent[last] ^= 0x01;
        let err = TimestampToken::from_der(&bent)
            .and_then(|t| t.verify(&note, &certs(dir.join("ca.crt"))))
            .unwrap_err();
        assert!(
            matches!(err, TimestampError::BadSignature(_)),
            "{curve}: {err}"
        );
        assert!(token.verify(b"other", &certs(dir.join("ca.crt"))).is_err());
    }
    // One authority's CA does not vouch for the other's.
    let p256 = certs(scratch.join("prime256v1").join("ca.crt"));
    let url = serve_authority(scratch.join("secp384r1"));
    let token = request_token(&url, b"note\n").unwrap();
    let err = token.verify(b"note\n", &p256).unwrap_err();
    assert!(matches!(err, TimestampError::Untrusted(_)), "{err}");
}

/// Serves whatever file is at `path` when asked (404 when there is none) over HTTP on
/// 127.0.0.1, as a CA publishes its revocation list; gives its URL.
fn serve_file(path: PathBuf) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/ca.crl", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { continue };
            let mut data = Vec::new();
            let mut buf = [0u8; 1024];
            while !data.windows(4).any(|w| w == b"\r\n\r\n") {
                match conn.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => data.extend_from_slice(&buf[..n]),
                }
            }
            let answer = match std::fs::read(&path) {
                Ok(body) => ok_answer("application/pkix-crl", body),
                Err(_) => b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n".to_vec(),
            };
            let _ = conn.write_all(&answer);
        }
    });
    url
}

/// The revocation list the authority's certificate names (its CRL distribution point, served
/// on 127.0.0.1) is fetched at verification: the token verifies while the list is clean and is
/// refused once the CA has published the certificate revoked; no list to fetch, or one only
/// at an `ldap://` address, is an error that names it. The CLI does the same with
/// `--tsa-fetch-crls`.
#[tokio::test]
async fn revocation_lists_are_fetched_from_where_the_certificate_says() {
    let scratch = Scratch::new("rfc3161-fetch-crl");
    let tsa = scratch.join("tsa");
    let served = tsa.join("served.crl");
    let crl_url = serve_file(served.clone());
    let rsa = ["-newkey", "rsa:2048"];
    let cdp = format!("crlDistributionPoints = URI:{crl_url}\n");
    make_authority_ext(&tsa, "fetching TSA", &rsa, "sha256", &cdp);
    make_crls(&tsa);
    let url = serve_authority(tsa.clone());
    let note = b"acttrace.example/log\n7\nroot\n";
    let token = request_token(&url, note).unwrap();
    let ca = certs(tsa.join("ca.crt"));

    std::fs::copy(tsa.join("clean.crl"), &served).unwrap();
    let lists = token.fetch_crls().unwrap();
    assert_eq!(lists, Crl::read(tsa.join("clean.crl")).unwrap());
    token.verify_with_crls(note, &ca, &lists).unwrap();

    std::fs::copy(tsa.join("revoked.crl"), &served).unwrap();
    let lists = token.fetch_crls().unwrap();
    let err = token.verify_with_crls(note, &ca, &lists).unwrap_err();
    assert!(matches!(err, TimestampError::Revoked(_)), "{err}");

    std::fs::remove_file(&served).unwrap();
    let err = token.fetch_crls().unwrap_err();
    assert!(
        err.to_string().contains(&crl_url) && err.to_string().contains("404"),
        "{err}"
    );

    // A certificate that names its list only at an ldap:// address.
    let ldap = scratch.join("ldap");
    let only_ldap = "crlDistributionPoints = URI:ldap://127.0.0.1/cn=ca\n";
    make_authority_ext(&ldap, "ldap TSA", &rsa, "sha256", only_ldap);
    let ldap_url = serve_authority(ldap);
    let err = request_token(&ldap_url, note)
        .unwrap()
        .fetch_crls()
        .unwrap_err();
    assert!(err.to_string().contains("not an http:// address"), "{err}");
    // One that names none: nothing to fetch, and the verification says no list covers it.
    let plain = scratch.join("plain");
    make_authority(&plain, "plain TSA");
    let plain_token = request_token(&serve_authority(plain.clone()), note).unwrap();
    assert!(plain_token.fetch_crls().unwrap().is_empty());
    let err = plain_token
        .verify_with_crls(note, &certs(plain.join("ca.crt")), &[])
        .unwrap_err();
    assert!(err.to_string().contains("no revocation list"), "{err}");

    #[cfg(feature = "cli")]
    {
        use crate::cli::append_decisions;
        use crate::support::run_acttrace as run;
        let log = scratch.join("audit.jsonl");
        append_decisions(&log, 3).await;
        let (code, said) = run(&["keygen", "-o", scratch.join("ck").to_str().unwrap()]);
        assert_eq!(code, Some(0), "{said}");
        let (code, said) = run(&[
            "checkpoint",
            log.to_str().unwrap(),
            "--note",
            "--signing-key-file",
            scratch.join("ck.key").to_str().unwrap(),
            "--tsa",
            &url,
        ]);
        assert_eq!(code, Some(0), "{said}");
        let verifier = crate::support::verifier_key(&said);
        let verify = || {
            run(&[
                "verify",
                log.to_str().unwrap(),
                "--note",
                scratch.join("audit.jsonl.note").to_str().unwrap(),
                "--verifier",
                &verifier,
                "--tsa-cert",
                tsa.join("ca.crt").to_str().unwrap(),
                "--tsa-fetch-crls",
            ])
        };
        std::fs::copy(tsa.join("clean.crl"), &served).unwrap();
        let (code, said) = verify();
        assert_eq!(code, Some(0), "{said}");
        assert!(
            said.contains("not revoked, by the lists its issuers publish now"),
            "{said}"
        );
        std::fs::copy(tsa.join("revoked.crl"), &served).unwrap();
        let (code, said) = verify();
        assert_eq!(code, Some(1), "{said}");
        assert!(said.contains("fetching TSA was revoked"), "{said}");
    }
}
