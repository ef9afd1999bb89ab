//! The `acttrace` binary against the reference's verdicts, exit codes and key sources.

use std::process::Command;

use crate::support::{Scratch, vectors_dir};
use crate::vectors::{checks, expected_prefix, our_divergence, vector_path};

/// Opens (or resumes) the log `loan-triage` at `path`, appends `n` empty decisions and shuts it
/// down: every entry is on disk when this returns.
pub(crate) async fn append_decisions(path: &std::path::Path, n: usize) {
    let log = acttrace::store::AuditLog::open("loan-triage", path)
        .await
        .unwrap();
    for _ in 0..n {
        log.append(acttrace::chain::Entry::new(
            "decision",
            acttrace::json::Map::new(),
        ))
        .await
        .unwrap();
    }
    log.shutdown().await.unwrap();
}

fn acttrace() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_acttrace"));
    cmd.env_remove("ACTTRACE_KEY");
    cmd
}

#[test]
fn verify_prints_the_reference_detail_and_exit_code() {
    let scratch = Scratch::new("cli-vectors");
    let mut failures = Vec::new();
    for c in checks() {
        let path = vector_path(&c.file, &scratch);
        let mut cmd = acttrace();
        cmd.current_dir(vectors_dir()).arg("verify");
        if c.file.ends_with("t_directory.jsonl") {
            cmd.arg(&path);
        } else {
            cmd.arg(&c.file);
        }
        if let Some(k) = c.args["key"].as_str() {
            cmd.args(["--key", k]);
        }
        if let Some(h) = c.args["expected_head"].as_str() {
            cmd.args(["--expect-head", h]);
        }
        if let Some(n) = c.args["expect_entries"].as_u64() {
            cmd.args(["--expect-entries", &n.to_string()]);
        }
        let out = cmd.output().expect("run acttrace");
        let stdout = String::from_utf8_lossy(&out.stdout).trim_end().to_owned();
        let rc = i64::from(out.status.code().unwrap_or(-1));
        // Ours: 0 ok, 1 failed verification, 2 when the file cannot be read at all.
        let unreadable = c.file.contains("does_not_exist") || c.file.contains("t_directory");
        let diverges = our_divergence(&c).is_some();
        let want_rc = if unreadable {
            2
        } else if diverges {
            1
        } else {
            c.cli_rc
        };
        let detail_ok = match expected_prefix(&c) {
            _ if diverges => !stdout.starts_with("ok"),
            Some(want) if c.exact => stdout == want,
            Some(want) => unreadable || stdout.starts_with(&want),
            None => !stdout.starts_with("ok"),
        };
        if rc != want_rc || !detail_ok {
            failures.push(format!(
                "{} {}: rc {rc} (want {want_rc}): {stdout}",
                c.file, c.args
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn key_from_file_and_environment() {
    let scratch = Scratch::new("cli-keys");
    let key_file = scratch.join("key");
    std::fs::write(&key_file, "test-signing-key-01\n").expect("write key");
    let signed = vectors_dir().join("valid/v_basic_signed.jsonl");

    let out = acttrace()
        .arg("verify")
        .arg(&signed)
        .arg("--key-file")
        .arg(&key_file)
        .output()
        .expect("run");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("(signatures verified)"));

    let out = acttrace()
        .arg("verify")
        .arg(&signed)
        .env("ACTTRACE_KEY", "wrong-key")
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "bad signature at seq 0"
    );

    let out = acttrace()
        .arg("verify")
        .arg(&signed)
        .env("ACTTRACE_KEY", "test-signing-key-01")
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(0));

    // A missing key file is a usage problem, not a verdict.
    let out = acttrace()
        .arg("verify")
        .arg(&signed)
        .arg("--key-file")
        .arg(scratch.join("nope"))
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot read key file"));

    // So is an empty key, from the flag or a file (a line break alone is empty too): checked
    // against, it would call every signature forged.
    for (what, empty) in [("empty", ""), ("a line break", "\r\n")] {
        let file = scratch.join("empty.key");
        std::fs::write(&file, empty).expect("write");
        let out = acttrace()
            .arg("verify")
            .arg(&signed)
            .arg("--key-file")
            .arg(&file)
            .output()
            .expect("run");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{what}: {stderr}");
        assert!(stderr.contains("is empty"), "{what}: {stderr}");
        assert!(out.stdout.is_empty(), "{what}: no verdict");
    }
    let out = acttrace()
        .args(["verify", "--key", ""])
        .arg(&signed)
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--key is empty"));
}

#[test]
fn json_output_and_usage_errors() {
    let basic = vectors_dir().join("tampered/t_edit_payload.jsonl");
    let out = acttrace()
        .arg("verify")
        .arg(&basic)
        .arg("--json")
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["ok"], false);
    assert_eq!(v["class"], "hash_mismatch");
    assert_eq!(v["detail"], "tampered entry at seq 2: hash mismatch");
    assert_eq!(v["entries"], 2);

    let out = acttrace().arg("verify").output().expect("run");
    assert_eq!(out.status.code(), Some(2), "missing path is a usage error");
    let out = acttrace()
        .args(["verify", "x", "--expect-entries", "many"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    let out = acttrace()
        .args(["verify", "x", "--key", "a", "--key-file", "b"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2), "--key and --key-file conflict");
    // `--chain` names a chain in a database: with a file it is refused, not passed over.
    let valid = vectors_dir().join("valid/v_basic.jsonl");
    let never = std::env::temp_dir().join(format!("acttrace-never-{}", std::process::id()));
    for (command, output) in [
        ("verify", None),
        ("export", Some(&never)),
        ("report", Some(&never)),
    ] {
        let mut cmd = acttrace();
        cmd.arg(command).arg(&valid).args(["--chain", "loans"]);
        if let Some(o) = output {
            cmd.arg("-o").arg(o);
        }
        let out = cmd.output().expect("run");
        let said = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{command}: {said}");
        assert!(
            said.contains("--chain names a chain in a PostgreSQL database"),
            "{said}"
        );
        assert!(!never.exists(), "{command} wrote its output");
    }

    let out = acttrace().arg("--help").output().expect("run");
    assert!(String::from_utf8_lossy(&out.stdout).contains("verify"));
    let out = acttrace().args(["verify", "--help"]).output().expect("run");
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(
        help.contains("--expect-head") && help.contains("ACTTRACE_KEY"),
        "{help}"
    );
}

/// `acttrace export` makes the reference's pack from the reference's log (key from the
/// environment), the pack verifies with `acttrace verify`, and a log that does not verify is
/// refused with exit 1 and no pack.
#[test]
fn export_writes_the_reference_pack_and_refuses_a_bad_log() {
    let scratch = Scratch::new("cli-export");
    let dir = vectors_dir().join("export");
    let pack = scratch.join("pack.jsonl");
    let out = acttrace()
        .env("ACTTRACE_KEY", "test-signing-key-01")
        .arg("export")
        .arg(dir.join("_src_signed.jsonl"))
        .args(["--framework", "eu_ai_act", "-o"])
        .arg(&pack)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("16 entries") && stdout.contains("header signed"),
        "{stdout}"
    );
    assert_eq!(
        crate::export::without_our_fields(&std::fs::read_to_string(&pack).unwrap(), true),
        std::fs::read_to_string(dir.join("x_eu_ai_act_signed.jsonl")).unwrap()
    );
    let out = acttrace()
        .env("ACTTRACE_KEY", "test-signing-key-01")
        .arg("verify")
        .arg(&pack)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");

    let out = acttrace()
        .args(["export", "--framework", "sox"])
        .arg(dir.join("_src_signed.jsonl"))
        .arg("-o")
        .arg(&pack)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown framework"));

    let victim = vectors_dir().join("tampered/t_edit_payload.jsonl");
    let refused = scratch.join("refused.jsonl");
    let out = acttrace()
        .arg("export")
        .arg(&victim)
        .arg("-o")
        .arg(&refused)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("does not verify"));
    assert!(!refused.exists());
}

/// A fresh log in a scratch folder `name`, holding one opened decision: its folder, its path,
/// the log still open, and the decision's id.
async fn a_log_with_a_decision(
    name: &str,
) -> (
    Scratch,
    std::path::PathBuf,
    acttrace::store::AuditLog,
    acttrace::chain::DecisionId,
) {
    use acttrace::chain::{DecisionId, Entry};
    let scratch = Scratch::new(name);
    let path = scratch.join("audit.jsonl");
    let log = acttrace::store::AuditLog::open("loan-triage", &path)
        .await
        .unwrap();
    let id = DecisionId::random();
    log.append(Entry::decision(&id, "application A-1", "agent"))
        .await
        .unwrap();
    (scratch, path, log, id)
}

/// A call that used tokens without a cost to add (a model with no price, a cost that is no
/// amount) is not passed over in the sums: `show` and `stats` say how many were left out.
#[tokio::test]
async fn calls_without_a_price_are_counted_not_passed_over() {
    use acttrace::chain::{Entry, LlmCall, Usage};

    let (_scratch, path, log, id) = a_log_with_a_decision("cli-unpriced").await;
    for (model, cost) in [
        ("gpt-4o", Some("0.5 USD")),
        ("llama3", None),
        ("odd", Some("n/a")),
    ] {
        let mut call = LlmCall::new("any", model)
            .decision(Some(&id))
            .usage(Usage::new(10, 5));
        if let Some(cost) = cost {
            call = call.cost(cost);
        }
        log.append(Entry::llm_call(call)).await.unwrap();
    }
    log.shutdown().await.unwrap();

    let out = acttrace().arg("show").arg(&path).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(
        text.contains("0.5 USD + 2 unpriced  "),
        "the decision's row: {text}"
    );
    assert!(
        text.contains("total model cost 0.5 USD + 2 unpriced"),
        "{text}"
    );
    let out = acttrace()
        .args(["stats", "--json"])
        .arg(&path)
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["unpriced_calls"], 2, "{v}");
    assert_eq!(v["cost"], "0.5 USD + 2 unpriced", "{v}");
    let llama = v["models"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["model"] == "llama3")
        .unwrap();
    assert_eq!(
        (&llama["cost"], &llama["unpriced_calls"]),
        (&"1 unpriced".into(), &1.into())
    );
}

