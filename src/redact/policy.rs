//! Redaction policies: what to do when a detector fires in a payload's strings and keys.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use crate::json::value::{Map, Value};
use crate::redact::detect::{self, Detector};
use crate::redact::field;

/// The text a scrubbed value is replaced with.
pub const REDACTED: &str = "<redacted>";

/// What a policy does with a category.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Action {
    /// Nothing, not even a flag.
    Allow,
    /// Leave the value, record a flag.
    Flag,
    /// Replace the value with `<redacted>`, record a flag.
    Redact,
    /// Refuse the request (guard layer); in the log, redact and record a flag.
    Block,
}

impl Action {
    /// `allow`, `flag`, `redact` or `block`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Allow => "allow",
            Self::Flag => "flag",
            Self::Redact => "redact",
            Self::Block => "block",
        }
    }

    /// The verb a `policy_flag` records: `flagged`, `redacted`, `blocked`.
    pub fn verb(self) -> &'static str {
        match self {
            Self::Allow => "allowed",
            Self::Flag => "flagged",
            Self::Redact => "redacted",
            Self::Block => "blocked",
        }
    }

    /// Whether the value is taken out of the entry.
    pub fn scrubs(self) -> bool {
        matches!(self, Self::Redact | Self::Block)
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Action {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "allow" => Ok(Self::Allow),
            "flag" => Ok(Self::Flag),
            "redact" => Ok(Self::Redact),
            "block" => Ok(Self::Block),
            other => Err(format!(
                "unknown action {other:?}; expected allow, flag, redact or block"
            )),
        }
    }
}

/// One category found in an entry: the detector's names, the resolved action, how often it
/// fired. Never the value.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Detection {
    /// The detector's category.
    pub category: &'static str,
    /// The detector's group.
    pub group: &'static str,
    /// The detector's severity.
    pub severity: &'static str,
    /// What the policy does with it.
    pub action: Action,
    /// How many times it fired.
    pub count: usize,
}

/// Maps detector categories and groups to actions. See the [module docs](crate::redact).
#[derive(Debug, Clone)]
pub struct RedactionPolicy {
    rules: Vec<(String, Action)>,
    default: Action,
    detectors: Arc<[Detector]>,
}

impl Default for RedactionPolicy {
    /// The `default` preset.
    fn default() -> Self {
        Self::default_preset()
    }
}

impl RedactionPolicy {
    /// A policy with no rules: every category gets `default`. Uses the built-in detectors.
    pub fn new(default: Action) -> Self {
        Self {
            rules: Vec::new(),
            default,
            detectors: detect::DETECTORS.into(),
        }
    }

    /// Secrets, credentials and e-mail addresses redacted, everything else flagged.
    pub fn default_preset() -> Self {
        Self::new(Action::Flag)
            .rule("secret", Action::Redact)
            .rule("credential", Action::Redact)
            .rule("email", Action::Redact)
    }

    /// Special categories and credentials blocked; other personal data, ids, financial data and
    /// secrets redacted; the rest flagged.
    pub fn gdpr() -> Self {
        Self::new(Action::Flag)
            .rule("special_category", Action::Block)
            .rule("pii", Action::Redact)
            .rule("gov_id", Action::Redact)
            .rule("financial", Action::Redact)
            .rule("secret", Action::Redact)
            .rule("credential", Action::Block)
    }

    /// Financial data blocked; secrets and personal data redacted; the rest flagged.
    pub fn pci() -> Self {
        Self::new(Action::Flag)
            .rule("financial", Action::Block)
            .rule("secret", Action::Redact)
            .rule("credential", Action::Redact)
            .rule("pii", Action::Redact)
    }

    /// Secrets, credentials, financial data and ids blocked; everything else redacted.
    pub fn strict() -> Self {
        Self::new(Action::Redact)
            .rule("secret", Action::Block)
            .rule("credential", Action::Block)
            .rule("financial", Action::Block)
            .rule("gov_id", Action::Block)
    }

    /// A preset by name: `default`, `gdpr`, `pci` or `strict`.
    pub fn preset(name: &str) -> Option<Self> {
        match name {
            "default" => Some(Self::default_preset()),
            "gdpr" => Some(Self::gdpr()),
            "pci" => Some(Self::pci()),
            "strict" => Some(Self::strict()),
            _ => None,
        }
    }

    /// Sets the action for a category or a group (a category's rule wins over its group's).
    pub fn rule(mut self, category_or_group: impl Into<String>, action: Action) -> Self {
        let key = category_or_group.into();
        self.rules.retain(|(k, _)| *k != key);
        self.rules.push((key, action));
        self
    }

