//! The write-ahead log: every write is on disk before the client hears 200.
//!
//! The idea: the memtable lives in memory, and a crash would lose every
//! write it held, although each had been acknowledged. So every PUT,
//! DELETE and clear is first appended to a log file and synced to disk
//! (`fdatasync`), and only then acknowledged. At start, the store replays
//! the logs into a memtable: what was acknowledged is there again.
//!
//! This file is the log and its file: [`Wal::append`] adds a record to the
//! records pending, a batch ends (synced, or failed and cut off the file)
//! in `finish_batch`, and [`Wal::rotate`] moves on to a new file. Who
//! syncs the pending records, and how the writers wait for that sync, is
//! the group commit, in `group_commit.rs`: it uses the fields and methods
//! of [`Wal`] and `Log` marked `pub(crate)`, which no other file touches.
//! The records' format is in `log_record.rs`, and the replay of a log at
//! start in `replay.rs`.
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
//!   created fails the log too, after syncing every record so far;
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

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};

use tokio::sync::watch;

use crate::log_record::{LogHeader, Op, batch_header, encode};
use crate::{Error, Result};

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
    /// How long each new log file is made up front (see [`create_file`]).
    preallocated: u64,
}

/// What the log's mutex guards.
#[derive(Debug)]
pub(crate) struct Log {
    /// Shared with the syncer, which writes through it without the lock.
    pub(crate) file: Arc<File>,
    path: PathBuf,
    /// Records appended but not yet written to the file.
    pub(crate) pending: Vec<u8>,
    /// How many records have been appended, ever: the last ticket handed out.
    pub(crate) appended: u64,
    /// How many bytes the current log file holds, its pending records
    /// included: the store starts a new log when this grows too big.
    bytes: u64,
    /// How long the file was before the batch being written: where a batch
    /// that fails is cut off, so that a restart does not replay writes that
    /// were refused.
    batch_start: u64,
    /// How many of them are synced to disk.
    pub(crate) durable: u64,
    /// How many syncs made them durable: with many writers, far fewer than
    /// records.
    syncs: u64,
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

impl Log {
    /// Takes every pending record as one batch, its header first (see
    /// `log_record.rs`), and counts the header in the log's size. Empty if
    /// nothing is pending. Only one batch is written at a time (the syncer,
    /// or `rotate` once the syncer is done), so the pending records are the
    /// ones appended since the last batch.
    pub(crate) fn take_batch(&mut self) -> Vec<u8> {
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
    /// the file the batch went to: [`Wal::sync_batch`] marks the log as
    /// syncing while it writes without the lock, and `rotate` waits for it.
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
        if !log.pending.is_empty() || log.closing {
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
        self.sync_ended.notify_all();
        let now = (log.durable, log.failure.clone());
        self.durable_news.send_modify(|state| *state = now);
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
                .sync_ended
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

    #[ignore = "needs exercise 7.3 (book chapter 7): `cargo xtask check 07` runs it"]
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

    #[ignore = "needs exercise 7.3 (book chapter 7): `cargo xtask check 07` runs it"]
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
