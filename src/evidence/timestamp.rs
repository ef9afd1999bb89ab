//! Trusted time for signed tree heads: an RFC 3161 timestamp token from a time-stamping
//! authority (TSA) over the exact bytes of a signed note, kept beside it (`LOG.note.tst`), so
//! that an auditor can tell not only what the log held but that it held it by a time the log's
//! operator could not choose.
//!
//! - [`request_token`] asks a TSA over HTTP (RFC 3161, section 3.4) for a token over a
//!   message's SHA-256, with a fresh nonce, and checks the answer is about that message.
//! - [`TimestampToken::verify`] checks a token offline: the message's digest, the
//!   authority's signature over the token, that its certificate may stamp time
//!   (`timeStamping` extended key usage) and was valid then, and that it is, or chains to, a
//!   certificate the auditor trusts. RSA (PKCS #1 v1.5) and ECDSA (P-256, P-384) signatures
//!   with SHA-256/384/512.
//! - [`TimestampToken::verify_with_crls`] also checks that no certificate on the way to the
//!   trusted one is revoked, against certificate revocation lists ([`Crl`]) the auditor
//!   brings or [`TimestampToken::fetch_crls`] fetches from where the certificates say their
//!   issuers publish them (OCSP is not used).
//!
//! A token is the DER `ContentInfo` that `openssl ts -reply -token_out` writes, so
//! `openssl ts -verify -token_in -in LOG.note.tst -data LOG.note -CAfile tsa-ca.pem` checks
//! it too.
//!
//! ```no_run
//! use acttrace::evidence::timestamp::{Certificate, TimestampToken, request_token, save_token};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let note = std::fs::read("audit.jsonl.note")?;
//! let token = request_token("http://127.0.0.1:3180/tsa", &note)?;
//! save_token("audit.jsonl.note.tst".as_ref(), &token)?;
//!
//! // The auditor, offline, with the authority's CA certificate.
//! let trusted = Certificate::read("tsa-ca.pem")?;
//! let stamp = TimestampToken::from_der(&std::fs::read("audit.jsonl.note.tst")?)?
//!     .verify(&note, &trusted)?;
//! println!("the tree head existed at {} ({})", stamp.time, stamp.authority);
//! # Ok(()) }
//! ```
//!
//! Uses nothing of the chain: only the bytes it is given.

mod cms;
mod crl;
mod der;
mod http;
mod x509;

use std::io::Write as _;

pub use self::crl::Crl;
pub use self::x509::Certificate;

use self::der::{BOOLEAN, INTEGER, NULL, OCTET_STRING, OID, SEQUENCE};
use self::x509::Hash;

/// Why a timestamp could not be had or trusted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TimestampError {
    /// The bytes are not a token, a response or a certificate this reader understands.
    #[error("malformed timestamp data: {0}")]
    Malformed(String),
    /// An algorithm this verifier does not implement.
    #[error("unsupported: {0}")]
    Unsupported(String),
    /// The authority refused the request.
    #[error("the time-stamping authority refused: {0}")]
    Refused(String),
    /// The token is about other data than the message.
    #[error("the token is not for this data: its digest differs")]
    OtherData,
    /// The token's answer does not match the request (nonce).
    #[error("the token does not answer this request: {0}")]
    NotOurs(&'static str),
    /// A signature in the token does not verify.
    #[error("{0}")]
    BadSignature(String),
    /// The signer is not trusted, may not stamp time, or was not valid at the time; or, when
    /// revocation lists were given, one to check it against is missing or out of date.
    #[error("untrusted timestamp: {0}")]
    Untrusted(String),
    /// A certificate on the authority's path was revoked, as a revocation list signed by its
    /// issuer says.
    #[error("revoked: {0}")]
    Revoked(String),
    /// Reaching the authority failed.
    #[error("cannot reach the time-stamping authority: {0}")]
    Http(String),
    /// A file could not be read.
    #[error("{0}")]
    Io(String),
}

/// What a verified token says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timestamp {
    /// When, as the authority states it, in RFC 3339 form (`2026-12-06T04:55:22Z`; fractions
    /// of a second kept when given).
    pub time: String,
    /// The authority's certificate's common name (escaped).
    pub authority: String,
    /// The token's serial number, in hex.
    pub serial: String,
    /// The authority's policy under which it stamped, as a dotted OID.
    pub policy: String,
}

/// An RFC 3161 timestamp token (a CMS `ContentInfo` holding signed `TSTInfo`).
#[derive(Clone, PartialEq, Eq)]
pub struct TimestampToken {
    der: Vec<u8>,
}

impl std::fmt::Debug for TimestampToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TimestampToken")
            .field("bytes", &self.der.len())
            .finish_non_exhaustive()
    }
}

