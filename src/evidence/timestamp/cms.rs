//! The token: a CMS `SignedData` (RFC 5652) whose content is a `TSTInfo` (RFC 3161, section
//! 2.4.2), signed by the time-stamping authority over signed attributes that carry the
//! content's digest and, in an ESS `signingCertificateV2`, the signer certificate's.

use super::TimestampError;
use super::der::{self, GENERALIZED_TIME, INTEGER, OCTET_STRING, OID, Reader, SEQUENCE, SET, Tlv};
use super::x509::{Certificate, Hash, Parsed, common_name};

const SIGNED_DATA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x02];
pub(super) const TST_INFO: &[u8] = &[
    0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x10, 0x01, 0x04,
];
const CONTENT_TYPE: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x03];
const MESSAGE_DIGEST: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x04];
const SIGNING_CERTIFICATE_V2: &[u8] = &[
    0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x10, 0x02, 0x2f,
];

/// How many certificates a chain from the signer to a trusted one may have.
const MAX_CHAIN: usize = 5;

/// A token's structure, borrowed from its DER.
pub(super) struct Token<'a> {
    /// The `TSTInfo`'s DER (the signed content).
    content: &'a [u8],
    pub(super) info: TstInfo,
    certificates: Vec<&'a [u8]>,
    signer: SignerInfo<'a>,
}

/// What the authority says: when, about which digest, under which policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct TstInfo {
    pub(super) policy: String,
    pub(super) imprint_hash: Hash,
    pub(super) imprint: Vec<u8>,
    pub(super) serial: Vec<u8>,
    /// `genTime` as sent (`YYYYMMDDHHMMSS[.fff]Z`).
    pub(super) gen_time: String,
    pub(super) nonce: Option<Vec<u8>>,
}

struct SignerInfo<'a> {
    id: SignerId<'a>,
    digest: Hash,
    /// The signed attributes' whole encoding, tagged `[0]`.
    attributes: &'a [u8],
    sig_alg: &'a [u8],
    signature: &'a [u8],
}

enum SignerId<'a> {
    IssuerSerial { issuer: &'a [u8], serial: &'a [u8] },
    KeyId(&'a [u8]),
}

impl<'a> Token<'a> {
    /// Reads a token (a `ContentInfo`).
    pub(super) fn read(der: &'a [u8]) -> Result<Self, TimestampError> {
        let what = "timestamp token";
        let info = der::single(der, SEQUENCE, what)?;
        let mut ci = info.inner();
        if ci.expect(OID, what)?.content != SIGNED_DATA {
            return Err(TimestampError::Malformed(
                "the token is not CMS signed data".into(),
            ));
        }
        let wrapped = ci.expect(der::context(0), what)?;
        let signed = der::single(wrapped.content, SEQUENCE, what)?;
        let mut sd = signed.inner();
        sd.expect(INTEGER, what)?;
        sd.expect(SET, what)?;
        let encap = sd.expect(SEQUENCE, what)?;
        let mut e = encap.inner();
        if e.expect(OID, what)?.content != TST_INFO {
            return Err(TimestampError::Malformed(
                "the signed content is not a TSTInfo".into(),
            ));
        }
        let explicit = e.expect(der::context(0), what)?;
        let content = der::single(explicit.content, OCTET_STRING, what)?.content;
        let mut certificates = Vec::new();
        if let Some(certs) = sd.optional(der::context(0), what)? {
            let mut c = certs.inner();
            while !c.is_empty() {
                let cert = c.any(what)?;
                if cert.tag == SEQUENCE {
                    certificates.push(cert.raw);
                }
            }
        }
        sd.optional(der::context(1), what)?; // CRLs
        let mut signers = sd.expect(SET, what)?.inner();
        let signer = SignerInfo::read(signers.expect(SEQUENCE, what)?)?;
        if !signers.is_empty() {
            return Err(TimestampError::Malformed(
                "a token has exactly one signer".into(),
            ));
        }
        Ok(Self {
            content,
            info: TstInfo::read(content)?,
            certificates,
            signer,
        })
    }

    /// The certificates the token carries (DER), as the authority put them in.
    pub(super) fn certificates(&self) -> &[&'a [u8]] {
        &self.certificates
    }

