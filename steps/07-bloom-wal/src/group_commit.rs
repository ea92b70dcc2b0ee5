//! Group commit: one sync of the write-ahead log for every writer that
//! waits, and the ways a writer waits for it.
//!
//! The idea: a sync takes a fraction of a millisecond whatever it writes,
//! so syncing once per write would cap the store at a few thousand writes
//! a second. Instead, writers append their records to a shared buffer
//! (`wal.rs`), and one thread, the *log syncer* ([`Wal::run_syncer`]),
//! writes the whole buffer and syncs once for all of them; the writers wait
//! for that sync. While the syncer syncs, new records pile up for its next
//! turn. The more writers, the more records each sync carries.
//!
//! Writers wait in one of two ways. A task of the async server awaits a
//! channel ([`Wal::durable`]) that the syncer updates, so that a few threads
//! serve hundreds of waiting requests: blocking a thread per waiting request
//! would cost two thread switches per write, and on two cores those
//! switches, not the disk, would bound the server. A thread blocks on a
//! condition variable ([`Wal::wait_durable`]); but a thread that waits
//! alone, with no sync under way, syncs the batch itself (it *leads*)
//! instead of waking the syncer and waiting to be woken back: alone, a
//! writer then pays for its sync and no thread switch. A task that waits
//! alone leads too, on its runtime thread, whose other tasks tokio moves
//! to another thread for the length of the sync (`block_in_place`).
//!
//! The syncer and a writer that leads take the next piece of work in
//! `sync_next`: a rotation to a new log if one waits (`rotation.rs`),
//! else the pending records, through `sync_batch`. Every batch ends in
//! `finish_batch` (`wal.rs`), which tells the waiters.
//!
//! Invariants:
//! - a write is acknowledged only after its record is synced, and a record
//!   synced before the log failed is still acknowledged as durable;
//! - one batch at a time is written and synced (`syncing`), by the syncer
//!   or a leading writer, and a rotation before any batch of its new log:
//!   batches reach the files in log order;
//! - a panic during a sync fails the log, so that no writer waits forever.
//!
//! Read alongside chapter 7.2 of the book, "The write-ahead log and group
//! commit".

use std::io::Write;
use std::panic::{self, AssertUnwindSafe};
use std::sync::{Arc, MutexGuard, PoisonError};

use crate::error::panic_message;
use crate::wal::{Log, Wal};
use crate::{Error, Result};

impl Wal {
    /// The log syncer's loop, run on a thread of its own until the store
    /// closes: whenever records are pending and nobody is syncing, it syncs
    /// them as one batch. It serves the async server's tasks, which must
    /// not block a thread (see [`Wal::durable`]); a writer that waits on a
    /// thread of its own usually syncs before the syncer can.
    pub fn sync_loop(&self) {
        let mut log = self.lock();
        loop {
            if log.failure.is_some() {
                return;
            }
            let idle = log.pending.is_empty() && log.rotations.is_empty();
            if log.syncing || idle {
                if log.closing && !log.syncing && idle {
                    return;
                }
                // Woken by a task that waits, by the end of a sync that
                // left records pending, or by `close`.
                log = self
                    .syncer_wakeup
                    .wait(log)
                    .unwrap_or_else(PoisonError::into_inner);
                continue;
            }
            let (relocked, synced) = self.sync_next(log);
            log = relocked;
            if synced.is_err() {
                return;
            }
        }
    }