/// A review of a decision `show` has no row for (opened before the period shown, or in no
/// entry of the log: a mistyped id) is listed apart under the table, never passed over; other
/// entries naming such a decision are counted.
#[tokio::test]
async fn reviews_of_decisions_not_in_the_table_are_listed_apart() {
    use acttrace::chain::{DecisionId, Entry};
    use acttrace::json::{Map, Value};

    let (_scratch, path, log, opened) = a_log_with_a_decision("cli-show-reviews").await;
    let typo = DecisionId::random();
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let later = log
        .append(Entry::human_oversight(&opened, "r-7", "overridden", ""))
        .await
        .unwrap();
    log.append(Entry::human_oversight(
        &typo,
        "r-9\u{1b}[2J",
        "approved",
        "",
    ))
    .await
    .unwrap();
    let mut record = Map::new();
    record.insert("outcome", "approved");
    log.append(Entry::decision_record(&typo, record))
        .await
        .unwrap();
    log.shutdown().await.unwrap();
    let short = |id: &DecisionId| id.to_string().chars().take(12).collect::<String>();

    // The whole log: the mistyped id's review apart, the other on its decision's row.
    let out = acttrace().arg("show").arg(&path).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("overridden by r-7"), "{text}");
    assert!(
        text.contains("1 reviews of decisions not in the table"),
        "{text}"
    );
    let row = text
        .lines()
        .rfind(|l| l.starts_with(&short(&typo)))
        .expect("the review's row");
    assert!(row.contains("approved") && row.contains("r-9"), "{row}");
    assert!(!text.contains('\u{1b}'), "a raw escape sequence: {text}");
    assert!(text.contains("1 more entries (records"), "{text}");

    // From the first review on: its decision opened before, so both reviews are apart.
    let ts = std::fs::read_to_string(&path)
        .unwrap()
        .lines()
        .filter_map(|l| Value::parse(l).ok())
        .find(|v| v.get("seq").and_then(Value::as_u64) == Some(later.seq))
        .and_then(|v| v.get("ts").and_then(Value::as_str).map(str::to_owned))
        .unwrap();
    let out = acttrace()
        .args(["show", "--json", "--since", &ts])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["decisions"].as_array().map(Vec::len), Some(0), "{v}");
    let reviews = v["other_reviews"].as_array().unwrap();
    assert_eq!(reviews.len(), 2, "{v}");
    assert_eq!(reviews[0]["decision"], opened.to_string());
    assert_eq!(reviews[0]["action"], "overridden");
    assert_eq!(reviews[1]["reviewer"], "r-9\u{1b}[2J");
    assert_eq!(v["other_entries"], 1);
}

