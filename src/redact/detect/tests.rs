//! Each detector on what it must find and what it must leave alone.

use super::finders::*;
use super::*;

fn cats(text: &str) -> Vec<&'static str> {
    scan(text).iter().map(|f| f.category).collect()
}

#[test]
fn true_positives() {
    assert_eq!(cats("key=sk-proj-0123456789abcdefghijKLMN"), ["openai_key"]);
    assert_eq!(
        cats("sk-ant-api03-0123456789abcdefghijklmn"),
        ["anthropic_key"]
    );
    assert_eq!(cats("AKIAIOSFODNN7EXAMPLE"), ["aws_access_key"]);
    assert_eq!(
        cats("AIzaSyA1234567890abcdefghijklmnopqrstuv"),
        ["google_api_key"]
    );
    assert!(
        cats("AIzaSyA1234567890abcdefghijklmnopqrstu").is_empty(),
        "one short"
    );
    assert_eq!(
        cats("ghp_0123456789abcdefghijklmnopqrstuvwxyz"),
        ["github_token"]
    );
    assert_eq!(cats("xoxb-1234567890-abcdefghij"), ["slack_token"]);
    assert_eq!(
        cats(
            "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"
        ),
        ["jwt"]
    );
    assert_eq!(
        cats("Authorization: Bearer abcdefghijklmnopqrstuvwxyz0123"),
        ["bearer_token"]
    );
    assert_eq!(cats("write to a.b-c+d@mail.example.co.uk."), ["email"]);
    assert_eq!(
        cats("sk_live_51HabcdefghijKLMNOP rk_test_0123456789abcdef"),
        ["stripe_key", "stripe_key"]
    );
    assert_eq!(
        cats("HF_TOKEN=hf_AbCdEfGhIjKlMnOpQrStUvWxYz01234567"),
        ["huggingface_token"]
    );
    assert_eq!(
        cats("glpat-AbCdEfGhIjKlMnOpQrSt and gldt-0123456789abcdefghij"),
        ["gitlab_token", "gitlab_token"]
    );
    assert_eq!(
        cats("//registry.npmjs.org/:_authToken=npm_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789"),
        ["npm_token"]
    );
    assert_eq!(
        cats("SG.abcdefghijklmnopqrstuv.abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"),
        ["sendgrid_key"]
    );
    assert_eq!(
        cats(
            "post to https://hooks.slack.com/services/T0123ABCD/B0456EFGH/abcdefghijklmnopqrstuvwx"
        ),
        ["webhook_url"]
    );
    assert_eq!(
        cats("https://discord.com/api/webhooks/123456789012345678/AbCdEf-GhIj_KlMnOpQrStUv"),
        ["webhook_url"]
    );
    // The paths alone, as a request's path is recorded without its host.
    let discord_token = "AbCdEf-GhIj_KlMnOpQrStUv".repeat(3);
    for path in [
        "/services/T0123ABCD/B0456EFGH/abcdefghijklmnopqrstuvwx".to_owned(),
        format!("/api/webhooks/123456789012345678/{discord_token}"),
    ] {
        assert_eq!(cats(&path), ["webhook_url"], "{path}");
        let found = scan(&path);
        assert_eq!(found[0].span, 0..path.len(), "{path}: the whole path");
    }
    for not_a_hook in [
        "/services/billing/invoices/2026-12-08/summary-of-the-month",
        "/services/T0123ABCD/B0456EFGH/short",
        "/api/webhooks/42/settings-for-the-team-and-its-members-and-more-text-here-ok",
    ] {
        assert!(cats(not_a_hook).is_empty(), "{not_a_hook}");
    }
    for token in [
        "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw",
        "/bot123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw/sendMessage",
        "TELEGRAM_TOKEN 1234567890:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw",
    ] {
        assert_eq!(cats(token), ["telegram_bot_token"], "{token}");
    }
    for not_a_token in [
        "12:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw",
        "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsawMUCHTOOLONG",
        "x123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw",
    ] {
        assert!(cats(not_a_token).is_empty(), "{not_a_token}");
    }
    for (url, password) in [
        ("postgres://app:s3cret-pw@db:5432/x", "s3cret-pw"),
        ("see https://admin:hunter2@db.example.com/x now", "hunter2"),
        ("redis://:only-a-password@cache", "only-a-password"),
        ("amqp://u:p%40ss@mq/vhost", "p%40ss"),
    ] {
        let f = scan(url);
        assert_eq!(f.len(), 1, "{url}: {f:?}");
        assert_eq!(
            (f[0].category, &url[f[0].span.clone()]),
            ("url_password", password)
        );
    }
    let pem = "x -----BEGIN RSA PRIVATE KEY-----\nMIIEow\nabc\n-----END RSA PRIVATE KEY----- y";
    let f = scan(pem);
    assert_eq!(f.len(), 1);
    assert_eq!(
        &pem[f[0].span.clone()],
        &pem[2..pem.len() - 2],
        "the whole block"
    );
}

