//! TLS to PostgreSQL: libpq's `sslmode`, `sslrootcert`, `sslcert`, `sslkey` and `sslcrl`
//! connection parameters, read here because the driver knows only `disable`, `prefer` and
//! `require`, no root certificates, no client certificates and no revocation lists.
//!
//! | `sslmode` | here |
//! |---|---|
//! | absent, `disable`, `prefer` | no TLS (`prefer` does not encrypt here) |
//! | `verify-full` | TLS; the server's certificate chain and its name are checked |
//! | `verify-ca` | TLS; the chain is checked, not the name |
//! | `require` with `sslrootcert` | as `verify-ca`, as libpq does when it has a root file |
//! | `require` alone | refused: it would encrypt without checking who answers |
//!
//! The roots are `sslrootcert=FILE` (PEM) or, when it is absent or `system`, the system's.
//! `sslcert=FILE` and `sslkey=FILE` (PEM, given together) are the client's certificate (its
//! chain) and private key, for servers that authenticate clients by certificate; as libpq
//! does, a key file that its group or others may read is refused; so is an encrypted key
//! (`sslpassword`). `sslcrl=FILE` (PEM or DER) is checked as libpq checks it: every
//! certificate on the server's chain must be covered by a list from its issuer that is not out
//! of date, and not be on it. `sslcrldir=DIR` adds the lists of every file in the directory
//! (libpq's hashed names, or any others).
//! `ssl_min_protocol_version` and `ssl_max_protocol_version` (`TLSv1` to `TLSv1.3`) narrow the
//! versions offered; this client speaks TLS 1.2 and 1.3 only, so a range left empty is refused.
//!
//! What the string leaves out is taken as libpq takes it: from `PGSSLMODE`, `PGSSLROOTCERT`,
//! `PGSSLCERT`, `PGSSLKEY` and `PGSSLCRL`, then, for a connection that asks for TLS, from the files under
//! `~/.postgresql/` that exist: `root.crt` (the roots), `postgresql.crt` and `postgresql.key`
//! (the client's certificate and key). A refusal says which values came from there.
//!
//! TLS needs the `postgres-tls` feature; without it a connection string that asks for TLS is
//! refused, never served in plain text.
//!
//! Uses the connection's environment ([`super::env`]) and nothing else of the crate.

use std::path::{Path, PathBuf};

use super::env::Env;

/// How a connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// No TLS.
    Plain,
    /// TLS, the certificate chain checked against the roots, not the server's name.
    VerifyCa,
    /// TLS, the chain and the server's name checked.
    VerifyFull,
}

/// The roots a server's certificate chain must lead to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Roots {
    /// The system's trusted roots.
    System,
    /// The certificates in a PEM file.
    File(PathBuf),
}

/// The certificate a client shows a server that asks for one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Identity {
    /// PEM: the client's certificate, then any intermediates.
    pub(crate) cert: PathBuf,
    /// PEM: its private key.
    pub(crate) key: PathBuf,
}

/// A connection string, read for TLS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Target {
    /// The connection string as the driver reads it: the TLS parameters taken out,
    /// `sslmode=require` put in when TLS is asked for.
    pub(crate) conninfo: String,
    pub(crate) mode: Mode,
    pub(crate) roots: Roots,
    pub(crate) identity: Option<Identity>,
    /// `sslcrl`: revocation lists the server's chain is checked against.
    pub(crate) crl: Option<PathBuf>,
    /// `sslcrldir`: a directory of more of them.
    pub(crate) crl_dir: Option<PathBuf>,
    /// The TLS versions to offer, as `1.x` minor numbers: at least 2, at most 3.
    pub(crate) versions: (u8, u8),
}

/// Why an encrypted client key is refused.
const ENCRYPTED_KEY: &str = "an encrypted sslkey (sslpassword) is not supported: give the key \
    unencrypted (openssl pkey -in KEY -out PLAIN), in a file only its owner can read";