/// `acttrace show` lists each decision with its calls, cost, oversight and flags; `stats`
/// totals by model; both verify first and exit 1 on a tampered log, still showing it.
#[tokio::test]
async fn show_and_stats_read_a_log_for_people_and_machines() {
    use acttrace::chain::{Entry, LlmCall, PolicyFlag, Usage};
    use acttrace::json::Map;

    let (scratch, path, log, id) = a_log_with_a_decision("cli-show").await;
    for model in ["gpt-4o", "gpt-4o", "claude-sonnet-4"] {
        let call = LlmCall::new(
            if model.starts_with("gpt") {
                "openai"
            } else {
                "anthropic"
            },
            model,
        )
        .decision(Some(&id))
        .usage(Usage::new(1000, 200))
        .cost("0.004750000 USD");
        log.append(Entry::llm_call(call)).await.unwrap();
    }
    let mut outcome = Map::new();
    outcome.insert("outcome", "approved");
    log.append(Entry::decision_record(&id, outcome))
        .await
        .unwrap();
    log.append(Entry::policy_flag(
        PolicyFlag::new("pii").decision(&id).data(vec!["phone"]),
    ))
    .await
    .unwrap();
    log.append(Entry::human_oversight(&id, "r-7", "approved", ""))
        .await
        .unwrap();
    log.append(Entry::llm_call(LlmCall::new("openai", "gpt-4o-mini")))
        .await
        .unwrap();
    log.shutdown().await.unwrap();

    let out = acttrace().arg("show").arg(&path).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    let short: String = id.to_string().chars().take(12).collect();
    let row = text
        .lines()
        .find(|l| l.starts_with(&short))
        .expect("the decision's row");
    for want in [
        "approved",
        "3",
        "3000/600",
        "0.014250000 USD",
        "approved by r-7",
        "flagged: phone",
    ] {
        assert!(row.contains(want), "{want} missing from {row}");
    }
    assert!(text.starts_with("ok: 9 entries"), "{text}");

    let out = acttrace()
        .args(["stats", "--json"])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["llm_calls"], 4);
    assert_eq!(v["cost"], "0.014250000 USD");
    assert_eq!(v["models"][0]["model"], "gpt-4o");
    assert_eq!(v["models"][0]["calls"], 2);
    assert_eq!(v["models"][0]["input_tokens"], 2000);
    assert_eq!(v["flags_by_action"]["flagged"], 1);

    let tampered = scratch.join("tampered.jsonl");
    std::fs::write(
        &tampered,
        std::fs::read_to_string(&path)
            .unwrap()
            .replace("r-7", "r-8"),
    )
    .unwrap();
    let out = acttrace().arg("show").arg(&tampered).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("tampered entry at seq"), "{text}");
    assert!(text.contains("approved by r-8"), "still shown: {text}");
    let out = acttrace()
        .arg("show")
        .arg(scratch.join("missing.jsonl"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    // Standard input is read once; `show` reads a log twice: it says to use a file.
    let out = acttrace().args(["show", "-"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("write the log to a file first"), "{said}");
}

/// Ed25519 checkpoints from the command line: `keygen`, `checkpoint` (secret key from a file),
/// `verify --public-key` (from a file or the environment) on the log, on the log grown since,
/// on the log with its tail cut, with another key, and on an edited checkpoint.
#[tokio::test]
async fn checkpoints_are_signed_and_verified_with_a_public_key() {
    let scratch = Scratch::new("cli-checkpoint");
    let path = scratch.join("audit.jsonl");
    append_decisions(&path, 3).await;

    let keys = scratch.join("ops");
    let out = acttrace()
        .arg("keygen")
        .arg("-o")
        .arg(&keys)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let secret = scratch.join("ops.key");
    let public = scratch.join("ops.pub");
    use std::os::unix::fs::PermissionsExt as _;
    assert_eq!(
        std::fs::metadata(&secret).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let again = acttrace()
        .arg("keygen")
        .arg("-o")
        .arg(&keys)
        .output()
        .unwrap();
    assert_eq!(again.status.code(), Some(2), "never overwrites a key");

    let out = acttrace()
        .arg("checkpoint")
        .arg(&path)
        .arg("--signing-key-file")
        .arg(&secret)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("loan-triage, 4 entries"));
    // A log that names no system (the reference's empty log) gets no checkpoint signed for
    // nobody: it is refused until --origin says whose it is.
    let empty = crate::support::vectors_dir().join("valid/v_empty.jsonl");
    let unnamed = scratch.join("unnamed.checkpoint");
    let sign = |origin: Option<&str>| {
        let mut cmd = acttrace();
        cmd.arg("checkpoint")
            .arg(&empty)
            .arg("--signing-key-file")
            .arg(&secret)
            .arg("-o")
            .arg(&unnamed);
        if let Some(o) = origin {
            cmd.arg("--origin").arg(o);
        }
        cmd.output().unwrap()
    };
    let out = sign(None);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--origin"),
        "{out:?}"
    );
    assert!(!unnamed.exists());
    let out = sign(Some("loan-triage"));
    assert_eq!(out.status.code(), Some(0), "{out:?}");

    let verify = |log: &std::path::Path, env_key: bool| {
        let mut cmd = acttrace();
        cmd.arg("verify").arg(log);
        if env_key {
            let hex = std::fs::read_to_string(&public).unwrap();
            cmd.env("ACTTRACE_PUBLIC_KEY", hex.trim());
        } else {
            cmd.arg("--public-key").arg(&public);
        }
        cmd.arg("--checkpoint")
            .arg(scratch.join("audit.jsonl.checkpoint"));
        let out = cmd.output().unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).trim().to_owned(),
        )
    };
    assert_eq!(verify(&path, false).0, Some(0));
    assert_eq!(verify(&path, true).0, Some(0));

    // The log goes on: the checkpoint still holds for its prefix.
    append_decisions(&path, 1).await;
    assert_eq!(verify(&path, false).0, Some(0));

    // Cut back to 3 entries: fewer than signed.
    let text = std::fs::read_to_string(&path).unwrap();
    let cut = scratch.join("cut.jsonl");
    let three: String = text.lines().take(3).map(|l| format!("{l}\n")).collect();
    std::fs::write(&cut, three).unwrap();
    let (code, msg) = verify(&cut, false);
    assert_eq!(code, Some(1));
    assert!(msg.contains("the signed checkpoint covers 4"), "{msg}");

    // A checkpoint edited to claim 3 entries no longer verifies with the key.
    let cp_path = scratch.join("audit.jsonl.checkpoint");
    let cp = std::fs::read_to_string(&cp_path).unwrap();
    std::fs::write(&cp_path, cp.replace("\"entries\": 4", "\"entries\": 3")).unwrap();
    let (code, msg) = verify(&cut, false);
    assert_eq!(code, Some(1));
    assert!(msg.starts_with("forged checkpoint"), "{msg}");
    std::fs::write(&cp_path, &cp).unwrap();

    // Another key's public half does not verify it.
    let other = scratch.join("other");
    acttrace()
        .arg("keygen")
        .arg("-o")
        .arg(&other)
        .output()
        .unwrap();
    let out = acttrace()
        .arg("verify")
        .arg(&path)
        .arg("--public-key")
        .arg(scratch.join("other.pub"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));

    // No secret on the command line: the checkpoint command has no flag for one.
    let out = acttrace()
        .arg("checkpoint")
        .arg(&path)
        .env_remove("ACTTRACE_CHECKPOINT_KEY")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

