//! The other places a log can be opened: a chain in PostgreSQL, many processes appending to
//! it ([`AuditLogBuilder::open_postgres`]), and a directory of segments that roll over
//! ([`AuditLogBuilder::open_segments`]).
//!
//! Uses the handle's builder, the writer and the stores.

#[cfg(feature = "ed25519")]
use std::path::Path;

use super::Error;
use super::handle::{AuditLog, AuditLogBuilder};
use super::writer::Writer;

impl AuditLogBuilder {
    /// Opens the chain `chain` in the PostgreSQL database at `url` (`postgres://user@host/db`;
    /// over TLS that checks the server's certificate with `?sslmode=verify-full` and the
    /// `postgres-tls` feature), creating or migrating the schema and the chain as needed, and
    /// starts the writer. Many processes may open the same chain:
    /// each batch is one transaction under the chain's row lock, and they append to one chain.
    /// See [`postgres`](crate::store::postgres) and `POSTGRES.md`.
    ///
    /// ```no_run
    /// use acttrace::chain::{Entry, SigningKey};
    /// use acttrace::json::Map;
    /// use acttrace::store::AuditLog;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// // Every replica of the service opens the same chain.
    /// let log = AuditLog::builder("loan-triage")
    ///     .signing_key(SigningKey::from("the log's key"))
    ///     .open_postgres("postgres://acttrace@127.0.0.1:5432/audit", "loan-triage")
    ///     .await?;
    /// let receipt = log.append(Entry::new("decision", Map::new())).await?; // committed
    /// println!("seq {} in the shared chain", receipt.seq);
    /// log.shutdown().await?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Open`] when the database cannot be reached or migrated,
    /// [`Error::Corrupt`] when the chain's head and its last entry disagree,
    /// [`Error::KeyRequired`], [`Error::WrongKey`] or [`Error::UnexpectedKey`] when the key
    /// does not fit its last entry.
    #[cfg(feature = "postgres")]
    #[cfg_attr(docsrs, doc(cfg(feature = "postgres")))]
    pub async fn open_postgres(self, url: &str, chain: &str) -> Result<AuditLog, Error> {
        let location = super::postgres::describe(url, chain);
        let (url, chain) = (url.to_owned(), chain.to_owned());
        let at = location.clone();
        self.spawn(&location, move |b| {
            let (store, state) =
                super::postgres::PgStore::open(&url, &chain, b.key.as_ref(), b.durability)?;
            Writer::start(b, &at, Box::new(store), state, None, Some((url, chain)))
        })
        .await
    }

    /// Opens a segmented log in the directory `dir` (created if needed): the writer closes a
    /// segment by size or age, seals it with a signed checkpoint and continues the chain in
    /// the next (see [`Segments`](crate::store::Segments) and `acttrace verify DIR`).
    ///
    /// ```
    /// use acttrace::chain::Entry;
    /// use acttrace::chain::checkpoint::CheckpointKey;
    /// use acttrace::json::Map;
    /// use acttrace::store::{AuditLog, Segments};
    /// use acttrace::verify::{VerifyOptions, segments::verify_segments};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let dir = std::env::temp_dir().join(format!("acttrace-doc-segments-{}", std::process::id()));
    /// let seal = CheckpointKey::generate()?;
    /// let log = AuditLog::builder("loan-triage")
    ///     .open_segments(&dir, Segments::new(seal.clone()).max_bytes(1_000))
    ///     .await?;
    /// for _ in 0..20 {
    ///     log.append(Entry::new("decision", Map::new())).await?;
    /// }
    /// log.shutdown().await?;
    /// let report = verify_segments(&dir, &VerifyOptions::new(), Some(&seal.public()));
    /// assert!(report.is_ok(), "{report}");
    /// assert!(report.sealed >= 2);
    /// # std::fs::remove_dir_all(&dir)?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// As for [`open`](Self::open), and when a seal or the retention record is not signed by
    /// the seal key.
    #[cfg(feature = "ed25519")]
    #[cfg_attr(docsrs, doc(cfg(feature = "ed25519")))]
    pub async fn open_segments(
        self,
        dir: impl AsRef<Path>,
        segments: super::segments::Segments,
    ) -> Result<AuditLog, Error> {
        let dir = dir.as_ref().to_owned();
        let at = dir.clone();
        self.spawn(&dir, move |b| {
            let opening = super::segments::open(
                &at,
                segments,
                &b.system,
                b.key.as_ref(),
                b.lock_wait,
                b.file_mode,
            )?;
            let o = opening.opened;
            let mut store = super::file::FileStore::new(
                o.file,
                o.id,
                &opening.path,
                o.len,
                b.key.clone(),
                b.lock_wait,
            );
            if let Some((entries, head)) = &opening.after {
                store = store.continuing(*entries, head);
            }
            let state = super::ChainHead {
                entries: o.entries,
                next_seq: o.next_seq,
                head: o.head,
            };
            let (mut w, shared) = Writer::start(b, &at, Box::new(store), state, o.recovery, None)?;
            w.set_roller(opening.roller);
            Ok((w, shared))
        })
        .await
    }
}
