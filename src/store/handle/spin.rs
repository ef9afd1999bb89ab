//! Waiting for the writer's answer awake, for a moment. A caller appending one entry after
//! another waits for each answer; asleep, it is woken by the writer (a system call there and a
//! context switch here, tens of microseconds each on a virtual machine), and the writer, asleep
//! by the time the next entry comes, is woken by the caller in turn. Where answers come within
//! [`SPIN`] (`Durability::Flush` or `None` on a file), both sides look again instead of
//! sleeping, for that long at most: one caller appending without fsync goes from about 20,000
//! entries a second to about 150,000 on a 2-core virtual machine (`cargo bench --bench chain --
//! --appends-only --flags --entries 20000 --tasks 1 --durability flush`). Where answers wait
//! for a sync (`Durability::Fsync`), neither side tries; where they come later than that for
//! another reason (a database, a slow disk), the caller stops trying for a while.
//!
//! Uses tokio's oneshot channel and its `yield_now`.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

/// How long a caller waits awake for its answer, and the writer for the next entry after
/// answering one: about twice what a caller takes to send its next entry once answered.
pub(in crate::store) const SPIN: Duration = Duration::from_micros(50);

/// After an answer that took longer than [`SPIN`], how many waits are made asleep before
/// waiting awake is tried again: where answers are slow, the waste is one spin in this many.
const BACK_OFF: u32 = 64;

/// Whether callers wait awake: shared by a log's handles.
#[derive(Debug, Default)]
pub(in crate::store) struct Spin {
    /// Answers wait for a sync: never wait awake.
    never: bool,
    /// Waits still to be made asleep after a spin that was not answered.
    asleep: AtomicU32,
}

impl Spin {
    /// For a log whose answers wait for a sync (`synced`), or not.
    pub(in crate::store) fn new(synced: bool) -> Self {
        Self {
            never: synced,
            asleep: AtomicU32::new(0),
        }
    }

    /// Waits for `rx`: first awake, yielding to the caller's other tasks between looks, for
    /// up to [`SPIN`], unless a recent answer took longer; then asleep.
    pub(in crate::store) async fn wait<T>(
        &self,
        mut rx: oneshot::Receiver<T>,
    ) -> Result<T, oneshot::error::RecvError> {
        let backing_off = || {
            self.asleep
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1))
                .is_ok()
        };
        if self.never || backing_off() {
            return rx.await;
        }
        let until = Instant::now() + SPIN;
        loop {
            match rx.try_recv() {
                Ok(answer) => return Ok(answer),
                Err(oneshot::error::TryRecvError::Empty) if Instant::now() < until => {
                    tokio::task::yield_now().await;
                }
                Err(oneshot::error::TryRecvError::Empty) => {
                    self.asleep.store(BACK_OFF, Ordering::Relaxed);
                    return rx.await;
                }
                // Gone unanswered: the same error asleep.
                Err(oneshot::error::TryRecvError::Closed) => return rx.await,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A receiver whose answer, `value`, comes twenty spins' time from now.
    fn answered_late(value: u8) -> oneshot::Receiver<u8> {
        let (tx, rx) = oneshot::channel();
        tokio::spawn(async move {
            tokio::time::sleep(SPIN * 20).await;
            let _ = tx.send(value);
        });
        rx
    }

    /// An answer given at once is taken awake; one that takes longer than the spin is waited
    /// for asleep, and the next waits skip the spin.
    #[tokio::test]
    async fn slow_answers_stop_the_spin_for_a_while() {
        let spin = Spin::default();
        let (tx, rx) = oneshot::channel();
        tx.send(1).unwrap();
        assert_eq!(spin.wait(rx).await, Ok(1));
        assert_eq!(spin.asleep.load(Ordering::Relaxed), 0);

        assert_eq!(spin.wait(answered_late(2)).await, Ok(2));
        assert_eq!(spin.asleep.load(Ordering::Relaxed), BACK_OFF);

        let (tx, rx) = oneshot::channel();
        tx.send(3).unwrap();
        assert_eq!(spin.wait(rx).await, Ok(3));
        assert_eq!(spin.asleep.load(Ordering::Relaxed), BACK_OFF - 1);

        let (tx, rx) = oneshot::channel::<u8>();
        drop(tx);
        assert!(spin.wait(rx).await.is_err(), "unanswered");

        // Answers that wait for a sync are never waited for awake.
        let synced = Spin::new(true);
        assert_eq!(synced.wait(answered_late(4)).await, Ok(4));
        assert_eq!(
            synced.asleep.load(Ordering::Relaxed),
            0,
            "no spin to back off from"
        );
    }
}
