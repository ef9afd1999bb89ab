//! Pre-flight policies: what [`Guard`](super::Guard) asks before a request reaches its handler.

use std::borrow::Cow;
use std::sync::Arc;

use http::request::Parts;
use http::{HeaderMap, Method, StatusCode, Uri};

use crate::redact::detect::{self, Detector};
use crate::redact::{Action, RedactionPolicy};

mod hidden;

pub use self::hidden::{HiddenText, hidden_text};

/// What a policy sees of a request: its head and its body as read so far.
#[derive(Debug, Clone, Copy)]
pub struct GuardRequest<'a> {
    parts: &'a Parts,
    body: &'a [u8],
    complete: bool,
    /// The content coding the body was sent with ([`body_coding`]), read once.
    coding: Option<&'a str>,
    scanned: &'a Scanned<'a>,
}

/// The texts the content policies scan, each with its detectors' pass over it, and why part of
/// the request was not read ([`Views::unread`](super::decode::Views::unread)): made on first
/// use and shared by every policy that judges the request, however many there are.
pub(crate) type Scanned<'a> = std::sync::OnceLock<(ScanTexts<'a>, Option<String>)>;

/// The texts the content policies scan, each with its detectors' pass over it.
type ScanTexts<'a> = Vec<(Cow<'a, str>, detect::Pass)>;

impl<'a> GuardRequest<'a> {
    pub(crate) fn new(
        parts: &'a Parts,
        body: &'a [u8],
        complete: bool,
        scanned: &'a Scanned<'a>,
    ) -> Self {
        Self {
            parts,
            body,
            complete,
            coding: body_coding(&parts.headers),
            scanned,
        }
    }

    /// The method.
    pub fn method(&self) -> &'a Method {
        &self.parts.method
    }

    /// The URI.
    pub fn uri(&self) -> &'a Uri {
        &self.parts.uri
    }

    /// The headers.
    pub fn headers(&self) -> &'a HeaderMap {
        &self.parts.headers
    }

    /// The body, or its first bytes when it is longer than the guard's limit.
    pub fn body(&self) -> &'a [u8] {
        self.body
    }

    /// Whether [`body`](Self::body) is the whole body.
    pub fn body_complete(&self) -> bool {
        self.complete
    }

    /// The body decoded, when it was sent in UTF-16 or UTF-32 (a .NET client's
    /// `Encoding.Unicode`): told by a byte order mark, the `Content-Type`'s charset, or NUL
    /// bytes where such text has them, and read in both byte orders, one after the other, when
    /// only the charset tells it. `None` for any other body.
    ///
    /// ```
    /// use acttrace::layer::guard::{Finding, GuardRequest, Verdict};
    ///
    /// // Flags what a reader of the raw bytes would not see.
    /// let wide_bodies = |req: &GuardRequest<'_>| match req.wide_text() {
    ///     Some(_) => Verdict::Flag(Finding::new("a body in UTF-16 or UTF-32")),
    ///     None => Verdict::Allow,
    /// };
    /// # fn takes(_: impl acttrace::layer::guard::Policy) {}
    /// # takes(wide_bodies);
    /// ```
    pub fn wide_text(&self) -> Option<String> {
        super::decode::wide_text(self.headers(), self.body)
    }

    /// Whether the body was sent with a content coding (`Content-Encoding: gzip`, `br`, ...,
    /// anything but `identity`): then [`body`](Self::body) holds the coded bytes, and no
    /// content policy can read what they say. Decompress requests before the guard (for
    /// instance with tower-http's `RequestDecompressionLayer` outside it, which removes the
    /// header) to have them read.
    ///
    /// ```
    /// use acttrace::layer::guard::{Finding, GuardRequest, Verdict};
    ///
    /// let plain_bodies_only = |req: &GuardRequest<'_>| {
    ///     if req.body_encoded() {
    ///         Verdict::Block(Finding::new("compressed bodies are not accepted"))
    ///     } else {
    ///         Verdict::Allow
    ///     }
    /// };
    /// # fn takes(_: impl acttrace::layer::guard::Policy) {}
    /// # takes(plain_bodies_only);
    /// ```
    pub fn body_encoded(&self) -> bool {
        self.coding.is_some()
    }

    /// Whether the content policies can read the whole body as its handler will: it is
    /// [complete](Self::body_complete) and not [encoded](Self::body_encoded). The built-in
    /// content policies treat any other body as `unscanned`.
    pub fn body_scannable(&self) -> bool {
        self.complete && !self.body_encoded()
    }

    /// The body as text (invalid UTF-8 replaced), for scanning. A body sent in UTF-16 or
    /// UTF-32 is also read decoded by the built-in policies; see [`wide_text`](Self::wide_text).
    pub fn body_text(&self) -> std::borrow::Cow<'a, str> {
        // The validating check is much faster than the lossy decoder on text that is valid.
        match std::str::from_utf8(self.body) {
            Ok(text) => std::borrow::Cow::Borrowed(text),
            Err(_) => String::from_utf8_lossy(self.body),
        }
    }
}

