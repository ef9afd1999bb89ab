//! One chain many processes append to: PostgreSQL as the shared sequencer (feature
//! `postgres`), the way Trillian and Tessera sequence on a database.
//!
//! Each writer keeps its group commit; each batch is one transaction that locks the chain's
//! row in `acttrace_chains` (`SELECT ... FOR UPDATE`), lays the batch out after the head it
//! reads there (seq, link, hash, signature, as the file writer does), inserts the entries'
//! exact `acttrace-chain/1` lines, moves the head, and commits. An append is acknowledged only
//! after its commit. A writer killed mid-batch leaves nothing: its transaction is rolled back.
//! Two writers cannot both extend one head: the lock serializes them, the primary key
//! `(chain, seq)` and the head check refuse what slips past it.
//!
//! The schema is created and migrated by the library, under a transaction-level advisory
//! lock, and versioned in `acttrace_schema` (see `POSTGRES.md`).
//!
//! A connection string (a `postgres://` URL or libpq's `key=value` words) is read as libpq
//! reads it: what it leaves out comes from the `PG*` variables (`PGHOST`, `PGUSER`,
//! `PGPASSWORD`, `PGSSLMODE`, ...), the password file (`~/.pgpass`) and, for TLS,
//! `~/.postgresql/`; its `sslmode`, `sslrootcert`, `sslcert` and `sslkey` are honoured with
//! the `postgres-tls` feature and refused without it (see `POSTGRES.md`).
//!
//! Reading a chain back, for an auditor (blocking: in async code, from `spawn_blocking`):
//!
//! ```no_run
//! use acttrace::store::postgres::{ChainReader, pull};
//! use acttrace::verify::{VerifyOptions, verify_reader};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let url = "postgres://auditor@127.0.0.1:5432/audit";
//! let reader = ChainReader::open(url, "loan-triage", None)?; // one snapshot
//! let report = verify_reader(std::io::BufReader::new(reader), "loan-triage", &VerifyOptions::new());
//! println!("{report}");
//! pull(url, "loan-triage", None, "loan-triage.jsonl".as_ref())?; // a file for the reference
//! # Ok(()) }
//! ```
//!
//! Uses the store's trait, the format and the writer.

use std::io::{self, BufRead, Read};
use std::path::{Path, PathBuf};

use postgres::Client;

mod connect;
mod env;
mod tls;

use self::connect::connect;
pub use self::connect::describe;

use super::outage::Reopen;
use super::{ChainHead, Error, Fault, Store};
use crate::chain::hash::{GENESIS, SigningKey};
use crate::store::Durability;

/// The schema this build writes, and the statements that bring a database to it.
pub const SCHEMA_VERSION: i32 = 2;

const MIGRATIONS: &[(i32, &str)] = &[
    (
        1,
        "CREATE TABLE acttrace_chains (
         chain text PRIMARY KEY,
         entries bigint NOT NULL,
         next_seq bigint NOT NULL,
         head text NOT NULL,
         created_at timestamptz NOT NULL DEFAULT now()
     );
     CREATE TABLE acttrace_entries (
         chain text NOT NULL REFERENCES acttrace_chains (chain),
         seq bigint NOT NULL,
         hash text NOT NULL,
         line text NOT NULL,
         PRIMARY KEY (chain, seq)
     );",
    ),
    (
        2,
        "CREATE TABLE acttrace_flush (
             backend integer PRIMARY KEY,
             flushes bigint NOT NULL DEFAULT 0
         );",
    ),
];

/// A small synchronous write: its commit waits until the WAL is flushed past every commit
/// before it.
macro_rules! flush {
    () => {
        "SET synchronous_commit = on;
         INSERT INTO acttrace_flush (backend) VALUES (pg_backend_pid())
         ON CONFLICT (backend) DO UPDATE SET flushes = acttrace_flush.flushes + 1"
    };
}

/// A fixed key for the advisory lock that serializes migrations.
const MIGRATION_LOCK: i64 = 0x6163_7474_7261_6365; // "acttrace"

/// The database store: one connection, one transaction per batch.
pub(crate) struct PgStore {
    url: String,
    chain: String,
    location: PathBuf,
    synchronous: bool,
    client: Option<Client>,
    /// The head read under the lock by [`Store::begin`], until the batch ends.
    locked: Option<ChainHead>,
    entries: u64,
}

