//! The write-ahead log: every write is on disk before the client hears 200.
//!
//! The idea: the memtable lives in memory, and a crash would lose every
//! write it held, although each had been acknowledged. So every PUT,
//! DELETE and clear is first appended to a log file and synced to disk
//! (`fdatasync`), and only then acknowledged. At start, the store replays
//! the logs into a memtable: what was acknowledged is there again.
//!
//! Group commit: a sync takes a fraction of a millisecond whatever it
//! writes, so syncing once per write would cap the store at a few thousand
//! writes a second. Instead, writers append their records to a shared
//! buffer, and one thread, the *log syncer*, writes the whole buffer and
//! syncs once for all of them; the writers wait for that sync. While the
//! syncer syncs, new records pile up for its next turn. The more writers,
//! the more records each sync carries.
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
//! The records' format, and the replay of a log at start, are in
//! `log_record.rs`.
//!
//! Each memtable has its own log. Freezing a memtable starts a new log
//! ([`Wal::rotate`]) whose header names the old one and where its batches
//! end, and the old one ends with a `next` record naming the new one; the
//! old one is deleted once the table that holds its memtable is listed in
//! the manifest, which then names the next log as the oldest needed.
//! Those links let a start prove that no log is missing or cut
//! (`log_chain.rs`). A memtable is also frozen when its log reaches a few times the
//! memtable's size limit (`Shared::is_full` in `store.rs`): overwrites of
//! the same keys grow the log, not the memtable, and a log must not grow
//! without bound, since replay at start reads all of it.
//!
//! Invariants:
//! - a write is acknowledged only after its record is synced, and a record
//!   synced before the log failed is still acknowledged as durable;
//! - one batch at a time is written and synced (`syncing`), by the syncer,
//!   a leading writer or `rotate`: batches reach the file in log order;
//! - once the log has failed, it appends nothing more: the write it refuses
//!   is never applied to the memtable; a rotation whose new log cannot be
//!   created fails the log too, after syncing every record so far;
//! - records are in the log in the order their writes reached the memtable;
//! - a log is deleted only after a manifest lists its memtable's table and
//!   names a newer log as the oldest needed;
//! - a log file exists, synced, before any record names it, and it never
//!   gets shorter than the length its header gives;
//! - a log holds at most 4 × `memtable_bytes`, plus the record that
//!   crossed that limit.
//!
//! Read alongside chapter 7.2 of the book, "The write-ahead log and group
//! commit".

use std::fs::File;
use std::io::Write;
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};

use tokio::sync::watch;

use crate::error::panic_message;
use crate::log_record::{LogHeader, Op, batch_header, encode};
use crate::{Error, Result};

// ANCHOR: wal_struct
/// The log of the active memtable, shared by every writer and by the log
/// syncer, the thread that writes and syncs the records.
#[derive(Debug)]
pub struct Wal {
    log: Mutex<Log>,
    /// Signalled when records are appended, for the syncer if it sleeps.
    appended: Condvar,
    /// Signalled when a sync ends, for the threads that wait for it.
    synced: Condvar,
    /// The same news for the server's async tasks, which must not block a
    /// thread while they wait: how many records are durable, and why the
    /// log failed, if it did.
    durable: watch::Sender<(u64, Option<String>)>,
    /// How long each new log file is made up front (see [`create_file`]).
    preallocated: u64,
}

/// What the log's mutex guards.
#[derive(Debug)]
struct Log {
    /// Shared with the syncer, which writes through it without the lock.
    file: Arc<File>,
    path: PathBuf,
    /// Records appended but not yet written to the file.
    pending: Vec<u8>,
    /// How many records have been appended, ever: the last ticket handed out.
    appended: u64,
    /// How many bytes the current log file holds, its pending records
    /// included: the store starts a new log when this grows too big.
    bytes: u64,
    /// How long the file was before the batch being written: where a batch
    /// that fails is cut off, so that a restart does not replay writes that
    /// were refused.
    batch_start: u64,
    /// How many of them are synced to disk.
    durable: u64,
    /// How many syncs made them durable: with many writers, far fewer than
    /// records.
    syncs: u64,
    /// Whether a batch is being written and synced right now, by the
    /// syncer or by a writer that leads.
    syncing: bool,
    /// How many threads are blocked waiting for a sync.
    waiting: usize,
    /// How many of the server's tasks are waiting for a sync (see
    /// [`Wal::durable`]): with [`Log::waiting`], whether a writer is alone.
    tasks_waiting: usize,
    /// Set when the store closes: the syncer syncs what is pending and ends.
    closing: bool,
    /// Why the log failed, if it did: every later wait answers with it.
    failure: Option<String>,
}
// ANCHOR_END: wal_struct

