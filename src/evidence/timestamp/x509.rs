//! X.509 certificates as far as a timestamp needs them: who the signer is, what its key is,
//! whether it may stamp time and when, and whether its issuer signed it. RSA (PKCS #1 v1.5)
//! and ECDSA (P-256, P-384) signatures with SHA-256, SHA-384 or SHA-512, the algorithms
//! time-stamping authorities use.

use sha2::Digest as _;

use super::TimestampError;
use super::der::{self, BIT_STRING, BOOLEAN, INTEGER, OCTET_STRING, OID, SEQUENCE, SET, Tlv};

pub(super) const SHA256: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01];
const SHA384: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02];
const SHA512: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03];
const RSA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
const RSA_SHA256: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b];
const RSA_SHA384: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0c];
const RSA_SHA512: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0d];
const EC_KEY: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
const P256: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
const P384: &[u8] = &[0x2b, 0x81, 0x04, 0x00, 0x22];
const ECDSA_SHA256: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02];
const ECDSA_SHA384: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x03];
const ECDSA_SHA512: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x04];
const EXT_KEY_USAGE: &[u8] = &[0x55, 0x1d, 0x25];
const SUBJECT_KEY_ID: &[u8] = &[0x55, 0x1d, 0x0e];
const CRL_DISTRIBUTION_POINTS: &[u8] = &[0x55, 0x1d, 0x1f];
/// A `GeneralName`'s `uniformResourceIdentifier` (`[6] IMPLICIT IA5String`).
const URI: u8 = 0x86;
const TIME_STAMPING: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x08];
const COMMON_NAME: &[u8] = &[0x55, 0x04, 0x03];

/// A hash function a token or certificate names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Hash {
    Sha256,
    Sha384,
    Sha512,
}

impl Hash {
    pub(super) fn of_oid(oid: &[u8]) -> Result<Self, TimestampError> {
        match oid {
            SHA256 => Ok(Self::Sha256),
            SHA384 => Ok(Self::Sha384),
            SHA512 => Ok(Self::Sha512),
            _ => Err(TimestampError::Unsupported(format!(
                "hash algorithm {}",
                der::dotted(oid)
            ))),
        }
    }

    pub(super) fn digest(self, bytes: &[u8]) -> Vec<u8> {
        match self {
            Self::Sha256 => sha2::Sha256::digest(bytes).to_vec(),
            Self::Sha384 => sha2::Sha384::digest(bytes).to_vec(),
            Self::Sha512 => sha2::Sha512::digest(bytes).to_vec(),
        }
    }

    /// The DER DigestInfo before the digest, as PKCS #1 v1.5 signatures carry it.
    fn digest_info_prefix(self) -> &'static [u8] {
        match self {
            Self::Sha256 => &[
                0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
                0x01, 0x05, 0x00, 0x04, 0x20,
            ],
            Self::Sha384 => &[
                0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
                0x02, 0x05, 0x00, 0x04, 0x30,
            ],
            Self::Sha512 => &[
                0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
                0x03, 0x05, 0x00, 0x04, 0x40,
            ],
        }
    }
}

/// An X.509 certificate: a time-stamping authority's, or the authority trusted to issue it.
#[derive(Clone, PartialEq, Eq)]
pub struct Certificate {
    der: Vec<u8>,
}

impl std::fmt::Debug for Certificate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Certificate").field(&self.subject()).finish()
    }
}

impl Certificate {
    /// A certificate from its DER encoding.
    ///
    /// # Errors
    ///
    /// [`TimestampError::Malformed`] when it is not a certificate this reader understands.
    pub fn from_der(der: &[u8]) -> Result<Self, TimestampError> {
        Parsed::read(der)?;
        Ok(Self { der: der.to_vec() })
    }

