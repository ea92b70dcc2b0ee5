//! The write-ahead log: every write is on disk before the client hears 200.
//!
//! The idea: the memtable lives in memory, and a crash would lose every
//! write it held, although each had been acknowledged. So every PUT,
//! DELETE and clear is first appended to a log file and synced to disk
//! (`fdatasync`), and only then acknowledged. At start, the store replays
//! the logs into a memtable: what was acknowledged is there again.
//!
//! This file is the log and its file: [`Wal::append`] adds a record to the
//! records pending, and a batch ends (synced, or failed and cut off the
//! file) in `finish_batch`. Who syncs the pending records, and how the
//! writers wait for that sync, is the group commit, in `group_commit.rs`;
//! moving on to a new log file is in `rotation.rs`. Both use the fields
//! and methods of [`Wal`] and `Log` marked `pub(crate)`, which no other
//! file touches. The records' format is in `log_record.rs`, and the replay
//! of a log at start in `replay.rs`.
//!
//! Each memtable has its own log. Freezing a memtable starts a new log
//! ([`Wal::rotate`]) whose header names the old one and where its batches
//! end, and the old one ends with a `next` record naming the new one; the
//! old one is deleted once the table that holds its memtable is listed in
//! the manifest, which then names the next log as the oldest needed.
//! Those links let a start prove that no log is missing or cut
//! (`log_chain.rs`). A memtable is also frozen when its log reaches a few
//! times the memtable's size limit (`Shared::is_full` in `shared.rs`):
//! overwrites of the same keys grow the log, not the memtable, and a log
//! must not grow without bound, since replay at start reads all of it.
//!
//! Invariants:
//! - once the log has failed, it appends nothing more: the write it refuses
//!   is never applied to the memtable; a rotation whose new log cannot be
//!   created fails the log too, after syncing the old log's records;
//! - a batch that failed is cut off the file, so that a restart does not
//!   replay writes that were refused;
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

use std::collections::VecDeque;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};

use tokio::sync::watch;

use crate::log_file::create_file;
use crate::log_record::{LogHeader, Op, batch_header, encode};
use crate::{Error, Result};

// ANCHOR: wal_struct
/// The log of the active memtable, shared by every writer and by the log
/// syncer, the thread that writes and syncs the records.
#[derive(Debug)]
pub struct Wal {
    log: Mutex<Log>,
    /// Signalled when records are appended, for the syncer if it sleeps.
    pub(crate) syncer_wakeup: Condvar,
    /// Signalled when a sync ends, for the threads that wait for it.
    pub(crate) sync_ended: Condvar,
    /// The same news for the server's async tasks, which must not block a
    /// thread while they wait: how many records are durable, and why the
    /// log failed, if it did.
    pub(crate) durable_news: watch::Sender<(u64, Option<String>)>,
    /// How long each new log file is made up front (see `create_file` in
    /// `log_file.rs`).
    pub(crate) preallocated: u64,
}

/// What the log's mutex guards.
#[derive(Debug)]
pub(crate) struct Log {
    /// The log file batches are written to. Shared with the syncer, which
    /// writes through it without the lock.
    pub(crate) file: Arc<File>,
    /// Where `file` is.
    pub(crate) path: PathBuf,
    /// The number of the newest log: `file`'s, or the last rotation's.
    pub(crate) newest: u64,
    /// Records appended but not yet taken into a batch: the newest log's.
    pub(crate) pending: Vec<u8>,
    /// Moves to new log files that are not on disk yet, oldest first (see
    /// `rotation.rs`). While there are any, `file` is older than the log
    /// `pending` belongs to, and they are written before any batch of it.
    pub(crate) rotations: VecDeque<Rotation>,
    /// How many records have been appended, ever: the last ticket handed out.
    pub(crate) appended: u64,
    /// How many of them have been framed into batches.
    framed: u64,
    /// The ticket of the last write (put, delete, clear), which a reader may
    /// find in a memtable; the records after it, if any, are `next`s.
    pub(crate) last_write: u64,
    /// How many bytes the newest log holds, its pending records included:
    /// the store starts a new log when this grows too big.
    pub(crate) bytes: u64,
    /// How long the file was before the batch being written: where a batch
    /// that fails is cut off, so that a restart does not replay writes that
    /// were refused.
    pub(crate) batch_start: u64,
    /// How many of them are synced to disk.
    pub(crate) durable: u64,
    /// How many syncs made them durable: with many writers, far fewer than
    /// records.
    pub(crate) syncs: u64,
    /// Whether a batch is being written and synced right now, by the
    /// syncer or by a writer that leads.
    pub(crate) syncing: bool,
    /// How many threads are blocked waiting for a sync.
    pub(crate) waiting: usize,
    /// How many of the server's tasks are waiting for a sync (see
    /// [`Wal::durable`]): with [`Log::waiting`], whether a writer is alone.
    pub(crate) tasks_waiting: usize,
    /// Set when the store closes: the syncer syncs what is pending and ends.
    pub(crate) closing: bool,
    /// Why the log failed, if it did: every later wait answers with it.
    pub(crate) failure: Option<String>,
}
// ANCHOR_END: wal_struct

/// A move to a new log that [`Wal::rotate`] decided and that is not on
/// disk yet: what `Wal::write_rotation` writes (see `rotation.rs`).
#[derive(Debug)]
pub(crate) struct Rotation {
    /// The old log's last records as one batch: empty if none were pending.
    pub(crate) last_batch: Vec<u8>,
    /// Where that batch starts in the old log, and the ticket of its last
    /// record.
    pub(crate) last_batch_start: u64,
    pub(crate) last_batch_end: u64,
    /// The old log's `next` record, in a batch of its own, and its ticket:
    /// once it is durable, the rotation is on disk.
    pub(crate) next_batch: Vec<u8>,
    pub(crate) next_ticket: u64,
    /// The new log: where it goes, and its header.
    pub(crate) path: PathBuf,
    pub(crate) header: LogHeader,
}