    /// Syncs the next piece of work: the oldest rotation to a new log, if
    /// one waits, for it goes before any batch of its new log; otherwise
    /// the pending records, as one batch. Called with the lock held and
    /// nobody syncing; returns as [`Wal::sync_batch`] does.
    fn sync_next<'a>(&'a self, log: MutexGuard<'a, Log>) -> (MutexGuard<'a, Log>, Result<()>) {
        if log.rotations.is_empty() {
            self.sync_batch(log)
        } else {
            self.write_rotation(log)
        }
    }

    /// Writes every pending record as one batch and syncs it once (group
    /// commit): the records appended by the time the batch is taken share
    /// one write and one `fdatasync`, and the writers that append meanwhile
    /// wait for the next batch. Called with the lock held and nobody
    /// syncing; lets go of the lock for the write and the sync, so that
    /// writers keep appending, and returns with it held again, and with the
    /// outcome, which `finish_batch` has already told the waiters.
    fn sync_batch<'a>(&'a self, log: MutexGuard<'a, Log>) -> (MutexGuard<'a, Log>, Result<()>) {
        // TODO(exercise 7.3): take the pending batch, write and sync it without the lock, then finish it
        todo!(
            "exercise 7.3: take the pending batch, write and sync it without the lock, then finish it (book chapter 7)"
        )
    }

    /// Runs [`Wal::sync_loop`] on the calling thread. A panic in it is a
    /// bug, but the writers waiting for a sync must hear about it rather
    /// than wait forever: it fails the log.
    pub fn run_syncer(&self) {
        self.failing_on_panic(|| self.sync_loop());
    }

    /// Runs `syncer`; if it panics, fails the log with the panic's message.
    fn failing_on_panic(&self, syncer: impl FnOnce()) {
        let outcome = panic::catch_unwind(AssertUnwindSafe(syncer));
        if let Err(payload) = outcome {
            self.fail_after_panic("the log syncer panicked", &*payload);
        }
    }

    /// Syncs the pending batch on a waiting writer's thread (see
    /// [`Wal::wait_durable`]). A panic in it fails the log, as one in the
    /// syncer does, so that this writer and every other waiter hear why.
    fn lead<'a>(&'a self, log: MutexGuard<'a, Log>) -> MutexGuard<'a, Log> {
        match panic::catch_unwind(AssertUnwindSafe(|| self.sync_next(log))) {
            Ok((log, _outcome)) => log,
            Err(payload) => {
                self.fail_after_panic("a sync of the log panicked", &*payload);
                self.lock()
            }
        }
    }

    /// Fails the log after a panic during a sync: `what` panicked with
    /// `payload`. The batch it was writing is not known to be durable, and
    /// no sync is under way any more, or the writers would wait for one
    /// forever.
    fn fail_after_panic(&self, what: &str, payload: &(dyn std::any::Any + Send)) {
        let message = panic_message(payload);
        let mut log = self.lock();
        log.syncing = false;
        self.fail(&mut log, format!("{what}: {message}"));
    }

    /// Blocks the calling thread until every write appended so far is
    /// synced: once it returns, so is every write a reader could have found
    /// in the memtables. Costs one lock when nothing is pending.
    pub fn wait_all_durable(&self) -> Result<()> {
        let log = self.lock();
        let ticket = log.last_write;
        self.wait_durable_locked(log, ticket)
    }

    /// Blocks the calling thread until the record with `ticket` is synced.
    /// A record that was synced before the log failed is durable, and its
    /// writer hears so: the failure is the answer only for the records it
    /// may have lost.
    pub fn wait_durable(&self, ticket: u64) -> Result<()> {
        self.wait_durable_locked(self.lock(), ticket)
    }

    /// [`Wal::wait_durable`], with the log's lock already taken.
    ///
    /// A thread that waits alone, with nobody syncing, *leads*: it syncs the
    /// pending batch itself rather than wake the syncer and sleep until the
    /// syncer wakes it back, so a lone writer pays for its sync and no
    /// thread switch. When other threads wait too, writes are arriving
    /// together: it wakes the syncer, whose loop goes straight from one
    /// batch to the next, and sleeps. (Leading then as well was measured:
    /// every batch waited for a woken thread to take it, and 64 writers
    /// lost a third of their rate.)
    fn wait_durable_locked<'a>(&'a self, mut log: MutexGuard<'a, Log>, ticket: u64) -> Result<()> {
        loop {
            if log.durable >= ticket {
                return Ok(());
            }
            if let Some(reason) = &log.failure {
                return Err(Error::LogFailed {
                    reason: reason.clone(),
                });
            }
            if !log.syncing {
                // Not durable and nobody syncing: the record is pending.
                if log.waiting == 0 {
                    log = self.lead(log);
                    continue;
                }
                self.syncer_wakeup.notify_one();
            }
            log.waiting += 1;
            log = self
                .sync_ended
                .wait(log)
                .unwrap_or_else(PoisonError::into_inner);
            log.waiting -= 1;
        }
    }

    /// Waits, without blocking a thread, until the record with `ticket` is
    /// synced: for the tasks of the async server.
    ///
    /// A task that waits alone (nobody syncing, no other thread or task
    /// waiting) leads, as a lone thread does: it syncs its record on its
    /// own runtime thread, handing that thread's other tasks to another
    /// one for the length of the sync (`block_in_place`). Waking the syncer
    /// instead would cost the lone writer two thread switches a write, the
    /// syncer's wake-up and its own: a client that sends one PUT at a time
    /// then writes at about half the disk's pace. When others wait too, the
    /// syncer serves them all, one batch after another, and no runtime
    /// thread blocks.
    pub async fn durable(&self, ticket: u64) -> Result<()> {
        {
            let log = self.lock();
            let alone = !log.syncing && log.waiting == 0 && log.tasks_waiting == 0;
            if log.durable < ticket && alone && can_block_in_place() {
                drop(log);
                return tokio::task::block_in_place(|| self.wait_durable(ticket));
            }
            // Otherwise the task wakes the syncer, unless a sync under way
            // will do so at its end.
            if log.durable < ticket && !log.syncing {
                self.syncer_wakeup.notify_one();
            }
        }
        let _waiting = TaskWaiting::count(self);
        let mut durable = self.durable_news.subscribe();
        let state = durable
            .wait_for(|(durable, failure)| *durable >= ticket || failure.is_some())
            .await
            // The sender lives as long as `self`, which we borrow.
            .expect("the log's sender is alive");
        // As in `wait_durable`: synced before a failure is durable.
        match &*state {
            (durable, _) if *durable >= ticket => Ok(()),
            (_, failure) => Err(Error::LogFailed {
                reason: failure.clone().unwrap_or_default(),
            }),
        }
    }

    /// Asks the syncer to sync what is pending and end its loop.
    pub fn close(&self) {
        let mut log = self.lock();
        log.closing = true;
        self.syncer_wakeup.notify_one();
    }
}