    /// Every certificate in a PEM text (`-----BEGIN CERTIFICATE-----` blocks).
    ///
    /// # Errors
    ///
    /// [`TimestampError::Malformed`] for a block that does not decode, or no block at all.
    pub fn from_pem(text: &str) -> Result<Vec<Self>, TimestampError> {
        pem_blocks(text, "CERTIFICATE")?
            .iter()
            .map(|der| Self::from_der(der))
            .collect()
    }

    /// The certificates in a file, PEM or DER.
    ///
    /// # Errors
    ///
    /// [`TimestampError::Io`] when it cannot be read, [`TimestampError::Malformed`] otherwise.
    pub fn read(path: impl AsRef<std::path::Path>) -> Result<Vec<Self>, TimestampError> {
        read_pem_or_der(path.as_ref(), "CERTIFICATE")?
            .iter()
            .map(|der| Self::from_der(der))
            .collect()
    }

    /// The DER encoding.
    pub fn as_der(&self) -> &[u8] {
        &self.der
    }

    /// The subject's common name (or `?` when it has none), for messages.
    pub fn subject(&self) -> String {
        Parsed::read(&self.der).map_or_else(|_| "?".to_owned(), |p| common_name(p.subject))
    }

    pub(super) fn parsed(&self) -> Parsed<'_> {
        // Checked when the certificate was made.
        Parsed::read(&self.der).unwrap_or_else(|_| Parsed::empty())
    }
}

/// The DER of every `-----BEGIN {label}-----` block in a PEM text.
pub(super) fn pem_blocks(text: &str, label: &str) -> Result<Vec<Vec<u8>>, TimestampError> {
    let begin = format!("-----BEGIN {label}-----");
    let end_line = format!("-----END {label}-----");
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find(&begin) {
        let body = &rest[start + begin.len()..];
        let end = body
            .find(&end_line)
            .ok_or_else(|| TimestampError::Malformed("a PEM block without its end".into()))?;
        let b64: String = body[..end].chars().filter(|c| !c.is_whitespace()).collect();
        let der = crate::base64::decode(&b64)
            .ok_or_else(|| TimestampError::Malformed("a PEM block is not base64".into()))?;
        out.push(der);
        rest = &body[end + end_line.len()..];
    }
    if out.is_empty() {
        return Err(TimestampError::Malformed(format!(
            "no {} in the PEM text",
            label.to_lowercase()
        )));
    }
    Ok(out)
}

/// The DER of each `label` block in a PEM file, or the file itself when it is not PEM.
pub(super) fn read_pem_or_der(
    path: &std::path::Path,
    label: &str,
) -> Result<Vec<Vec<u8>>, TimestampError> {
    let bytes =
        std::fs::read(path).map_err(|e| TimestampError::Io(format!("{}: {e}", path.display())))?;
    match std::str::from_utf8(&bytes) {
        Ok(text) if text.contains("-----BEGIN") => pem_blocks(text, label),
        _ => Ok(vec![bytes]),
    }
}

/// Whether `issuer`'s key made `signature` (with `sig_alg`) over `tbs`: the signature on a
/// certificate or a revocation list.
pub(super) fn signed_by(
    sig_alg: &[u8],
    tbs: &[u8],
    signature: &[u8],
    issuer: &Parsed<'_>,
) -> Result<(), TimestampError> {
    let hash = match sig_alg {
        RSA_SHA256 | ECDSA_SHA256 => Hash::Sha256,
        RSA_SHA384 | ECDSA_SHA384 => Hash::Sha384,
        RSA_SHA512 | ECDSA_SHA512 => Hash::Sha512,
        other => {
            return Err(TimestampError::Unsupported(format!(
                "signature algorithm {}",
                der::dotted(other)
            )));
        }
    };
    issuer.verify(hash, tbs, signature)
}