/// The shortcuts `special_category` and its gate take hold for every lexicon word.
/// Keys of the AI platforms an agent calls, by their vendors' prefixes.
#[test]
fn ai_platform_keys() {
    for (text, category) in [
        (
            "GROQ_API_KEY=gsk_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789AbCdEfGhIjKlMnOp",
            "groq_key",
        ),
        (
            "xai-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789AbCdEfGhIjKlMnOpQrStUvWxYz0123456789AbCdEfGhIjKlMn",
            "xai_key",
        ),
        (
            "pplx-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789AbCdEfGhIjKl",
            "perplexity_key",
        ),
        (
            "r8_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789a",
            "replicate_token",
        ),
        (
            "tgp_v1_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789abcdefg",
            "together_key",
        ),
        (
            "lsv2_pt_0123456789abcdef0123456789abcdef_0123456789",
            "langsmith_key",
        ),
        (
            "lsv2_sk_0123456789abcdef0123456789abcdef_0123456789",
            "langsmith_key",
        ),
        (
            "pcsk_AbCdE_FgHiJkLmNoPqRsTuVwXyZ0123456789AbCdEfGhIjKl",
            "pinecone_key",
        ),
        ("key tvly-dev-AbCdEfGhIjKlMnOpQrSt", "tavily_key"),
    ] {
        assert_eq!(cats(text), [category], "{text}");
    }
    // Too short, or not at a word's start: names and ids that only begin so.
    for text in [
        "gsk_short_name",
        "xai-grok-4",
        "pplx-70b-online",
        "r8_model",
        "lsv2_pt_short",
        "tvly-search",
        "agsk_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789AbCdEfGhIjKlMnOp",
    ] {
        assert!(scan(text).is_empty(), "{text:?} gave {:?}", cats(text));
    }
}

/// A secret written `NAME=VALUE`: the value is found when the name says it is a secret and the
/// value looks generated, whatever its shape; the name stays.
#[test]
fn secrets_written_as_assignments() {
    fn found(text: &str) -> Vec<&str> {
        scan(text)
            .iter()
            .filter(|f| f.category == "secret_assignment")
            .map(|f| &text[f.span.clone()])
            .collect()
    }
    let env = "AZURE_OPENAI_API_KEY=0123456789abcdef0123456789abcdef\nCO_API_KEY=AbCdEf0123\nexport AWS_SECRET_ACCESS_KEY=\"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\"";
    assert_eq!(
        found(env),
        [
            "0123456789abcdef0123456789abcdef",
            "AbCdEf0123",
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
        ]
    );
    assert_eq!(
        found(
            "Endpoint=sb://x.servicebus.windows.net/;SharedAccessKeyName=root;SharedAccessKey=ab12CD34ef56+/gh==;EntityPath=q"
        ),
        ["ab12CD34ef56+/gh=="]
    );
    assert_eq!(
        found("GET /v1/search?q=loans&api_key=abc123def456&page=2"),
        ["abc123def456"]
    );
    assert_eq!(
        found("[default]\nclient_secret = 'Zx9-Yw8_Vu7'"),
        ["Zx9-Yw8_Vu7"]
    );
    assert_eq!(
        found("spring.datasource.password=hunter2024x"),
        Vec::<&str>::new(),
        "a password is the password detector's"
    );
    assert_eq!(cats("spring.datasource.password=hunter2024x"), ["password"]);
    for text in [
        "API_KEY=${OPENAI_API_KEY}",
        "api_key=<your-key-here>",
        "token=1234",
        "max_tokens=4096000000",
        "input_tokens=123456789",
        "if token == \"abc123def456\"",
        "token != abc123def456",
        "monkey=abc123def456",
        "the token = a random word list",
        "a=b+c; x=12345678",
        "const token = getToken(userId1);",
        "api_key = os.environ[\"API_KEY_2\"]",
        "password_hint=see note 12",
    ] {
        assert_eq!(found(text), Vec::<&str>::new(), "{text:?}");
    }
}