/// The TLS parameters of a connection string, taken out of it.
#[derive(Debug, Default)]
struct Params {
    sslmode: Option<String>,
    sslrootcert: Option<String>,
    sslcert: Option<String>,
    sslkey: Option<String>,
    sslpassword: Option<String>,
    sslcrl: Option<String>,
    sslcrldir: Option<String>,
    ssl_min_protocol_version: Option<String>,
    ssl_max_protocol_version: Option<String>,
}

impl Params {
    const KEYS: [&str; 9] = [
        "sslmode",
        "sslrootcert",
        "sslcert",
        "sslkey",
        "sslpassword",
        "sslcrl",
        "sslcrldir",
        "ssl_min_protocol_version",
        "ssl_max_protocol_version",
    ];

    fn get(&self, key: &str) -> Option<&str> {
        match key {
            "sslmode" => self.sslmode.as_deref(),
            "sslrootcert" => self.sslrootcert.as_deref(),
            "sslcert" => self.sslcert.as_deref(),
            "sslkey" => self.sslkey.as_deref(),
            "sslcrl" => self.sslcrl.as_deref(),
            "sslcrldir" => self.sslcrldir.as_deref(),
            "ssl_min_protocol_version" => self.ssl_min_protocol_version.as_deref(),
            "ssl_max_protocol_version" => self.ssl_max_protocol_version.as_deref(),
            _ => self.sslpassword.as_deref(),
        }
    }

    /// Fills in what the string left out, as libpq does: from the environment, then, for a
    /// connection that asks for TLS, from the default files under `~/.postgresql/` that
    /// exist. Gives where each value filled in came from. (The environment's files are not
    /// taken for a connection that says it wants no TLS: they are defaults, as in libpq; a
    /// string that names one without asking for TLS is refused as unclear.)
    fn fill(&mut self, env: Env<'_>) -> Vec<String> {
        let mut from = Vec::new();
        for (key, var) in [
            ("sslmode", "PGSSLMODE"),
            ("sslrootcert", "PGSSLROOTCERT"),
            ("sslcert", "PGSSLCERT"),
            ("sslkey", "PGSSLKEY"),
            ("sslcrl", "PGSSLCRL"),
            ("sslcrldir", "PGSSLCRLDIR"),
            ("ssl_min_protocol_version", "PGSSLMINPROTOCOLVERSION"),
            ("ssl_max_protocol_version", "PGSSLMAXPROTOCOLVERSION"),
        ] {
            let plain = matches!(self.sslmode.as_deref(), Some("disable" | "prefer"));
            if self.get(key).is_none()
                && !(plain && key != "sslmode")
                && let Some(value) = env(var)
            {
                self.take(key, value);
                from.push(format!("{key} from {var}"));
            }
        }
        let tls = matches!(
            self.sslmode.as_deref(),
            Some("require" | "verify-ca" | "verify-full")
        );
        if let (true, Some(home)) = (tls, env("HOME")) {
            let dir = Path::new(&home).join(".postgresql");
            for (key, file) in [
                ("sslrootcert", "root.crt"),
                ("sslcert", "postgresql.crt"),
                ("sslkey", "postgresql.key"),
            ] {
                // The default key only goes with a certificate, as in libpq.
                let wanted = key != "sslkey" || self.sslcert.is_some();
                let path = dir.join(file);
                if wanted && self.get(key).is_none() && path.exists() {
                    let shown = path.display().to_string();
                    from.push(format!("{key} {shown} by default"));
                    self.take(key, shown);
                }
            }
        }
        from
    }

    /// Keeps `value` if `key` is one of ours.
    fn take(&mut self, key: &str, value: String) -> bool {
        let slot = match key {
            "sslmode" => &mut self.sslmode,
            "sslrootcert" => &mut self.sslrootcert,
            "sslcert" => &mut self.sslcert,
            "sslkey" => &mut self.sslkey,
            "sslpassword" => &mut self.sslpassword,
            "sslcrl" => &mut self.sslcrl,
            "sslcrldir" => &mut self.sslcrldir,
            "ssl_min_protocol_version" => &mut self.ssl_min_protocol_version,
            "ssl_max_protocol_version" => &mut self.ssl_max_protocol_version,
            _ => return false,
        };
        *slot = Some(value);
        true
    }
}

