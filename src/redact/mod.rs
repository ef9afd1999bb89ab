//! Keeping secrets and personal data out of the log: [`detect`]ors that find them in text, and
//! [`RedactionPolicy`]s that decide what to do with what they find (allow, flag, redact,
//! block). The writer applies a policy to every entry before it is hashed; the guard layer
//! judges requests with the same detectors and policies.
//!
//! Uses only the JSON model: it knows strings and maps, not entries (the store applies a
//! policy to an entry and writes the flags that follow it).
//!
//! # Policies
//!
//! A [`RedactionPolicy`] maps a detector category (`email`, `openai_key`, …) or group
//! (`pii`, `secret`, `credential`, `financial`, `gov_id`, `special_category`) to an [`Action`];
//! a category's own rule wins over its group's, which wins over the default. The presets are
//! the reference's postures:
//!
//! | preset | redacted | blocked | everything else |
//! |---|---|---|---|
//! | [`default`](RedactionPolicy::default_preset) | secrets, credentials, e-mail | | flagged |
//! | [`gdpr`](RedactionPolicy::gdpr) | pii, gov_id, financial, secrets | special categories, credentials | flagged |
//! | [`pci`](RedactionPolicy::pci) | secrets, pii | financial | flagged |
//! | [`strict`](RedactionPolicy::strict) | everything else | secrets, credentials, financial, gov_id | |
//!
//! An [`AuditLog`](crate::store::AuditLog) applies its policy to every entry before it is hashed
//! (values to redact or block become `<redacted>`: in the caller's task for `append`,
//! `enqueue` and `try_record`, in the writer for the entries it builds itself, always before
//! hashing), and
//! follows an entry where something fired with a `policy_flag` naming the categories and what
//! was done, never the value. `block` is enforced by the guard layer; in the log, a value to
//! block is redacted like one to redact, so it never enters the chain.
//!
//! Every string and every key is scanned, at any depth, except three fields acttrace writes
//! itself whose values a detector could misread (a digest's digits as a card number), and
//! only at their exact place and in their exact format: the payload's `decision_id` when it is
//! a generated id (32 hex digits, or a UUID), its `cost` when it is an amount
//! (`0.004750000 USD`), and `input.sha256` when it is a SHA-256 in hex (the audit layer's body
//! digest). Anything else under those names, or those names anywhere else, is scanned. A
//! secret in a key is scrubbed from the key (keys stay unique).
//!
//! A value under a field whose name says it holds a secret (`password`, `db_password`,
//! `api_key`, `X-Api-Key`, `client_secret`, `access_token`, `Authorization`, `Set-Cookie`,
//! `cvv`, ...) is a secret whatever it looks like: a string or number there is found as
//! [`SECRET_FIELD`] (group `secret`), which every preset redacts, where the detectors only
//! know secrets by their shape. So is the `value` of `{"name": "Authorization", "value": ...}`
//! (headers as HAR files write them) and the second of `["X-Api-Key", ...]`. Counts such as
//! `input_tokens` are not such names. The same names are read in text: the value of
//! `AZURE_OPENAI_API_KEY=...` (a `.env` line), `?api_key=...` or `AccountKey=...;` is found
//! as `secret_assignment` when it looks generated (8 characters or more, with a digit), and
//! redacted with the name kept. Base64 or hex that decodes to text holding a secret (a file
//! passed on, as a `data:` URL or a document block's `"data"`, gzipped or not, or in a zip
//! archive such as a `.docx` or a `.tar.gz`, one inside another; a key pasted encoded) is
//! found whole, as `encoded_secret`; so is one whose content the redactor cannot read
//! entirely (compressed with xz or the like, encrypted, nested more than six deep, or
//! inflating past its budget): what cannot be checked is not kept. A secret written with
//! HTML's or XML's character references (`&#115;k-...`, `&lowbar;`, as in a page a tool
//! fetched) or in quoted-printable (an e-mail's text, where a soft line break cuts a long
//! key in two) is found as `escaped_secret`, the escapes it spans redacted with it.
//!
//! ```
//! use acttrace::json::Map;
//! use acttrace::redact::{Action, RedactionPolicy};
//!
//! let policy = RedactionPolicy::default_preset();
//! let mut payload = Map::new();
//! payload.insert("input", "mail bob@example.com, card 4111 1111 1111 1111");
//! payload.insert("cost", "0.004750000 USD");
//! let found = policy.redact(&mut payload);
//!
//! assert_eq!(payload.get("input").and_then(|v| v.as_str()), Some("mail <redacted>, card 4111 1111 1111 1111"));
//! let seen: Vec<_> = found.iter().map(|d| (d.category, d.action)).collect();
//! assert_eq!(seen, [("credit_card", Action::Flag), ("email", Action::Redact)]);
//!
//! let mut payload = Map::new();
//! payload.insert("db_password", "hunter2");
//! payload.insert("input_tokens", 812);
//! policy.redact(&mut payload);
//! assert_eq!(payload.get("db_password").and_then(|v| v.as_str()), Some("<redacted>"));
//! assert_eq!(payload.get("input_tokens").and_then(|v| v.as_u64()), Some(812));
//! ```

pub mod detect;
pub(crate) mod field;
mod policy;

pub use self::field::SECRET_FIELD;
pub use self::policy::{Action, Detection, REDACTED, RedactionPolicy};