/// The parts of a certificate that are checked.
#[derive(Debug, Clone)]
pub(super) struct Parsed<'a> {
    pub(super) raw: &'a [u8],
    tbs: &'a [u8],
    sig_alg: &'a [u8],
    signature: &'a [u8],
    pub(super) serial: &'a [u8],
    pub(super) issuer: &'a [u8],
    pub(super) subject: &'a [u8],
    pub(super) not_before: String,
    pub(super) not_after: String,
    key_alg: &'a [u8],
    /// The named curve of an elliptic-curve key.
    curve: &'a [u8],
    key: &'a [u8],
    pub(super) key_id: Option<&'a [u8]>,
    pub(super) time_stamping: bool,
    /// Where its issuer publishes revocation lists (the CRL distribution points' URIs).
    pub(super) crl_urls: Vec<String>,
}

impl<'a> Parsed<'a> {
    fn empty() -> Self {
        Self {
            raw: &[],
            tbs: &[],
            sig_alg: &[],
            signature: &[],
            serial: &[],
            issuer: &[],
            subject: &[],
            not_before: String::new(),
            not_after: String::new(),
            key_alg: &[],
            curve: &[],
            key: &[],
            key_id: None,
            time_stamping: false,
            crl_urls: Vec::new(),
        }
    }

    pub(super) fn read(der: &'a [u8]) -> Result<Self, TimestampError> {
        let what = "certificate";
        let cert = der::single(der, SEQUENCE, what)?;
        let mut c = cert.inner();
        let tbs = c.expect(SEQUENCE, what)?;
        let sig_alg = der::algorithm(c.any(what)?, what)?;
        let signature = bits(c.expect(BIT_STRING, what)?)?;
        let mut t = tbs.inner();
        t.optional(der::context(0), what)?;
        let serial = t.expect(INTEGER, what)?.content;
        t.any(what)?; // the signature algorithm again
        let issuer = t.expect(SEQUENCE, what)?.raw;
        let validity = t.expect(SEQUENCE, what)?;
        let mut v = validity.inner();
        let not_before = der::time(v.any(what)?, what)?;
        let not_after = der::time(v.any(what)?, what)?;
        let subject = t.expect(SEQUENCE, what)?.raw;
        let spki = t.expect(SEQUENCE, what)?;
        let mut s = spki.inner();
        let key_alg_tlv = s.expect(SEQUENCE, what)?;
        let mut alg = key_alg_tlv.inner();
        let key_alg = alg.expect(OID, what)?.content;
        let curve = alg.optional(OID, what)?.map_or(&[][..], |c| c.content);
        let key = bits(s.expect(BIT_STRING, what)?)?;
        let mut key_id = None;
        let mut time_stamping = false;
        let mut crl_urls = Vec::new();
        while !t.is_empty() {
            let field = t.any(what)?;
            if field.tag != der::context(3) {
                continue;
            }
            let list = der::single(field.content, SEQUENCE, what)?;
            let mut exts = list.inner();
            while !exts.is_empty() {
                let ext = exts.expect(SEQUENCE, what)?;
                let mut e = ext.inner();
                let oid = e.expect(OID, what)?.content;
                e.optional(BOOLEAN, what)?;
                let value = e.expect(OCTET_STRING, what)?.content;
                match oid {
                    SUBJECT_KEY_ID => {
                        key_id = Some(der::single(value, OCTET_STRING, what)?.content)
                    }
                    EXT_KEY_USAGE => {
                        let mut usages = der::single(value, SEQUENCE, what)?.inner();
                        while !usages.is_empty() {
                            time_stamping |= usages.expect(OID, what)?.content == TIME_STAMPING;
                        }
                    }
                    // Read only to fetch lists: one that cannot be read names none (and
                    // a check that needs its list then says none covers the certificate),
                    // without failing what does not use it.
                    CRL_DISTRIBUTION_POINTS => {
                        crl_urls = distribution_points(value).unwrap_or_default()
                    }
                    _ => {}
                }
            }
        }
        Ok(Self {
            raw: cert.raw,
            tbs: tbs.raw,
            sig_alg,
            signature,
            serial,
            issuer,
            subject,
            not_before,
            not_after,
            key_alg,
            curve,
            key,
            key_id,
            time_stamping,
            crl_urls,
        })
    }