    /// Checks the signature over the content and that the signer chains to `trusted`; gives
    /// the signer's common name.
    pub(super) fn check(
        &self,
        trusted: &[Certificate],
        crls: Option<&[super::Crl]>,
    ) -> Result<String, TimestampError> {
        let trusted: Vec<Parsed<'_>> = trusted.iter().map(Certificate::parsed).collect();
        let carried = self
            .certificates
            .iter()
            .filter_map(|c| Parsed::read(c).ok())
            .collect::<Vec<_>>();
        let signer = carried
            .iter()
            .chain(&trusted)
            .find(|c| self.signer.is(c))
            .ok_or_else(|| {
                TimestampError::Untrusted(
                    "the signer's certificate is neither in the token nor trusted".into(),
                )
            })?;

        // The signed attributes: the content's type and digest, and the signer's certificate.
        let attrs = self.signer.attributes()?;
        if attrs.content_type != Some(TST_INFO) {
            return Err(TimestampError::BadSignature(
                "the signed attributes do not name a TSTInfo".into(),
            ));
        }
        if attrs.message_digest != Some(self.signer.digest.digest(self.content).as_slice()) {
            return Err(TimestampError::BadSignature(
                "the signed digest is not the TSTInfo's: the token was altered".into(),
            ));
        }
        if let Some((hash, cert_hash)) = attrs.signing_certificate
            && hash.digest(signer.raw) != cert_hash
        {
            return Err(TimestampError::BadSignature(
                "the token names another signer certificate".into(),
            ));
        }
        signer.check_signature_algorithm(self.signer.sig_alg, self.signer.digest)?;
        let mut signed = self.signer.attributes.to_vec();
        if let Some(tag) = signed.first_mut() {
            *tag = SET; // signed as a SET OF, sent as [0] IMPLICIT (RFC 5652, 5.4)
        }
        signer
            .verify(self.signer.digest, &signed, self.signer.signature)
            .map_err(|_| {
                TimestampError::BadSignature(
                    "the authority's signature does not verify: the token was altered".into(),
                )
            })?;

        // The signer may stamp time, did so while its certificate was valid, and is trusted.
        if !signer.time_stamping {
            return Err(TimestampError::Untrusted(format!(
                "{} is not a time-stamping certificate (no timeStamping extended key usage)",
                common_name(signer.subject)
            )));
        }
        let when = self.info.gen_time.get(..14).unwrap_or_default();
        if when < signer.not_before.as_str() || when > signer.not_after.as_str() {
            return Err(TimestampError::Untrusted(format!(
                "{} was not valid at {}",
                common_name(signer.subject),
                self.info.gen_time
            )));
        }
        let path = chain(signer, &carried, &trusted)?;
        if let Some(crls) = crls {
            let now = crate::chain::time::format_timestamp(std::time::SystemTime::now());
            let now: String = now.chars().take(19).filter(char::is_ascii_digit).collect();
            super::crl::check(&path, crls, &now)?;
        }
        Ok(common_name(signer.subject))
    }
}

/// Whether `cert` is trusted or chains to a trusted certificate through `carried` ones; the
/// path, as each certificate checked and its issuer, up to (not including) the trusted one.
fn chain<'a>(
    cert: &Parsed<'a>,
    carried: &[Parsed<'a>],
    trusted: &[Parsed<'a>],
) -> Result<Vec<(Parsed<'a>, Parsed<'a>)>, TimestampError> {
    let mut path = Vec::new();
    let mut at = cert.clone();
    for _ in 0..MAX_CHAIN {
        if trusted.iter().any(|t| t.raw == at.raw) {
            return Ok(path);
        }
        if let Some(root) = trusted.iter().find(|t| t.subject == at.issuer) {
            at.is_signed_by(root)?;
            path.push((at, root.clone()));
            return Ok(path);
        }
        let Some(issuer) = carried
            .iter()
            .find(|c| c.subject == at.issuer && c.raw != at.raw)
        else {
            break;
        };
        at.is_signed_by(issuer)?;
        path.push((at, issuer.clone()));
        at = issuer.clone();
    }
    Err(TimestampError::Untrusted(format!(
        "{} does not chain to a trusted certificate",
        common_name(cert.subject)
    )))
}

struct Attributes<'a> {
    content_type: Option<&'a [u8]>,
    message_digest: Option<&'a [u8]>,
    signing_certificate: Option<(Hash, Vec<u8>)>,
}

