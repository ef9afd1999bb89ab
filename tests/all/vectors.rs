//! The reference's own files and verdicts (`tests/vectors`, vendored with their manifest) are
//! the ground truth.

use std::fs::File;
use std::io::BufReader;
use std::path::PathBuf;

use acttrace::chain::SigningKey;
use acttrace::json::{Map, Value};
use acttrace::verify::{VerifyOptions, verify_path, verify_reader};
use serde_json::Value as Json;

use crate::support::{Scratch, manifest, vectors_dir};

/// One `checks[]` item of the manifest, with what we need to compare.
pub(crate) struct Check {
    pub(crate) file: String,
    pub(crate) args: Json,
    /// `None` where the reference crashed (`raised:*`): we must answer not-ok.
    pub(crate) ok: Option<bool>,
    pub(crate) class: String,
    pub(crate) detail: Option<String>,
    pub(crate) exact: bool,
    #[cfg_attr(not(feature = "cli"), allow(dead_code))]
    pub(crate) cli_rc: i64,
}

pub(crate) fn checks() -> Vec<Check> {
    let m = manifest();
    let mut out = Vec::new();
    for f in m["files"].as_array().expect("files") {
        for c in f["checks"].as_array().expect("checks") {
            out.push(Check {
                file: f["file"].as_str().expect("file").to_owned(),
                args: c["args"].clone(),
                ok: c["ok"].as_bool(),
                class: c["detail_class"].as_str().expect("class").to_owned(),
                detail: c["detail"].as_str().map(str::to_owned),
                exact: c["detail_match"] == "exact",
                cli_rc: c["cli"]["rc"].as_i64().expect("rc"),
            });
        }
    }
    assert!(
        out.len() > 200,
        "manifest has too few checks: {}",
        out.len()
    );
    out
}

pub(crate) fn options(args: &Json) -> VerifyOptions {
    let mut opts = VerifyOptions::new();
    if let Some(k) = args["key"].as_str() {
        opts = opts.key(SigningKey::from(k));
    }
    if let Some(h) = args["expected_head"].as_str() {
        opts = opts.expected_head(h);
    }
    if let Some(n) = args["expect_entries"].as_u64() {
        opts = opts.expected_entries(n);
    }
    opts
}

/// Where a vector file is; `tampered/t_directory.jsonl` is a directory the tests make.
pub(crate) fn vector_path(file: &str, scratch: &Scratch) -> PathBuf {
    if file.ends_with("t_directory.jsonl") {
        let dir = scratch.join("t_directory.jsonl");
        std::fs::create_dir_all(&dir).expect("mkdir");
        return dir;
    }
    vectors_dir().join(file)
}

/// Where we deliberately answer differently from the reference: evidence packs whose header no
/// longer matches their entries, which the reference accepts (its header signature covers four
/// fields, and it never compares the header with the entries). Gives the class we answer.
pub(crate) fn our_divergence(c: &Check) -> Option<&'static str> {
    let keyed = c.args["key"].is_string();
    let out_of_band = c.args["expected_head"].is_string() || c.args["expect_entries"].is_u64();
    match c.file.as_str() {
        // Entries cut and the header's head and count rewritten: its summary still counts them.
        "tampered/t_pack_drop_tail_meta_rewritten_signed.jsonl"
        | "tampered/t_pack_drop_tail_meta_resigned_wrong_key.jsonl"
            if !keyed =>
        {
            Some("pack_mismatch")
        }
        // Header deleted and entries cut: every entry still carries its controls.
        "tampered/t_pack_meta_deleted_and_drop_tail_signed.jsonl" if !out_of_band => {
            Some("pack_without_header")
        }
        // Every entry's controls replaced: they are no longer the framework's mapping.
        "tampered/t_pack_entry_controls_edited_signed.jsonl" => Some("pack_mismatch"),
        _ => None,
    }
}

/// The part of the reference's detail that must match: all of it, or up to `"<path>: "`.
pub(crate) fn expected_prefix(c: &Check) -> Option<String> {
    let detail = c.detail.as_ref()?;
    if c.exact {
        return Some(detail.clone());
    }
    let marker = format!("{}: ", c.file);
    let at = detail.find(&marker).expect("prefix marker in detail");
    Some(detail[..at + marker.len()].to_owned())
}