fn pg_err(e: &postgres::Error) -> String {
    // The server's message and detail, not the driver's "db error".
    match e.as_db_error() {
        Some(db) => match db.detail() {
            Some(detail) => format!("{}: {detail}", db.message()),
            None => db.message().to_owned(),
        },
        // With its causes: "error performing TLS handshake" says little without them.
        None => {
            let mut said = e.to_string();
            let mut cause = std::error::Error::source(e);
            while let Some(c) = cause {
                said = format!("{said}: {c}");
                cause = c.source();
            }
            said
        }
    }
}

/// The chains a connected database holds, by name; a database without the schema holds none
/// and is said to be one no log was opened on.
fn list_chains(client: &mut Client) -> Result<Vec<String>, io::Error> {
    client
        .query("SELECT chain FROM acttrace_chains ORDER BY chain", &[])
        .map(|rows| rows.iter().map(|r| r.get(0)).collect())
        .map_err(|e| match e.code() {
            Some(&postgres::error::SqlState::UNDEFINED_TABLE) => io::Error::new(
                io::ErrorKind::NotFound,
                "the database holds no acttrace chain: it has no acttrace_chains table (no \
                 log was ever opened on it; is it the right database?)",
            ),
            _ => io::Error::other(pg_err(&e)),
        })
}

fn io(e: &postgres::Error) -> Fault {
    Fault::Io(io::Error::other(pg_err(e)))
}

/// Brings the database's schema to [`SCHEMA_VERSION`], once, whoever races to it.
pub(crate) fn migrate(client: &mut Client) -> Result<(), String> {
    let run = |client: &mut Client| -> Result<Result<(), String>, postgres::Error> {
        let mut tx = client.transaction()?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])?;
        tx.batch_execute(
            "CREATE TABLE IF NOT EXISTS acttrace_schema (
                 version integer PRIMARY KEY,
                 applied_at timestamptz NOT NULL DEFAULT now()
             )",
        )?;
        let current: i32 = tx
            .query_one("SELECT COALESCE(max(version), 0) FROM acttrace_schema", &[])?
            .get(0);
        if current > SCHEMA_VERSION {
            return Ok(Err(format!(
                "the database's acttrace schema is version {current}, newer than this build's \
                 {SCHEMA_VERSION}: upgrade acttrace"
            )));
        }
        for (version, sql) in MIGRATIONS.iter().filter(|(v, _)| *v > current) {
            tx.batch_execute(sql)?;
            tx.execute(
                "INSERT INTO acttrace_schema (version) VALUES ($1)",
                &[version],
            )?;
        }
        tx.commit()?;
        Ok(Ok(()))
    };
    run(client).map_err(|e| pg_err(&e))?
}

impl PgStore {
    /// Connects, migrates, makes sure the chain exists (one genesis however many writers race
    /// to it), and checks its head and the key against its last entry.
    pub(crate) fn open(
        url: &str,
        chain: &str,
        key: Option<&SigningKey>,
        durability: Durability,
    ) -> Result<(Self, ChainHead), Error> {
        let location = describe(url, chain);
        let fail = |why: String| Error::open(&location, io::Error::other(why));
        if chain.is_empty() || chain.chars().any(char::is_control) {
            return Err(fail(format!("invalid chain name {chain:?}")));
        }
        let mut client = connect(url).map_err(&fail)?;
        migrate(&mut client).map_err(&fail)?;
        client
            .execute(
                "INSERT INTO acttrace_chains (chain, entries, next_seq, head) VALUES ($1, 0, 0, $2)
                 ON CONFLICT (chain) DO NOTHING",
                &[&chain, &GENESIS],
            )
            .map_err(|e| fail(pg_err(&e)))?;
        let synchronous = durability == Durability::Fsync;
        if !synchronous {
            client
                .batch_execute("SET synchronous_commit = off")
                .map_err(|e| fail(pg_err(&e)))?;
        }
        let (head, last) = read_head(&mut client, chain).map_err(|e| fail(pg_err(&e)))?;
        check_last(&head, last, key, &location)?;
        let store = Self {
            url: url.to_owned(),
            chain: chain.to_owned(),
            location,
            synchronous,
            client: Some(client),
            locked: None,
            entries: head.entries,
        };
        Ok((store, head))
    }
}