/// Why a policy flagged or blocked a request. Recorded in the `policy_flag` entry and, when
/// blocked, named in the response; it never holds the offending value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// A short reason, e.g. `secret in input`.
    pub reason: String,
    /// `info`, `warning` or `critical`.
    pub severity: String,
    /// What fired, e.g. `["openai_key"]`.
    pub categories: Vec<String>,
    /// The status to block with, instead of the guard's default.
    pub status: Option<StatusCode>,
}

impl Finding {
    /// A finding with `reason`, severity `warning`, no categories.
    pub fn new(reason: impl Into<String>) -> Self {
        Self {
            reason: reason.into(),
            severity: "warning".to_owned(),
            categories: Vec::new(),
            status: None,
        }
    }

    /// Sets the severity (`info`, `warning`, `critical`).
    pub fn severity(mut self, severity: impl Into<String>) -> Self {
        self.severity = severity.into();
        self
    }

    /// Adds a category.
    pub fn category(mut self, category: impl Into<String>) -> Self {
        self.categories.push(category.into());
        self
    }

    /// Blocks with this status instead of the guard's default.
    pub fn status(mut self, status: StatusCode) -> Self {
        self.status = Some(status);
        self
    }
}

/// A policy's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Verdict {
    /// Let the request through, record nothing.
    Allow,
    /// Record a `policy_flag` (action `flagged`) and let the request through.
    Flag(Finding),
    /// Record a `policy_flag` (action `blocked`) and answer without running the handler.
    Block(Finding),
}

impl Verdict {
    fn rank(&self) -> u8 {
        match self {
            Self::Allow => 0,
            Self::Flag(_) => 1,
            Self::Block(_) => 2,
        }
    }

    /// The stronger of two verdicts; findings of the same strength are merged.
    pub fn and(self, other: Self) -> Self {
        match (self, other) {
            (Self::Flag(a), Self::Flag(b)) => Self::Flag(merge(a, b)),
            (Self::Block(a), Self::Block(b)) => Self::Block(merge(a, b)),
            (a, b) if b.rank() > a.rank() => b,
            (a, _) => a,
        }
    }
}

fn severity_rank(s: &str) -> u8 {
    match s {
        "critical" => 2,
        "warning" => 1,
        _ => 0,
    }
}

fn merge(mut a: Finding, b: Finding) -> Finding {
    // Two policies that could not read the same body say so once.
    if !a.reason.split("; ").any(|r| r == b.reason) {
        a.reason = format!("{}; {}", a.reason, b.reason);
    }
    if severity_rank(&b.severity) > severity_rank(&a.severity) {
        a.severity = b.severity;
    }
    for c in b.categories {
        if !a.categories.contains(&c) {
            a.categories.push(c);
        }
    }
    a.status = a.status.or(b.status);
    a
}