/// `export -o X` and `checkpoint -o X` refuse an X that is their input (the same path, a hard
/// link, a symbolic link, another spelling): before, the rename replaced the log under its
/// writer. The log is untouched and nothing is left beside it.
#[test]
fn outputs_never_overwrite_their_inputs() {
    let scratch = Scratch::new("cli-overwrite");
    let log = scratch.join("audit.jsonl");
    std::fs::copy(vectors_dir().join("valid/v_basic.jsonl"), &log).expect("copy");
    std::fs::hard_link(&log, scratch.join("hard.jsonl")).expect("link");
    std::os::unix::fs::symlink(&log, scratch.join("soft.jsonl")).expect("symlink");
    std::fs::create_dir_all(scratch.join("sub")).expect("dir");
    let before = std::fs::read(&log).expect("read");
    let keys = scratch.join("ops");
    assert!(
        acttrace()
            .arg("keygen")
            .arg("-o")
            .arg(&keys)
            .status()
            .unwrap()
            .success()
    );
    let key_file = scratch.join("ops.key");
    for out in [
        "audit.jsonl",
        "hard.jsonl",
        "soft.jsonl",
        "sub/../audit.jsonl",
    ] {
        let out = scratch.join(out);
        for args in [
            vec![
                "export".as_ref(),
                log.as_os_str(),
                "-o".as_ref(),
                out.as_os_str(),
            ],
            vec![
                "checkpoint".as_ref(),
                log.as_os_str(),
                "--signing-key-file".as_ref(),
                key_file.as_os_str(),
                "-o".as_ref(),
                out.as_os_str(),
            ],
        ] {
            let run = acttrace().args(&args).output().expect("run");
            let stderr = String::from_utf8_lossy(&run.stderr);
            assert_eq!(run.status.code(), Some(2), "{args:?}: {stderr}");
            assert!(stderr.contains("refusing to write"), "{args:?}: {stderr}");
            assert_eq!(std::fs::read(&log).expect("read"), before, "{args:?}");
        }
    }
    let mut left: Vec<String> = std::fs::read_dir(scratch.join("."))
        .expect("list")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert_eq!(
        left,
        [
            "audit.jsonl",
            "hard.jsonl",
            "ops.key",
            "ops.pub",
            "soft.jsonl",
            "sub"
        ]
    );
}