impl PgStore {
    /// A commit whose answer never came: if the connection was lost on the way, the batch may
    /// be in the database or not, and counting it lost when it landed would put a false
    /// `write_failure` in the chain (and have its callers append it again). A new connection
    /// finds out: it takes the chain's lock, which waits until the old transaction has
    /// committed or rolled back, and looks for the batch's last entry. Found, the batch is
    /// acknowledged (made durable first when it must be: a synchronous commit flushes the WAL
    /// past it). Not found, or not checkable, the failure stands, and the message says which.
    fn settle(
        &mut self,
        e: &postgres::Error,
        last: Option<(i64, &str)>,
        durable: bool,
    ) -> Result<(), Fault> {
        let (Some((seq, hash)), None) = (last, e.as_db_error()) else {
            // The server refused it (the transaction is rolled back), or nothing was in it.
            return Err(io(e));
        };
        match self.landed(seq, hash, durable) {
            Ok(Some(client)) => {
                tracing::warn!(
                    target: "acttrace",
                    log = %self.location.display(),
                    error = %pg_err(e),
                    seq,
                    "the connection to the database was lost during a commit; the batch is \
                     in the chain (checked on a new connection) and is acknowledged"
                );
                self.client = Some(client);
                Ok(())
            }
            Ok(None) => Err(Fault::Io(io::Error::other(format!(
                "{}; the batch is not in the chain (checked on a new connection)",
                pg_err(e)
            )))),
            Err(why) => Err(Fault::Io(io::Error::other(format!(
                "{}; whether the batch was committed could not be checked ({why}): its \
                 entries are counted as not written, though the chain may hold them",
                pg_err(e)
            )))),
        }
    }

    /// On a new connection, once the chain's lock is free: whether the entry `seq` with
    /// `hash` is in the chain; if it is, the connection (after a synchronous commit when
    /// `durable`), ready for the next batch.
    fn landed(&self, seq: i64, hash: &str, durable: bool) -> Result<Option<Client>, String> {
        let mut client = connect(&self.url)?;
        let found = {
            let mut tx = client.transaction().map_err(|e| pg_err(&e))?;
            tx.batch_execute("SET LOCAL lock_timeout = '10s'")
                .map_err(|e| pg_err(&e))?;
            tx.query_one(
                "SELECT 1 FROM acttrace_chains WHERE chain = $1 FOR UPDATE",
                &[&self.chain],
            )
            .map_err(|e| pg_err(&e))?;
            let found = tx
                .query_opt(
                    "SELECT 1 FROM acttrace_entries WHERE chain = $1 AND seq = $2 AND hash = $3",
                    &[&self.chain, &seq, &hash],
                )
                .map_err(|e| pg_err(&e))?
                .is_some();
            tx.rollback().map_err(|e| pg_err(&e))?;
            found
        };
        if !found {
            return Ok(None);
        }
        if durable {
            client.batch_execute(flush!()).map_err(|e| pg_err(&e))?;
        }
        if !self.synchronous {
            client
                .batch_execute("SET synchronous_commit = off")
                .map_err(|e| pg_err(&e))?;
        }
        Ok(Some(client))
    }
}

/// The chain's head and its last entry's line, read together (one statement, one snapshot).
fn read_head(
    client: &mut Client,
    chain: &str,
) -> Result<(ChainHead, Option<(i64, String)>), postgres::Error> {
    let row = client.query_one(
        "SELECT c.entries, c.next_seq, c.head, e.seq, e.line
         FROM acttrace_chains c
         LEFT JOIN acttrace_entries e ON e.chain = c.chain AND e.seq = c.next_seq - 1
         WHERE c.chain = $1",
        &[&chain],
    )?;
    let head = ChainHead {
        entries: u64::try_from(row.get::<_, i64>(0)).unwrap_or_default(),
        next_seq: u64::try_from(row.get::<_, i64>(1)).unwrap_or_default(),
        head: row.get(2),
    };
    let last = match (
        row.get::<_, Option<i64>>(3),
        row.get::<_, Option<String>>(4),
    ) {
        (Some(seq), Some(line)) => Some((seq, line)),
        _ => None,
    };
    Ok((head, last))
}