/// A pre-flight policy. Closures `Fn(&GuardRequest<'_>) -> Verdict` are policies; tuples and
/// `Vec`s of policies are a policy giving the strongest verdict (`(secrets(), personal_data())`).
pub trait Policy: Send + Sync + 'static {
    /// Judges one request.
    fn check(&self, req: &GuardRequest<'_>) -> Verdict;
}

impl<F> Policy for F
where
    F: Fn(&GuardRequest<'_>) -> Verdict + Send + Sync + 'static,
{
    fn check(&self, req: &GuardRequest<'_>) -> Verdict {
        self(req)
    }
}

impl<P: Policy> Policy for Vec<P> {
    fn check(&self, req: &GuardRequest<'_>) -> Verdict {
        self.iter().fold(Verdict::Allow, |v, p| v.and(p.check(req)))
    }
}

macro_rules! tuple_policy {
    ($($p:ident),+) => {
        impl<$($p: Policy),+> Policy for ($($p,)+) {
            #[allow(non_snake_case)]
            fn check(&self, req: &GuardRequest<'_>) -> Verdict {
                let ($($p,)+) = self;
                Verdict::Allow$(.and($p.check(req)))+
            }
        }
    };
}
tuple_policy!(A, B);
tuple_policy!(A, B, C);
tuple_policy!(A, B, C, D);
tuple_policy!(A, B, C, D, E);

/// The text a content policy scans: the query string and the body, borrowed when there is no
/// query and the body is UTF-8 (the usual case); with the detectors' pass over it.
/// The texts the content policies read (the body, then what decoding shows beyond it), each
/// with its detectors' pass; see [`decode`](super::decode).
fn scanned<'a>(req: &GuardRequest<'a>) -> &'a [(Cow<'a, str>, detect::Pass)] {
    &read(req).0
}

/// Why part of the request was not read, when it was not (a compressed file in it).
fn unread<'a>(req: &GuardRequest<'a>) -> Option<&'a str> {
    read(req).1.as_deref()
}

/// The request as the content policies read it, made once.
fn read<'a>(req: &GuardRequest<'a>) -> &'a (ScanTexts<'a>, Option<String>) {
    req.scanned.get_or_init(|| {
        let views = super::decode::request_views(req.parts, req.body);
        let mut texts = Vec::with_capacity(2);
        let pass = detect::Pass::over(&views.main);
        texts.push((views.main, pass));
        if !views.extra.is_empty() {
            let pass = detect::Pass::over(&views.extra);
            texts.push((Cow::Owned(views.extra), pass));
        }
        (texts, views.unread)
    })
}

/// The content coding a request's body was sent with, when it has one: the first token of its
/// `Content-Encoding` headers that is not `identity` (as sent, or `?` when it is not a short
/// token, so that a finding never carries more of a header than a name).
fn body_coding(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(http::header::CONTENT_ENCODING)
        .iter()
        .flat_map(|value| value.as_bytes().split(|&b| b == b','))
        .map(|token| token.trim_ascii())
        .find(|token| !token.is_empty() && !token.eq_ignore_ascii_case(b"identity"))
        .map(|token| match std::str::from_utf8(token) {
            Ok(name)
                if name.len() <= 32
                    && name
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.')) =>
            {
                name
            }
            _ => "?",
        })
}

/// The verdict on a body the content policies could not read (see
/// [`GuardRequest::body_scannable`]): longer than the guard's `body_limit`, so that what
/// follows the limit was never scanned, sent with a content coding, so that none of it was, or
/// holding a compressed file that inflates past the guard's budget, so that its end was not,
/// or one compressed in a way the guard does not read (xz, bzip2, zstd, 7z, rar, lzip),
/// encrypted, or nested more than six deep.
/// `None` when the body could be read.
fn unscanned(req: &GuardRequest<'_>, block: bool) -> Option<Verdict> {
    let reason = if let Some(coding) = req.coding {
        format!(
            "body not scanned: sent with Content-Encoding {coding}, which the guard does not \
             decode (decompress requests before the guard)"
        )
    } else if !req.body_complete() {
        format!(
            "body not scanned entirely: longer than the guard's body_limit ({} bytes read)",
            req.body().len()
        )
    } else if let Some(why) = unread(req) {
        format!("request not scanned entirely: {why}")
    } else {
        return None;
    };
    let finding = Finding::new(reason)
        .severity("warning")
        .category("unscanned");
    Some(if block {
        Verdict::Block(finding)
    } else {
        Verdict::Flag(finding)
    })
}