impl TimestampToken {
    /// A token from its DER encoding (what `openssl ts -token_out` writes).
    ///
    /// # Errors
    ///
    /// [`TimestampError::Malformed`] or [`TimestampError::Unsupported`].
    pub fn from_der(der: &[u8]) -> Result<Self, TimestampError> {
        cms::Token::read(der)?;
        Ok(Self { der: der.to_vec() })
    }

    /// The token in a TSA's response (`TimeStampResp`, what `openssl ts -reply` writes).
    ///
    /// # Errors
    ///
    /// [`TimestampError::Refused`] when the response grants nothing, otherwise as
    /// [`from_der`](Self::from_der).
    pub fn from_response(der: &[u8]) -> Result<Self, TimestampError> {
        let what = "timestamp response";
        let resp = der::single(der, SEQUENCE, what)?;
        let mut r = resp.inner();
        let status = r.expect(SEQUENCE, what)?;
        let mut s = status.inner();
        let code = s.expect(INTEGER, what)?.content;
        if code != [0] && code != [1] {
            let text = s
                .optional(SEQUENCE, what)?
                .map(|texts| {
                    let mut t = texts.inner();
                    let mut out = Vec::new();
                    while let Ok(one) = t.any(what) {
                        out.push(String::from_utf8_lossy(one.content).into_owned());
                    }
                    out.join("; ")
                })
                .unwrap_or_default();
            let text: String = text.chars().flat_map(char::escape_debug).collect();
            return Err(TimestampError::Refused(format!(
                "status {} {text}",
                code.first().copied().unwrap_or_default()
            )));
        }
        let token = r
            .expect(SEQUENCE, what)
            .map_err(|_| TimestampError::Malformed("a granted response without a token".into()))?;
        Self::from_der(token.raw)
    }

    /// The DER encoding, to store beside the note.
    pub fn as_der(&self) -> &[u8] {
        &self.der
    }

    /// Checks the token over `message` and its authority against `trusted` certificates (the
    /// authority's own, or a CA that issued it), and says when and by whom it was stamped.
    ///
    /// # Errors
    ///
    /// [`TimestampError::OtherData`] when the token is about other data,
    /// [`TimestampError::BadSignature`] when it was altered, [`TimestampError::Untrusted`]
    /// when its signer is not trusted, may not stamp time or was not valid then.
    pub fn verify(
        &self,
        message: &[u8],
        trusted: &[Certificate],
    ) -> Result<Timestamp, TimestampError> {
        self.checked(message, trusted, None)
    }

    /// The revocation lists the certificates carried in the token name, fetched now from
    /// their `http://` CRL distribution points (RFC 5280, section 4.2.1.13), for
    /// [`verify_with_crls`](Self::verify_with_crls): an auditor who is online need not find
    /// and bring them. A certificate that names no list is passed over (the verification then
    /// says that no list covers it); for one that names several, the first that can be
    /// fetched is taken.
    ///
    /// # Errors
    ///
    /// [`TimestampError::Http`] when none of a certificate's lists can be fetched, or it names
    /// none at an `http://` address (only `ldap://`, say); [`TimestampError::Malformed`] when
    /// what is fetched is not a revocation list.
    pub fn fetch_crls(&self) -> Result<Vec<Crl>, TimestampError> {
        let token = cms::Token::read(&self.der)?;
        let mut lists: Vec<Crl> = Vec::new();
        for der in token.certificates() {
            let cert = x509::Parsed::read(der)?;
            if cert.crl_urls.is_empty() {
                continue;
            }
            let mut failed = Vec::new();
            let fetched = cert.crl_urls.iter().find_map(|url| {
                let got = match url.starts_with("http://") {
                    true => http::get_crl(url).and_then(|body| crls_in(&body)),
                    false => Err(TimestampError::Http(format!(
                        "{url}: not an http:// address"
                    ))),
                };
                got.map_err(|e| failed.push(e.to_string())).ok()
            });
            let Some(found) = fetched else {
                return Err(TimestampError::Http(format!(
                    "no revocation list {} names could be fetched: {}",
                    x509::common_name(cert.subject),
                    failed.join("; ")
                )));
            };
            for crl in found {
                if !lists.contains(&crl) {
                    lists.push(crl);
                }
            }
        }
        Ok(lists)
    }

    /// [`verify`](Self::verify), and the revocation of every certificate on the authority's
    /// path to the trusted one checked against `crls` (the trusted certificate itself is not):
    /// each must be covered by a list signed by its issuer that is not out of date, and not be
    /// on it.
    ///
    /// # Errors
    ///
    /// As for [`verify`](Self::verify); [`TimestampError::Revoked`] when a certificate on the
    /// path is revoked, [`TimestampError::Untrusted`] when no valid, current list covers one.
    pub fn verify_with_crls(
        &self,
        message: &[u8],
        trusted: &[Certificate],
        crls: &[Crl],
    ) -> Result<Timestamp, TimestampError> {
        self.checked(message, trusted, Some(crls))
    }