/// The chain's last entry must be its head, and signed as the key says.
fn check_last(
    head: &ChainHead,
    last: Option<(i64, String)>,
    key: Option<&SigningKey>,
    location: &Path,
) -> Result<(), Error> {
    if head.entries == 0 {
        return Ok(());
    }
    let corrupt = |detail: String| Error::Corrupt {
        path: location.to_owned(),
        detail,
    };
    let Some((seq, line)) = last else {
        return Err(corrupt(
            "the chain's head names an entry it does not hold".into(),
        ));
    };
    let (_, hash) =
        seq_and_hash(&line).ok_or_else(|| corrupt("its last line is malformed".into()))?;
    if hash != head.head {
        return Err(corrupt(format!(
            "its last entry's hash {hash} is not the head {}",
            head.head
        )));
    }
    let sig = line
        .rfind("\"sig\": \"")
        .map(|at| &line[at + 8..])
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_default();
    match (key, sig.is_empty()) {
        (None, false) => Err(Error::KeyRequired {
            path: location.to_owned(),
        }),
        (Some(_), true) => Err(Error::UnexpectedKey {
            path: location.to_owned(),
            seq: seq.to_string(),
        }),
        (Some(k), false) if k.sign(hash.as_bytes()) != sig => Err(Error::WrongKey {
            path: location.to_owned(),
            seq: seq.to_string(),
        }),
        _ => Ok(()),
    }
}

/// A line's `seq` and `hash`, read from the fixed places the writer puts them.
fn seq_and_hash(line: &str) -> Option<(i64, &str)> {
    let seq = line.strip_prefix("{\"seq\": ")?;
    let seq: i64 = seq[..seq.find(',')?].trim().parse().ok()?;
    let at = line.rfind("\"hash\": \"")? + 9;
    let hash = line.get(at..at + 64)?;
    Some((seq, hash))
}

impl Store for PgStore {
    fn begin(&mut self) -> Result<Option<ChainHead>, Fault> {
        let client = self
            .client
            .as_mut()
            .ok_or_else(|| Fault::Io(io::Error::other("not connected to the database")))?;
        // One round trip: the chain's name is checked at opening (no control characters) and
        // quoted here as SQL wants.
        let quoted = self.chain.replace('\'', "''");
        let messages = client
            .simple_query(&format!(
                "BEGIN; SELECT entries, next_seq, head FROM acttrace_chains \
                 WHERE chain = '{quoted}' FOR UPDATE"
            ))
            .map_err(|e| io(&e))?;
        let row = messages
            .iter()
            .find_map(|m| match m {
                postgres::SimpleQueryMessage::Row(r) => Some(r),
                _ => None,
            })
            .ok_or_else(|| Fault::Foreign(format!("the chain {quoted} is gone")))?;
        let number = |i: usize| row.get(i).and_then(|v| v.parse::<u64>().ok());
        let head = match (number(0), number(1), row.get(2)) {
            (Some(entries), Some(next_seq), Some(head)) => ChainHead {
                entries,
                next_seq,
                head: head.to_owned(),
            },
            _ => return Err(Fault::Foreign("the chain's head row is malformed".into())),
        };
        self.locked = Some(head.clone());
        Ok(Some(head))
    }