/// Logs, packs and keys are created readable by their owner alone; a pack's mode can be chosen.
#[tokio::test]
async fn logs_packs_and_keys_are_created_owner_only() {
    use std::os::unix::fs::PermissionsExt as _;
    let mode =
        |p: &std::path::Path| std::fs::metadata(p).expect("stat").permissions().mode() & 0o777;
    let scratch = Scratch::new("cli-modes");
    let log = scratch.join("audit.jsonl");
    let w = acttrace::store::AuditLog::open("t", &log)
        .await
        .expect("open");
    w.shutdown().await.expect("shutdown");
    assert_eq!(mode(&log), 0o600);
    let pack = scratch.join("pack.jsonl");
    assert!(
        acttrace()
            .arg("export")
            .arg(&log)
            .arg("-o")
            .arg(&pack)
            .status()
            .unwrap()
            .success()
    );
    assert_eq!(mode(&pack), 0o600);
    let shared = scratch.join("shared.jsonl");
    let run = acttrace()
        .arg("export")
        .arg(&log)
        .arg("-o")
        .arg(&shared)
        .args(["--file-mode", "640"])
        .status()
        .unwrap();
    assert!(run.success());
    assert_eq!(mode(&shared), 0o640);
    assert!(
        acttrace()
            .arg("keygen")
            .arg("-o")
            .arg(scratch.join("k"))
            .status()
            .unwrap()
            .success()
    );
    assert_eq!(mode(&scratch.join("k.key")), 0o600);
    assert_eq!(mode(&scratch.join("k.pub")), 0o600);
    let again = acttrace()
        .arg("keygen")
        .arg("-o")
        .arg(scratch.join("k"))
        .output()
        .unwrap();
    assert_eq!(again.status.code(), Some(2), "never replaces a key");
}