    /// Whether `issuer` signed this certificate.
    pub(super) fn is_signed_by(&self, issuer: &Parsed<'_>) -> Result<(), TimestampError> {
        if self.issuer != issuer.subject {
            return Err(TimestampError::Untrusted(format!(
                "{} is not issued by {}",
                common_name(self.subject),
                common_name(issuer.subject)
            )));
        }
        signed_by(self.sig_alg, self.tbs, self.signature, issuer).map_err(|e| match e {
            TimestampError::Unsupported(what) => {
                TimestampError::Unsupported(format!("certificate {what}"))
            }
            _ => TimestampError::Untrusted(format!(
                "the signature on {} by {} does not verify",
                common_name(self.subject),
                common_name(issuer.subject)
            )),
        })
    }

    /// Checks `signature` over `message`, hashed with `hash`, by this certificate's key.
    pub(super) fn verify(
        &self,
        hash: Hash,
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), TimestampError> {
        if self.key_alg == EC_KEY {
            return self.verify_ecdsa(hash, message, signature);
        }
        if self.key_alg != RSA {
            return Err(TimestampError::Unsupported(format!(
                "public key algorithm {} (RSA, and ECDSA on P-256 and P-384, are supported)",
                der::dotted(self.key_alg)
            )));
        }
        let what = "RSA public key";
        let key = der::single(self.key, SEQUENCE, what)?;
        let mut k = key.inner();
        let n = der::unsigned(k.expect(INTEGER, what)?.content);
        let e = der::unsigned(k.expect(INTEGER, what)?.content);
        let key = rsa::PublicKey::new(
            rsa::BoxedUint::from_be_slice_vartime(n),
            rsa::BoxedUint::from_be_slice_vartime(e),
        )
        .map_err(|e| TimestampError::Unsupported(format!("RSA key: {e}")))?;
        let digest = hash.digest(message);
        let scheme = rsa::Pkcs1v15Sign {
            hash_len: Some(digest.len()),
            prefix: hash.digest_info_prefix().into(),
        };
        key.verify(scheme, &digest, signature)
            .map_err(|_| TimestampError::BadSignature("the signature does not verify".into()))
    }

    /// An ECDSA signature (DER) over `message` hashed with `hash`, on P-256 or P-384.
    fn verify_ecdsa(
        &self,
        hash: Hash,
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), TimestampError> {
        use p256::ecdsa::signature::hazmat::PrehashVerifier as _;
        let digest = hash.digest(message);
        let bad = || TimestampError::BadSignature("the signature does not verify".into());
        let key_err = |e: &dyn std::fmt::Display| TimestampError::Malformed(format!("EC key: {e}"));
        match self.curve {
            P256 => {
                let key = p256::ecdsa::VerifyingKey::from_sec1_bytes(self.key)
                    .map_err(|e| key_err(&e))?;
                let sig = p256::ecdsa::Signature::from_der(signature).map_err(|_| bad())?;
                key.verify_prehash(&digest, &sig).map_err(|_| bad())
            }
            P384 => {
                let key = p384::ecdsa::VerifyingKey::from_sec1_bytes(self.key)
                    .map_err(|e| key_err(&e))?;
                let sig = p384::ecdsa::Signature::from_der(signature).map_err(|_| bad())?;
                key.verify_prehash(&digest, &sig).map_err(|_| bad())
            }
            other => Err(TimestampError::Unsupported(format!(
                "elliptic curve {} (P-256 and P-384 are supported)",
                der::dotted(other)
            ))),
        }
    }

