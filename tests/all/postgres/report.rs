//! The auditor's report of a chain in the database: `acttrace report URL --chain NAME`.

use acttrace::store::Durability;

use super::{KEY, SERVER, fresh_chain, open, probe, server};
use crate::support::Scratch;

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