/// A signed log verified without its key: the verdict is the reference's, and a note on
/// standard error says that the signatures were not checked (with the key, no note).
#[test]
fn a_signed_log_verified_without_its_key_says_so() {
    let signed = vectors_dir().join("valid/v_basic_signed.jsonl");
    let out = acttrace().arg("verify").arg(&signed).output().expect("run");
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("ok: "));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("signatures were not checked"), "{stderr}");
    let json = acttrace()
        .arg("verify")
        .arg(&signed)
        .arg("--json")
        .output()
        .expect("run");
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).expect("json");
    assert_eq!(v["signatures_unchecked"], true);
    let keyed = acttrace()
        .arg("verify")
        .arg(&signed)
        .args(["--key", "test-signing-key-01"])
        .output()
        .expect("run");
    assert_eq!(keyed.status.code(), Some(0));
    assert!(
        keyed.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&keyed.stderr)
    );
    let unsigned = vectors_dir().join("valid/v_basic.jsonl");
    let plain = acttrace()
        .arg("verify")
        .arg(&unsigned)
        .output()
        .expect("run");
    assert!(plain.stderr.is_empty());
}

/// Signed tree heads from the command line: `checkpoint --note` writes a C2SP signed note over
/// the log's Merkle root and prints the verifier key; `verify --note --verifier` accepts the
/// log and the log grown since, and refuses the log cut short, rewritten in place, a note
/// edited to another size and a note checked with another key.
#[tokio::test]
async fn tree_heads_are_signed_notes_checked_against_the_log() {
    let scratch = Scratch::new("cli-note");
    let path = scratch.join("audit.jsonl");
    append_decisions(&path, 3).await;
    for name in ["ops", "other"] {
        let out = acttrace()
            .arg("keygen")
            .arg("-o")
            .arg(scratch.join(name))
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{out:?}");
    }

    let out = acttrace()
        .arg("checkpoint")
        .arg(&path)
        .arg("--note")
        .arg("--signing-key-file")
        .arg(scratch.join("ops.key"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let said = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(said.contains("loan-triage, 4 entries"), "{said}");
    let verifier = said.trim().rsplit(' ').next().unwrap().to_owned();
    assert!(verifier.starts_with("loan-triage+"), "{verifier}");
    let note_path = scratch.join("audit.jsonl.note");
    let note = std::fs::read_to_string(&note_path).unwrap();
    assert!(note.starts_with("loan-triage\n4\n"), "{note}");
    assert!(note.contains("\n\n\u{2014} loan-triage "), "{note}");

    let verify = |log: &std::path::Path, verifier: &str| {
        let out = acttrace()
            .arg("verify")
            .arg(log)
            .arg("--note")
            .arg(&note_path)
            .arg("--verifier")
            .arg(verifier)
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).trim().to_owned(),
        )
    };
    let (code, msg) = verify(&path, &verifier);
    assert_eq!(code, Some(0), "{msg}");
    assert!(msg.contains("tree head verified"), "{msg}");
    // The verifier key may also come from a file.
    let key_file = scratch.join("verifier.txt");
    std::fs::write(&key_file, format!("{verifier}\n")).unwrap();
    assert_eq!(verify(&path, key_file.to_str().unwrap()).0, Some(0));

    // The log goes on: it still extends the signed tree.
    append_decisions(&path, 1).await;
    assert_eq!(verify(&path, &verifier).0, Some(0));

    // Cut back to 3 entries: a chain that verifies alone, but not the signed tree.
    let text = std::fs::read_to_string(&path).unwrap();
    let cut = scratch.join("cut.jsonl");
    let three: String = text.lines().take(3).map(|l| format!("{l}\n")).collect();
    std::fs::write(&cut, three).unwrap();
    let (code, msg) = verify(&cut, &verifier);
    assert_eq!(code, Some(1), "{msg}");
    assert!(msg.contains("tail was cut"), "{msg}");

    // A whole new chain of the same length, written under the same name: rewritten.
    let forged = scratch.join("forged.jsonl");
    append_decisions(&forged, 4).await;
    let (code, msg) = verify(&forged, &verifier);
    assert_eq!(code, Some(1), "{msg}");
    assert!(msg.contains("rewritten"), "{msg}");

    // A note edited to claim 3 entries fails its signature; another key finds no signature.
    std::fs::write(&note_path, note.replacen("\n4\n", "\n3\n", 1)).unwrap();
    let (code, msg) = verify(&cut, &verifier);
    assert_eq!(code, Some(1), "{msg}");
    assert!(msg.contains("forged tree head"), "{msg}");
    std::fs::write(&note_path, &note).unwrap();
    let out = acttrace()
        .arg("checkpoint")
        .arg(&path)
        .arg("--note")
        .arg("-o")
        .arg(scratch.join("other.note"))
        .arg("--signing-key-file")
        .arg(scratch.join("other.key"))
        .output()
        .unwrap();
    let theirs = String::from_utf8_lossy(&out.stdout)
        .trim()
        .rsplit(' ')
        .next()
        .unwrap()
        .to_owned();
    let (code, msg) = verify(&path, &theirs);
    assert_eq!(code, Some(1), "{msg}");
    assert!(msg.contains("no signature by"), "{msg}");

    // A malformed verifier key is a usage error.
    assert_eq!(verify(&path, "loan-triage+zz+AA==").0, Some(2));
}