#[test]
fn every_manifest_verdict_matches_the_reference() {
    let scratch = Scratch::new("vectors");
    let mut failures = Vec::new();
    let mut diverged = 0;
    let all = checks();
    for c in &all {
        let path = vector_path(&c.file, &scratch);
        let opts = options(&c.args);
        // The reference ran with cwd = vectors/ and relative paths, which its messages embed.
        let report = match File::open(&path) {
            Ok(f) if path.is_file() => verify_reader(BufReader::new(f), &c.file, &opts),
            _ => {
                let r = verify_path(&path, &opts);
                assert!(!r.is_ok());
                // Re-label: the message embeds the path as given.
                let text = r.detail().replace(&path.display().to_string(), &c.file);
                if !text.starts_with(&format!("cannot read {}: ", c.file)) {
                    failures.push(format!("{}: {text}", c.file));
                }
                continue;
            }
        };
        if let Some(class) = our_divergence(c) {
            if report.is_ok() || report.class() != class {
                failures.push(format!(
                    "{} {}: want our {class}, got {} {:?}",
                    c.file,
                    c.args,
                    report.class(),
                    report.detail()
                ));
            }
            diverged += 1;
            continue;
        }
        let ok_matches = match c.ok {
            Some(ok) => report.is_ok() == ok,
            None => !report.is_ok(),
        };
        let class_matches = c.class.starts_with("raised:") || report.class() == c.class;
        let detail = report.detail();
        let detail_matches = match expected_prefix(c) {
            Some(want) if c.exact => detail == want,
            Some(want) => detail.starts_with(&want),
            None => true,
        };
        if !(ok_matches && class_matches && detail_matches) {
            failures.push(format!(
                "{} {}: want {} {:?}, got {} {:?}",
                c.file,
                c.args,
                c.class,
                c.detail,
                report.class(),
                detail
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} checks differ:\n{}",
        failures.len(),
        all.len(),
        failures.join("\n")
    );
    assert_eq!(diverged, 4, "the deliberate divergences all still apply");
}

#[test]
fn canonical_bodies_reproduce_byte_for_byte() {
    let m = manifest();
    let bodies = m["canonical_bodies"].as_array().expect("canonical_bodies");
    assert!(bodies.len() >= 60);
    let dir = vectors_dir();
    let mut checked = 0;
    for b in bodies {
        let want =
            std::fs::read(dir.join(b["body_file"].as_str().expect("body_file"))).expect("body");
        let body = match b["source"].as_str() {
            // The header signature's body in an evidence pack.
            Some(source) if b["seq"].is_null() => {
                let text = std::fs::read_to_string(dir.join(source)).expect("source");
                let header =
                    Value::parse(text.lines().next().expect("header")).expect("header parses");
                let meta = header.get("_meta").expect("_meta");
                let mut body = Map::new();
                for k in ["system", "risk_tier", "head_hash", "entries"] {
                    body.insert(k, meta.get(k).cloned().unwrap_or_default());
                }
                let body = Value::from(body).to_canonical();
                let key = SigningKey::from(b["key"].as_str().expect("key"));
                assert_eq!(Some(key.sign(body.as_bytes()).as_str()), b["sig"].as_str());
                body
            }
            Some(source) => {
                let text = std::fs::read_to_string(dir.join(source)).expect("source");
                let seq = b["seq"].as_u64().expect("seq");
                let line = text
                    .lines()
                    .filter(|l| !l.trim().is_empty())
                    .map(|l| Value::parse(l).expect("source line parses"))
                    .find(|v| v.get("seq").and_then(Value::as_u64) == Some(seq))
                    .expect("source entry");
                let mut body = Map::new();
                for k in ["payload", "seq", "ts", "type"] {
                    body.insert(k, line.get(k).cloned().expect("field"));
                }
                Value::from(body).to_canonical()
            }
            // Standalone bodies: parsing and re-canonicalizing must be the identity.
            None => {
                let text = std::str::from_utf8(&want).expect("utf-8 body");
                Value::parse(text).expect("body parses").to_canonical()
            }
        };
        assert_eq!(
            body.as_bytes(),
            &want[..],
            "{} differs:\n ours: {body}\n want: {}",
            b["body_file"],
            String::from_utf8_lossy(&want)
        );
        if let (Some(prev), Some(hash)) = (b["prev_hash"].as_str(), b["hash"].as_str()) {
            let mut input = prev.as_bytes().to_vec();
            input.extend_from_slice(&want);
            assert_eq!(sha256_hex(&input), hash, "{}", b["body_file"]);
        }
        checked += 1;
    }
    assert_eq!(checked, bodies.len());
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