impl Target {
    /// Reads the TLS parameters from a `postgres://` URL's query or a `key=value` connection
    /// string, and from `env` for those it leaves out.
    pub(crate) fn parse(conninfo: &str, env: Env<'_>) -> Result<Self, String> {
        let (rest, mut params) = take_params(conninfo)?;
        let from = params.fill(env);
        Self::of(rest, params).map_err(|e| match from.is_empty() {
            true => e,
            false => format!("{e} ({})", from.join(", ")),
        })
    }

    fn of(rest: String, params: Params) -> Result<Self, String> {
        if params.sslpassword.is_some() {
            return Err(ENCRYPTED_KEY.to_owned());
        }
        let roots = match params.sslrootcert.as_deref() {
            None | Some("system") => Roots::System,
            Some(path) => Roots::File(PathBuf::from(path)),
        };
        let mode = mode(&params)?;
        let versions = versions(&params)?;
        let identity = match (params.sslcert, params.sslkey) {
            (None, None) => None,
            (Some(cert), Some(key)) => Some(Identity {
                cert: cert.into(),
                key: key.into(),
            }),
            (Some(_), None) => return Err("sslcert is given without sslkey".to_owned()),
            (None, Some(_)) => return Err("sslkey is given without sslcert".to_owned()),
        };
        if mode != Mode::Plain && !cfg!(feature = "postgres-tls") {
            return Err(
                "TLS to PostgreSQL (sslmode=verify-full, verify-ca) needs acttrace's \
                 `postgres-tls` feature; this build has none"
                    .to_owned(),
            );
        }
        let conninfo = match mode {
            Mode::Plain => match params.sslmode.as_deref() {
                Some("disable") => with_param(&rest, "sslmode", "disable"),
                _ => rest,
            },
            Mode::VerifyCa | Mode::VerifyFull => with_param(&rest, "sslmode", "require"),
        };
        Ok(Self {
            conninfo,
            mode,
            roots,
            identity,
            crl: params.sslcrl.map(PathBuf::from),
            crl_dir: params.sslcrldir.map(PathBuf::from),
            versions,
        })
    }
}

/// The TLS versions `ssl_min_protocol_version` and `ssl_max_protocol_version` leave of the
/// two this client speaks (1.2 and 1.3), as minor numbers, or why none is left.
fn versions(params: &Params) -> Result<(u8, u8), String> {
    let minor = |key: &str, value: &Option<String>, default: u8| match value.as_deref() {
        None => Ok(default),
        Some("TLSv1") => Ok(0),
        Some("TLSv1.1") => Ok(1),
        Some("TLSv1.2") => Ok(2),
        Some("TLSv1.3") => Ok(3),
        Some(other) => Err(format!(
            "{key}={other} is not one of TLSv1, TLSv1.1, TLSv1.2, TLSv1.3"
        )),
    };
    let min = minor(
        "ssl_min_protocol_version",
        &params.ssl_min_protocol_version,
        2,
    )?
    .max(2);
    let max = minor(
        "ssl_max_protocol_version",
        &params.ssl_max_protocol_version,
        3,
    )?;
    if max < min {
        return Err(format!(
            "no TLS version is left between ssl_min_protocol_version and \
             ssl_max_protocol_version (this client speaks TLS 1.2 and 1.3): TLSv1.{min} to \
             TLSv1.{max}"
        ));
    }
    Ok((min, max))
}