/// A `data:` URL whose text holds a secret is reported whole, and so is bare base64 (a
/// document block's `data`) or hex; one whose text holds none, or that holds an image, is not.
#[test]
fn secrets_inside_base64() {
    // "key=sk-proj-0123456789abcdefghijKLMN" in base64.
    let text = "see data:text/plain;base64,a2V5PXNrLXByb2otMDEyMzQ1Njc4OWFiY2RlZmdoaWpLTE1O ok";
    let found = scan(text);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].category, "encoded_secret");
    assert_eq!(
        &text[found[0].span.clone()],
        "data:text/plain;base64,a2V5PXNrLXByb2otMDEyMzQ1Njc4OWFiY2RlZmdoaWpLTE1O"
    );
    // An AWS secret key in a `.env` line, as a document block carries a file.
    let b64 =
        "QVdTX1NFQ1JFVF9BQ0NFU1NfS0VZPXdKYWxyWFV0bkZFTUkvSzdNREVORy9iUHhSZmlDWUVYQU1QTEVLRVkK";
    let text = format!(r#"{{"source": {{"type": "base64", "data": "{b64}"}}}}"#);
    let found = scan(&text);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].category, "encoded_secret");
    assert_eq!(&text[found[0].span.clone()], b64);
    // The same line in hex.
    let hex = "4157535f5345435245545f4143434553535f4b45593d774a616c725855746e46454d492f4b374d44454e472f62507852666943594558414d504c454b4559";
    let text = format!("dump: {hex}.");
    let found = scan(&text);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].category, "encoded_secret");
    assert_eq!(&text[found[0].span.clone()], hex);
    // "пароль: sk-proj-0123456789abcdefghijKLMN" in base64url, as Gmail's API carries a
    // message: the Russian word ("password") puts standard base64's pieces out of step.
    let url = "0L_QsNGA0L7Qu9GMOiBzay1wcm9qLTAxMjM0NTY3ODlhYmNkZWZnaGlqS0xNTgo";
    let text = format!(r#"{{"raw": "{url}"}}"#);
    let found = scan(&text);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].category, "encoded_secret");
    assert_eq!(&text[found[0].span.clone()], url);
    // "Quarterly figures: up 4%." and a PNG's first bytes, in a URL and bare.
    for quiet in [
        "UXVhcnRlcmx5IGZpZ3VyZXM6IHVwIDQlLg==",
        "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==",
        "data:text/plain;base64,UXVhcnRlcmx5IGZpZ3VyZXM6IHVwIDQlLg==",
        "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==",
    ] {
        assert!(scan(quiet).is_empty(), "{quiet}: {:?}", scan(quiet));
    }
}

#[test]
fn special_words_fit_their_shortcuts() {
    for w in SPECIAL_WORDS {
        assert!((3..=12).contains(&w.len()), "{w}");
        assert!(SPECIAL_FIRST.contains(&w.as_bytes()[0]), "{w}");
    }
}

#[test]
fn special_categories_by_whole_word() {
    assert_eq!(
        cats("Patient DIAGNOSED with diabetes; religion noted"),
        ["special_category", "special_category"]
    );
    assert_eq!(cats("biometric login"), ["special_category"]);
    for quiet in [
        "diagnostics ok",
        "irreligiously",
        "shiv",
        "genetics_lab2",
        "archive",
    ] {
        assert!(cats(quiet).is_empty(), "{quiet}");
    }
}

#[test]
fn false_positives_stay_quiet() {
    for text in [
        "cost 0.004750000 USD",
        "4f98840b471811ab916b01387768273cf938cda5045f07743fd0ac953d0d8230",
        "acc00000000000000000000000000001",
        "task-sk-short",
        "risk-assessment sk-",
        "AKIAIOSFODNN7EXAMPLEX",
        "user@localhost",
        "@handle and a@b",
        "-----BEGIN CERTIFICATE-----",
        "bearer of bad news",
        "eyJ alone",
        "2026-01-01T00:00:00.001001+00:00",
        "sk_live_short",
        "desk_test_0123456789abcdefgh",
        "hf_model_name",
        "SG.abc.def",
        "https://example.com/a:b@c",
        "https://host/path:x@y",
        "see hooks.slack.com/services/ for how",
    ] {
        assert!(scan(text).is_empty(), "{text:?} gave {:?}", scan(text));
    }
    // A user name alone, or a `:` outside the user information, is no password.
    for text in [
        "ssh://git@github.com:22/repo",
        "mailto:bob:x@example.com",
        "https://user@example.com/x",
        "https://user:@example.com/x",
    ] {
        assert!(!cats(text).contains(&"url_password"), "{text:?}");
    }
}