impl Log {
    /// Takes every pending record as one batch, its header first (see
    /// `log_record.rs`), and counts the header in the log's size. Empty if
    /// nothing is pending. Only one batch is written at a time (the syncer,
    /// or `rotate` once the syncer is done), so the pending records are the
    /// ones appended since the last batch.
    fn take_batch(&mut self) -> Vec<u8> {
        let records = std::mem::take(&mut self.pending);
        // Set even for an empty batch: a rotation that finds nothing pending
        // still syncs, and if that fails, nothing synced may be cut off.
        self.batch_start = self.bytes - records.len() as u64;
        if records.is_empty() {
            return records;
        }
        let header = batch_header(self.appended - self.durable, &records);
        self.bytes += header.len() as u64;
        let mut batch = header.into_bytes();
        batch.extend_from_slice(&records);
        batch
    }
}

impl Wal {
    /// Starts a new, empty log at `path`, its file made `preallocated`
    /// bytes long up front (zeros), as every later log is.
    pub fn create(path: &Path, preallocated: u64) -> Result<Wal> {
        let header = LogHeader {
            number: crate::files::file_number(path)?,
            made: preallocated,
            after: None,
        };
        let (file, header_bytes) = create_file(path, &header)?;
        let log = Log {
            file: Arc::new(file),
            path: path.to_path_buf(),
            pending: Vec::new(),
            appended: 0,
            bytes: header_bytes,
            batch_start: 0,
            durable: 0,
            syncs: 0,
            syncing: false,
            waiting: 0,
            tasks_waiting: 0,
            closing: false,
            failure: None,
        };
        Ok(Wal {
            log: Mutex::new(log),
            appended: Condvar::new(),
            synced: Condvar::new(),
            durable: watch::Sender::new((0, None)),
            preallocated,
        })
    }

