//! The `axum_agent` example's demo, end to end: the real agent on 127.0.0.1, the offline model,
//! the audited client, the layers; then the chain it leaves is checked entry by entry, and the
//! pack it exports verifies here and in the reference.

#[allow(dead_code, unreachable_pub)]
#[path = "../../examples/axum_agent/agent.rs"]
mod agent;

use acttrace::chain::SigningKey;
use acttrace::json::Value;
use acttrace::verify::{VerifyOptions, verify_path};

use crate::support::{Scratch, reference_verify};

fn rows(path: &std::path::Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| Value::parse(l).unwrap())
        .collect()
}

fn get<'a>(v: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter().try_fold(v, |v, k| v.get(k))
}

fn text<'a>(v: &'a Value, path: &[&str]) -> &'a str {
    get(v, path).and_then(Value::as_str).unwrap_or("")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_leaves_the_chain_it_promises() {
    let scratch = Scratch::new("agent-demo");
    let run = agent::demo(&scratch.join("demo"), false)
        .await
        .expect("demo");
    assert!(run.offline, "the offline model answers");
    let id = |name: &str| {
        run.decisions
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, id)| id.clone())
            .unwrap_or_else(|| panic!("no {name} decision"))
    };
    let all = rows(&run.log);
    let of =
        |kind: &str| -> Vec<&Value> { all.iter().filter(|r| text(r, &["type"]) == kind).collect() };

    // Six decisions, each opened and closed.
    let opened: Vec<&str> = of("decision")
        .iter()
        .map(|r| text(r, &["payload", "decision_id"]))
        .collect();
    assert_eq!(opened.len(), 6);
    for name in [
        "approved", "declined", "blocked", "smuggled", "redacted", "streamed",
    ] {
        assert!(opened.contains(&id(name).as_str()), "{name} opened");
    }
    assert_eq!(of("decision_end").len(), 6);

    // A model call per decision that reached the handler, tagged, with usage and cost.
    let calls = of("llm_call");
    assert_eq!(calls.len(), 4);
    for name in ["approved", "declined", "redacted", "streamed"] {
        let call = calls
            .iter()
            .find(|c| text(c, &["payload", "decision_id"]) == id(name))
            .unwrap_or_else(|| panic!("no llm_call for {name}"));
        let tokens = |k| get(call, &["payload", "usage", k]).and_then(Value::as_u64);
        assert!(tokens("input_tokens") > Some(0) && tokens("output_tokens") > Some(0));
        assert!(
            text(call, &["payload", "cost"]).ends_with(" USD"),
            "{name}: cost"
        );
        assert_eq!(text(call, &["payload", "model"]), "gpt-4o-mini");
        let streamed = get(call, &["payload", "streamed"]) == Some(&Value::Bool(true));
        assert_eq!(streamed, name == "streamed", "{name}: streamed flag");
    }

    // The blocked request: its flag, and no model call.
    let blocked = id("blocked");
    assert!(
        !calls
            .iter()
            .any(|c| text(c, &["payload", "decision_id"]) == blocked)
    );
    let flags = of("policy_flag");
    let flag = flags
        .iter()
        .find(|f| text(f, &["payload", "decision_id"]) == blocked)
        .expect("the blocked request's flag");
    assert_eq!(text(flag, &["payload", "action"]), "blocked");

    // The instruction hidden in tag characters: blocked, named, never in the log.
    let smuggled = id("smuggled");
    assert!(
        !calls
            .iter()
            .any(|c| text(c, &["payload", "decision_id"]) == smuggled)
    );
    let flag = flags
        .iter()
        .find(|f| text(f, &["payload", "decision_id"]) == smuggled)
        .expect("the smuggling request's flag");
    assert_eq!(text(flag, &["payload", "action"]), "blocked");
    assert_eq!(
        get(flag, &["payload", "data"])
            .map(Value::to_line_json)
            .as_deref(),
        Some(r#"["tag_characters"]"#),
        "{}",
        flag.to_line_json()
    );

    // The e-mail address never reached the log; a flag says it was redacted.
    let raw = std::fs::read_to_string(&run.log).unwrap();
    assert!(!raw.contains("jane.doe@example.com"));
    assert!(
        !raw.contains("sk-proj-Zr9f3"),
        "the pasted key is not in the log either"
    );
    assert!(
        !raw.chars()
            .any(|c| ('\u{e0000}'..='\u{e007f}').contains(&c)),
        "nor the hidden instruction"
    );
    assert!(flags.iter().any(|f| {
        text(f, &["payload", "decision_id"]) == id("redacted")
            && text(f, &["payload", "action"]) == "redacted"
    }));

    // The reviewer's approval points at the approved decision; outcomes were recorded.
    let reviews = of("human_oversight");
    assert_eq!(reviews.len(), 1);
    assert_eq!(
        text(reviews[0], &["payload", "decision_id"]),
        id("approved")
    );
    assert_eq!(text(reviews[0], &["payload", "reviewer"]), "r.santos");
    let outcome = |name: &str| {
        of("decision_record")
            .iter()
            .find(|r| text(r, &["payload", "decision_id"]) == id(name))
            .map(|r| text(r, &["payload", "outcome"]).to_owned())
    };
    assert_eq!(outcome("approved").as_deref(), Some("approved"));
    assert_eq!(outcome("declined").as_deref(), Some("declined"));
    let summary = acttrace::evidence::Summary::read(&run.log).unwrap();
    let shown = summary.decisions.iter().find(|d| d.id == blocked).unwrap();
    assert_eq!(shown.outcome.as_deref(), Some("blocked"));

    // The log and the pack verify here; the pack also in the reference.
    let key = SigningKey::from(agent::DEMO_KEY);
    let log_report = verify_path(
        &run.log,
        &VerifyOptions::new()
            .key(key.clone())
            .expected_head(&run.head),
    );
    assert!(log_report.is_ok(), "{log_report}");
    let pack_report = verify_path(&run.pack, &VerifyOptions::new().key(key));
    assert!(pack_report.is_ok(), "{pack_report}");
    let (ok, detail) = reference_verify(&run.pack, Some(agent::DEMO_KEY), None);
    assert!(ok, "reference on the pack: {detail}");

    // The signed tree head and the proof of one decision check with the CLI, without the log;
    // the same proof against an edited tree head does not.
    // The auditor's report of the pack, as Chromium renders it.
    if let Some(chromium) = crate::support::chromium() {
        let dom = crate::support::rendered_dom(&chromium, &run.report);
        for shown in [
            "Audit report: loan-triage",
            "<strong>Verified:</strong>",
            "checked with the signing key",
            "6 decisions opened",
            "gpt-4o-mini",
            "r.santos",
            "Art.14 human oversight",
            "Art.12 record-keeping",
            "MEASURE-2.1",
            "Art.22 automated decision-making",
            "openai_key",
            "tag_characters",
            "Signed tree head (C2SP)",
            "verified: loan-triage's signed tree of 25 entries",
            "<svg",
            "href=\"#e1\"",
            "id=\"e1\"",
        ] {
            assert!(dom.contains(shown), "the rendered report shows {shown}");
        }
        assert!(!dom.contains("<script"), "no script");
        let shot = scratch.join("report.png");
        let out = std::process::Command::new(&chromium)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--hide-scrollbars",
            ])
            .arg("--window-size=1200,2600")
            .arg(format!("--screenshot={}", shot.display()))
            .arg(format!("file://{}", run.report.display()))
            .output()
            .unwrap();
        assert!(out.status.success());
        let png = std::fs::read(&shot).unwrap();
        assert!(
            png.starts_with(b"\x89PNG") && png.len() > 20_000,
            "a screenshot"
        );
    }

    let (note, proof, verifier) = run.proof.expect("the demo proves a decision");
    assert_eq!(
        note,
        scratch.join("demo/evidence-eu_ai_act.jsonl.note"),
        "beside the pack"
    );
    // The tree head is the pack's: `verify` checks the pack against it.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_acttrace"))
        .arg("verify")
        .arg(&run.pack)
        .args(["--key", agent::DEMO_KEY, "--note"])
        .arg(&note)
        .args(["--verifier", &verifier])
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{said}");
    assert!(said.contains("tree head"), "{said}");
    let check = |note: &std::path::Path| {
        std::process::Command::new(env!("CARGO_BIN_EXE_acttrace"))
            .arg("check-proof")
            .arg(&proof)
            .arg("--note")
            .arg(note)
            .arg("--verifier")
            .arg(&verifier)
            .output()
            .unwrap()
    };
    let out = check(&note);
    let said = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{said}");
    assert!(said.starts_with("valid: entry"), "{said}");
    let text = std::fs::read_to_string(&note).unwrap();
    let size = text.lines().nth(1).unwrap();
    let edited = scratch.join("edited.note");
    let bigger = (size.parse::<u64>().unwrap() + 1).to_string();
    std::fs::write(
        &edited,
        text.replacen(&format!("\n{size}\n"), &format!("\n{bigger}\n"), 1),
    )
    .unwrap();
    assert_eq!(check(&edited).status.code(), Some(1));
}
