//! Hostile payloads: they cannot fake the screen or crash the tools (the `acttrace` binary on
//! real files).

use std::path::Path;
use std::process::{Command, Output};

use acttrace::chain::{DecisionId, Entry, LlmCall, PolicyFlag};
use acttrace::evidence::summary::{MAX_CELL_CHARS, Summary};
use acttrace::json::Map;
use acttrace::store::AuditLog;

use crate::support::Scratch;

fn acttrace(args: &[&std::ffi::OsStr]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_acttrace"))
        .env_remove("ACTTRACE_KEY")
        .args(args)
        .output()
        .expect("run acttrace")
}

/// Characters that would steer a terminal or pass its reader unseen: none may reach it raw
/// from a payload or a name.
fn assert_inert(what: &str, bytes: &[u8]) {
    let text = String::from_utf8_lossy(bytes);
    for (i, c) in text.char_indices() {
        let steering = (c.is_control() && c != '\n')
            || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{2028}' | '\u{2029}');
        let invisible = matches!(
            c,
            '\u{200b}'..='\u{200f}' | '\u{feff}' | '\u{ad}' | '\u{2060}'
        ) || ('\u{e0000}'..='\u{e007f}').contains(&c);
        assert!(
            !steering && !invisible,
            "{what}: raw {c:?} at byte {i}:\n{text}"
        );
    }
    assert!(
        !text.lines().any(|l| l.starts_with("ok: fake")),
        "{what}: a payload printed a line of its own:\n{text}"
    );
}

const CLEAR: &str = "\x1b[2J\x1b[H";
const FAKE_OK: &str = "\nok: fake verdict\r\n";
/// What a reader would not see: a zero-width space, a soft hyphen, a byte order mark and
/// "ignore all" in tag characters (text smuggled into a prompt), then a C1 CSI and DEL.
const UNSEEN: &str = "appr\u{200b}o\u{ad}v\u{feff}ed\u{e0069}\u{e0067}\u{e006e}\u{e006f}\u{e0072}\u{e0065}\u{9b}2J\u{7f}";

/// A log whose payloads carry escape sequences, bidirectional overrides, line breaks and a
/// 70,000-character value, written as a service would write them (no redaction).
async fn hostile_log(path: &Path) {
    let log = AuditLog::builder(format!("sys{CLEAR}"))
        .redaction(None)
        .open(path)
        .await
        .expect("open");
    let id = DecisionId::random();
    let mut decision = Entry::decision(
        &id,
        format!("input{FAKE_OK}"),
        &format!("actor{CLEAR}{UNSEEN}"),
    );
    decision
        .payload_mut()
        .insert("route", format!("/x{FAKE_OK}\u{202e}gpj.exe"));
    log.append(decision).await.expect("append");
    log.append(Entry::llm_call(
        LlmCall::new("prov\x1b[31m", format!("model\x07{FAKE_OK}"))
            .decision(Some(&id))
            .cost("0.5 USD\x1b[2K"),
    ))
    .await
    .expect("append");
    // A failed call, whose error message is the provider's text.
    log.append(Entry::llm_call(
        LlmCall::new("openai", "gpt-4o")
            .decision(Some(&id))
            .field("status", 500)
            .field("error", format!("http_500{CLEAR}"))
            .field("error_message", format!("upstream said{FAKE_OK}{CLEAR}")),
    ))
    .await
    .expect("append");
    let mut record = Map::new();
    record.insert("outcome", "y".repeat(70_000));
    log.append(Entry::decision_record(&id, record))
        .await
        .expect("append");
    log.append(Entry::policy_flag(
        PolicyFlag::new(format!("why{FAKE_OK}"))
            .decision(&id)
            .action("blocked\x1b]0;title\x07")
            .data(vec![format!("cat\u{2066}{CLEAR}")]),
    ))
    .await
    .expect("append");
    log.append(Entry::human_oversight(
        &id,
        &format!("rev{CLEAR}{UNSEEN}"),
        "approved",
        "",
    ))
    .await
    .expect("append");
    log.shutdown().await.expect("shutdown");
}