/// `prove` and `check-proof`: an inclusion proof for one decision and a consistency proof
/// between two signed tree heads, checked without the log; an edited proof, another entry's
/// hash, heads given in the wrong order and a log rewritten since the head are refused.
#[tokio::test]
async fn proofs_are_made_from_the_log_and_checked_without_it() {
    let scratch = Scratch::new("cli-prove");
    let path = scratch.join("audit.jsonl");
    let keygen = acttrace()
        .arg("keygen")
        .arg("-o")
        .arg(scratch.join("ops"))
        .output()
        .unwrap();
    assert_eq!(keygen.status.code(), Some(0));
    let sign = |out: &str| {
        let out = acttrace()
            .arg("checkpoint")
            .arg(&path)
            .arg("--note")
            .arg("-o")
            .arg(scratch.join(out))
            .arg("--signing-key-file")
            .arg(scratch.join("ops.key"))
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{out:?}");
        let said = String::from_utf8_lossy(&out.stdout).into_owned();
        said.trim().rsplit(' ').next().unwrap().to_owned()
    };
    append_decisions(&path, 5).await;
    let verifier = sign("march.note");
    append_decisions(&path, 3).await;
    sign("june.note");

    let run = |args: &[&std::ffi::OsStr]| {
        let out = acttrace().args(args).output().unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).trim().to_owned(),
        )
    };
    let file = |name: &str| scratch.join(name).into_os_string();
    let s = |text: &str| std::ffi::OsString::from(text);

    // Entry 3's hash, as an auditor holding that one decision has it.
    let text = std::fs::read_to_string(&path).unwrap();
    let row = text
        .lines()
        .map(|l| acttrace::json::Value::parse(l).unwrap())
        .find(|r| r.get("seq").and_then(|v| v.as_u64()) == Some(3))
        .unwrap();
    let hash = row.get("hash").unwrap().as_str().unwrap().to_owned();

    let (code, _) = run(&[
        &s("prove"),
        path.as_os_str(),
        &s("--seq"),
        &s("3"),
        &s("--note"),
        &file("june.note"),
        &s("-o"),
        &file("entry3.proof"),
    ]);
    assert_eq!(code, Some(0));
    let check = |proof: &str, extra: &[&str]| {
        let mut args = vec![
            s("check-proof"),
            file(proof),
            s("--note"),
            file("june.note"),
            s("--verifier"),
            s(&verifier),
        ];
        for a in extra {
            args.push(if a.ends_with(".note") { file(a) } else { s(a) });
        }
        let refs: Vec<&std::ffi::OsStr> = args.iter().map(|a| a.as_os_str()).collect();
        run(&refs)
    };
    let (code, msg) = check("entry3.proof", &["--entry-hash", &hash]);
    assert_eq!(code, Some(0), "{msg}");
    assert!(msg.starts_with("valid: entry 3"), "{msg}");

    // Another entry's hash, or one step of the path changed: invalid.
    let other = "0".repeat(64);
    let (code, msg) = check("entry3.proof", &["--entry-hash", &other]);
    assert_eq!(code, Some(1), "{msg}");
    let proof = std::fs::read_to_string(scratch.join("entry3.proof")).unwrap();
    let step = proof.split("\"path\": [\"").nth(1).unwrap()[..64].to_owned();
    let flipped = format!(
        "{}{}",
        if step.starts_with('0') { "1" } else { "0" },
        &step[1..]
    );
    std::fs::write(scratch.join("edited.proof"), proof.replace(&step, &flipped)).unwrap();
    let (code, msg) = check("edited.proof", &[]);
    assert_eq!(code, Some(1), "{msg}");
    assert!(msg.starts_with("invalid"), "{msg}");

    // March's head is extended by June's, not the other way round.
    let (code, _) = run(&[
        &s("prove"),
        path.as_os_str(),
        &s("--from"),
        &file("march.note"),
        &s("--note"),
        &file("june.note"),
        &s("-o"),
        &file("grown.proof"),
    ]);
    assert_eq!(code, Some(0));
    let (code, msg) = check("grown.proof", &["--from", "march.note"]);
    assert_eq!(code, Some(0), "{msg}");
    assert!(
        msg.contains("tree of 9 entries extends its tree of 6"),
        "{msg}"
    );
    let backwards = run(&[
        &s("check-proof"),
        &file("grown.proof"),
        &s("--note"),
        &file("march.note"),
        &s("--from"),
        &file("june.note"),
        &s("--verifier"),
        &s(&verifier),
    ]);
    assert_eq!(backwards.0, Some(1), "{}", backwards.1);

    // A log rewritten after March (same length, other entries) cannot be proven against it.
    let forged = scratch.join("forged.jsonl");
    append_decisions(&forged, 8).await;
    let (code, _) = run(&[
        &s("prove"),
        forged.as_os_str(),
        &s("--seq"),
        &s("3"),
        &s("--note"),
        &file("march.note"),
    ]);
    assert_eq!(code, Some(1));
}

