//! The model-call middleware against a real gateway that nobody here wrote: the LiteLLM proxy,
//! installed from PyPI into `target/gateway` (pinned by `tests/gateway-requirements.txt`) and
//! started on 127.0.0.1 with mock models. OpenAI and Anthropic shapes go through one base URL
//! that nothing registers: the default `AuditMiddleware::new(log)` must record them all. (The
//! gateway's mock answers an Anthropic request to stream with one JSON message, not events;
//! the Anthropic event stream itself is tested against a local server in `client.rs`.)

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use acttrace::client::AuditMiddleware;
use acttrace::json::Value;
use acttrace::store::AuditLog;
use acttrace::verify::{VerifyOptions, verify_path};
use reqwest_middleware::ClientBuilder;

use crate::support::{Scratch, venv};

const MASTER_KEY: &str = "sk-test-master-key-0123456789abcdef";

/// The LiteLLM proxy's command: `$ACTTRACE_LITELLM`, or a venv under `target/gateway` made on
/// first use from the pinned requirements (no resolution: every package named with its
/// version, installed without dependencies of its own).
fn litellm() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        if let Some(p) = std::env::var_os("ACTTRACE_LITELLM") {
            return PathBuf::from(p);
        }
        let requirements =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/gateway-requirements.txt");
        let requirements = requirements.to_string_lossy();
        venv(
            "target/gateway",
            "litellm.proxy.proxy_server",
            &["--no-deps", "-r", &requirements],
        )
        .join("bin/litellm")
    })
    .clone()
}

/// A LiteLLM proxy on 127.0.0.1 serving mock models, stopped when dropped.
struct Gateway {
    child: Child,
    base: String,
}

impl Gateway {
    async fn start(scratch: &Scratch) -> Self {
        let config = scratch.join("litellm.yaml");
        std::fs::write(
            &config,
            r#"model_list:
  - model_name: mock-gpt
    litellm_params:
      model: openai/gpt-4o-mini
      api_key: sk-fake
      mock_response: "Approved: the amount is within policy."
  - model_name: mock-claude
    litellm_params:
      model: anthropic/claude-3-5-sonnet-20241022
      api_key: sk-fake
      mock_response: "Declined."
  - model_name: mock-tools
    litellm_params:
      model: openai/gpt-4o-mini
      api_key: sk-fake
      mock_response: "Scoring the application."
      mock_tool_calls:
        - id: call_score_1
          type: function
          function:
            name: score_application
            arguments: '{"applicant": "A-17", "secret": "never recorded"}'
general_settings:
  disable_spend_logs: true
litellm_settings:
  telemetry: false
"#,
        )
        .expect("write config");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let log = std::fs::File::create(scratch.join("litellm.log")).expect("log");
        let child = Command::new(litellm())
            .arg("--config")
            .arg(&config)
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .env("LITELLM_LOCAL_MODEL_COST_MAP", "True")
            .env("LITELLM_MASTER_KEY", MASTER_KEY)
            .env("NO_DOCS", "True")
            .current_dir(scratch.join("."))
            .stdout(Stdio::from(log.try_clone().expect("log")))
            .stderr(Stdio::from(log))
            .spawn()
            .expect("start litellm");
        let gateway = Self {
            child,
            base: format!("http://127.0.0.1:{port}"),
        };
        let health = format!("{}/health/liveliness", gateway.base);
        let deadline = std::time::Instant::now() + Duration::from_secs(120);
        loop {
            if reqwest::get(&health)
                .await
                .is_ok_and(|r| r.status().is_success())
            {
                return gateway;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "litellm did not start: {}",
                std::fs::read_to_string(scratch.join("litellm.log")).unwrap_or_default()
            );
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn field<'a>(v: &'a Value, path: &[&str]) -> Option<&'a Value> {
    let mut at = v.get("payload")?;
    for key in path {
        at = at.get(key)?;
    }
    Some(at)
}

fn text<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    field(v, path).and_then(Value::as_str)
}

fn number(v: &Value, path: &[&str]) -> Option<u64> {
    field(v, path).and_then(Value::as_u64)
}

