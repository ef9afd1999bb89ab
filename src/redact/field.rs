//! Field names that say their value is a secret (`password`, `api_key`, `Authorization`,
//! `client_secret`, `cvv`, ...): a value under one is a secret whatever it looks like, where
//! the [`detect`](super::detect)ors only see secrets of a known shape (`sk-...`, `AKIA...`).
//!
//! Uses nothing else of the crate.

/// The category of a value found under a field name that says it is a secret; its group is
/// `secret` and its severity `critical`, so every preset redacts it (`strict` blocks it). A
/// policy keeps such values with `.rule("secret_field", Action::Allow)`; its detectors still
/// scan them.
pub const SECRET_FIELD: &str = "secret_field";

/// Whether a field named `key` holds a secret: its name, case and the separators `-`, `_`,
/// `.` and space aside, is one of a few names (`pwd`, `pin`, `pass`, `auth`, `bearer`,
/// `credentials`) or ends in one of a few words (`password`, `passwd`, `passphrase`,
/// `passcode`, `secret`, `token`, `session_id`, `sessid`, `api_key`, `private_key`, `privkey`,
/// `signing_key`, `secret_key`, `secret_access_key`,
/// `encryption_key`, `master_key`, `account_key`, `shared_access_key`, `authorization`,
/// `cookie`, `cvv`, `cvc`, `security_code`): `db_password`, `X-Api-Key`, `clientSecret`, `refresh_token`,
/// `Set-Cookie`, `card.cvc2`. Plural counts (`input_tokens`) and names that only begin so
/// (`token_count`, `password_hint`) do not.
pub(crate) fn names_a_secret(key: &str) -> bool {
    let key = key.as_bytes();
    let Some(last) = key.iter().rev().find(|b| !is_separator(**b)) else {
        return false;
    };
    let ends = |word: &[u8]| ends_with(key, word).is_some();
    let whole = |word: &[u8]| {
        ends_with(key, word).is_some_and(|at| key[..at].iter().all(|b| is_separator(*b)))
    };
    // Only the words that end in the name's last letter are compared.
    match last.to_ascii_lowercase() {
        b'd' => {
            ends(b"password")
                || ends(b"passwd")
                || whole(b"pwd")
                || ends(b"sessionid")
                || ends(b"sessid")
        }
        b'e' => {
            ends(b"passphrase") || ends(b"passcode") || ends(b"cookie") || ends(b"securitycode")
        }
        b'r' => whole(b"bearer"),
        b't' => ends(b"secret"),
        b'n' => ends(b"token") || ends(b"authorization") || whole(b"pin"),
        b'y' => [
            b"apikey" as &[u8],
            b"privatekey",
            b"privkey",
            b"signingkey",
            b"secretkey",
            b"secretaccesskey",
            b"encryptionkey",
            b"masterkey",
            b"accountkey",
            b"sharedaccesskey",
        ]
        .iter()
        .any(|word| ends(word)),
        b'h' => whole(b"auth"),
        b's' => whole(b"pass") || whole(b"credentials"),
        b'l' => whole(b"credential"),
        b'v' => ends(b"cvv"),
        b'c' => ends(b"cvc"),
        b'2' => ends(b"cvv2") || ends(b"cvc2"),
        _ => false,
    }
}

fn is_separator(b: u8) -> bool {
    matches!(b, b'-' | b'_' | b'.' | b' ')
}

/// Where `word` (lower case) begins in `key` if `key` ends in it, case and separators aside.
fn ends_with(key: &[u8], word: &[u8]) -> Option<usize> {
    let mut at = key.len();
    for &letter in word.iter().rev() {
        loop {
            at = at.checked_sub(1)?;
            if !is_separator(key[at]) {
                break;
            }
        }
        if key[at].to_ascii_lowercase() != letter {
            return None;
        }
    }
    Some(at)
}

#[cfg(test)]
mod tests {
    use super::names_a_secret;

    #[test]
    fn names_that_hold_a_secret_are_known_by_their_words() {
        for key in [
            "password",
            "Password",
            "db_password",
            "user-passwd",
            "pwd",
            "PIN",
            "cvv",
            "card.cvc2",
            "card_security_code",
            "secret",
            "client_secret",
            "clientSecret",
            "aws_secret",
            "token",
            "access_token",
            "refreshToken",
            "id_token",
            "X-Auth-Token",
            "api_key",
            "apiKey",
            "X-API-KEY",
            "x-goog-api-key",
            "openai_api_key",
            "private_key",
            "signing key",
            "Authorization",
            "Proxy-Authorization",
            "cookie",
            "Set-Cookie",
            "auth",
            "credentials",
            "passphrase",
            "a_very_long_prefix_that_goes_on_and_on_and_on_db_password",
            "SECRET_KEY",
            "aws_secret_access_key",
            "secretAccessKey",
            "AccountKey",
            "encryption-key",
            "passcode",
            "device_passcode",
            "JSESSIONID",
            "session_id",
            "PHPSESSID",
            "bearer",
            "ssh_privkey",
        ] {
            assert!(names_a_secret(key), "{key}");
        }
        for key in [
            "",
            "tokens",
            "input_tokens",
            "max_tokens",
            "token_count",
            "password_hint",
            "secretary",
            "is_secret_santa",
            "key",
            "monkey",
            "bypass",
            "passport",
            "compass",
            "author",
            "authority",
            "spin",
            "decision_id",
            "route",
            "status",
            "outcome",
            "a_very_long_prefix_that_goes_on_and_on_and_on_pin",
            "aws_access_key_id",
            "accessKeyId",
            "idempotency_key",
            "session",
            "sessions",
            "session_count",
            "bearer_name",
            "sid",
        ] {
            assert!(!names_a_secret(key), "{key}");
        }
    }
}