/// A log sent compressed (gzip, as logs are mailed and archived) or re-encoded (UTF-16, as a
/// Windows editor saves it), and a directory with no segments in it: `verify`, `show` and
/// `stats` say what the file is and what to do, exit 2 (cannot read, not tampered), and print
/// no empty table; the decompressed copy verifies.
#[test]
fn copies_that_are_not_logs_are_named_with_what_to_do() {
    use std::io::Write as _;
    let scratch = Scratch::new("cli-not-a-log");
    let text = std::fs::read_to_string(vectors_dir().join("valid/v_basic.jsonl")).expect("read");
    let gz = scratch.join("audit.jsonl.gz");
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(text.as_bytes()).expect("compress");
    std::fs::write(&gz, encoder.finish().expect("compress")).expect("write");
    let utf16 = scratch.join("audit-utf16.jsonl");
    let wide: Vec<u8> = [0xff, 0xfe]
        .into_iter()
        .chain(text.encode_utf16().flat_map(u16::to_le_bytes))
        .collect();
    std::fs::write(&utf16, wide).expect("write");
    let empty = scratch.join("not-segments");
    std::fs::create_dir_all(&empty).expect("dir");
    for (path, says) in [
        (
            &gz,
            "gzip-compressed data, not a log: decompress it first (gunzip -k)",
        ),
        (&utf16, "UTF-16 text, not a log: a log is UTF-8"),
        (
            &empty,
            "a directory, not a log file, and no segmented log's (no segment-N.jsonl in it)",
        ),
    ] {
        for command in ["verify", "show", "stats"] {
            let out = acttrace().arg(command).arg(path).output().expect("run");
            let said = String::from_utf8_lossy(&out.stdout).into_owned()
                + &String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{command} {path:?}: {said}");
            assert!(said.contains(says), "{command} {path:?}: {said}");
            assert!(
                !said.contains("DECISION"),
                "{command} {path:?}: a table: {said}"
            );
        }
    }
    let pack = scratch.join("pack.jsonl");
    let out = acttrace()
        .arg("export")
        .arg(&gz)
        .arg("-o")
        .arg(&pack)
        .output()
        .expect("run");
    let said = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "export: {said}");
    assert!(said.contains("gzip-compressed data, not a log"), "{said}");
    assert!(!pack.exists(), "no pack written");
    let plain = scratch.join("audit.jsonl");
    let mut decoder = flate2::read::GzDecoder::new(std::fs::File::open(&gz).expect("open"));
    let mut back = String::new();
    std::io::Read::read_to_string(&mut decoder, &mut back).expect("decompress");
    std::fs::write(&plain, back).expect("write");
    let out = acttrace().arg("verify").arg(&plain).output().expect("run");
    assert!(out.status.success(), "{out:?}");
    // `-` reads standard input: `zcat audit.jsonl.gz | acttrace verify -`.
    let piped = |input: Vec<u8>, extra: &[&str]| {
        let mut child = acttrace()
            .args(["verify", "-"])
            .args(extra)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("run");
        let mut stdin = child.stdin.take().expect("stdin");
        // A verifier that stops reading early closes the pipe: not an error here.
        let _ = stdin.write_all(&input);
        drop(stdin);
        let out = child.wait_with_output().expect("wait");
        let said = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        (out.status.code(), said)
    };
    let (code, said) = piped(text.clone().into_bytes(), &["--expect-entries", "11"]);
    assert_eq!(code, Some(0), "{said}");
    assert!(said.starts_with("ok: 11 entries"), "{said}");
    let cut: String = text.lines().take(5).map(|l| format!("{l}\n")).collect();
    let (code, said) = piped(cut.into_bytes(), &["--expect-entries", "11"]);
    assert_eq!(code, Some(1), "{said}");
    let (code, said) = piped(std::fs::read(&gz).expect("read"), &[]);
    assert_eq!(code, Some(2), "{said}");
    assert!(
        said.contains("cannot read -: gzip-compressed data"),
        "{said}"
    );
    let note = scratch.join("head.note");
    let (code, said) = piped(
        text.into_bytes(),
        &[
            "--note",
            note.to_str().expect("utf-8"),
            "--verifier",
            "ops+0b1f7e2a+AQ==",
        ],
    );
    assert_eq!(code, Some(2), "{said}");
    assert!(
        said.contains("--note reads the log a second time"),
        "{said}"
    );
    // Standard input a terminal (a pseudo-terminal, from `script`): refused at once, not a
    // silent wait.
    let command = format!("{} verify -", env!("CARGO_BIN_EXE_acttrace"));
    let out = Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run script (util-linux)");
    let said = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(2), "{said}");
    assert!(said.contains("which is a terminal: pipe it in"), "{said}");
}
