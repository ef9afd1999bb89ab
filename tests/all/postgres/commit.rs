//! A commit whose answer is lost: a proxy on 127.0.0.1 between the writer and the real server
//! passes a batch's `COMMIT` on (or not) and cuts the connection before the answer comes back.
//! The writer must find out on a new connection whether the batch landed, and say so truly:
//! acknowledged if it is in the chain, refused and recorded if it is not.

use std::io::{Read as _, Write as _};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use acttrace::json::Value;
use acttrace::store::Durability;

use super::{SERVER, assert_verifies, fresh_chain, open, probe, server};
use crate::support::Scratch;

/// What the proxy does with the next `COMMIT` it sees.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Cut {
    /// Pass everything.
    Never,
    /// Pass the `COMMIT` on, let the server commit, and cut before its answer comes back.
    AfterCommit,
    /// Cut instead of passing the `COMMIT` on: the server rolls the batch back.
    BeforeCommit,
}

/// A TCP proxy to the server that cuts one connection at its next `COMMIT` when armed.
struct Proxy {
    url: String,
    arm: Arc<Mutex<Cut>>,
    cuts: Arc<AtomicUsize>,
}

impl Proxy {
    fn start(url: &str) -> Self {
        let config: postgres::Config = url.parse().expect("the server's URL");
        let host = match config.get_hosts().first() {
            Some(postgres::config::Host::Tcp(h)) => h.clone(),
            _ => "127.0.0.1".to_owned(),
        };
        let upstream = (host, config.get_ports().first().copied().unwrap_or(5432));
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let password = config
            .get_password()
            .map(|p| format!(":{}", String::from_utf8_lossy(p)))
            .unwrap_or_default();
        let proxied = format!(
            "postgres://{}{password}@127.0.0.1:{port}/{}",
            config.get_user().unwrap_or("postgres"),
            config.get_dbname().unwrap_or("postgres"),
        );
        let arm = Arc::new(Mutex::new(Cut::Never));
        let cuts = Arc::new(AtomicUsize::new(0));
        let (a, c) = (arm.clone(), cuts.clone());
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let Ok(server) = TcpStream::connect(upstream.clone()) else {
                    continue;
                };
                relay(client, server, a.clone(), c.clone());
            }
        });
        Self {
            url: proxied,
            arm,
            cuts,
        }
    }

    fn arm(&self, cut: Cut) {
        *self.arm.lock().unwrap() = cut;
    }
}

/// Relays one connection both ways; the client-to-server side cuts it when armed.
fn relay(client: TcpStream, server: TcpStream, arm: Arc<Mutex<Cut>>, cuts: Arc<AtomicUsize>) {
    let cut = Arc::new(AtomicBool::new(false));
    let (mut from_server, mut to_client) =
        (server.try_clone().unwrap(), client.try_clone().unwrap());
    let answers = cut.clone();
    std::thread::spawn(move || {
        let mut buf = vec![0u8; 64 * 1024];
        while let Ok(n @ 1..) = from_server.read(&mut buf) {
            // Once cut, no answer reaches the client.
            if answers.load(Ordering::SeqCst) || to_client.write_all(&buf[..n]).is_err() {
                break;
            }
        }
    });
    let (mut from_client, mut to_server) = (client, server);
    std::thread::spawn(move || {
        let mut buf = vec![0u8; 64 * 1024];
        while let Ok(n @ 1..) = from_client.read(&mut buf) {
            let chunk = &buf[..n];
            let action = {
                let mut armed = arm.lock().unwrap();
                let hit = *armed != Cut::Never && chunk.windows(6).any(|w| w == b"COMMIT");
                match hit {
                    true => std::mem::replace(&mut *armed, Cut::Never),
                    false => Cut::Never,
                }
            };
            if action != Cut::Never {
                cut.store(true, Ordering::SeqCst);
                if action == Cut::AfterCommit {
                    let _ = to_server.write_all(chunk);
                    // Long enough for the server to commit and flush.
                    std::thread::sleep(Duration::from_millis(300));
                }
                cuts.fetch_add(1, Ordering::SeqCst);
                let _ = from_client.shutdown(Shutdown::Both);
                let _ = to_server.shutdown(Shutdown::Both);
                return;
            }
            if to_server.write_all(chunk).is_err() {
                break;
            }
        }
        let _ = to_server.shutdown(Shutdown::Both);
    });
}