    fn append(&mut self, lines: &[u8], sync: bool) -> Result<(), Fault> {
        let Some(from) = self.locked.take() else {
            return Err(Fault::Foreign(
                "a batch was not begun under the chain's lock".into(),
            ));
        };
        let client = self
            .client
            .as_mut()
            .ok_or_else(|| Fault::Io(io::Error::other("not connected to the database")))?;
        let text = std::str::from_utf8(lines)
            .map_err(|_| Fault::Io(io::Error::other("a batch that is not UTF-8")))?;
        let (mut seqs, mut hashes, mut rows) = (Vec::new(), Vec::new(), Vec::new());
        for line in text.split('\n').filter(|l| !l.is_empty()) {
            let (seq, hash) = seq_and_hash(line)
                .ok_or_else(|| Fault::Io(io::Error::other("a malformed line in the batch")))?;
            seqs.push(seq);
            hashes.push(hash);
            rows.push(line);
        }
        if let (Some(first), Some(last), Some(hash)) = (seqs.first(), seqs.last(), hashes.last()) {
            if u64::try_from(*first).ok() != Some(from.next_seq) {
                return Err(Fault::Foreign(format!(
                    "the batch starts at seq {first}, the chain's next is {}",
                    from.next_seq
                )));
            }
            // The entries and the new head in one statement.
            let moved = client
                .execute(
                    "WITH added AS (
                         INSERT INTO acttrace_entries (chain, seq, hash, line)
                         SELECT $1, * FROM UNNEST($2::bigint[], $3::text[], $4::text[])
                         RETURNING 1
                     )
                     UPDATE acttrace_chains
                     SET entries = entries + (SELECT count(*) FROM added), next_seq = $5, head = $6
                     WHERE chain = $1 AND head = $7",
                    &[
                        &self.chain,
                        &seqs,
                        &hashes,
                        &rows,
                        &(last + 1),
                        hash,
                        &from.head,
                    ],
                )
                .map_err(|e| io(&e))?;
            if moved != 1 {
                return Err(Fault::Foreign(
                    "the chain's head moved under its lock".into(),
                ));
            }
        }
        let durable = self.synchronous || sync;
        let committed = if durable {
            // The commit releases the chain's lock without waiting for the disk; the write
            // after it, committed synchronously in the same round trip, waits until the WAL is
            // flushed past both, so the batch is durable before it is acknowledged, while the
            // next writer already holds the lock (PostgreSQL flushes their commits together).
            // Should the server stop between the two, the batch is lost with everything after
            // it, as the WAL is written in order: the chain stays a whole prefix.
            client
                .simple_query(concat!(
                    "SET LOCAL synchronous_commit = off; COMMIT; ",
                    flush!()
                ))
                .and_then(|_| match self.synchronous {
                    true => Ok(()),
                    false => client.batch_execute("SET synchronous_commit = off"),
                })
        } else {
            client.batch_execute("COMMIT")
        };
        if let Err(e) = committed {
            let last = seqs.last().copied().zip(hashes.last().copied());
            self.settle(&e, last, durable)?;
        }
        self.entries = from.entries + rows.len() as u64;
        Ok(())
    }

    fn undo(&mut self, _fault: &Fault) -> Reopen {
        self.locked = None;
        let rolled_back = match self.client.as_mut() {
            Some(c) if !c.is_closed() => c.batch_execute("ROLLBACK").is_ok(),
            _ => false,
        };
        if rolled_back {
            Reopen::No
        } else {
            // The connection is gone: the transaction died with it. Reconnect before writing.
            self.client = None;
            Reopen::Foreign
        }
    }

    fn reopen(&mut self, entries: u64, head: &str, _cut: bool) -> Result<(), String> {
        self.locked = None;
        let mut client = connect(&self.url)?;
        if !self.synchronous {
            client
                .batch_execute("SET synchronous_commit = off")
                .map_err(|e| pg_err(&e))?;
        }
        if entries > 0 {
            // In a shared chain a writer's count is the chain's at its last batch: its head is
            // the entry with seq `entries - 1`.
            let seq = i64::try_from(entries - 1).unwrap_or(i64::MAX);
            let found = client
                .query_opt(
                    "SELECT 1 FROM acttrace_entries WHERE chain = $1 AND seq = $2 AND hash = $3",
                    &[&self.chain, &seq, &head],
                )
                .map_err(|e| pg_err(&e))?;
            if found.is_none() {
                return Err(format!(
                    "the database's chain does not hold this writer's last acknowledged entry \
                     ({head}): was it restored from an older backup? refusing to write"
                ));
            }
        }
        self.client = Some(client);
        Ok(())
    }

    fn extent(&self) -> u64 {
        self.entries
    }

    fn location(&self) -> &Path {
        &self.location
    }
}

/// Reads a chain's lines from the database in `seq` order, up to `upto` (inclusive), as the
/// bytes of a JSONL file: what `acttrace pull` writes and `acttrace verify` reads.
///
/// Holds one connection and streams rows in pages, so a long chain is never all in memory. It
/// blocks: in async code, use it from `tokio::task::spawn_blocking`.
///
/// A chain that lacks an entry its head counts is a read error, never a shorter chain that
/// verifies.
pub struct ChainReader {
    client: Client,
    chain: String,
    next: i64,
    upto: Option<i64>,
    /// The next seq the chain's head row names: where a whole read must end.
    head_next: i64,
    buf: Vec<u8>,
    at: usize,
    done: bool,
}

impl std::fmt::Debug for ChainReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChainReader")
            .field("chain", &self.chain)
            .field("next", &self.next)
            .finish_non_exhaustive()
    }
}

impl ChainReader {
    const PAGE: i64 = 10_000;

    /// Opens `chain` in the database at `url` for reading.
    ///
    /// # Errors
    ///
    /// The database cannot be reached, or holds no such chain (the message lists those it
    /// holds).
    pub fn open(url: &str, chain: &str, upto: Option<u64>) -> Result<Self, io::Error> {
        Self::open_from(url, chain, 0, upto)
    }