/// The mode `params` ask for, or why they are refused.
fn mode(params: &Params) -> Result<Mode, String> {
    let file = [
        ("sslrootcert", &params.sslrootcert),
        ("sslcert", &params.sslcert),
        ("sslkey", &params.sslkey),
        ("sslcrl", &params.sslcrl),
        ("sslcrldir", &params.sslcrldir),
        ("ssl_min_protocol_version", &params.ssl_min_protocol_version),
        ("ssl_max_protocol_version", &params.ssl_max_protocol_version),
    ]
    .into_iter()
    .find_map(|(key, value)| value.as_ref().map(|_| key));
    Ok(match (params.sslmode.as_deref(), &params.sslrootcert) {
        (None | Some("disable" | "prefer"), _) => match file {
            None => Mode::Plain,
            Some(key) => {
                return Err(format!(
                    "{key} is given but sslmode does not ask for TLS: add \
                     sslmode=verify-full (or verify-ca)"
                ));
            }
        },
        (Some("require"), None) => {
            return Err(
                "sslmode=require would encrypt without checking the server's \
                 certificate: use sslmode=verify-full (the system's roots, or \
                 sslrootcert=FILE), or verify-ca with sslrootcert=FILE"
                    .to_owned(),
            );
        }
        (Some("require" | "verify-ca"), _) => Mode::VerifyCa,
        (Some("verify-full"), _) => Mode::VerifyFull,
        (Some(other), _) => {
            return Err(format!(
                "sslmode={other} is not one of disable, prefer, require, verify-ca, \
                 verify-full"
            ));
        }
    })
}

fn is_url(conninfo: &str) -> bool {
    conninfo.starts_with("postgres://") || conninfo.starts_with("postgresql://")
}

/// The connection string without its TLS parameters, and their values.
fn take_params(conninfo: &str) -> Result<(String, Params), String> {
    let mut params = Params::default();
    if is_url(conninfo) {
        let (base, query) = conninfo.split_once('?').unwrap_or((conninfo, ""));
        let mut kept = Vec::new();
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            if !params.take(&decode(key)?, decode(value)?) {
                kept.push(pair);
            }
        }
        let rest = match kept.is_empty() {
            true => base.to_owned(),
            false => format!("{base}?{}", kept.join("&")),
        };
        return Ok((rest, params));
    }
    // `key=value` words, values possibly quoted: ours are cut out of the string, the rest is
    // left exactly as written.
    let mut rest = String::with_capacity(conninfo.len());
    for (start, end) in words(conninfo) {
        let word = &conninfo[start..end];
        let (key, value) = word.split_once('=').unwrap_or((word, ""));
        if Params::KEYS.contains(&key) {
            params.take(
                key,
                unquote(value).ok_or_else(|| format!("{key}: an unclosed quote"))?,
            );
        } else {
            if !rest.is_empty() {
                rest.push(' ');
            }
            rest.push_str(word);
        }
    }
    Ok((rest, params))
}

/// Where each word of a `key=value` string starts and ends (spaces inside quotes, and
/// backslash escapes, belong to their word).
fn words(s: &str) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let (mut start, mut quoted, mut escaped) = (None, false, false);
    for (i, c) in s.char_indices() {
        if escaped {
            escaped = false;
            continue;
        }
        match c {
            '\\' => escaped = true,
            '\'' => quoted = !quoted,
            c if c.is_whitespace() && !quoted => {
                if let Some(st) = start.take() {
                    out.push((st, i));
                }
                continue;
            }
            _ => {}
        }
        start.get_or_insert(i);
    }
    if let Some(st) = start {
        out.push((st, s.len()));
    }
    out
}

/// A `key=value` string's value as libpq reads it: single quotes around it dropped, each
/// backslash escape replaced by the character it escapes. `None` if a quote is left open.
fn unquote(raw: &str) -> Option<String> {
    let mut out = String::with_capacity(raw.len());
    let (mut quoted, mut chars) = (false, raw.chars());
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.push(chars.next()?),
            '\'' => quoted = !quoted,
            c => out.push(c),
        }
    }
    (!quoted).then_some(out)
}

fn with_param(conninfo: &str, key: &str, value: &str) -> String {
    if is_url(conninfo) {
        let sep = if conninfo.contains('?') { '&' } else { '?' };
        format!("{conninfo}{sep}{key}={value}")
    } else if conninfo.is_empty() {
        format!("{key}={value}")
    } else {
        format!("{conninfo} {key}={value}")
    }
}

/// A URL query's percent-decoding.
fn decode(s: &str) -> Result<String, String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = bytes
                    .get(i + 1..i + 3)
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                    .ok_or("a malformed %-escape in the connection URL")?;
                out.push(hex);
                i += 3;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).map_err(|_| "a %-escape in the connection URL is not UTF-8".to_owned())
}