    /// Adds a detector of the user's own, run after the built-in ones.
    ///
    /// ```
    /// use acttrace::json::Map;
    /// use acttrace::redact::{Action, RedactionPolicy};
    /// use acttrace::redact::detect::Detector;
    ///
    /// fn employee_id(text: &str, out: &mut Vec<std::ops::Range<usize>>) {
    ///     for (at, _) in text.match_indices("EMP-") {
    ///         let end = at + 4 + text[at + 4..].bytes().take_while(u8::is_ascii_digit).count();
    ///         if end > at + 4 {
    ///             out.push(at..end);
    ///         }
    ///     }
    /// }
    ///
    /// let policy = RedactionPolicy::default_preset()
    ///     .detector(Detector::new("employee_id", "pii", "warning", employee_id))
    ///     .rule("employee_id", Action::Redact);
    /// let mut p = Map::new();
    /// p.insert("note", "reviewed by EMP-4417");
    /// policy.redact(&mut p);
    /// assert_eq!(p.get("note").and_then(|v| v.as_str()), Some("reviewed by <redacted>"));
    /// ```
    pub fn detector(mut self, detector: Detector) -> Self {
        let mut all = self.detectors.to_vec();
        all.push(detector);
        self.detectors = all.into();
        self
    }

    /// Whether some category would be blocked: a rule or the default says `block`.
    #[cfg_attr(not(feature = "server"), allow(dead_code))]
    pub(crate) fn blocks_anything(&self) -> bool {
        self.default == Action::Block || self.rules.iter().any(|(_, a)| *a == Action::Block)
    }

    /// The action for a category of a group: the category's rule, else the group's, else the
    /// default.
    pub fn action_for(&self, category: &str, group: &str) -> Action {
        let find = |k: &str| self.rules.iter().find(|(r, _)| r == k).map(|(_, a)| *a);
        find(category)
            .or_else(|| find(group))
            .unwrap_or(self.default)
    }

    /// Every category found in the payload's strings (its own fields excepted), sorted by
    /// category, with the action for each. Leaves the payload as it is.
    pub fn scan(&self, payload: &Map) -> Vec<Detection> {
        let mut found = Vec::new();
        walk_map(
            payload,
            Place::Top,
            &mut String::with_capacity(256),
            &mut |seen| match seen {
                Seen::Text(s) => {
                    for f in detect::scan_with(&self.detectors, s) {
                        self.count(&mut found, &f);
                    }
                }
                Seen::SecretField => {
                    self.count(&mut found, &secret_field());
                }
            },
        );
        found.sort_by_key(|d| d.category);
        found
    }

    /// Every category found in one text, sorted by category, with the action for each. The
    /// guard layer judges request bodies with it.
    pub fn scan_text(&self, text: &str) -> Vec<Detection> {
        self.scan_passed(text, detect::Pass::over(text))
    }

    /// [`scan_text`](Self::scan_text) on a text whose pass was made before.
    pub(crate) fn scan_passed(&self, text: &str, pass: detect::Pass) -> Vec<Detection> {
        let mut found = Vec::new();
        for f in detect::scan_passed(&self.detectors, text, pass) {
            self.count(&mut found, &f);
        }
        found.sort_by_key(|d| d.category);
        found
    }

    /// Like [`scan`](Self::scan), and replaces every match whose action is `redact` or `block`
    /// with `<redacted>`, in values and in keys.
    pub fn redact(&self, payload: &mut Map) -> Vec<Detection> {
        let mut found = Vec::new();
        self.redact_map(
            payload,
            Place::Top,
            &mut String::with_capacity(256),
            &mut found,
        );
        found.sort_by_key(|d| d.category);
        found
    }

    /// `text` with every match to scrub replaced, if there is one; counts what it finds.
    fn scrub(&self, text: &str, found: &mut Vec<Detection>) -> Option<String> {
        let findings = detect::scan_with(&self.detectors, text);
        if findings.is_empty() {
            return None;
        }
        let mut out = String::with_capacity(text.len());
        let mut at = 0;
        for f in &findings {
            let action = self.count(found, f);
            if action.scrubs() {
                out.push_str(&text[at..f.span.start]);
                out.push_str(REDACTED);
                at = f.span.end;
            }
        }
        (at > 0).then(|| {
            out.push_str(&text[at..]);
            out
        })
    }