    /// Whether the signature algorithm a signer names fits this key.
    pub(super) fn check_signature_algorithm(
        &self,
        sig_alg: &[u8],
        hash: Hash,
    ) -> Result<(), TimestampError> {
        let rsa = self.key_alg == RSA;
        let fits = match sig_alg {
            RSA => rsa,
            RSA_SHA256 => rsa && hash == Hash::Sha256,
            RSA_SHA384 => rsa && hash == Hash::Sha384,
            RSA_SHA512 => rsa && hash == Hash::Sha512,
            ECDSA_SHA256 => !rsa && hash == Hash::Sha256,
            ECDSA_SHA384 => !rsa && hash == Hash::Sha384,
            ECDSA_SHA512 => !rsa && hash == Hash::Sha512,
            _ => false,
        };
        if fits {
            Ok(())
        } else {
            Err(TimestampError::Unsupported(format!(
                "signature algorithm {} with hash {hash:?}",
                der::dotted(sig_alg)
            )))
        }
    }
}

/// A BIT STRING's bytes (whole bytes only, as keys and signatures are).
/// The URIs of a `CRLDistributionPoints` extension's full names (RFC 5280, 4.2.1.13): `SEQUENCE
/// OF DistributionPoint`, each `[0] DistributionPointName` whose `[0] fullName` holds
/// `GeneralName`s.
fn distribution_points(value: &[u8]) -> Result<Vec<String>, TimestampError> {
    let what = "CRL distribution points";
    let mut urls = Vec::new();
    let mut points = der::single(value, SEQUENCE, what)?.inner();
    while !points.is_empty() {
        let mut point = points.expect(SEQUENCE, what)?.inner();
        let Some(name) = point.optional(der::context(0), what)? else {
            continue;
        };
        let Some(full) = name.inner().optional(der::context(0), what)? else {
            continue;
        };
        let mut names = full.inner();
        while !names.is_empty() {
            let general = names.any(what)?;
            if general.tag == URI {
                let uri = std::str::from_utf8(general.content).map_err(|_| {
                    TimestampError::Malformed(format!("{what}: a URI not in ASCII"))
                })?;
                urls.push(uri.to_owned());
            }
        }
    }
    Ok(urls)
}

pub(super) fn bits(tlv: Tlv<'_>) -> Result<&[u8], TimestampError> {
    match tlv.content.split_first() {
        Some((0, rest)) => Ok(rest),
        _ => Err(TimestampError::Malformed(
            "a bit string with unused bits".into(),
        )),
    }
}

/// The common name in a Name, escaped for display; `?` when there is none.
pub(super) fn common_name(name: &[u8]) -> String {
    let found = (|| -> Result<Option<String>, TimestampError> {
        let what = "name";
        let mut rdns = der::single(name, SEQUENCE, what)?.inner();
        while !rdns.is_empty() {
            let mut set = rdns.expect(SET, what)?.inner();
            while !set.is_empty() {
                let mut atv = set.expect(SEQUENCE, what)?.inner();
                if atv.expect(OID, what)?.content == COMMON_NAME {
                    let value = atv.any(what)?;
                    return Ok(Some(String::from_utf8_lossy(value.content).into_owned()));
                }
            }
        }
        Ok(None)
    })();
    match found {
        Ok(Some(cn)) => cn.chars().flat_map(char::escape_debug).collect(),
        _ => "?".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::der::{SEQUENCE, context, wrap};
    use super::{URI, distribution_points};

    #[test]
    fn distribution_points_give_their_full_names_uris() {
        let names = [
            wrap(URI, b"http://crl.example/ca.crl"),
            wrap(0x82, b"crl.example"), // a dNSName: not a URI
            wrap(URI, b"ldap://crl.example/cn=ca"),
        ]
        .concat();
        let full = wrap(context(0), &wrap(context(0), &names));
        let relative = wrap(context(0), &wrap(context(1), &wrap(SEQUENCE, &[])));
        let value = wrap(
            SEQUENCE,
            &[wrap(SEQUENCE, &full), wrap(SEQUENCE, &relative)].concat(),
        );
        assert_eq!(
            distribution_points(&value).unwrap(),
            ["http://crl.example/ca.crl", "ldap://crl.example/cn=ca"]
        );
        for cut in 0..value.len() {
            let _ = distribution_points(&value[..cut]);
        }
        assert!(distribution_points(&[0x30, 0x05, 0x30]).is_err());
    }
}