#[cfg(feature = "postgres-tls")]
pub(crate) use connector::connector;

#[cfg(feature = "postgres-tls")]
mod connector {
    use std::sync::Arc;

    use rustls::client::WebPkiServerVerifier;
    use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
    use rustls::pki_types::pem::PemObject as _;
    use rustls::pki_types::{
        CertificateDer, CertificateRevocationListDer, PrivateKeyDer, ServerName, UnixTime,
    };
    use rustls::{CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore};
    use tokio_postgres_rustls::MakeRustlsConnect;

    use super::{Identity, Mode, Roots, Target};

    /// The TLS connector `target` asks for: rustls (with *ring*), its roots, and the checks
    /// of its mode.
    pub(crate) fn connector(target: &Target) -> Result<MakeRustlsConnect, String> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut roots = RootCertStore::empty();
        match &target.roots {
            Roots::File(path) => {
                let bad =
                    |e: &dyn std::fmt::Display| format!("sslrootcert {}: {e}", path.display());
                for cert in CertificateDer::pem_file_iter(path).map_err(|e| bad(&e))? {
                    roots.add(cert.map_err(|e| bad(&e))?).map_err(|e| bad(&e))?;
                }
                if roots.is_empty() {
                    return Err(bad(&"no certificate in the file"));
                }
            }
            Roots::System => {
                let found = rustls_native_certs::load_native_certs();
                let (added, _) = roots.add_parsable_certificates(found.certs);
                if added == 0 {
                    return Err("no system root certificates were found: give \
                                sslrootcert=FILE"
                        .to_owned());
                }
            }
        }
        let roots = Arc::new(roots);
        let (min, max) = target.versions;
        let versions: Vec<&'static rustls::SupportedProtocolVersion> =
            [(2, &rustls::version::TLS12), (3, &rustls::version::TLS13)]
                .into_iter()
                .filter(|(minor, _)| (min..=max).contains(minor))
                .map(|(_, version)| version)
                .collect();
        let builder = ClientConfig::builder_with_provider(Arc::clone(&provider))
            .with_protocol_versions(&versions)
            .map_err(|e| e.to_string())?;
        // The chain checked against the roots and, with `sslcrl` or `sslcrldir`, as libpq
        // checks it: every certificate covered by a current list from its issuer, and not on it.
        let mut chain = WebPkiServerVerifier::builder_with_provider(roots, provider);
        let mut lists = Vec::new();
        if let Some(path) = &target.crl {
            lists.extend(load_crls(path, "sslcrl")?);
        }
        if let Some(dir) = &target.crl_dir {
            lists.extend(load_crl_dir(dir)?);
        }
        if !lists.is_empty() {
            chain = chain.with_crls(lists).enforce_revocation_expiration();
        }
        let chain = chain.build().map_err(|e| e.to_string())?;
        let builder = match target.mode {
            Mode::VerifyFull => builder.with_webpki_verifier(chain),
            Mode::VerifyCa => builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(AnyName(chain))),
            Mode::Plain => return Err("no TLS was asked for".to_owned()),
        };
        let config = match &target.identity {
            None => builder.with_no_client_auth(),
            Some(identity) => {
                let (chain, key) = load_identity(identity)?;
                builder
                    .with_client_auth_cert(chain, key)
                    .map_err(|e| format!("sslcert and sslkey: {e}"))?
            }
        };
        Ok(MakeRustlsConnect::new(config))
    }

    /// The revocation lists in every file of `dir` (none at all is refused).
    fn load_crl_dir(
        dir: &std::path::Path,
    ) -> Result<Vec<CertificateRevocationListDer<'static>>, String> {
        let bad = |e: &dyn std::fmt::Display| format!("sslcrldir {}: {e}", dir.display());
        let mut lists = Vec::new();
        for entry in std::fs::read_dir(dir).map_err(|e| bad(&e))? {
            let path = entry.map_err(|e| bad(&e))?.path();
            // What is not a file of lists is not one of them, as OpenSSL passes it over.
            if path.is_file()
                && let Ok(found) = load_crls(&path, "sslcrldir")
            {
                lists.extend(found);
            }
        }
        match lists.is_empty() {
            false => Ok(lists),
            true => Err(bad(&"no revocation list in the directory")),
        }
    }

    /// The revocation lists in a file: PEM blocks, or one DER list.
    fn load_crls(
        path: &std::path::Path,
        key: &str,
    ) -> Result<Vec<CertificateRevocationListDer<'static>>, String> {
        let bad = |e: &dyn std::fmt::Display| format!("{key} {}: {e}", path.display());
        let bytes = std::fs::read(path).map_err(|e| bad(&e))?;
        let lists = CertificateRevocationListDer::pem_slice_iter(&bytes)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| bad(&e))?;
        match lists.is_empty() {
            false => Ok(lists),
            true if bytes.first() == Some(&0x30) => Ok(vec![bytes.into()]),
            true => Err(bad(&"no revocation list in the file")),
        }
    }

    /// The client's certificate chain and private key, read from their PEM files.
    fn load_identity(
        identity: &Identity,
    ) -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>), String> {
        let cert = &identity.cert;
        let bad = |e: &dyn std::fmt::Display| format!("sslcert {}: {e}", cert.display());
        let chain = CertificateDer::pem_file_iter(cert)
            .map_err(|e| bad(&e))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| bad(&e))?;
        if chain.is_empty() {
            return Err(bad(&"no certificate in the file"));
        }
        let path = &identity.key;
        let bad = |e: &dyn std::fmt::Display| format!("sslkey {}: {e}", path.display());
        private_to_owner(path).map_err(|e| bad(&e))?;
        let pem = std::fs::read(path).map_err(|e| bad(&e))?;
        if pem
            .windows(b"ENCRYPTED PRIVATE KEY".len())
            .any(|w| w == b"ENCRYPTED PRIVATE KEY")
        {
            return Err(bad(&super::ENCRYPTED_KEY));
        }
        let key = PrivateKeyDer::from_pem_slice(&pem).map_err(|e| bad(&e))?;
        Ok((chain, key))
    }

    /// libpq's rule for a private key file: no access for others, and for its group none
    /// unless root owns it (then reading only, `u=rw,g=r`).
    fn private_to_owner(path: &std::path::Path) -> Result<(), String> {
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt as _;
            let meta = std::fs::metadata(path).map_err(|e| e.to_string())?;
            let mode = meta.mode() & 0o777;
            let allowed = if meta.uid() == 0 { 0o037 } else { 0o077 };
            if mode & allowed != 0 {
                return Err(format!(
                    "its permissions {mode:03o} let others than its owner read it: \
                     chmod 600 it (640 if root owns it)"
                ));
            }
        }
        #[cfg(not(unix))]
        let _ = path;
        Ok(())
    }

    /// `verify-ca`: the chain checked as `verify-full` checks it, a name that does not match
    /// let pass. (The name is checked after the chain: a name error means the chain held.)
    #[derive(Debug)]
    struct AnyName(Arc<WebPkiServerVerifier>);

    impl ServerCertVerifier for AnyName {
        fn verify_server_cert(
            &self,
            end_entity: &CertificateDer<'_>,
            intermediates: &[CertificateDer<'_>],
            server_name: &ServerName<'_>,
            ocsp_response: &[u8],
            now: UnixTime,
        ) -> Result<ServerCertVerified, rustls::Error> {
            match self.0.verify_server_cert(
                end_entity,
                intermediates,
                server_name,
                ocsp_response,
                now,
            ) {
                Err(rustls::Error::InvalidCertificate(
                    CertificateError::NotValidForName
                    | CertificateError::NotValidForNameContext { .. },
                )) => Ok(ServerCertVerified::assertion()),
                other => other,
            }
        }

        fn verify_tls12_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            self.0.verify_tls12_signature(message, cert, dss)
        }

        fn verify_tls13_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            self.0.verify_tls13_signature(message, cert, dss)
        }

        fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
            self.0.supported_verify_schemes()
        }
    }
}

#[cfg(test)]
mod tests;