fn of_type<'a>(rows: &'a [Value], kind: &str) -> Vec<&'a Value> {
    rows.iter()
        .filter(|r| r.get("type").and_then(Value::as_str) == Some(kind))
        .collect()
}

/// The server committed the batch but its answer was lost with the connection: the append
/// is acknowledged at the seq and hash the chain holds, once, and nothing calls it lost. Both
/// commit paths: the synchronous one (`Fsync`) and the plain `COMMIT` (`Flush`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_commit_whose_answer_is_lost_is_acknowledged_when_it_landed() {
    let Some(url) = server() else { return };
    let _shared = SERVER.read().await;
    let scratch = Scratch::new("pg-commit-landed");
    for durability in [Durability::Fsync, Durability::Flush] {
        let chain = fresh_chain("commit-landed");
        let proxy = Proxy::start(&url);
        let log = open(&proxy.url, &chain, durability).await;
        log.sync().await.expect("sync");
        proxy.arm(Cut::AfterCommit);
        let receipt = log.append(probe(1, 0)).await.expect("the batch landed");
        assert_eq!(
            proxy.cuts.load(Ordering::SeqCst),
            1,
            "the connection was cut"
        );
        for i in 1..4 {
            log.append(probe(1, i)).await.expect("appends go on");
        }
        let health = log.health();
        assert!(log.is_healthy(), "{durability:?}: {health:?}");
        assert_eq!((health.lost, health.refused), (0, 0), "{health:?}");
        log.shutdown().await.expect("shutdown");
        let rows = tokio::task::block_in_place(|| assert_verifies(&url, &chain, &scratch));
        let probes = of_type(&rows, "probe");
        assert_eq!(probes.len(), 4, "{durability:?}: each probe once");
        let first = probes[0];
        assert_eq!(
            first.get("hash").and_then(Value::as_str),
            Some(receipt.hash.as_str())
        );
        assert_eq!(
            first.get("seq").and_then(Value::as_u64),
            Some(receipt.seq),
            "acknowledged where it is"
        );
        assert!(
            of_type(&rows, "write_failure").is_empty(),
            "{durability:?}: nothing is called lost"
        );
    }
}

/// The connection was cut before the server saw the `COMMIT`: the batch is rolled back, the
/// append is refused, and the chain records the refusal; it does not hold the entry.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_commit_cut_before_the_server_saw_it_is_refused_and_recorded() {
    let Some(url) = server() else { return };
    let _shared = SERVER.read().await;
    let scratch = Scratch::new("pg-commit-lost");
    let chain = fresh_chain("commit-lost");
    let proxy = Proxy::start(&url);
    let log = open(&proxy.url, &chain, Durability::Fsync).await;
    log.sync().await.expect("sync");
    proxy.arm(Cut::BeforeCommit);
    let refused = log.append(probe(2, 0)).await;
    assert!(
        refused.is_err(),
        "not in the chain, not acknowledged: {refused:?}"
    );
    assert_eq!(
        proxy.cuts.load(Ordering::SeqCst),
        1,
        "the connection was cut"
    );
    // The writer reconnects by itself (a 50 ms retry) and records the refusal.
    let mut after = None;
    for _ in 0..100 {
        if let Ok(r) = log.append(probe(2, 1)).await {
            after = Some(r);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(after.is_some(), "appends resume");
    log.shutdown().await.expect("shutdown");
    let rows = tokio::task::block_in_place(|| assert_verifies(&url, &chain, &scratch));
    let probes = of_type(&rows, "probe");
    assert_eq!(probes.len(), 1, "only the append after the cut: {probes:?}");
    let failures = of_type(&rows, "write_failure");
    assert_eq!(failures.len(), 1, "the refusal is recorded");
    let text = failures[0].to_string();
    assert!(text.contains("not in the chain"), "{text}");
}
