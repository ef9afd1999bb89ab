//! Certificate revocation lists (RFC 5280, section 5): the certificates an issuer has revoked,
//! signed by that issuer. Given lists, a token's verification checks every certificate on the
//! path from the authority to the certificate the auditor trusts (the trusted one itself is
//! not checked, as in X.509 path validation): a list from its issuer must be given, be signed
//! by that issuer, not be out of date, and not name the certificate.

use super::TimestampError;
use super::der::{self, INTEGER, SEQUENCE};
use super::x509::{Parsed, common_name, pem_blocks, read_pem_or_der, signed_by};

/// A certificate revocation list (RFC 5280), as the authority's CA publishes it: see
/// [`TimestampToken::verify_with_crls`](super::TimestampToken::verify_with_crls).
#[derive(Clone, PartialEq, Eq)]
pub struct Crl {
    der: Vec<u8>,
}

impl std::fmt::Debug for Crl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let issuer =
            ParsedCrl::read(&self.der).map_or_else(|_| "?".to_owned(), |c| common_name(c.issuer));
        f.debug_tuple("Crl").field(&issuer).finish()
    }
}

impl Crl {
    /// A list from its DER encoding.
    ///
    /// # Errors
    ///
    /// [`TimestampError::Malformed`] when it is not a revocation list this reader understands.
    pub fn from_der(der: &[u8]) -> Result<Self, TimestampError> {
        ParsedCrl::read(der)?;
        Ok(Self { der: der.to_vec() })
    }

    /// Every list in a PEM text (`-----BEGIN X509 CRL-----` blocks).
    ///
    /// # Errors
    ///
    /// [`TimestampError::Malformed`] for a block that does not decode, or no block at all.
    pub fn from_pem(text: &str) -> Result<Vec<Self>, TimestampError> {
        pem_blocks(text, "X509 CRL")?
            .iter()
            .map(|der| Self::from_der(der))
            .collect()
    }

    /// The DER encoding.
    pub fn as_der(&self) -> &[u8] {
        &self.der
    }

    /// The lists in a file, PEM or DER.
    ///
    /// # Errors
    ///
    /// [`TimestampError::Io`] when it cannot be read, [`TimestampError::Malformed`] otherwise.
    pub fn read(path: impl AsRef<std::path::Path>) -> Result<Vec<Self>, TimestampError> {
        read_pem_or_der(path.as_ref(), "X509 CRL")?
            .iter()
            .map(|der| Self::from_der(der))
            .collect()
    }
}

/// The parts of a list that are checked.
struct ParsedCrl<'a> {
    tbs: &'a [u8],
    sig_alg: &'a [u8],
    signature: &'a [u8],
    issuer: &'a [u8],
    next_update: Option<String>,
    /// Serial numbers (DER content) and revocation times.
    revoked: Vec<(&'a [u8], String)>,
}

impl<'a> ParsedCrl<'a> {
    fn read(der: &'a [u8]) -> Result<Self, TimestampError> {
        let what = "revocation list";
        let list = der::single(der, SEQUENCE, what)?;
        let mut l = list.inner();
        let tbs = l.expect(SEQUENCE, what)?;
        let sig_alg = der::algorithm(l.any(what)?, what)?;
        let signature = super::x509::bits(l.expect(der::BIT_STRING, what)?)?;
        let mut t = tbs.inner();
        t.optional(INTEGER, what)?; // version
        t.any(what)?; // the signature algorithm again
        let issuer = t.expect(SEQUENCE, what)?.raw;
        der::time(t.any(what)?, what)?; // thisUpdate
        let mut next_update = None;
        let mut revoked = Vec::new();
        while !t.is_empty() {
            let field = t.any(what)?;
            match field.tag {
                der::UTC_TIME | der::GENERALIZED_TIME => {
                    next_update = Some(der::time(field, what)?)
                }
                SEQUENCE => {
                    let mut entries = field.inner();
                    while !entries.is_empty() {
                        let entry = entries.expect(SEQUENCE, what)?;
                        let mut e = entry.inner();
                        let serial = e.expect(INTEGER, what)?.content;
                        let when = der::time(e.any(what)?, what)?;
                        revoked.push((serial, when));
                    }
                }
                _ => {} // [0] extensions
            }
        }
        Ok(Self {
            tbs: tbs.raw,
            sig_alg,
            signature,
            issuer,
            next_update,
            revoked,
        })
    }
}