impl Log {
    /// Takes every pending record as the next batch to write, and notes
    /// where it starts in the file: where it is cut off if it fails. Only
    /// one batch is written at a time, and only once no rotation waits, so
    /// the batch goes right after the file's last one.
    pub(crate) fn take_batch(&mut self) -> Vec<u8> {
        let (batch, start) = self.frame_pending();
        self.batch_start = start;
        batch
    }

    /// Frames every pending record as one batch, its header first (see
    /// `log_record.rs`), counts the header in the log's size, and returns
    /// the batch and where it starts in its log. Empty if nothing is
    /// pending.
    pub(crate) fn frame_pending(&mut self) -> (Vec<u8>, u64) {
        let records = std::mem::take(&mut self.pending);
        let start = self.bytes - records.len() as u64;
        if records.is_empty() {
            return (records, start);
        }
        let header = batch_header(self.appended - self.framed, &records);
        self.framed = self.appended;
        self.bytes += header.len() as u64;
        let mut batch = header.into_bytes();
        batch.extend_from_slice(&records);
        (batch, start)
    }

    /// Appends `op` in a batch of its own, framed at once: a rotation's
    /// `next` record. Returns the batch and the record's ticket.
    pub(crate) fn frame_alone(&mut self, op: &Op) -> (Vec<u8>, u64) {
        debug_assert!(self.pending.is_empty(), "framed after the pending records");
        let record = encode(op);
        self.appended += 1;
        self.framed = self.appended;
        let batch = batch_header(1, record.as_bytes()) + &record;
        self.bytes += batch.len() as u64;
        (batch.into_bytes(), self.appended)
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
            newest: header.number,
            pending: Vec::new(),
            rotations: VecDeque::new(),
            appended: 0,
            framed: 0,
            last_write: 0,
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
            syncer_wakeup: Condvar::new(),
            sync_ended: Condvar::new(),
            durable_news: watch::Sender::new((0, None)),
            preallocated,
        })
    }

    /// Takes the log's lock. A panic while it is held (a bug, or the
    /// starter's `todo!` in exercise 7.3) poisons it; taking it anyway is
    /// what lets the panic be reported: the panic fails the log (see
    /// [`Wal::failing_on_panic`]), and a second panic, from a lock taken
    /// while the first unwinds, would abort the whole process.
    pub(crate) fn lock(&self) -> MutexGuard<'_, Log> {
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
        log.last_write = log.appended;
        // No wakeup here: whoever waits for this record syncs it or wakes
        // the syncer (see `wait_durable` and `durable`), and a writer that
        // waits on its own thread does the sync itself, without the two
        // thread switches a wakeup of the syncer and back would cost.
        Ok(log.appended)
    }

    /// Ends a batch that was written and synced, up to the record
    /// `batch_end`, with the outcome `written`. On success the log is
    /// durable up to there, the sync is counted, and every waiter is told;
    /// on failure the batch is cut off the file, the log fails (see
    /// [`Wal::fail_batch`]) and the error is returned. `log.path` is still
    /// the file the batch went to: only a rotation's own sync moves it on.
    pub(crate) fn finish_batch(
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
        if !log.pending.is_empty() || !log.rotations.is_empty() || log.closing {
            self.syncer_wakeup.notify_one();
        }
        Ok(())
    }

    /// Fails the log for good: the records not yet synced may be lost, so
    /// every waiter, now and later, is told `why` instead of "durable".
    pub(crate) fn fail(&self, log: &mut Log, why: impl ToString) {
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
    pub(crate) fn fail_batch(&self, log: &mut Log, why: impl ToString) {
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
    pub(crate) fn announce(&self, log: &Log) {
        self.sync_ended.notify_all();
        let now = (log.durable, log.failure.clone());
        self.durable_news.send_modify(|state| *state = now);
    }

    /// How many bytes the newest log holds, pending records included.
    pub fn bytes(&self) -> u64 {
        self.lock().bytes
    }

    /// How many syncs the log has made so far.
    pub fn syncs(&self) -> u64 {
        self.lock().syncs
    }
}

#[cfg(test)]
pub mod tests {
    use std::fs;
    use std::thread;

    use super::*;

    /// The text of the log file at `path` after its header line.
    pub fn after_header(path: &Path) -> String {
        let text = fs::read_to_string(path).unwrap();
        let (header, rest) = text.split_once('\n').unwrap();
        assert!(header.starts_with("log "), "{header:?}");
        rest.to_string()
    }

    /// The text of a log that holds `op` alone, as one batch.
    pub fn one_batch(op: &Op) -> String {
        let record = encode(op);
        batch_header(1, record.as_bytes()) + &record
    }

    pub fn put(key: &str, value: &str) -> Op {
        Op::Put(key.to_string(), value.to_string())
    }

    /// Runs `body` while a syncer thread serves `wal`, as the store does.
    pub fn with_syncer<T>(wal: &Wal, body: impl FnOnce() -> T) -> T {
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

    // needs: exercise 7.3
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
        // A batch taken with nothing pending starts where the file ends
        // (as a rotation's `next` does after an empty last batch); were it
        // to fail, the cut must leave the synced batch whole.
        let mut log = wal.lock();
        assert!(log.take_batch().is_empty());
        wal.fail_batch(&mut log, "the disk is gone");
        drop(log);
        assert_eq!(fs::metadata(&path).unwrap().len(), synced);
        assert_eq!(after_header(&path), one_batch(&put("a", "1")));
    }
}