    /// Scrubs a map's keys and values, at any depth. Its keys are scanned together, in one
    /// pass, and one by one only when that finds something: most keys are the service's own
    /// field names.
    fn redact_map(
        &self,
        map: &mut Map,
        place: Place,
        keys: &mut String,
        found: &mut Vec<Detection>,
    ) {
        keys.clear();
        for k in map.keys() {
            keys.push_str(k);
            keys.push('\n');
        }
        if !detect::scan_with(&self.detectors, keys).is_empty() {
            let mut renamed = false;
            for (k, _) in map.entries_mut() {
                if let Some(key) = self.scrub(k, found) {
                    *k = key.into();
                    renamed = true;
                }
            }
            if renamed {
                unique_keys(map);
            }
        }
        let named = names_its_value(map);
        for (k, v) in map.entries_mut() {
            if let Value::String(s) = v
                && own_field(place, k, s)
            {
                continue;
            }
            if field::names_a_secret(k) || (named && &**k == "value") {
                self.hide_secret_field(v, found);
            }
            self.redact_value(v, place.child(k), keys, found);
        }
    }

    /// Counts a value under a field named for a secret (each item, for a list), and replaces
    /// it with `<redacted>` when the policy scrubs such values. What is left (a map there, or
    /// values the policy keeps) is scanned as any other value.
    fn hide_secret_field(&self, v: &mut Value, found: &mut Vec<Detection>) {
        if let Value::Array(items) = v {
            for item in items {
                self.hide_secret_field(item, found);
            }
        } else if holds_a_secret(v) && self.count(found, &secret_field()).scrubs() {
            *v = Value::from(REDACTED);
        }
    }

    fn redact_value(
        &self,
        v: &mut Value,
        place: Place,
        keys: &mut String,
        found: &mut Vec<Detection>,
    ) {
        match v {
            Value::String(s) => {
                if let Some(scrubbed) = self.scrub(s, found) {
                    *s = scrubbed;
                }
            }
            Value::Array(items) => {
                if let [Value::String(name), value] = items.as_mut_slice()
                    && field::names_a_secret(name)
                {
                    self.hide_secret_field(value, found);
                }
                for item in items {
                    self.redact_value(item, Place::Other, keys, found);
                }
            }
            Value::Object(m) => self.redact_map(m, place, keys, found),
            Value::Int(n) => {
                if let Some(digits) = long_number(n)
                    && let Some(scrubbed) = self.scrub(&digits, found)
                {
                    // What is left is text: a number with a part hidden is no number.
                    *v = Value::String(scrubbed);
                }
            }
            _ => {}
        }
    }

    fn count(&self, found: &mut Vec<Detection>, f: &detect::Finding) -> Action {
        let action = self.action_for(f.category, f.group);
        match found.iter_mut().find(|d| d.category == f.category) {
            Some(d) => d.count += 1,
            None => found.push(Detection {
                category: f.category,
                group: f.group,
                severity: f.severity,
                action,
                count: 1,
            }),
        }
        action
    }
}

/// Where a map is in a payload, for the few fields acttrace writes itself.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Place {
    /// The payload itself.
    Top,
    /// The payload's `input` (the audit layer's body summary).
    Input,
    /// Anywhere else.
    Other,
}

impl Place {
    fn child(self, key: &str) -> Self {
        match (self, key) {
            (Self::Top, "input") => Self::Input,
            _ => Self::Other,
        }
    }
}

/// Whether `value`, under `key` of a map at `place`, is one of acttrace's own fields in its
/// own format, and so not scanned: a detector could misread it (16 digits of a digest pass the
/// card check), and it carries nothing from the outside.
fn own_field(place: Place, key: &str, value: &str) -> bool {
    match (place, key) {
        (Place::Top, "decision_id") => is_generated_id(value),
        (Place::Top, "cost") => is_amount(value),
        (Place::Input, "sha256") => value.len() == 64 && is_lower_hex(value),
        _ => false,
    }
}

fn is_lower_hex(s: &str) -> bool {
    // Eight bytes at a time: no byte below '0', above 'f', or between '9' and 'a'.
    let bytes = s.as_bytes();
    let mut chunks = bytes.chunks_exact(8);
    let hex = |b: u8| b.is_ascii_digit() || (b'a'..=b'f').contains(&b);
    chunks.all(|c| c.iter().fold(true, |ok, b| ok & hex(*b)))
        && chunks.remainder().iter().all(|b| hex(*b))
}