/// Checks each `(certificate, its issuer)` on a token's path against `crls`, at `now`
/// (`YYYYMMDDHHMMSS`, UTC).
pub(super) fn check(
    path: &[(Parsed<'_>, Parsed<'_>)],
    crls: &[Crl],
    now: &str,
) -> Result<(), TimestampError> {
    let lists: Vec<ParsedCrl<'_>> = crls
        .iter()
        .filter_map(|c| ParsedCrl::read(&c.der).ok())
        .collect();
    for (cert, issuer) in path {
        let name = common_name(cert.subject);
        let by = common_name(issuer.subject);
        let list = lists
            .iter()
            .find(|l| {
                l.issuer == issuer.subject
                    && signed_by(l.sig_alg, l.tbs, l.signature, issuer).is_ok()
            })
            .ok_or_else(|| {
                TimestampError::Untrusted(format!(
                    "no revocation list signed by {by} was given: whether {name} is revoked \
                     cannot be told"
                ))
            })?;
        if let Some(next) = &list.next_update
            && next.as_str() < now
        {
            return Err(TimestampError::Untrusted(format!(
                "{by}'s revocation list is out of date (its next update was due {next}): \
                 whether {name} is revoked cannot be told"
            )));
        }
        if let Some((_, when)) = list
            .revoked
            .iter()
            .find(|(serial, _)| *serial == cert.serial)
        {
            return Err(TimestampError::Revoked(format!(
                "{name} was revoked by {by} at {when}"
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{Crl, ParsedCrl};

    /// The committed fuzz seeds: lists `openssl ca` made (RSA and ECDSA, DER and PEM, with and
    /// without a revoked certificate).
    fn seeds() -> Vec<Vec<u8>> {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/crl");
        let mut out: Vec<Vec<u8>> = std::fs::read_dir(dir)
            .unwrap()
            .map(|f| std::fs::read(f.unwrap().path()).unwrap())
            .collect();
        out.sort();
        out
    }

    #[test]
    fn real_lists_read_with_their_revoked_serials() {
        let mut revoked = Vec::new();
        for seed in seeds() {
            let crls = match std::str::from_utf8(&seed) {
                Ok(text) if text.contains("-----BEGIN") => Crl::from_pem(text).unwrap(),
                _ => vec![Crl::from_der(&seed).unwrap()],
            };
            for crl in crls {
                let parsed = ParsedCrl::read(crl.as_der()).unwrap();
                assert!(parsed.next_update.is_some());
                revoked.push(parsed.revoked.len());
            }
        }
        revoked.sort_unstable();
        assert_eq!(
            revoked,
            [0, 1, 1, 1],
            "one clean list, three with one revoked"
        );
    }

    /// Every cut and every changed byte of a real list reads or is refused, never panics.
    #[test]
    fn damaged_lists_never_panic() {
        let read = |data: &[u8]| {
            if let Ok(crl) = Crl::from_der(data) {
                let _ = format!("{crl:?}");
            }
            if let Ok(text) = std::str::from_utf8(data) {
                let _ = Crl::from_pem(text);
            }
        };
        for seed in seeds() {
            for cut in 0..seed.len() {
                read(&seed[..cut]);
            }
            for at in 0..seed.len() {
                for x in [0x01, 0x80, 0xff] {
                    let mut v = seed.clone();
                    v[at] ^= x;
                    read(&v);
                }
            }
        }
    }
}
