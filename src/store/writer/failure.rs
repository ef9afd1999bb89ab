//! What the writer does when the store fails it: puts the chain back, counts by type what
//! the failure cost, refuses appends while the store cannot take writes, reopens it, and
//! reports it all through `tracing` and the log's health. The entries recording it are laid
//! out by [`outage`](crate::store::outage).

use std::sync::Arc;
use std::sync::atomic::Ordering;

use tokio::sync::oneshot;

use super::{Ack, Pending, Writer};
use crate::store::Fault;
use crate::store::error::Error;
use crate::store::handle::Command;
use crate::store::outage::{self, Outage, Reopen};

impl Writer {
    pub(super) fn needs_reopen(&self) -> bool {
        self.outage.as_ref().is_some_and(|o| o.reopen != Reopen::No)
    }

    /// The error an append gets while the log cannot take writes.
    pub(super) fn unavailable(&self) -> Error {
        self.unavailable_because(self.outage.as_ref().map_or("", Outage::last_error))
    }

    pub(super) fn unavailable_because(&self, reason: &str) -> Error {
        Error::Unavailable {
            path: self.store.location().to_owned(),
            reason: reason.to_owned(),
        }
    }

    /// A batch failed: puts the chain back as it was before it, counts by type what it cost,
    /// reports it, and returns the error its waiting callers get.
    pub(super) fn failed(
        &mut self,
        fault: Fault,
        pending: &[Pending],
        checkpoint: (u64, u64, String),
    ) -> Error {
        let mut outage = self
            .outage
            .take()
            .unwrap_or_else(|| Outage::new(fault.to_string(), Reopen::No, self.retry_interval));
        let (mut lost, mut refused) = (0, 0);
        for p in pending {
            let (awaited, n) = match p.ack {
                Ack::Reply(_) => (true, 1),
                Ack::Unobserved => (false, 1),
                // Taken from the count again by the next batch, and recorded then.
                Ack::Gap(n) => {
                    self.shared.dropped.fetch_add(n, Ordering::Relaxed);
                    self.shared.health.uncount(n);
                    continue;
                }
                Ack::Hole => continue,
            };
            let (from, to) = p.stamp.kind;
            let kind = self
                .out
                .get(from as usize..to as usize)
                .map_or_else(|| "unknown".to_owned(), outage::kind_name);
            outage.lose(&kind, n, awaited);
            if awaited {
                refused += n;
            } else {
                lost += n;
            }
        }
        let why = fault.to_string();
        self.rollback(checkpoint);
        let reopen = self.store.undo(&fault);
        let error = match fault {
            Fault::Io(e) => Error::Write(Arc::new(e)),
            Fault::Foreign(_) | Fault::Moved(_) => self.unavailable_because(&why),
        };
        outage.again(why.clone(), reopen, self.retry_interval);
        outage.failed_write();
        outage.publish(&self.shared.health);
        self.shared.health.count(lost, refused);
        tracing::error!(
            target: "acttrace",
            log = %self.store.location().display(),
            lost,
            refused,
            error = %why,
            "audit log write failed: {lost} entries nobody waited on are lost and {refused} \
             appends refused; the writer retries and records the loss in a write_failure entry"
        );
        self.outage = Some(outage);
        error
    }

    /// A batch was written: if a failure was in progress, its `write_failure` entry was the
    /// batch's first, and the log is healthy again.
    pub(super) fn recovered(&mut self) {
        if let Some(o) = self.outage.take() {
            let (lost, refused) = o.totals();
            outage::recovered(&self.shared.health);
            tracing::warn!(
                target: "acttrace",
                log = %self.store.location().display(),
                lost,
                refused,
                "audit log takes writes again; the failure is recorded in a write_failure entry"
            );
        }
    }

    /// While the file must be reopened before anything is written: refuses every append in
    /// `batch` (its caller gets [`Error::Unavailable`]) and counts, by type, every entry
    /// nobody waits on.
    pub(super) fn refuse(
        &mut self,
        batch: &mut Vec<Command>,
    ) -> Option<oneshot::Sender<Result<(), Error>>> {
        let error = self.unavailable();
        let mut outage = self.outage.take().unwrap_or_else(|| {
            Outage::new(
                "the log cannot take writes".to_owned(),
                Reopen::Foreign,
                self.retry_interval,
            )
        });
        let (mut lost, mut refused, mut shutdown) = (0, 0, None);
        for cmd in batch.drain(..) {
            match cmd {
                Command::Append {
                    entry,
                    flags,
                    reply,
                } => {
                    outage.lose(&outage::kind_name(entry.kind()), 1, reply.is_some());
                    for flag in &flags {
                        outage.lose(&outage::kind_name(flag.kind()), 1, false);
                    }
                    lost += flags.len() as u64;
                    match reply {
                        Some(reply) => {
                            refused += 1;
                            let _ = reply.send(Err(error.clone()));
                        }
                        None => lost += 1,
                    }
                    self.spent.push(entry.text);
                }
                Command::Build(make) => {
                    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(make)) {
                        Ok(entry) => {
                            outage.lose(entry.kind(), 1, false);
                            lost += 1;
                        }
                        Err(_) => {
                            self.shared.dropped.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
                Command::Sync(reply) => {
                    let _ = reply.send(Err(error.clone()));
                }
                Command::Shutdown(reply) => shutdown = Some(reply),
            }
        }
        if lost + refused > 0 {
            self.shared.health.count(lost, refused);
            tracing::error!(
                target: "acttrace",
                log = %self.store.location().display(),
                lost,
                refused,
                error = %outage.last_error(),
                "audit log cannot take writes: {lost} entries nobody waited on are lost and \
                 {refused} appends refused; recorded in a write_failure entry once it can"
            );
        }
        self.outage = Some(outage);
        self.shared.buffers.give_back(&mut self.spent);
        shutdown
    }

    /// Reopens and re-checks the store after a failure that left it in doubt.
    pub(super) fn try_reopen(&mut self) {
        let Some(outage) = self.outage.as_mut() else {
            return;
        };
        let cut = matches!(outage.reopen, Reopen::CutBackTo(_));
        match self.store.reopen(self.entries, &self.head, cut) {
            Ok(()) => {
                outage.reopen = Reopen::No;
                tracing::warn!(
                    target: "acttrace",
                    log = %self.store.location().display(),
                    "audit log reopened and checked: it ends at the last acknowledged entry"
                );
            }
            Err(why) => {
                tracing::warn!(
                    target: "acttrace",
                    log = %self.store.location().display(),
                    error = %why,
                    "audit log still cannot take writes"
                );
                let reopen = outage.reopen;
                outage.again(why, reopen, self.retry_interval);
                outage.publish(&self.shared.health);
            }
        }
    }
}
