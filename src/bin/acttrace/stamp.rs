//! RFC 3161 trusted time for signed tree heads: `checkpoint --note --tsa URL` asks a
//! time-stamping authority for a token over the note (saved as NOTE.tst); `verify --note` and
//! `check-proof` check it with `--tsa-cert`.

use std::path::{Path, PathBuf};

use acttrace::evidence::timestamp::{Certificate, Crl, TimestampToken, request_token, save_token};
use clap::Args;

use crate::with_suffix;

#[derive(Debug, Args)]
pub(crate) struct TsaCheckArgs {
    /// Check the tree head's RFC 3161 timestamp token against this certificate (PEM or DER):
    /// the time-stamping authority's own, or the CA that issued it.
    #[arg(long, value_name = "FILE", requires = "note")]
    tsa_cert: Option<PathBuf>,

    /// The timestamp token for --tsa-cert (default: NOTE.tst).
    #[arg(long, value_name = "FILE", requires = "tsa_cert")]
    timestamp: Option<PathBuf>,

    /// Check that no certificate on the authority's path to --tsa-cert is revoked, against
    /// these certificate revocation lists (PEM or DER; repeat for several issuers). Each
    /// certificate needs a current list signed by its issuer.
    #[arg(long = "tsa-crl", value_name = "FILE", requires = "tsa_cert")]
    tsa_crl: Vec<PathBuf>,

    /// As --tsa-crl, with the lists fetched now from where the authority's certificates say
    /// their issuers publish them (their http:// CRL distribution points).
    #[arg(long, requires = "tsa_cert")]
    tsa_fetch_crls: bool,
}

/// Asks the authority at `url` for a token over the note at `note` and saves it as NOTE.tst.
pub(crate) fn stamp(note: &Path, url: &str) -> Result<String, String> {
    let text = std::fs::read(note).map_err(|e| format!("cannot read {}: {e}", note.display()))?;
    let token = request_token(url, &text).map_err(|e| e.to_string())?;
    let out = with_suffix(note, ".tst");
    save_token(&out, &token).map_err(|e| format!("{}: {e}", out.display()))?;
    Ok(format!(
        "wrote {}: an RFC 3161 timestamp token over {} from {url}",
        out.display(),
        note.display()
    ))
}

/// `Ok(None)` without --tsa-cert; `Ok(Some(Ok(verdict)))` for a token that verifies,
/// `Ok(Some(Err(why)))` for one that does not; `Err` for usage and read errors.
pub(crate) fn check(
    note: &Path,
    args: &TsaCheckArgs,
) -> Result<Option<Result<String, String>>, String> {
    let Some(cert) = &args.tsa_cert else {
        return Ok(None);
    };
    let trusted = Certificate::read(cert).map_err(|e| format!("{}: {e}", cert.display()))?;
    let token_path = args
        .timestamp
        .clone()
        .unwrap_or_else(|| with_suffix(note, ".tst"));
    let der = std::fs::read(&token_path)
        .map_err(|e| format!("cannot read {}: {e}", token_path.display()))?;
    let message =
        std::fs::read(note).map_err(|e| format!("cannot read {}: {e}", note.display()))?;
    let mut crls = Vec::new();
    for path in &args.tsa_crl {
        crls.extend(Crl::read(path).map_err(|e| format!("{}: {e}", path.display()))?);
    }
    let revocation = !args.tsa_crl.is_empty() || args.tsa_fetch_crls;
    let verdict = TimestampToken::from_der(&der)
        .and_then(|token| {
            if args.tsa_fetch_crls {
                crls.extend(token.fetch_crls()?);
            }
            match revocation {
                false => token.verify(&message, &trusted),
                true => token.verify_with_crls(&message, &trusted, &crls),
            }
        })
        .map(|t| {
            format!(
                "timestamp verified: the tree head existed at {} (RFC 3161, {}, serial {}{})",
                t.time,
                t.authority,
                t.serial,
                match (revocation, args.tsa_fetch_crls) {
                    (false, _) => "",
                    (true, false) => "; not revoked",
                    (true, true) => "; not revoked, by the lists its issuers publish now",
                }
            )
        })
        .map_err(|e| format!("timestamp invalid: {}: {e}", token_path.display()));
    Ok(Some(verdict))
}

/// A verdict with the timestamp's joined to it: both must hold.
pub(crate) fn join(
    verdict: Result<String, String>,
    stamp: Option<Result<String, String>>,
) -> Result<String, String> {
    match (verdict, stamp) {
        (Ok(v), Some(Ok(s))) => Ok(format!("{v}\n{s}")),
        (Ok(_), Some(Err(s))) => Err(s),
        (v, _) => v,
    }
}