/// OpenAI and Anthropic calls, plain and streamed, and a failing one, through one LiteLLM base
/// URL with the default middleware: each recorded, named after the gateway, with its model,
/// usage, status, stream, the gateway's own cost and upstream model beside ours; the failing
/// call's cost unknown (`null`), not zero.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_through_a_real_gateway_are_recorded_whatever_their_shape() {
    let scratch = Scratch::new("gateway");
    let gateway = Gateway::start(&scratch).await;
    let path = scratch.join("audit.jsonl");
    let log = AuditLog::open("gateway-test", &path).await.expect("open");
    let client = ClientBuilder::new(reqwest::Client::new())
        .with(AuditMiddleware::new(log.clone()))
        .build();
    let post = |path: &str, body: serde_json::Value| {
        let mut req = client
            .post(format!("{}{path}", gateway.base))
            .bearer_auth(MASTER_KEY)
            .header("content-type", "application/json");
        if path.ends_with("/messages") {
            req = req.header("anthropic-version", "2023-06-01");
        }
        let body = body.to_string();
        async move {
            let res = req.body(body).send().await.expect("send");
            let status = res.status().as_u16();
            let text = res.text().await.expect("read");
            (status, text)
        }
    };
    let user = serde_json::json!([{"role": "user", "content": "Assess application A-17."}]);
    let (s, t) = post(
        "/v1/chat/completions",
        serde_json::json!({"model": "mock-gpt", "messages": user, "temperature": 0.2,
                           "max_tokens": 64, "top_p": 0.9}),
    )
    .await;
    assert_eq!(s, 200, "{t}");
    let (s, t) = post(
        "/v1/chat/completions",
        serde_json::json!({"model": "mock-gpt", "messages": user, "stream": true,
                           "stream_options": {"include_usage": true}}),
    )
    .await;
    assert!(s == 200 && t.contains("data: [DONE]"), "{s} {t}");
    let (s, t) = post(
        "/v1/messages",
        serde_json::json!({"model": "mock-claude", "max_tokens": 64, "messages": user}),
    )
    .await;
    assert_eq!(s, 200, "{t}");
    let (s, _) = post(
        "/v1/chat/completions",
        serde_json::json!({"model": "no-such-model", "messages": user}),
    )
    .await;
    assert_eq!(s, 400);
    let (s, t) = post(
        "/v1/chat/completions",
        serde_json::json!({"model": "mock-tools", "messages": user}),
    )
    .await;
    assert!(s == 200 && t.contains("score_application"), "{s} {t}");
    // Asked to stream in the Anthropic shape; the gateway's mock answers whole (JSON, not
    // events). Recorded all the same, as what came back.
    let (s, t) = post(
        "/v1/messages",
        serde_json::json!({"model": "mock-claude", "max_tokens": 64, "stream": true,
                           "messages": user}),
    )
    .await;
    assert!(s == 200 && t.contains("\"usage\""), "{s} {t}");
    let whole: serde_json::Value = serde_json::from_str(&t).expect("a JSON answer");
    log.sync().await.expect("sync");
    // The streamed call's entry is made once its body ends: wait for the six.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let calls = loop {
        log.sync().await.expect("sync");
        let rows: Vec<Value> = std::fs::read_to_string(&path)
            .expect("read")
            .lines()
            .map(|l| Value::parse(l).expect("line"))
            .filter(|v| v.get("type").and_then(Value::as_str) == Some("llm_call"))
            .collect();
        if rows.len() >= 6 || std::time::Instant::now() > deadline {
            break rows;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(calls.len(), 6, "every call recorded: {calls:?}");
    let provider = gateway.base.trim_start_matches("http://");
    for c in &calls {
        assert_eq!(
            text(c, &["provider"]),
            Some(provider),
            "named after the gateway: {c:?}"
        );
    }
    let (plain, streamed, claude, failed, tools) =
        (&calls[0], &calls[1], &calls[2], &calls[3], &calls[4]);

    assert_eq!(text(plain, &["model"]), Some("mock-gpt"));
    assert_eq!(number(plain, &["usage", "input_tokens"]), Some(10));
    assert_eq!(number(plain, &["usage", "output_tokens"]), Some(20));
    assert_eq!(number(plain, &["status"]), Some(200));
    assert_eq!(
        text(plain, &["gateway_cost_source"]),
        Some("x-litellm-response-cost")
    );
    assert!(text(plain, &["gateway_cost"]).is_some_and(|c| c.ends_with(" USD")));
    assert_eq!(text(plain, &["upstream_model"]), Some("openai/gpt-4o-mini"));
    assert_eq!(text(plain, &["operation"]), Some("chat"));
    assert!(text(plain, &["response_id"]).is_some_and(|id| id.starts_with("chatcmpl-")));
    assert_eq!(
        field(plain, &["finish_reasons"]),
        Some(&Value::Array(vec!["stop".into()]))
    );
    assert_eq!(field(plain, &["temperature"]), Some(&Value::Float(0.2)));
    assert_eq!(number(plain, &["max_tokens"]), Some(64));
    assert_eq!(field(plain, &["top_p"]), Some(&Value::Float(0.9)));

    assert_eq!(field(streamed, &["streamed"]), Some(&Value::Bool(true)));
    // The reason to stop comes in an event of its own, neither the first nor the usage's.
    assert_eq!(
        field(streamed, &["finish_reasons"])
            .map(Value::to_line_json)
            .as_deref(),
        Some(r#"["stop"]"#),
        "{streamed:?}"
    );
    assert!(number(streamed, &["usage", "output_tokens"]).is_some_and(|n| n > 0));
    assert_eq!(text(streamed, &["cost_source"]), Some("usage.cost"));
    assert!(
        field(streamed, &["time_to_first_chunk_ms"])
            .and_then(Value::as_f64)
            .is_some_and(|ms| ms > 0.0),
        "{streamed:?}"
    );

    assert_eq!(text(claude, &["model"]), Some("mock-claude"));
    assert!(number(claude, &["usage", "input_tokens"]).is_some_and(|n| n > 0));
    assert!(number(claude, &["usage", "output_tokens"]).is_some_and(|n| n > 0));
    assert_eq!(
        text(claude, &["upstream_model"]),
        Some("anthropic/claude-3-5-sonnet-20241022")
    );
    assert!(text(claude, &["response_id"]).is_some_and(|id| id.starts_with("msg_")));
    assert_eq!(
        field(claude, &["finish_reasons"]),
        Some(&Value::Array(vec!["end_turn".into()]))
    );

    // Asked to stream, answered whole: the usage the answer states, and not streamed.
    let asked_to_stream = &calls[5];
    assert_eq!(text(asked_to_stream, &["model"]), Some("mock-claude"));
    assert_eq!(
        field(asked_to_stream, &["streamed"]),
        Some(&Value::Bool(false))
    );
    for (ours, theirs) in [
        ("input_tokens", "input_tokens"),
        ("output_tokens", "output_tokens"),
    ] {
        assert_eq!(
            number(asked_to_stream, &["usage", ours]),
            whole["usage"][theirs].as_u64(),
            "{asked_to_stream:?}"
        );
    }
    assert_eq!(
        text(asked_to_stream, &["response_id"]),
        whole["id"].as_str()
    );

    assert_eq!(number(failed, &["status"]), Some(400));
    assert_eq!(text(failed, &["error"]), Some("http_400"));
    assert!(
        text(failed, &["error_message"]).is_some_and(|m| m.contains("Invalid model name")),
        "{failed:?}"
    );
    assert_eq!(
        field(failed, &["cost"]),
        Some(&Value::Null),
        "unknown, not 0: {failed:?}"
    );
    assert!(
        field(failed, &["gateway_cost"]).is_none(),
        "a failed call's 0 is no cost"
    );

    // The tool the model asked for: its name and id, never its arguments.
    assert_eq!(
        text(tools, &["tool_calls", "0", "name"]),
        None,
        "an array, not a map"
    );
    let asked = field(tools, &["tool_calls"])
        .and_then(Value::as_array)
        .expect("tool_calls");
    assert_eq!(asked.len(), 1);
    assert_eq!(
        asked[0].get("name").and_then(Value::as_str),
        Some("score_application")
    );
    assert_eq!(
        asked[0].get("id").and_then(Value::as_str),
        Some("call_score_1")
    );
    let line = std::fs::read_to_string(&path).expect("read");
    assert!(
        !line.contains("never recorded"),
        "a tool's arguments stay out"
    );

    log.shutdown().await.expect("shutdown");
    let report = verify_path(&path, &VerifyOptions::new());
    assert!(report.is_ok(), "{report}");

    // `show` lists the failed call, and its JSON carries the error.
    let summary = acttrace::evidence::Summary::read(&path).expect("summary");
    assert_eq!(summary.failed_calls.len(), 1);
    let f = &summary.failed_calls[0];
    assert_eq!((f.status, f.error.as_str()), (Some(400), "http_400"));
    assert!(
        f.message
            .as_deref()
            .is_some_and(|m| m.contains("Invalid model name"))
    );
    assert!(summary.failed_calls_table().contains("http_400"));
    #[cfg(feature = "cli")]
    {
        let out = Command::new(env!("CARGO_BIN_EXE_acttrace"))
            .arg("show")
            .arg(&path)
            .arg("--json")
            .output()
            .expect("run show");
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
        assert_eq!(v["failed_calls"][0]["status"], 400);
        assert!(
            v["failed_calls"][0]["error_message"]
                .as_str()
                .is_some_and(|m| m.contains("Invalid model name"))
        );
        let table = Command::new(env!("CARGO_BIN_EXE_acttrace"))
            .arg("show")
            .arg(&path)
            .output()
            .expect("run show");
        let table = String::from_utf8_lossy(&table.stdout);
        assert!(
            table.contains("1 failed model calls:") && table.contains("http_400"),
            "{table}"
        );
    }
    drop(gateway);
}

/// The example binary `cargo test` built beside this test binary.
#[cfg(feature = "server")]
fn example_agent() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary");
    let target = exe
        .parent()
        .and_then(Path::parent)
        .expect("target profile directory");
    target.join("examples/axum_agent")
}