/// 32 hex digits ([`DecisionId::random`], the reference's `uuid4().hex`) or a UUID.
fn is_generated_id(s: &str) -> bool {
    match s.len() {
        32 => is_lower_hex(s),
        36 => s.bytes().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => b == b'-',
            _ => b.is_ascii_hexdigit(),
        }),
        _ => false,
    }
}

/// A cost as acttrace writes it: decimal digits, a point and digits, then a space and a
/// three-letter currency (`0.004750000 USD`).
fn is_amount(s: &str) -> bool {
    let (number, currency) = s.split_once(' ').unwrap_or((s, ""));
    let (int, frac) = number.split_once('.').unwrap_or((number, "0"));
    let digits = |t: &str| !t.is_empty() && t.len() <= 30 && t.bytes().all(|b| b.is_ascii_digit());
    digits(int)
        && digits(frac)
        && (currency.is_empty()
            || (currency.len() == 3 && currency.bytes().all(|b| b.is_ascii_uppercase())))
}

/// What [`walk_map`] meets: a text to scan, or a value under a field named for a secret.
enum Seen<'a> {
    Text(&'a str),
    SecretField,
}

/// Calls `f` on a map's keys (together, a line each), on every string below it but the
/// exempt ones, and on every value under a field named for a secret.
fn walk_map(map: &Map, place: Place, keys: &mut String, f: &mut impl FnMut(Seen<'_>)) {
    keys.clear();
    for k in map.keys() {
        keys.push_str(k);
        keys.push('\n');
    }
    f(Seen::Text(keys));
    let named = names_its_value(map);
    for (k, v) in map.iter() {
        if let Value::String(s) = v
            && own_field(place, k, s)
        {
            continue;
        }
        if field::names_a_secret(k) || (named && k == "value") {
            for _ in 0..secrets_in(v) {
                f(Seen::SecretField);
            }
        }
        walk(v, place.child(k), keys, f);
    }
}

fn walk(v: &Value, place: Place, keys: &mut String, f: &mut impl FnMut(Seen<'_>)) {
    match v {
        Value::String(s) => f(Seen::Text(s)),
        Value::Array(items) => {
            if let [Value::String(name), value] = items.as_slice()
                && field::names_a_secret(name)
            {
                for _ in 0..secrets_in(value) {
                    f(Seen::SecretField);
                }
            }
            items.iter().for_each(|i| walk(i, Place::Other, keys, f));
        }
        Value::Object(m) => walk_map(m, place, keys, f),
        Value::Int(n) => {
            if let Some(digits) = long_number(n) {
                f(Seen::Text(&digits));
            }
        }
        _ => {}
    }
}

/// The digits of an integer long enough to be a card number (12 digits or more), which the
/// detectors read as they read a string's text: a card number sent as a JSON number is one
/// all the same. Shorter integers (counts, statuses, times in seconds) are not read.
fn long_number(n: &crate::json::value::Integer) -> Option<String> {
    const SHORTEST: u64 = 100_000_000_000; // 12 digits
    let short = match (n.as_u64(), n.as_i64()) {
        (Some(u), _) => u < SHORTEST,
        (None, Some(i)) => i.unsigned_abs() < SHORTEST,
        (None, None) => false,
    };
    if short {
        return None;
    }
    Some(n.to_string().trim_start_matches('-').to_owned())
}

/// Whether `map` is a named value (`{"name": "Authorization", "value": "Basic ..."}`, as HAR
/// files and many HTTP logs write headers and cookies) whose name names a secret: then its
/// `value` is one. Pairs (`["Authorization", "Basic ..."]`) are read the same way.
fn names_its_value(map: &Map) -> bool {
    map.contains_key("value")
        && ["name", "key"].iter().any(|k| {
            map.get(k)
                .and_then(Value::as_str)
                .is_some_and(field::names_a_secret)
        })
}

/// Whether a value under a field named for a secret is one: a number, or a string that is not
/// empty and not already `<redacted>`.
fn holds_a_secret(v: &Value) -> bool {
    match v {
        Value::String(s) => !s.is_empty() && s != REDACTED,
        Value::Int(_) | Value::Float(_) => true,
        _ => false,
    }
}

/// How many secrets a value under a field named for a secret holds: itself, or the items of
/// a list (at any depth) that are ([`RedactionPolicy::hide_secret_field`] hides the same).
fn secrets_in(v: &Value) -> usize {
    match v {
        Value::Array(items) => items.iter().map(secrets_in).sum(),
        v => usize::from(holds_a_secret(v)),
    }
}

/// What a value under a field named for a secret is found as.
fn secret_field() -> detect::Finding {
    detect::Finding {
        category: field::SECRET_FIELD,
        group: "secret",
        severity: "critical",
        span: 0..0,
    }
}

/// Keys made equal by scrubbing (`<redacted>` twice) get a number: `<redacted> (2)`.
fn unique_keys(map: &mut Map) {
    let mut seen = std::collections::HashSet::new();
    for (k, _) in map.entries_mut() {
        if seen.insert(k.to_string()) {
            continue;
        }
        let mut n = 2;
        let unique = loop {
            let candidate = format!("{k} ({n})");
            if seen.insert(candidate.clone()) {
                break candidate;
            }
            n += 1;
        };
        *k = unique.into();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A card number as a JSON number is found by `scan` and `redact` alike; integers too short
    /// or not a card's are not.
    #[test]
    fn card_numbers_as_numbers_are_found_by_scan_and_redact_alike() {
        let m = match Value::parse(
            r#"{"pan": 4111111111111111, "n": [-340000000000009, 1733550000123, 7, 18446744073709551616]}"#,
        ) {
            Ok(Value::Object(m)) => m,
            other => panic!("{other:?}"),
        };
        let p = RedactionPolicy::gdpr();
        let scanned = p.scan(&m);
        let cards = |found: &[Detection]| {
            found
                .iter()
                .find(|d| d.category == "credit_card")
                .map(|d| d.count)
        };
        assert_eq!(cards(&scanned), Some(2));
        let mut scrubbed = m;
        assert_eq!(p.redact(&mut scrubbed), scanned, "scan and redact agree");
        assert_eq!(
            Value::Object(scrubbed).to_line_json(),
            r#"{"pan": "<redacted>", "n": ["<redacted>", 1733550000123, 7, 18446744073709551616]}"#
        );
    }

    fn payload(text: &str) -> Map {
        let mut m = Map::new();
        m.insert("text", text);
        m
    }

    #[test]
    fn values_under_secret_names_are_found_and_scrubbed_as_the_policy_says() {
        let mut m = Map::new();
        m.insert("api_key", "plain-looking");
        m.insert(
            "pins",
            Value::Array(vec![
                Value::from(1234),
                Value::Array(vec![Value::from("x")]),
            ]),
        );
        m.insert(
            "PIN",
            Value::Array(vec![
                Value::from(1234),
                Value::Array(vec![Value::from("x")]),
            ]),
        );
        m.insert("output_tokens", 40);
        m.insert("password", Value::Null);
        let secret = |found: &[Detection]| {
            found
                .iter()
                .find(|d| d.category == field::SECRET_FIELD)
                .map(|d| (d.group, d.severity, d.action, d.count))
        };
        let p = RedactionPolicy::default_preset();
        let scanned = p.scan(&m);
        assert_eq!(
            secret(&scanned),
            Some(("secret", "critical", Action::Redact, 3))
        );
        let mut scrubbed = m.clone();
        assert_eq!(p.redact(&mut scrubbed), scanned, "scan and redact agree");
        assert_eq!(
            Value::Object(scrubbed).to_line_json(),
            r#"{"api_key": "<redacted>", "pins": [1234, ["x"]], "PIN": ["<redacted>", ["<redacted>"]], "output_tokens": 40, "password": null}"#
        );
        let strict = RedactionPolicy::strict();
        assert_eq!(secret(&strict.scan(&m)).map(|s| s.2), Some(Action::Block));
        let kept = RedactionPolicy::default_preset().rule(field::SECRET_FIELD, Action::Flag);
        let mut flagged = m.clone();
        assert_eq!(
            secret(&kept.redact(&mut flagged)).map(|s| s.2),
            Some(Action::Flag)
        );
        assert_eq!(Value::Object(flagged), Value::Object(m));
    }

    #[test]
    fn named_values_and_pairs_that_name_a_secret_are_secrets() {
        let har = Value::parse(
            r#"{"headers": [{"name": "Authorization", "value": "Basic dXNlcjpwdw=="},
                {"name": "Accept", "value": "application/json"}],
                "cookies": [{"key": "session_token", "value": 41}],
                "pairs": [["X-Api-Key", "k-7f3a"], ["Accept", "text/plain"], ["token"]]}"#,
        )
        .unwrap();
        let Value::Object(m) = har else {
            unreachable!()
        };
        let p = RedactionPolicy::default_preset();
        let scanned = p.scan(&m);
        let mut scrubbed = m;
        let found = p.redact(&mut scrubbed);
        assert_eq!(found, scanned, "scan and redact agree");
        let secret = found.iter().find(|d| d.category == field::SECRET_FIELD);
        assert_eq!(secret.map(|d| d.count), Some(3));
        assert_eq!(
            Value::Object(scrubbed).to_line_json(),
            r#"{"headers": [{"name": "Authorization", "value": "<redacted>"}, {"name": "Accept", "value": "application/json"}], "cookies": [{"key": "session_token", "value": "<redacted>"}], "pairs": [["X-Api-Key", "<redacted>"], ["Accept", "text/plain"], ["token"]]}"#
        );
    }

    #[test]
    fn presets_resolve_category_then_group_then_default() {
        let p = RedactionPolicy::default_preset();
        assert_eq!(p.action_for("email", "pii"), Action::Redact);
        assert_eq!(p.action_for("phone", "pii"), Action::Flag);
        assert_eq!(p.action_for("openai_key", "secret"), Action::Redact);
        let g = RedactionPolicy::gdpr();
        assert_eq!(g.action_for("phone", "pii"), Action::Redact);
        assert_eq!(g.action_for("jwt", "credential"), Action::Block);
        let s = RedactionPolicy::strict();
        assert_eq!(s.action_for("email", "pii"), Action::Redact);
        assert_eq!(s.action_for("iban", "financial"), Action::Block);
        let custom = RedactionPolicy::pci().rule("credit_card", Action::Flag);
        assert_eq!(custom.action_for("credit_card", "financial"), Action::Flag);
        assert_eq!(custom.action_for("iban", "financial"), Action::Block);
        assert!(RedactionPolicy::preset("hipaa").is_none());
        assert_eq!("block".parse::<Action>(), Ok(Action::Block));
    }

    #[test]
    fn every_match_is_scrubbed_and_counted_never_kept() {
        let p = RedactionPolicy::default_preset();
        let mut m = payload("a@x.io and b@y.io, key sk-proj-abcdefghijklmnop1234");
        m.insert("nested", Value::Array(vec![Value::from("c@z.io")]));
        let found = p.redact(&mut m);
        let text = Value::from(m.clone()).to_line_json();
        assert!(!text.contains('@') && !text.contains("sk-proj"), "{text}");
        assert_eq!(text.matches(REDACTED).count(), 4, "{text}");
        let email = found.iter().find(|d| d.category == "email").unwrap();
        assert_eq!((email.count, email.action), (3, Action::Redact));
    }

    #[test]
    fn only_the_logs_own_fields_in_their_own_format_are_exempt() {
        let p = RedactionPolicy::strict();
        // A digest whose digits pass the card check, an id, a cost: in their places and
        // formats, not scanned.
        let digest = format!("{}{}", "4111111111111111", "0".repeat(48));
        let mut m = Map::new();
        m.insert("decision_id", "acc00000000000000000000000000001");
        m.insert("cost", "0.004750000 USD");
        let mut input = Map::new();
        input.insert("sha256", digest.as_str());
        m.insert("input", input);
        assert!(p.redact(&mut m).is_empty(), "{m:?}");

        // The same names holding something else, or elsewhere, are scanned; so are keys.
        for (key, value) in [
            ("decision_id", "sk-live-abcdefghijklmnop1234"),
            ("cost", "AKIAIOSFODNN7EXAMPLE"),
            ("sha256", "sk-live-abcdefghijklmnop1234"),
            ("input_digest", "a@b.io"),
            ("prev_hash", "a@b.io"),
        ] {
            let mut m = Map::new();
            m.insert(key, value);
            assert!(!p.redact(&mut m).is_empty(), "{key}: {value}");
            assert_eq!(m.get(key).and_then(Value::as_str), Some(REDACTED), "{key}");
        }
        let mut nested = Map::new();
        nested.insert("decision_id", "sk-live-abcdefghijklmnop1234");
        let mut m = Map::new();
        m.insert("deeper", nested);
        assert!(
            !p.redact(&mut m).is_empty(),
            "an id-named field elsewhere is scanned"
        );

        let mut m = Map::new();
        m.insert("sk-live-abcdefghijklmnop1234", 1);
        m.insert("key sk-live-zyxwvutsrqponmlk9876", 2);
        m.insert("<redacted>", 3);
        let found = RedactionPolicy::default_preset().redact(&mut m);
        assert_eq!(found.len(), 1, "{found:?}");
        let keys: Vec<&str> = m.keys().collect();
        assert_eq!(keys, ["<redacted>", "key <redacted>", "<redacted> (2)"]);
    }
}