/// Whether the calling task may block its thread with
/// `tokio::task::block_in_place`: only on a multi-threaded runtime, whose
/// other threads take over the blocked thread's tasks meanwhile.
fn can_block_in_place() -> bool {
    tokio::runtime::Handle::try_current()
        .is_ok_and(|runtime| runtime.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread)
}

/// Counts a task in [`Log::tasks_waiting`] for as long as it lives, so that
/// a task whose wait is dropped (a client that went away) is uncounted too.
struct TaskWaiting<'a>(&'a Wal);

impl<'a> TaskWaiting<'a> {
    fn count(wal: &'a Wal) -> TaskWaiting<'a> {
        wal.lock().tasks_waiting += 1;
        TaskWaiting(wal)
    }
}

impl Drop for TaskWaiting<'_> {
    fn drop(&mut self) {
        self.0.lock().tasks_waiting -= 1;
    }
}

#[cfg(test)]
mod tests {
    use std::thread;

    use super::*;
    use crate::memtable::Memtable;
    use crate::replay::{End, replay};
    use crate::wal::tests::{after_header, one_batch, put, with_syncer};

    #[test]
    fn exercise_7_3_an_acknowledged_record_is_in_the_file() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("000001.wal");
        let wal = Wal::create(&path, 0).unwrap();
        with_syncer(&wal, || {
            let ticket = wal.append(&put("kenya:capital", "Nairobi")).unwrap();
            wal.wait_durable(ticket).unwrap();
            assert_eq!(
                after_header(&path),
                one_batch(&put("kenya:capital", "Nairobi"))
            );
            // An old ticket is already durable.
            wal.wait_durable(ticket).unwrap();
        });
    }

    #[test]
    fn exercise_7_3_a_lone_writer_syncs_its_own_record() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("000001.wal");
        let wal = Wal::create(&path, 0).unwrap();
        // No syncer runs: a thread that waits alone must lead its own sync,
        // not wait for a wakeup that would cost two thread switches.
        let (done, finished) = std::sync::mpsc::channel();
        thread::scope(|scope| {
            scope.spawn(|| {
                let ticket = wal.append(&put("kenya:capital", "Nairobi")).unwrap();
                done.send(wal.wait_durable(ticket)).unwrap();
            });
            let outcome = finished.recv_timeout(std::time::Duration::from_secs(10));
            // Let a waiter that was left waiting go, so the scope can end.
            wal.fail(&mut wal.lock(), "the test gave up");
            outcome
                .expect("a lone writer waited for a syncer instead of syncing")
                .unwrap();
        });
        assert_eq!(wal.syncs(), 1);
        assert_eq!(
            after_header(&path),
            one_batch(&put("kenya:capital", "Nairobi"))
        );
    }

    #[ignore = "needs exercise 7.3 (book chapter 7): `cargo xtask check 07` runs it"]
    #[test]
    fn a_lone_task_syncs_its_own_record_on_a_multi_threaded_runtime() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("000001.wal");
        let wal = Arc::new(Wal::create(&path, 0).unwrap());
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .build()
            .unwrap();
        // No syncer runs, as in the test above: the server's lone task, on
        // one of the runtime's threads, must lead too, not wake a syncer
        // and wait to be woken back.
        let (done, finished) = std::sync::mpsc::channel();
        let task_wal = Arc::clone(&wal);
        runtime.spawn(async move {
            let ticket = task_wal.append(&put("kenya:capital", "Nairobi")).unwrap();
            done.send(task_wal.durable(ticket).await).unwrap();
        });
        let outcome = finished.recv_timeout(std::time::Duration::from_secs(10));
        // Let a task that was left waiting go, so the runtime can stop.
        wal.fail(&mut wal.lock(), "the test gave up");
        outcome
            .expect("a lone task waited for a syncer instead of syncing")
            .unwrap();
        assert_eq!(wal.syncs(), 1);
        assert_eq!(
            wal.lock().tasks_waiting,
            0,
            "no task is left counted as waiting"
        );
    }

    #[test]
    fn exercise_7_3_concurrent_writers_are_all_made_durable() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("000001.wal");
        let wal = Wal::create(&path, 0).unwrap();
        with_syncer(&wal, || {
            thread::scope(|scope| {
                for writer in 0..8 {
                    let wal = &wal;
                    scope.spawn(move || {
                        for n in 0..50 {
                            let ticket = wal.append(&put(&format!("w{writer}-{n}"), "v")).unwrap();
                            wal.wait_durable(ticket).unwrap();
                        }
                    });
                }
            });
        });
        let mut memtable = Memtable::new();
        assert_eq!(
            replay(&path, End::Newest, &mut memtable).unwrap().records,
            400
        );
    }

    #[test]
    fn exercise_7_3_records_appended_meanwhile_go_in_one_batch() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("000001.wal");
        let wal = Wal::create(&path, 0).unwrap();
        // Appended before the syncer starts, as if during a sync.
        let last = (0..100)
            .map(|n| wal.append(&put(&format!("k{n}"), "v")).unwrap())
            .last()
            .unwrap();
        with_syncer(&wal, || wal.wait_durable(last).unwrap());
        assert_eq!(wal.syncs(), 1, "one sync for the whole batch");
        let mut memtable = Memtable::new();
        assert_eq!(
            replay(&path, End::Newest, &mut memtable).unwrap().records,
            100
        );
    }

    #[test]
    fn exercise_7_3_tasks_wait_for_their_sync_without_a_thread() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("000001.wal");
        let wal = Wal::create(&path, 0).unwrap();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        with_syncer(&wal, || {
            runtime.block_on(async {
                let ticket = wal.append(&put("kenya:capital", "Nairobi")).unwrap();
                wal.durable(ticket).await.unwrap();
            })
        });
        assert_eq!(
            after_header(&path),
            one_batch(&put("kenya:capital", "Nairobi"))
        );
    }

    #[test]
    fn a_failed_log_answers_every_waiter() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("000001.wal");
        let wal = Wal::create(&path, 0).unwrap();
        let ticket = wal.append(&put("a", "1")).unwrap();
        // A syncer that panics fails the log instead of leaving waiters.
        wal.failing_on_panic(|| panic!("a bug in the syncer"));
        let error = wal.wait_durable(ticket).unwrap_err().to_string();
        assert!(error.contains("the log syncer panicked"), "{error}");
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let error = runtime.block_on(wal.durable(ticket)).unwrap_err();
        assert!(error.to_string().contains("the log syncer panicked"));
    }

    #[ignore = "needs exercise 7.3 (book chapter 7): `cargo xtask check 07` runs it"]
    #[test]
    fn a_record_synced_before_the_log_failed_is_durable_and_later_appends_are_refused() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("000001.wal");
        let wal = Wal::create(&path, 0).unwrap();
        let synced = with_syncer(&wal, || {
            let ticket = wal.append(&put("a", "1")).unwrap();
            wal.wait_durable(ticket).unwrap();
            ticket
        });
        let lost = wal.append(&put("b", "2")).unwrap();
        wal.fail(&mut wal.lock(), "the disk is gone");
        // The first writer is told the truth even after the failure.
        wal.wait_durable(synced).unwrap();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        runtime.block_on(wal.durable(synced)).unwrap();
        // The record that was pending is not durable, and nothing more is
        // appended: the caller must not apply a write the log refused.
        assert!(wal.wait_durable(lost).is_err());
        assert!(runtime.block_on(wal.durable(lost)).is_err());
        let error = wal.append(&put("c", "3")).unwrap_err().to_string();
        assert!(error.contains("the disk is gone"), "{error}");
    }
}