/// `show`, `stats` and `verify` print escape sequences, bidirectional overrides and line breaks
/// from payloads, and from the file's name, escaped; `--json` stays exact JSON carrying the
/// values as they are; a 70,000-character cell neither panics nor floods the screen.
#[tokio::test]
async fn payloads_and_file_names_cannot_steer_the_terminal() {
    let scratch = Scratch::new("hostile-screen");
    let path = scratch.join(&format!("log{CLEAR}.jsonl"));
    hostile_log(&path).await;
    for cmd in ["show", "stats", "verify"] {
        let out = acttrace(&[cmd.as_ref(), path.as_os_str()]);
        assert_eq!(out.status.code(), Some(0), "{cmd}: {out:?}");
        assert_inert(cmd, &out.stdout);
        assert_inert(cmd, &out.stderr);
    }
    let show = String::from_utf8(acttrace(&["show".as_ref(), path.as_os_str()]).stdout).unwrap();
    assert!(show.contains("\\u{1b}[2J"), "escaped, not dropped:\n{show}");
    assert!(
        show.contains("upstream said\\u{a}ok: fake verdict"),
        "the failed call's message is listed, escaped:\n{show}"
    );
    assert!(
        show.contains("\n\n1 failed model calls:\n"),
        "a line break of the tool's own is one:\n{show}"
    );
    assert!(
        show.lines()
            .all(|l| l.chars().count() < 12 * MAX_CELL_CHARS),
        "a 70,000-character cell is cut:\n{show}"
    );
    // A file that cannot be read: its name in the error is escaped too.
    let missing = scratch.join(&format!("gone{FAKE_OK}.jsonl"));
    for cmd in ["show", "verify", "stats"] {
        let out = acttrace(&[cmd.as_ref(), missing.as_os_str()]);
        assert_eq!(out.status.code(), Some(2), "{cmd}");
        assert_inert(cmd, &out.stdout);
        assert_inert(cmd, &out.stderr);
    }
    assert!(
        show.contains("appr\\u{200b}o"),
        "escaped, not dropped:\n{show}"
    );
    // JSON output is exact (the values as written), in JSON escapes where a raw character
    // would steer the terminal or hide.
    for cmd in ["show", "stats", "verify"] {
        let out = acttrace(&[cmd.as_ref(), path.as_os_str(), "--json".as_ref()]);
        assert_inert(&format!("{cmd} --json"), &out.stdout);
        serde_json::from_slice::<serde_json::Value>(&out.stdout).expect("JSON");
    }
    let json = acttrace(&["show".as_ref(), path.as_os_str(), "--json".as_ref()]);
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).expect("show --json is JSON");
    assert_eq!(v["decisions"][0]["actor"], format!("actor{CLEAR}{UNSEEN}"));
    assert_eq!(
        v["decisions"][0]["outcome"].as_str().map(str::len),
        Some(70_000)
    );
}

/// The tables are public functions: no width of cell panics them (a formatting width over
/// 65,535 did), and every cell is cut to `MAX_CELL_CHARS`.
#[tokio::test]
async fn tables_take_any_cell_without_panicking() {
    let scratch = Scratch::new("hostile-table");
    let path = scratch.join("log.jsonl");
    hostile_log(&path).await;
    let summary = Summary::read(&path).expect("read");
    let decisions = summary.decisions_table();
    assert!(decisions.contains('…'), "the long cell is cut: {decisions}");
    for table in [decisions, summary.models_table()] {
        assert!(!table.contains('\x1b'), "{table}");
        let widest = table.lines().map(|l| l.chars().count()).max().unwrap_or(0);
        assert!(widest < 12 * MAX_CELL_CHARS, "{widest}");
    }
}

/// A file without line breaks (`/dev/zero`) or with one over-long line is not read into memory
/// whole: `verify` says where the line is (line and the seq it follows), `show` and `stats`
/// stop with a clear error; the cap can be raised.
#[tokio::test]
async fn an_endless_or_over_long_line_is_refused_not_read_whole() {
    let zero = Path::new("/dev/zero");
    for cmd in ["show", "stats"] {
        let out = acttrace(&[
            cmd.as_ref(),
            zero.as_os_str(),
            "--max-line-bytes".as_ref(),
            "1048576".as_ref(),
        ]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{cmd}: {stderr}");
        assert!(
            stderr.contains("longer than 1048576 bytes"),
            "{cmd}: {stderr}"
        );
    }
    let scratch = Scratch::new("hostile-long");
    let path = scratch.join("log.jsonl");
    let log = AuditLog::builder("t")
        .redaction(None)
        .open(&path)
        .await
        .unwrap();
    let mut p = Map::new();
    p.insert("blob", "x".repeat(2 << 20));
    log.append(Entry::new("big", p)).await.unwrap();
    log.shutdown().await.unwrap();
    let out = acttrace(&[
        "verify".as_ref(),
        path.as_os_str(),
        "--max-line-bytes".as_ref(),
        "1048576".as_ref(),
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("line 2: line longer than 1048576 bytes (the entry after seq 0)"),
        "{stdout}"
    );
    let raised = acttrace(&[
        "verify".as_ref(),
        path.as_os_str(),
        "--max-line-bytes".as_ref(),
        "4194304".as_ref(),
    ]);
    assert_eq!(raised.status.code(), Some(0), "{raised:?}");
}