/// The built-in detectors `keep` selects, chosen once when a policy is made.
fn detectors(keep: impl Fn(&Detector) -> bool) -> Arc<[Detector]> {
    detect::DETECTORS
        .iter()
        .copied()
        .filter(|d| keep(d))
        .collect()
}

fn detect_policy(
    req: &GuardRequest<'_>,
    detectors: &[Detector],
    reason: &str,
    block: bool,
) -> Verdict {
    let found: Vec<detect::Finding> = scanned(req)
        .iter()
        .flat_map(|(text, pass)| detect::scan_passed(detectors, text, *pass))
        .collect();
    if found.is_empty() {
        return Verdict::Allow;
    }
    let mut finding = Finding::new(reason);
    finding.severity = found
        .iter()
        .map(|f| f.severity)
        .max_by_key(|s| severity_rank(s))
        .unwrap_or("warning")
        .to_owned();
    for f in &found {
        if !finding.categories.iter().any(|c| c == f.category) {
            finding.categories.push(f.category.to_owned());
        }
    }
    if block {
        Verdict::Block(finding)
    } else {
        Verdict::Flag(finding)
    }
}

/// Blocks requests carrying secrets or credentials (API keys, tokens, private keys, JWTs,
/// bearer tokens, a URL's password), before they reach a model or a log.
///
/// It reads the request decoded, as the handler would (see below): the path and query
/// percent-decoded, JSON strings with their escapes decoded and also joined end to end (a key
/// split over two fields), form bodies percent-decoded, base64 or hex that decodes to text (a
/// file sent as a `data:` URL or a document block, a key pasted encoded, a gzip or zlib file
/// so sent, inflated, a zip or tar archive's (a `.docx`, `.xlsx`, `.tar.gz`) files, one inside
/// another, and
/// such files uploaded as raw bytes, a multipart part or the whole body; and encoded again
/// inside, all the way down), zero-width characters
/// removed. A body it cannot read is blocked too, as `unscanned`
/// ([`Secrets::allow_unscanned`] lets it pass, flagged): one longer than the guard's
/// `body_limit`, one sent compressed (`Content-Encoding`, see
/// [`GuardRequest::body_encoded`]), or one holding a compressed file that inflates to more
/// than the guard reads (eight times the body, and 64 KiB), that is compressed in a way it
/// does not read (xz, bzip2, zstd, 7z, rar, lzip) or encrypted, or archives nested more than
/// six deep. Headers are read only where named
/// ([`Secrets::headers`]).
///
/// What it cannot see: a secret encoded otherwise (base64 shorter than 20 characters outside
/// a `data:` URL, hex shorter than 32 digits, encryption) or split in
/// a way that joining strings in order does not undo, and headers it is not told to read. It is a
/// net for mistakes and careless clients, not a proof that no secret gets through.
///
/// ```
/// use acttrace::layer::guard::policy;
///
/// let guard_policy = policy::secrets().headers(["x-api-key", "x-forwarded-authorization"]);
/// # fn takes(_: impl acttrace::layer::guard::Policy) {}
/// # takes(guard_policy);
/// ```
pub fn secrets() -> Secrets {
    Secrets {
        // The guard reads base64, hex, character references and quoted-printable decoded
        // itself, all the way down (see `decode`): the detectors that would decode them again
        // are left out.
        detectors: detectors(detect::reads_secrets_as_written),
        headers: Arc::from([]),
        allow_unscanned: false,
        field_names: false,
    }
}