    /// [`verify`](Self::verify), with revocation checked against `crls` when given.
    fn checked(
        &self,
        message: &[u8],
        trusted: &[Certificate],
        crls: Option<&[Crl]>,
    ) -> Result<Timestamp, TimestampError> {
        let token = cms::Token::read(&self.der)?;
        let info = &token.info;
        if info.imprint_hash.digest(message) != info.imprint {
            return Err(TimestampError::OtherData);
        }
        let authority = token.check(trusted, crls)?;
        Ok(Timestamp {
            time: rfc3339(&info.gen_time),
            authority,
            serial: crate::chain::hash::hex(&info.serial),
            policy: info.policy.clone(),
        })
    }
}

/// Writes a token to `path` (readable by all, as public evidence is): a temporary file,
/// synced, then renamed into place.
///
/// # Errors
///
/// Writing fails.
pub fn save_token(path: &std::path::Path, token: &TimestampToken) -> std::io::Result<()> {
    crate::files::write_whole(path, 0o644, true, |f| f.write_all(&token.der))
}

/// The revocation lists in a fetched body: one DER list, or PEM blocks.
fn crls_in(body: &[u8]) -> Result<Vec<Crl>, TimestampError> {
    match std::str::from_utf8(body) {
        Ok(text) if text.contains("-----BEGIN") => Crl::from_pem(text),
        _ => Crl::from_der(body).map(|crl| vec![crl]),
    }
}

/// `YYYYMMDDHHMMSS[.fff]Z` as `YYYY-MM-DDTHH:MM:SS[.fff]Z`.
fn rfc3339(stated: &str) -> String {
    let (d, rest) = stated.split_at(stated.len().min(14));
    if d.len() < 14 || !d.is_ascii() {
        return stated.chars().flat_map(char::escape_debug).collect();
    }
    let rest: String = rest.chars().flat_map(char::escape_debug).collect();
    format!(
        "{}-{}-{}T{}:{}:{}{rest}",
        &d[..4],
        &d[4..6],
        &d[6..8],
        &d[8..10],
        &d[10..12],
        &d[12..14]
    )
}

/// A `TimeStampReq` for `message`'s SHA-256, asking for the signer's certificate, with
/// `nonce`.
fn request_der(message: &[u8], nonce: &[u8; 8]) -> Vec<u8> {
    let mut alg = der::wrap(OID, x509::SHA256);
    alg.extend(der::wrap(NULL, &[]));
    let mut imprint = der::wrap(SEQUENCE, &alg);
    imprint.extend(der::wrap(OCTET_STRING, &Hash::Sha256.digest(message)));
    let mut body = der::wrap(INTEGER, &[1]);
    body.extend(der::wrap(SEQUENCE, &imprint));
    body.extend(der::wrap(INTEGER, nonce));
    body.extend(der::wrap(BOOLEAN, &[0xff]));
    der::wrap(SEQUENCE, &body)
}

/// Asks the TSA at `url` (`http://host[:port]/path`) for a token over `message`, and checks
/// that the answer is about it and answers this request (its nonce). Plain HTTP is what
/// RFC 3161 over HTTP uses: the token is signed, so the channel need not be. Waits at most
/// ten seconds.
///
/// # Errors
///
/// [`TimestampError::Http`] when the authority cannot be reached or answers with an HTTP
/// error, [`TimestampError::Refused`] when it refuses, [`TimestampError::OtherData`] or
/// [`TimestampError::NotOurs`] when its token is not an answer to this request.
pub fn request_token(url: &str, message: &[u8]) -> Result<TimestampToken, TimestampError> {
    let mut nonce = [0u8; 8];
    getrandom::fill(&mut nonce)
        .map_err(|e| TimestampError::Http(format!("no random nonce: {e}")))?;
    nonce[0] = (nonce[0] & 0x7f) | 0x40; // positive, and minimal as DER wants
    let body = http::post(url, &request_der(message, &nonce))?;
    let token = TimestampToken::from_response(&body)?;
    let parsed = cms::Token::read(&token.der)?;
    if parsed.info.imprint_hash.digest(message) != parsed.info.imprint {
        return Err(TimestampError::OtherData);
    }
    if parsed.info.nonce.as_deref() != Some(&nonce[..]) {
        return Err(TimestampError::NotOurs("its nonce is not the one sent"));
    }
    Ok(token)
}

#[cfg(test)]
mod tests;