    /// As [`open`](Self::open), from the entry with seq `from` on: the part of a chain a
    /// reader has not yet seen.
    ///
    /// # Errors
    ///
    /// As for [`open`](Self::open).
    pub fn open_from(
        url: &str,
        chain: &str,
        from: u64,
        upto: Option<u64>,
    ) -> Result<Self, io::Error> {
        let mut client = connect(url).map_err(io::Error::other)?;
        let known = list_chains(&mut client)?;
        if !known.iter().any(|c| c == chain) {
            return Err(io::Error::new(
                io::ErrorKind::NotFound,
                format!(
                    "no chain {chain:?} in the database (it holds: {})",
                    if known.is_empty() {
                        "none".to_owned()
                    } else {
                        known.join(", ")
                    }
                ),
            ));
        }
        // One snapshot for the whole read: a chain that grows meanwhile is read as it stood.
        client
            .batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            .map_err(|e| io::Error::other(pg_err(&e)))?;
        let head_next: i64 = client
            .query_one(
                "SELECT next_seq FROM acttrace_chains WHERE chain = $1",
                &[&chain],
            )
            .map_err(|e| io::Error::other(pg_err(&e)))?
            .get(0);
        Ok(Self {
            client,
            chain: chain.to_owned(),
            next: i64::try_from(from).unwrap_or(i64::MAX),
            head_next,
            upto: upto.map(|u| i64::try_from(u).unwrap_or(i64::MAX)),
            buf: Vec::new(),
            at: 0,
            done: false,
        })
    }

    /// The chains a database holds.
    ///
    /// # Errors
    ///
    /// The database cannot be reached or read.
    pub fn chains(url: &str) -> Result<Vec<String>, io::Error> {
        let mut client = connect(url).map_err(io::Error::other)?;
        list_chains(&mut client)
    }

    fn fill(&mut self) -> io::Result<()> {
        self.buf.clear();
        self.at = 0;
        let last = self.upto.map_or(self.next + Self::PAGE - 1, |u| {
            u.min(self.next + Self::PAGE - 1)
        });
        if last < self.next {
            self.done = true;
            return Ok(());
        }
        let rows = self
            .client
            .query(
                "SELECT seq, line FROM acttrace_entries WHERE chain = $1 AND seq BETWEEN $2 AND $3
                 ORDER BY seq",
                &[&self.chain, &self.next, &last],
            )
            .map_err(|e| io::Error::other(pg_err(&e)))?;
        if rows.is_empty() {
            self.done = true;
            // Read to its end: it must hold every entry its head counts.
            if self.upto.is_none() && self.next != self.head_next {
                return Err(io::Error::other(format!(
                    "the database's chain {:?} ends at seq {} where its head says {}",
                    self.chain,
                    self.next - 1,
                    self.head_next - 1
                )));
            }
        }
        for row in &rows {
            let seq: i64 = row.get(0);
            if seq != self.next {
                return Err(io::Error::other(format!(
                    "the database's chain {:?} lacks the entry with seq {}",
                    self.chain, self.next
                )));
            }
            self.buf.extend_from_slice(row.get::<_, &str>(1).as_bytes());
            self.buf.push(b'\n');
            self.next += 1;
        }
        Ok(())
    }
}

impl Read for ChainReader {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let available = self.fill_buf()?;
        let n = available.len().min(out.len());
        out[..n].copy_from_slice(&available[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl BufRead for ChainReader {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        while self.at >= self.buf.len() && !self.done {
            self.fill()?;
        }
        Ok(&self.buf[self.at.min(self.buf.len())..])
    }

    fn consume(&mut self, amt: usize) {
        self.at += amt;
    }
}

/// Writes the chain `chain` of the database at `url` (up to seq `upto`, inclusive, if given)
/// to `path` as a JSONL log, written whole (a temporary file, synced, renamed into place,
/// mode `0600`), read in one snapshot. Gives how many entries it wrote. The file verifies
/// like any log, here and in the reference. It blocks: in async code, call it from
/// `tokio::task::spawn_blocking`.
///
/// # Errors
///
/// The database cannot be reached or read, holds no such chain or lacks an entry its head
/// counts, or the file cannot be written.
pub fn pull(url: &str, chain: &str, upto: Option<u64>, path: &Path) -> io::Result<u64> {
    let mut reader = ChainReader::open(url, chain, upto)?;
    let mut count = 0;
    crate::files::write_whole(path, 0o600, true, |f| {
        let mut out = io::BufWriter::new(f);
        loop {
            let chunk = reader.fill_buf()?;
            if chunk.is_empty() {
                break;
            }
            count += chunk.iter().filter(|b| **b == b'\n').count() as u64;
            io::Write::write_all(&mut out, chunk)?;
            let n = chunk.len();
            reader.consume(n);
        }
        io::Write::flush(&mut out)
    })?;
    Ok(count)
}
