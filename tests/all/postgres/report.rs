//! The auditor's report and the evidence pack of a chain in the database: `acttrace report
//! URL --chain NAME` and `acttrace export URL --chain NAME`.

use acttrace::store::Durability;

use super::{KEY, SERVER, fresh_chain, open, probe, server};
use crate::support::{Scratch, reference_verify};

/// The report of a database chain is of the chain as it stood, named as the database and
/// chain (never the temporary file it was pulled to, which is gone), and says the chain
/// verifies; an entry edited in the database turns it red; a report needs somewhere to go.
#[test]
fn the_cli_reports_a_database_chain() {
    let Some(url) = server() else { return };
    let _shared = SERVER.blocking_read();
    let scratch = Scratch::new("pg-report");
    let chain = fresh_chain("report");
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let log = open(&url, &chain, Durability::Fsync).await;
        for i in 0..12 {
            log.append(probe(1, i)).await.unwrap();
        }
        log.shutdown().await.unwrap();
    });
    use crate::support::run_acttrace as run;
    let out = scratch.join("report.html");
    let report = || {
        run(&[
            "report",
            &url,
            "--chain",
            &chain,
            "--key",
            KEY,
            "-o",
            out.to_str().unwrap(),
        ])
    };
    let (code, said) = report();
    assert_eq!(code, Some(0), "{said}");
    let page = std::fs::read_to_string(&out).unwrap();
    assert!(page.contains("Verified:"), "{page}");
    assert!(page.contains("<dt>Entries</dt><dd>13</dd>"), "{page}");
    let named = acttrace::store::postgres::describe(&url, &chain);
    assert!(
        page.contains(&format!("<code>{}</code>", named.display())),
        "{page}"
    );
    let temp = std::env::temp_dir().display().to_string();
    assert!(
        !page.contains(&temp),
        "the temporary file is not named: {page}"
    );

    let mut client = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    client
        .execute(
            "UPDATE acttrace_entries SET line = replace(line, '\"i\": 4', '\"i\": 5')
             WHERE chain = $1 AND seq = 5",
            &[&chain],
        )
        .unwrap();
    let (code, said) = report();
    assert_eq!(
        code,
        Some(0),
        "a report is made of a chain that does not verify: {said}"
    );
    let page = std::fs::read_to_string(&out).unwrap();
    assert!(page.contains("Does not verify:"), "{page}");

    let (code, said) = run(&["report", &url, "--chain", &chain]);
    assert_eq!(code, Some(2), "{said}");
    assert!(said.contains("--output"), "{said}");
}

/// The pack of a database chain is of the chain as it stood, verifies here and in the
/// reference, and the chain must be named when the database holds several.
#[test]
fn the_cli_exports_a_database_chain() {
    let Some(url) = server() else { return };
    let _shared = SERVER.blocking_read();
    let scratch = Scratch::new("pg-export");
    let chain = fresh_chain("export");
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let log = open(&url, &chain, Durability::Fsync).await;
        for i in 0..9 {
            log.append(probe(1, i)).await.unwrap();
        }
        log.shutdown().await.unwrap();
        // Another chain beside it.
        let other = open(&url, &fresh_chain("export-other"), Durability::Fsync).await;
        other.shutdown().await.unwrap();
    });
    use crate::support::run_acttrace as run;
    let pack = scratch.join("pack.jsonl");
    let (code, said) = run(&[
        "export",
        &url,
        "--chain",
        &chain,
        "--framework",
        "eu_ai_act",
        "--key",
        KEY,
        "-o",
        pack.to_str().unwrap(),
    ]);
    assert_eq!(code, Some(0), "{said}");
    assert!(
        said.contains("10 entries") && said.contains("header signed"),
        "{said}"
    );
    let (ok, detail) = reference_verify(&pack, Some(KEY), None);
    assert!(ok, "the reference on the pack: {detail}");
    let (code, said) = run(&["verify", pack.to_str().unwrap(), "--key", KEY]);
    assert_eq!(code, Some(0), "{said}");

    let (code, said) = run(&["export", &url, "-o", pack.to_str().unwrap()]);
    assert_eq!(code, Some(2), "{said}");
    assert!(said.contains("--chain"), "{said}");
}