/// The [`secrets`] policy, with the headers it reads and what it does with a body it could not
/// read whole.
#[derive(Clone)]
pub struct Secrets {
    detectors: Arc<[Detector]>,
    headers: Arc<[http::HeaderName]>,
    allow_unscanned: bool,
    field_names: bool,
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Secrets")
            .field("headers", &self.headers)
            .field("allow_unscanned", &self.allow_unscanned)
            .field("field_names", &self.field_names)
            .finish_non_exhaustive()
    }
}

impl Secrets {
    /// Also reads these request headers (percent-decoded, zero-width characters removed).
    /// Names are matched whatever their case, space around them aside. A name that is not a
    /// header name (`x api key`) is not read, and is reported at warn level through `tracing`.
    pub fn headers<I, S>(mut self, names: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        self.headers = names
            .into_iter()
            .filter_map(|n| {
                let name = n.as_ref().trim();
                let parsed = http::HeaderName::from_bytes(name.as_bytes()).ok();
                if parsed.is_none() {
                    tracing::warn!(
                        target: "acttrace",
                        header = ?name,
                        "policy::secrets().headers: not a header name, so not read"
                    );
                }
                parsed
            })
            .collect();
        self
    }

    /// Lets a body it cannot read through, flagged `unscanned`, instead of blocking it: one
    /// longer than the guard's `body_limit` (what follows the limit is not read) or one sent
    /// with a content coding (none of it is read).
    pub fn allow_unscanned(mut self) -> Self {
        self.allow_unscanned = true;
        self
    }

    /// Also blocks a JSON body with a value under a key whose name says it is a secret
    /// (`"api_key": "..."`, `"client_secret"`, `"password"`, `"Authorization"`: the names the
    /// log redacts as `secret_field`), whatever the value looks like. Off by default: a login
    /// form's `password` is such a key.
    pub fn field_names(mut self) -> Self {
        self.field_names = true;
        self
    }
}

impl Policy for Secrets {
    fn check(&self, req: &GuardRequest<'_>) -> Verdict {
        let mut verdict = detect_policy(req, &self.detectors, "secret in input", true);
        for name in self.headers.iter() {
            for value in req.headers().get_all(name) {
                let (text, unread) = super::decode::header_text(value.as_bytes());
                if let Some(why) = unread {
                    let finding =
                        Finding::new(format!("the {name} header not scanned entirely: {why}"))
                            .severity("warning")
                            .category("unscanned");
                    verdict = verdict.and(if self.allow_unscanned {
                        Verdict::Flag(finding)
                    } else {
                        Verdict::Block(finding)
                    });
                }
                let found = detect::scan_with(&self.detectors, &text);
                if !found.is_empty() {
                    let mut finding =
                        Finding::new(format!("secret in the {name} header")).severity("critical");
                    for f in found {
                        finding = finding.category(f.category);
                    }
                    verdict = verdict.and(Verdict::Block(finding));
                }
            }
        }
        let named = |text: &str| super::decode::secret_fields(text) > 0;
        if self.field_names
            && (named(&req.body_text()) || req.wide_text().is_some_and(|t| named(&t)))
        {
            verdict = verdict.and(Verdict::Block(
                Finding::new("secret field in input")
                    .severity("critical")
                    .category(crate::redact::SECRET_FIELD),
            ));
        }
        if let Some(unread) = unscanned(req, !self.allow_unscanned) {
            verdict = verdict.and(unread);
        }
        verdict
    }
}

/// Flags requests carrying personal data (e-mail addresses, …) in the body or query, and
/// bodies it cannot read (`unscanned`: longer than the guard's `body_limit`, or compressed).
pub fn personal_data() -> impl Policy + Clone {
    let detectors = detectors(|d| !matches!(d.group, "secret" | "credential"));
    move |req: &GuardRequest<'_>| {
        let verdict = detect_policy(req, &detectors, "personal data in input", false);
        match unscanned(req, false) {
            Some(unread) => verdict.and(unread),
            None => verdict,
        }
    }
}