    /// Takes the log's lock. A panic while it is held (a bug, or the
    /// starter's `todo!` in exercise 7.3) poisons it; taking it anyway is
    /// what lets the panic be reported: the panic fails the log (see
    /// [`Wal::failing_on_panic`]), and a second panic, from a lock taken
    /// while the first unwinds, would abort the whole process.
    fn lock(&self) -> MutexGuard<'_, Log> {
        self.log.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Appends `op` to the log's buffer and returns its ticket, to pass to
    /// [`Wal::wait_durable`] or [`Wal::durable`]. The caller holds the
    /// store's write lock, so the records are in the order the writes reach
    /// the memtable. Fails, appending nothing, once the log has failed: the
    /// caller must then leave the memtable alone, so that a refused write is
    /// never visible.
    pub fn append(&self, op: &Op) -> Result<u64> {
        let mut log = self.lock();
        if let Some(reason) = &log.failure {
            return Err(Error::LogFailed {
                reason: reason.clone(),
            });
        }
        let record = encode(op);
        log.pending.extend_from_slice(record.as_bytes());
        log.bytes += record.len() as u64;
        log.appended += 1;
        // No wakeup here: whoever waits for this record syncs it or wakes
        // the syncer (see `wait_durable` and `durable`), and a writer that
        // waits on its own thread does the sync itself, without the two
        // thread switches a wakeup of the syncer and back would cost.
        Ok(log.appended)
    }

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
            if log.syncing || log.pending.is_empty() {
                if log.closing && !log.syncing && log.pending.is_empty() {
                    return;
                }
                // Woken by a task that waits, by the end of a sync that
                // left records pending, or by `close`.
                log = self
                    .appended
                    .wait(log)
                    .unwrap_or_else(PoisonError::into_inner);
                continue;
            }
            let (relocked, synced) = self.sync_batch(log);
            log = relocked;
            if synced.is_err() {
                return;
            }
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
        // ANCHOR: exercise_7_3
        // Exercise 7.3: take the pending batch, write and sync it without the lock, then finish it
        let mut log = log;
        let batch = log.take_batch();
        let batch_end = log.appended;
        log.syncing = true;
        let file = Arc::clone(&log.file);
        drop(log);
        let written = (&*file).write_all(&batch).and_then(|()| file.sync_data());
        let mut log = self.lock();
        log.syncing = false;
        let outcome = self.finish_batch(&mut log, batch_end, written);
        (log, outcome)
        // ANCHOR_END: exercise_7_3
    }

    /// Ends a batch that was written and synced, up to the record
    /// `batch_end`, with the outcome `written`. On success the log is
    /// durable up to there, the sync is counted, and every waiter is told;
    /// on failure the batch is cut off the file, the log fails (see
    /// [`Wal::fail_batch`]) and the error is returned. `log.path` is still
    /// the file the batch went to: [`Wal::sync_batch`] marks the log as
    /// syncing while it writes without the lock, and `rotate` waits for it.
    fn finish_batch(
        &self,
        log: &mut Log,
        batch_end: u64,
        written: std::io::Result<()>,
    ) -> Result<()> {
        if let Err(source) = written {
            let error = Error::Io {
                action: "write and sync",
                path: log.path.clone(),
                source,
            };
            // The batch's writers must not be told later that it is durable.
            self.fail_batch(log, &error);
            return Err(error);
        }
        log.durable = batch_end;
        log.syncs += 1;
        self.announce(log);
        // Records appended during this sync need the next one. A waiting
        // thread may lead it, but a task that waits on the channel cannot
        // (it is not alone, or it would have led): wake the syncer (it also
        // ends its loop here once the log is closing).
        if !log.pending.is_empty() || log.closing {
            self.appended.notify_one();
        }
        Ok(())
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
        match panic::catch_unwind(AssertUnwindSafe(|| self.sync_batch(log))) {
            Ok((log, _outcome)) => log,
            Err(payload) => {
                self.fail_after_panic("a sync of the log panicked", &*payload);
                self.lock()
            }
        }
    }

    /// Fails the log after a panic during a sync: `what` panicked with
    /// `payload`. The batch it was writing is not known to be durable, and
    /// no sync is under way any more, or `rotate` would wait for it forever.
    fn fail_after_panic(&self, what: &str, payload: &(dyn std::any::Any + Send)) {
        let message = panic_message(payload);
        let mut log = self.lock();
        log.syncing = false;
        self.fail(&mut log, format!("{what}: {message}"));
    }

    /// Fails the log for good: the records not yet synced may be lost, so
    /// every waiter, now and later, is told `why` instead of "durable".
    fn fail(&self, log: &mut Log, why: impl ToString) {
        let why = why.to_string();
        tracing::error!("the write-ahead log failed: {why}");
        log.failure = Some(why);
        self.announce(log);
    }

    /// Fails the log after the batch being written could not be written or
    /// synced. Its writers hear 500, so the batch is cut off the file
    /// first: some of it may have reached the file, and a restart must not
    /// replay writes that were refused. (If even that fails, the failure
    /// says so: the next start may then bring back some of those writes.)
    fn fail_batch(&self, log: &mut Log, why: impl ToString) {
        let mut why = why.to_string();
        // Cut, then made as long as it was again: a log file never gets
        // shorter than its header says (a start refuses one that did).
        let made = self.preallocated.max(log.batch_start);
        let cut = log.file.set_len(log.batch_start);
        match cut.and_then(|()| log.file.set_len(made)) {
            Ok(()) => log.bytes = log.batch_start,
            Err(error) => why.push_str(&format!(
                "; and cutting the failed batch off {} failed too ({error}), \
                 so a restart may replay some of its writes",
                log.path.display()
            )),
        }
        self.fail(log, why);
    }

    /// Tells every waiter, thread or task, how far the log is durable.
    fn announce(&self, log: &Log) {
        self.synced.notify_all();
        let now = (log.durable, log.failure.clone());
        self.durable.send_modify(|state| *state = now);
    }

    /// Blocks the calling thread until every record appended so far is
    /// synced: once it returns, so is every write a reader could have found
    /// in the memtables. Costs one lock when nothing is pending.
    pub fn wait_all_durable(&self) -> Result<()> {
        let log = self.lock();
        let ticket = log.appended;
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
                self.appended.notify_one();
            }
            log.waiting += 1;
            log = self
                .synced
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
                self.appended.notify_one();
            }
        }
        let _waiting = TaskWaiting::count(self);
        let mut durable = self.durable.subscribe();
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

    /// Starts a new log at `path` for the next memtable. The caller holds
    /// the store's write lock, so nothing is appended meanwhile.
    ///
    /// Three steps, each durable before the next, so that a start can check
    /// the link between the two logs whatever is lost (see `log_chain.rs`):
    /// 1. the records still pending are synced to the old log: they are
    ///    acknowledged, and the old log's batches end here;
    /// 2. the new log is made, its header naming the old log and that end;
    /// 3. the old log gets a last record, `next`, naming the new one, so
    ///    that a new log removed whole is missed.
    pub fn rotate(&self, path: &Path) -> Result<()> {
        let mut log = self.lock();
        // The syncer writes through its own handle of the old file: let it
        // finish first.
        while log.syncing {
            log = self
                .synced
                .wait(log)
                .unwrap_or_else(PoisonError::into_inner);
        }
        if let Some(reason) = &log.failure {
            return Err(Error::LogFailed {
                reason: reason.clone(),
            });
        }
        self.sync_last_batch(&mut log)?;
        let header = LogHeader {
            number: crate::files::file_number(path)?,
            made: self.preallocated,
            after: Some((crate::files::file_number(&log.path)?, log.bytes)),
        };
        let (file, header_bytes) = match create_file(path, &header) {
            Ok(made) => made,
            Err(error) => {
                // Nothing is lost: every record so far is durable. But the
                // memtable cannot be frozen without a log for the next one,
                // so no write is taken any more (they would only pile up).
                self.fail(&mut log, &error);
                return Err(error);
            }
        };
        let next = encode(&Op::Next(header.number));
        log.pending.extend_from_slice(next.as_bytes());
        log.bytes += next.len() as u64;
        log.appended += 1;
        // If this fails, the log has failed; the new log, which follows
        // the old one by its header, is where the next start ends.
        self.sync_last_batch(&mut log)?;
        log.file = Arc::new(file);
        log.bytes = header_bytes;
        log.path = path.to_path_buf();
        Ok(())
    }

    /// Writes and syncs the pending records as the current log's last
    /// batch, and tells its writers. Unlike [`Wal::sync_batch`], it keeps
    /// the log's lock throughout: the caller, `rotate`, holds the store's
    /// write lock, so no writer could append meanwhile anyway, and the new
    /// log must not take a batch before this one is durable.
    fn sync_last_batch(&self, log: &mut Log) -> Result<()> {
        let batch = log.take_batch();
        let batch_end = log.appended;
        let written = (&*log.file)
            .write_all(&batch)
            .and_then(|()| log.file.sync_data());
        self.finish_batch(log, batch_end, written)
    }

    /// How many bytes the current log file holds, pending records included.
    pub fn bytes(&self) -> u64 {
        self.lock().bytes
    }

    /// How many syncs the log has made so far.
    pub fn syncs(&self) -> u64 {
        self.lock().syncs
    }

    /// Asks the syncer to sync what is pending and end its loop.
    pub fn close(&self) {
        let mut log = self.lock();
        log.closing = true;
        self.appended.notify_one();
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

/// Creates the log file at `path`: its `header` line (see `log_record.rs`),
/// then zeros up to the length the header gives (a sparse file), synced, and its
/// directory synced so that its name is durable. Returns the file and the
/// header's length, where the first batch goes.
///
/// Why the length up front: appending to a file changes its size, and then
/// every `fdatasync` must write the inode as well as the data. Within the
/// preallocated length the size does not change, and most syncs write the
/// data alone; not all, because the first write into each block of a
/// sparse file allocates the block, metadata its sync must persist too
/// (RocksDB's wiki, "WAL Performance": even `fallocate` does not avoid it,
/// only reusing an old log's blocks does). What that gained is in the
/// book's appendix, "Logs made full-size". Replay reads up to the last
/// byte that is not zero (`log_record::written_length`): a record ends with
/// a newline, never with a zero. The header gives the length, so that a
/// start can tell a log that was cut from one that was never written to.
fn create_file(path: &Path, header: &LogHeader) -> Result<(File, u64)> {
    let io_error = |action, source| Error::Io {
        action,
        path: path.to_path_buf(),
        source,
    };
    let preallocated = header.made;
    let header = header.line();
    let made = (|| {
        let mut file = File::create(path).map_err(|source| io_error("create", source))?;
        file.write_all(header.as_bytes())
            .map_err(|source| io_error("write", source))?;
        let length = preallocated.max(header.len() as u64);
        file.set_len(length)
            .map_err(|source| io_error("preallocate", source))?;
        file.sync_all().map_err(|source| io_error("sync", source))?;
        crate::files::sync_directory(path.parent().unwrap_or(Path::new(".")))?;
        Ok(file)
    })();
    match made {
        Ok(file) => Ok((file, header.len() as u64)),
        Err(error) => {
            // Best effort: the file is unused, and nothing names it.
            let _ = std::fs::remove_file(path);
            Err(error)
        }
    }
}

#[cfg(test)]
mod tests {
    use std::fs;
    use std::thread;

    use super::*;
    use crate::log_record::{End, replay};
    use crate::memtable::Memtable;

    /// The text of a log that holds `op` alone, as one batch.
    /// The text of the log file at `path` after its header line.
    fn after_header(path: &Path) -> String {
        let text = fs::read_to_string(path).unwrap();
        let (header, rest) = text.split_once('\n').unwrap();
        assert!(header.starts_with("log "), "{header:?}");
        rest.to_string()
    }

    fn one_batch(op: &Op) -> String {
        let record = encode(op);
        batch_header(1, record.as_bytes()) + &record
    }

    fn put(key: &str, value: &str) -> Op {
        Op::Put(key.to_string(), value.to_string())
    }

    /// Runs `body` while a syncer thread serves `wal`, as the store does.
    fn with_syncer<T>(wal: &Wal, body: impl FnOnce() -> T) -> T {
        /// Closes the log even if `body` panics, so that the syncer ends
        /// and the scope can join it.
        struct CloseOnDrop<'a>(&'a Wal);
        impl Drop for CloseOnDrop<'_> {
            fn drop(&mut self) {
                self.0.close();
            }
        }
        thread::scope(|scope| {
            scope.spawn(|| wal.run_syncer());
            let _close = CloseOnDrop(wal);
            body()
        })
    }

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

    #[test]
    fn a_failed_batch_is_cut_at_its_own_start_even_when_empty() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("000001.wal");
        let wal = Wal::create(&path, 0).unwrap();
        with_syncer(&wal, || {
            let ticket = wal.append(&put("a", "1")).unwrap();
            wal.wait_durable(ticket).unwrap();
        });
        let synced = fs::metadata(&path).unwrap().len();
        // A rotation with nothing pending takes an empty batch; were its
        // sync to fail, the cut must leave the synced batch whole.
        let mut log = wal.lock();
        assert!(log.take_batch().is_empty());
        wal.fail_batch(&mut log, "the disk is gone");
        drop(log);
        assert_eq!(fs::metadata(&path).unwrap().len(), synced);
        assert_eq!(after_header(&path), one_batch(&put("a", "1")));
    }

    #[test]
    fn rotation_syncs_the_old_log_and_starts_a_new_one() {
        let directory = tempfile::tempdir().unwrap();
        let (first, second) = (
            directory.path().join("000001.wal"),
            directory.path().join("000002.wal"),
        );
        let wal = Wal::create(&first, 0).unwrap();
        let ticket = wal.append(&put("a", "1")).unwrap();
        wal.rotate(&second).unwrap();
        // Rotating made the old log's records durable, without the syncer,
        // and its last record names the new log.
        wal.wait_durable(ticket).unwrap();
        assert_eq!(
            after_header(&first),
            one_batch(&put("a", "1")) + &one_batch(&Op::Next(2))
        );
        assert_eq!(after_header(&second), "");
        // The new log's header says where the old log's batches end: before
        // its `next`.
        let old = fs::read_to_string(&first).unwrap();
        let records_end = old.find(&one_batch(&Op::Next(2))).unwrap() as u64;
        let header = LogHeader::of_file(&second).unwrap().unwrap();
        assert_eq!(header.after, Some((1, records_end)));
        with_syncer(&wal, || {
            let ticket = wal.append(&put("b", "2")).unwrap();
            wal.wait_durable(ticket).unwrap();
        });
        assert_eq!(after_header(&second), one_batch(&put("b", "2")));
    }
}