impl<'a> SignerInfo<'a> {
    fn read(tlv: Tlv<'a>) -> Result<Self, TimestampError> {
        let what = "signer info";
        let mut s = tlv.inner();
        s.expect(INTEGER, what)?;
        let sid = s.any(what)?;
        let id = match sid.tag {
            SEQUENCE => {
                let mut i = sid.inner();
                let issuer = i.expect(SEQUENCE, what)?.raw;
                let serial = i.expect(INTEGER, what)?.content;
                SignerId::IssuerSerial { issuer, serial }
            }
            0x80 => SignerId::KeyId(sid.content),
            _ => return Err(TimestampError::Malformed("signer identifier".into())),
        };
        let digest = Hash::of_oid(der::algorithm(s.any(what)?, what)?)?;
        let attributes = s
            .optional(der::context(0), what)?
            .ok_or_else(|| TimestampError::Malformed("a token without signed attributes".into()))?
            .raw;
        let sig_alg = der::algorithm(s.any(what)?, what)?;
        let signature = s.expect(OCTET_STRING, what)?.content;
        Ok(Self {
            id,
            digest,
            attributes,
            sig_alg,
            signature,
        })
    }

    fn is(&self, cert: &Parsed<'_>) -> bool {
        match self.id {
            SignerId::IssuerSerial { issuer, serial } => {
                cert.issuer == issuer && cert.serial == serial
            }
            SignerId::KeyId(id) => cert.key_id == Some(id),
        }
    }

    fn attributes(&self) -> Result<Attributes<'a>, TimestampError> {
        let what = "signed attributes";
        let mut out = Attributes {
            content_type: None,
            message_digest: None,
            signing_certificate: None,
        };
        let mut list = Reader::new(self.attributes).any(what)?.inner();
        while !list.is_empty() {
            let attr = list.expect(SEQUENCE, what)?;
            let mut a = attr.inner();
            let oid = a.expect(OID, what)?.content;
            let mut values = a.expect(SET, what)?.inner();
            let value = values.any(what)?;
            let again = |slot: bool| {
                if slot {
                    Err(TimestampError::Malformed(format!(
                        "{what}: a repeated attribute"
                    )))
                } else {
                    Ok(())
                }
            };
            match oid {
                CONTENT_TYPE => {
                    again(out.content_type.is_some())?;
                    out.content_type = Some(der::single(value.raw, OID, what)?.content);
                }
                MESSAGE_DIGEST => {
                    again(out.message_digest.is_some())?;
                    out.message_digest = Some(der::single(value.raw, OCTET_STRING, what)?.content);
                }
                SIGNING_CERTIFICATE_V2 => {
                    // SigningCertificateV2 ::= SEQUENCE { certs SEQUENCE OF ESSCertIDv2, ... }
                    // ESSCertIDv2 ::= SEQUENCE { hashAlgorithm DEFAULT sha256, certHash, ... }
                    let mut certs = value.inner().expect(SEQUENCE, what)?.inner();
                    let mut first = certs.expect(SEQUENCE, what)?.inner();
                    let next = first.any(what)?;
                    let (hash, cert_hash) = if next.tag == SEQUENCE {
                        let hash = Hash::of_oid(der::algorithm(next, what)?)?;
                        (hash, first.expect(OCTET_STRING, what)?.content)
                    } else if next.tag == OCTET_STRING {
                        (Hash::Sha256, next.content)
                    } else {
                        return Err(TimestampError::Malformed(format!("{what}: ESSCertIDv2")));
                    };
                    out.signing_certificate = Some((hash, cert_hash.to_vec()));
                }
                _ => {}
            }
        }
        Ok(out)
    }
}

impl TstInfo {
    fn read(der: &[u8]) -> Result<Self, TimestampError> {
        let what = "TSTInfo";
        let info = der::single(der, SEQUENCE, what)?;
        let mut t = info.inner();
        let version = t.expect(INTEGER, what)?.content;
        if version != [1] {
            return Err(TimestampError::Malformed(format!(
                "{what}: version is not 1"
            )));
        }
        let policy = der::dotted(t.expect(OID, what)?.content);
        let imprint = t.expect(SEQUENCE, what)?;
        let mut m = imprint.inner();
        let imprint_hash = Hash::of_oid(der::algorithm(m.any(what)?, what)?)?;
        let imprint = m.expect(OCTET_STRING, what)?.content.to_vec();
        let serial = der::unsigned(t.expect(INTEGER, what)?.content).to_vec();
        let time = t.expect(GENERALIZED_TIME, what)?;
        der::time(time, what)?;
        let gen_time = String::from_utf8_lossy(time.content).into_owned();
        let mut nonce = None;
        while !t.is_empty() {
            let field = t.any(what)?;
            if field.tag == INTEGER {
                nonce = Some(der::unsigned(field.content).to_vec());
            }
        }
        Ok(Self {
            policy,
            imprint_hash,
            imprint,
            serial,
            gen_time,
            nonce,
        })
    }
}