/// Judges the query and body with a [`RedactionPolicy`], the same kind the log applies to its
/// entries: a category whose action is `block` blocks the request (before the handler runs, as
/// for every block); `redact` and `flag` flag it and let it through; `allow` is silent. The
/// finding names the categories, never the values. A body it cannot read (longer than the
/// guard's `body_limit`, or compressed) is blocked as `unscanned` if the policy blocks
/// anything, and flagged otherwise.
///
/// ```
/// use acttrace::redact::RedactionPolicy;
/// use acttrace::layer::guard::policy;
///
/// // GDPR posture: credentials and special-category data stop the request.
/// let guard_policy = policy::redaction(RedactionPolicy::gdpr());
/// # fn takes(_: impl acttrace::layer::guard::Policy) {}
/// # takes(guard_policy);
/// ```
pub fn redaction(policy: RedactionPolicy) -> impl Policy + Clone {
    let can_block = policy.blocks_anything();
    let policy = Arc::new(policy);
    move |req: &GuardRequest<'_>| {
        // A policy that blocks something blocks what it could not read; one that only flags
        // flags it.
        let rest = unscanned(req, can_block).unwrap_or(Verdict::Allow);
        let mut found: Vec<crate::redact::Detection> = Vec::new();
        for (text, pass) in scanned(req) {
            for d in policy.scan_passed(text, *pass) {
                match found.iter_mut().find(|f| f.category == d.category) {
                    Some(f) => f.count += d.count,
                    None => found.push(d),
                }
            }
        }
        let acted: Vec<_> = found.iter().filter(|d| d.action != Action::Allow).collect();
        let Some(strongest) = acted.iter().map(|d| d.action).max() else {
            return rest;
        };
        let block = strongest == Action::Block;
        let mut finding = Finding::new(if block {
            "input refused by the data policy"
        } else {
            "sensitive data in input"
        });
        finding.severity = acted
            .iter()
            .filter(|d| !block || d.action == Action::Block)
            .map(|d| d.severity)
            .max_by_key(|s| severity_rank(s))
            .unwrap_or("warning")
            .to_owned();
        finding.categories = acted.iter().map(|d| d.category.to_owned()).collect();
        let verdict = if block {
            Verdict::Block(finding)
        } else {
            Verdict::Flag(finding)
        };
        verdict.and(rest)
    }
}

/// Blocks bodies longer than `max` bytes with 413. The guard must read at least `max + 1`
/// bytes for this to see them: keep its limit above `max`.
pub fn max_body_bytes(max: usize) -> impl Policy + Clone {
    move |req: &GuardRequest<'_>| {
        if req.body().len() > max || !req.body_complete() {
            Verdict::Block(
                Finding::new(format!("body larger than {max} bytes"))
                    .severity("warning")
                    .category("body_too_large")
                    .status(StatusCode::PAYLOAD_TOO_LARGE),
            )
        } else {
            Verdict::Allow
        }
    }
}

/// Blocks requests whose body or query contains any of `patterns` (case-insensitive), and, as
/// `unscanned`, bodies it cannot read (longer than the guard's `body_limit`, or compressed).
pub fn deny_list<I, S>(patterns: I) -> impl Policy + Clone
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    let patterns: Arc<[String]> = patterns
        .into_iter()
        .map(|p| p.as_ref().to_lowercase())
        .collect();
    move |req: &GuardRequest<'_>| {
        let text = scanned(req)
            .iter()
            .map(|(t, _)| t.to_lowercase())
            .collect::<Vec<_>>()
            .join("\n");
        let hits: Vec<usize> = (0..patterns.len())
            .filter(|&i| text.contains(&patterns[i]))
            .collect();
        let unread = unscanned(req, true).unwrap_or(Verdict::Allow);
        if hits.is_empty() {
            return unread;
        }
        let mut finding = Finding::new("denied pattern in input").severity("critical");
        for i in hits {
            // The pattern's position in the list, not the text that matched.
            finding.categories.push(format!("deny_list[{i}]"));
        }
        Verdict::Block(finding).and(unread)
    }
}