/// The example's demo against the real gateway, with only the variables the README documents:
/// as an OpenAI-compatible server and as an Anthropic-compatible one. Whatever the mock model
/// answers, the demo succeeds, and every model call is recorded with the gateway's name.
#[cfg(feature = "server")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_example_runs_against_a_real_gateway_in_either_shape() {
    let scratch = Scratch::new("gateway-example");
    let gateway = Gateway::start(&scratch).await;
    let agent = example_agent();
    assert!(agent.is_file(), "{} (built by cargo test)", agent.display());
    let provider = gateway.base.trim_start_matches("http://").to_owned();
    for (shape, vars) in [
        (
            "openai",
            [
                ("OPENAI_BASE_URL", format!("{}/v1", gateway.base)),
                ("OPENAI_API_KEY", MASTER_KEY.to_owned()),
                ("ACTTRACE_MODEL", "mock-gpt".to_owned()),
            ],
        ),
        (
            "anthropic",
            [
                ("ANTHROPIC_BASE_URL", gateway.base.clone()),
                ("ANTHROPIC_API_KEY", MASTER_KEY.to_owned()),
                ("ACTTRACE_MODEL", "mock-claude".to_owned()),
            ],
        ),
    ] {
        let dir = scratch.join(shape);
        let out = Command::new(&agent)
            .args(["--demo", "--dir"])
            .arg(&dir)
            .env_remove("OPENAI_API_KEY")
            .env_remove("OPENAI_BASE_URL")
            .env_remove("ANTHROPIC_API_KEY")
            .env_remove("ANTHROPIC_BASE_URL")
            .envs(vars.iter().map(|(k, v)| (*k, v.as_str())))
            .output()
            .expect("run the example");
        let said = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{shape}: {said}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let calls: Vec<Value> = std::fs::read_to_string(dir.join("audit.jsonl"))
            .expect("the log")
            .lines()
            .map(|l| Value::parse(l).expect("line"))
            .filter(|v| v.get("type").and_then(Value::as_str) == Some("llm_call"))
            .collect();
        assert_eq!(
            calls.len(),
            4,
            "{shape}: a call per decision that reached the model"
        );
        for c in &calls {
            assert_eq!(
                text(c, &["provider"]),
                Some(provider.as_str()),
                "{shape}: {c:?}"
            );
            assert_eq!(number(c, &["status"]), Some(200), "{shape}: {c:?}");
            assert!(
                number(c, &["usage", "output_tokens"]).is_some_and(|n| n > 0),
                "{shape}: {c:?}"
            );
        }
    }
}