#[test]
fn personal_and_financial_data() {
    assert_eq!(cats("card 4111 1111 1111 1111 exp 12/29"), ["credit_card"]);
    assert_eq!(cats("card 4111-1111-1111-1111"), ["credit_card"]);
    assert_eq!(cats("pay to DE89 3704 0044 0532 0130 00 today"), ["iban"]);
    assert_eq!(cats("GB82WEST12345698765432"), ["iban"]);
    assert_eq!(cats("ssn 123-45-6789"), ["us_ssn"]);
    assert_eq!(
        cats("call +44 20 7946 0958 or (212) 555-0123 or 212-555-0123"),
        ["phone", "phone", "phone"]
    );
    assert_eq!(
        cats("from 192.168.1.20 and 2001:db8::8a2e:370:7334"),
        ["ipv4", "ipv6"]
    );
    assert_eq!(cats("password: hunter2!"), ["password"]);
    assert_eq!(cats(r#"{"password": "s3cret-value"}"#), ["password"]);
}

#[test]
fn personal_data_false_positives() {
    for text in [
        "order 4111 1111 1111 1112",                              // Luhn fails
        "DE89 3704 0044 0532 0130 01",                            // mod-97 fails
        "ssn 000-12-3456 and 666-12-3456",                        // never issued
        "at 12:30:45 on 2026-01-01",                              // times and dates
        "version 1.2.3.4.5 and 300.1.1.1",                        // not addresses
        "connect ECONNREFUSED 127.0.0.1:8080, retried [::1]:443", // loopback
        "see 192.0.2.10, 198.51.100.7 and 203.0.113.99",          // documentation ranges
        "listening on 0.0.0.0:3000",                              // this host
        "latency_ms 412.25 score 0.82",
        "seq 1234567890123", // a long number, no network digit
        "the password field is empty",
        "+1",
        "v1.14.0",
    ] {
        assert!(scan(text).is_empty(), "{text:?} gave {:?}", scan(text));
    }
}

/// The gates only skip detectors that could not have matched: on every sample text, every
/// window of it and random edits of it, the gated scan finds exactly what running every
/// detector finds.
#[test]
fn gates_never_hide_a_match() {
    let samples = [
        "key=sk-proj-0123456789abcdefghijKLMN",
        "sk-ant-api03-0123456789abcdefghijklmn",
        "AKIAIOSFODNN7EXAMPLE ASIAIOSFODNN7EXAMPLE",
        "AIzaSyA1234567890abcdefghijklmnopqrstuv",
        "ghp_0123456789abcdefghijklmnopqrstuvwxyz github_pat_0123456789abcdefghijklmnopqrstu",
        "xoxb-1234567890-abcdefghij xapp-1234567890-abc",
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
        "Authorization: BEARER abcdefghijklmnopqrstuvwxyz0123",
        "write to a.b-c+d@mail.example.co.uk.",
        "x -----BEGIN RSA PRIVATE KEY-----\nMIIEow\nabc\n-----END RSA PRIVATE KEY----- y",
        "Patient DIAGNOSED with diabetes; religion noted, HIV, Fingerprints, ethnicity",
        "card 4111 1111 1111 1111 exp 12/29, 4111-1111-1111-1111, 5500005555555559",
        "pay to DE89 3704 0044 0532 0130 00 today GB82WEST12345698765432",
        "ssn 123-45-6789",
        "call +44 20 7946 0958 or (212) 555-0123 or 212-555-0123",
        "from 192.168.1.20 and 2001:db8::8a2e:370:7334 and 1:2:3:4:5:6:7:8 ::1",
        "password: hunter2! PWD=abcd passwd = 'longer'",
        r#"{"password": "s3cret-value", "applicant":"A-17","amount":25000}"#,
        "sk_live_51HabcdefghijKLMNOP rk_test_0123456789abcdef hf_AbCdEfGhIjKlMnOpQrStUvWxYz01234567",
        "glpat-AbCdEfGhIjKlMnOpQrSt npm_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789",
        "SG.abcdefghijklmnopqrstuv.abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",
        "postgres://app:s3cret-pw@db:5432/x https://a:b@c/ redis://:pw@cache",
        "https://hooks.slack.com/services/T0123ABCD/B0456EFGH/abcdefghijklmnopqrstuvwx",
        "https://discord.com/api/webhooks/123456789012345678/AbCdEf-GhIj_KlMnOpQrStUv",
        "GROQ_API_KEY=gsk_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789AbCdEfGhIjKlMnOp",
        "xai-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789AbCdEfGhIjKlMnOpQrSt pplx-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789AbCdEfGh",
        "r8_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789a tgp_v1_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789abcdefg",
        "lsv2_pt_0123456789abcdef0123456789abcdef_0123456789 pcsk_AbCdE_FgHiJkLmNoPqRsTuVwXyZ0123456789AbCdEfGhIjKl tvly-dev-AbCdEfGhIjKlMnOpQrSt",
        "AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY AccountKey=ab12CD34ef56==;x",
        "https://api.example.com/v1?api_key=abc123def456&q=1 client_secret = 'Zx9-Yw8_Vu7'",
        "file data:text/plain;base64,a2V5PXNrLXByb2otMDEyMzQ1Njc4OWFiY2RlZmdoaWpLTE1O end",
    ];
    let check = |text: &str| {
        let all = scan_gated(DETECTORS, text, |_| true);
        assert_eq!(scan(text), all, "{text:?}");
    };
    let mut rng = 0x9e37_79b9_7f4a_7c15_u64;
    let mut next = move |n: usize| {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        (rng % n as u64) as usize
    };
    let alphabet = b"aAbBdDeEfgGhHIJkKlmnNpPrRsStwWxyz0123456789 -_.:/@+()=\"'";
    for sample in samples {
        let b = sample.as_bytes();
        for i in 0..b.len() {
            for j in (i + 1)..=b.len().min(i + 48) {
                if let Ok(window) = std::str::from_utf8(&b[i..j]) {
                    check(window);
                }
            }
        }
        for _ in 0..300 {
            let mut edited = b.to_vec();
            for _ in 0..=next(3) {
                let at = next(edited.len() + 1);
                match next(3) {
                    0 if at < edited.len() => {
                        edited.remove(at);
                    }
                    1 => edited.insert(at, alphabet[next(alphabet.len())]),
                    _ => {
                        let at = at.min(edited.len().saturating_sub(1));
                        if let Some(c) = edited.get_mut(at) {
                            *c = alphabet[next(alphabet.len())];
                        }
                    }
                }
            }
            check(&String::from_utf8_lossy(&edited));
        }
    }
}

/// The gates do their work: on the strings an ordinary entry holds (the inbound layer's,
/// a JSON body) no detector runs at all, while every lexicon word, in any case, gets the
/// special-category scan.
#[test]
fn gates_rule_out_ordinary_text() {
    let ordinary = [
        "POST",
        "agent",
        "/agent/triage",
        "application/json",
        "completed",
        r#"{"applicant":"A-17","amount":25000,"income":52000,"notes":"steady employment, no defaults"}"#,
    ];
    let gated = |text: &str| -> Vec<&str> {
        let profile = Profile::with(text, Pass::over(text));
        DETECTORS
            .iter()
            .filter(|d| d.gate.lets_through(&profile))
            .map(|d| d.category)
            .collect()
    };
    for text in ordinary {
        assert_eq!(gated(text), Vec::<&str>::new(), "{text:?}");
    }
    for word in SPECIAL_WORDS {
        for text in [word.to_string(), word.to_uppercase(), format!("a {word}.")] {
            assert!(gated(&text).contains(&"special_category"), "{text:?}");
        }
    }
}

#[test]
fn detectors_never_panic_on_odd_text() {
    for text in [
        "",
        "+",
        "(",
        "::",
        ":::::",
        "1.",
        "1.2.3.",
        "-----BEGIN ",
        "eyJ.eyJ.",
        "AKIA",
        "é+1 (é",
        "password:",
        "pwd=\u{2028}",
    ] {
        let _ = scan(text);
    }
    let long: String = "9".repeat(10_000);
    let _ = scan(&long);
}

#[test]
fn overlapping_detectors_report_once() {
    assert_eq!(
        cats("sk-ant-api03-0123456789abcdefghijklmn and sk-0123456789abcdefghijklmn"),
        ["anthropic_key", "openai_key"]
    );
}

/// A span that overlaps one an earlier detector kept is dropped; one that only touches it, or
/// lies between two, is kept; and so on over thousands of findings.
#[test]
fn spans_overlapping_earlier_ones_are_dropped() {
    fn first(_: &str, out: &mut Vec<Range<usize>>) {
        out.extend([2..5, 10..12]);
    }
    fn second(_: &str, out: &mut Vec<Range<usize>>) {
        out.extend([0..3, 5..10, 11..20, 12..13, 4..11]);
    }
    let detectors = [
        Detector::new("a", "g", "info", first),
        Detector::new("b", "g", "info", second),
    ];
    let found: Vec<(&str, Range<usize>)> = scan_with(&detectors, &"x".repeat(20))
        .into_iter()
        .map(|f| (f.category, f.span))
        .collect();
    assert_eq!(
        found,
        [("a", 2..5), ("b", 5..10), ("a", 10..12), ("b", 12..13)]
    );
    // Many findings, each kept: the text of a customer list.
    let list = "jane.doe@example.com, ".repeat(20_000);
    assert_eq!(scan(&list).len(), 20_000);
}
