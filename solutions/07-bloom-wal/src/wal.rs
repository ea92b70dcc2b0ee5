//! The write-ahead log: every write is on disk before the client hears 200.
//!
//! The idea: the memtable lives in memory, so until chapter 6 a crash lost
//! every write it held, although each had been acknowledged. Now every PUT,
//! DELETE and clear is first appended to a log file and synced to disk
//! (`fdatasync`), and only then acknowledged. At start, the store replays
//! the logs into a memtable: what was acknowledged is there again.
//!
//! Group commit: a sync takes a fraction of a millisecond whatever it
//! writes, so syncing once per write would cap the store at a few thousand
//! writes a second. Instead, writers append their records to a shared
//! buffer, and one of them, the *leader*, writes the whole buffer and syncs
//! once for all of them; the others wait for that sync. While the leader
//! syncs, new records pile up for the next leader. The more writers, the
//! more records each sync carries.
//!
//! Each memtable has its own log. Freezing a memtable starts a new log; the
//! old one is deleted once the table that holds its memtable is listed in the
//! manifest.
//!
// ANCHOR: format
//! ## The format
//!
//! `NNNNNN.wal`, one line per record, in the order the writes happened:
//!
//! ```text
//! record := crc " " body "\n"
//! crc    := 8 lowercase hex digits: the CRC-32 (IEEE) of body's bytes
//! body   := "put " key "→" value  |  "del " key  |  "clear"
//! ```
//!
//! Keys and values are escaped as in tables, so a record is one line.
//! Replaying applies the records in order to an empty memtable; `clear`
//! empties it, and also means that every table the manifest lists is older
//! than the clear and no longer counts.
//!
//! A record whose checksum does not match, or that does not parse, was torn
//! by a crash if it is the last line of the newest log: it was never
//! acknowledged, and it is dropped with a log line. Anywhere else it is
//! damage, and the store stops with the log's path and the line.
//!
//! Example:
//!
//! ```text
//! ebfc5233 put kenya:capital→Nairobi
//! b776b818 del tanzania:capital
//! ```
// ANCHOR_END: format
//!
//! Invariants:
//! - a write is acknowledged only after its record is synced;
//! - records are in the log in the order their writes reached the memtable;
//! - a log is deleted only after its memtable's table is in the manifest.
//!
//! Read alongside chapter 7 of the book, "Bloom filters and a write-ahead log".

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

use crate::memtable::{Entry, Memtable};
use crate::sstable::{escape, parse_line, unescape};
use crate::{Error, Result};

/// One write, as the log records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    Put(String, String),
    Delete(String),
    Clear,
}

/// The line that records `op`, checksum and newline included.
pub fn encode(op: &Op) -> String {
    let body = match op {
        Op::Put(key, value) => format!("put {}→{}", escape(key), escape(value)),
        Op::Delete(key) => format!("del {}", escape(key)),
        Op::Clear => "clear".to_string(),
    };
    format!("{:08x} {body}\n", crc32fast::hash(body.as_bytes()))
}

// ANCHOR: decode
/// Reads one record, without its newline. The error is why it is not one.
pub fn decode(line: &str) -> std::result::Result<Op, String> {
    // ANCHOR: exercise_7_2
    // Exercise 7.2: check the record's checksum, then read its operation
    let (crc, body) = line.split_once(' ').ok_or("no checksum")?;
    let expected = u32::from_str_radix(crc, 16).map_err(|_| format!("bad checksum {crc:?}"))?;
    if crc.len() != 8 || crc32fast::hash(body.as_bytes()) != expected {
        return Err("the checksum does not match".into());
    }
    if body == "clear" {
        Ok(Op::Clear)
    } else if let Some(key) = body.strip_prefix("del ") {
        Ok(Op::Delete(unescape(key)?))
    } else if let Some(pair) = body.strip_prefix("put ") {
        match parse_line(pair)? {
            (key, Entry::Value(value)) => Ok(Op::Put(key, value)),
            (_, Entry::Tombstone) => Err("a put of a tombstone".into()),
        }
    } else {
        Err(format!("unknown operation in {body:?}"))
    }
    // ANCHOR_END: exercise_7_2
}
// ANCHOR_END: decode

/// What replaying a log gave.
#[derive(Debug, Default)]
pub struct Replayed {
    /// How many records were applied.
    pub records: usize,
    /// Whether a `clear` was among them.
    pub cleared: bool,
}

// ANCHOR: replay
/// Applies the records of the log at `path` to `memtable`. `newest` says
/// whether this is the newest log, whose last record may be torn.
pub fn replay(path: &Path, newest: bool, memtable: &mut Memtable) -> Result<Replayed> {
    let bytes = fs::read(path).map_err(|source| Error::Io {
        action: "read",
        path: path.to_path_buf(),
        source,
    })?;
    let mut replayed = Replayed::default();
    let lines: Vec<&[u8]> = bytes.split_inclusive(|&byte| byte == b'\n').collect();
    for (at, line) in lines.iter().enumerate() {
        let record = line
            .strip_suffix(b"\n")
            .ok_or_else(|| "the line has no newline".to_string())
            .and_then(|line| std::str::from_utf8(line).map_err(|_| "not UTF-8".to_string()))
            .and_then(decode);
        let op = match record {
            Ok(op) => op,
            Err(reason) if newest && at + 1 == lines.len() => {
                tracing::warn!(
                    "{}:{}: dropping a torn last record ({reason})",
                    path.display(),
                    at + 1
                );
                break;
            }
            Err(reason) => {
                return Err(Error::Corrupt {
                    path: path.to_path_buf(),
                    line: at + 1,
                    reason,
                });
            }
        };
        match op {
            Op::Put(key, value) => memtable.put(&key, &value),
            Op::Delete(key) => memtable.delete(&key),
            Op::Clear => {
                *memtable = Memtable::new();
                replayed.cleared = true;
            }
        }
        replayed.records += 1;
    }
    Ok(replayed)
}
// ANCHOR_END: replay

// ANCHOR: wal_struct
/// The log of the active memtable, shared by every writer.
#[derive(Debug)]
pub struct Wal {
    log: Mutex<Log>,
    /// Signalled when a sync ends, for the writers that wait for it.
    synced: Condvar,
}

/// What the log's mutex guards.
#[derive(Debug)]
struct Log {
    /// Shared with the leader, which writes through it without the lock.
    file: Arc<File>,
    path: PathBuf,
    /// Records appended but not yet written to the file.
    pending: Vec<u8>,
    /// How many records have been appended, ever: the last ticket handed out.
    appended: u64,
    /// How many of them are synced to disk.
    durable: u64,
    /// Whether a leader is writing and syncing right now.
    syncing: bool,
    /// Why the log failed, if it did: every later wait answers with it.
    failure: Option<String>,
}
// ANCHOR_END: wal_struct

impl Wal {
    /// Starts a new, empty log at `path`.
    pub fn create(path: &Path) -> Result<Wal> {
        let log = Log {
            file: Arc::new(create_file(path)?),
            path: path.to_path_buf(),
            pending: Vec::new(),
            appended: 0,
            durable: 0,
            syncing: false,
            failure: None,
        };
        Ok(Wal {
            log: Mutex::new(log),
            synced: Condvar::new(),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Log> {
        // Nothing panics while holding this mutex.
        self.log.lock().expect("log lock poisoned")
    }

    /// Appends `op` to the log's buffer and returns its ticket, to pass to
    /// [`Wal::wait_durable`]. The caller holds the store's write lock, so the
    /// records are in the order the writes reach the memtable.
    pub fn append(&self, op: &Op) -> u64 {
        let mut log = self.lock();
        log.pending.extend_from_slice(encode(op).as_bytes());
        log.appended += 1;
        log.appended
    }

    // ANCHOR: wait_durable
    /// Returns once the record with `ticket` is synced to disk. The first
    /// waiter to find no sync under way becomes the leader: it writes every
    /// pending record and syncs once for all of them, without holding the
    /// lock, while later writers append and wait for the next sync.
    pub fn wait_durable(&self, ticket: u64) -> Result<()> {
        // ANCHOR: exercise_7_3
        // Exercise 7.3: wait while another thread syncs; otherwise lead: write and sync every pending record
        let mut log = self.lock();
        loop {
            if let Some(reason) = &log.failure {
                return Err(Error::LogFailed {
                    reason: reason.clone(),
                });
            }
            if log.durable >= ticket {
                return Ok(());
            }
            if log.syncing {
                log = self.synced.wait(log).expect("log lock poisoned");
                continue;
            }
            // Lead: take the batch, and sync it with the lock released.
            log.syncing = true;
            let batch = std::mem::take(&mut log.pending);
            let batch_end = log.appended;
            let (file, path) = (Arc::clone(&log.file), log.path.clone());
            drop(log);
            let written = (&*file).write_all(&batch).and_then(|()| file.sync_data());
            log = self.lock();
            log.syncing = false;
            match written {
                Ok(()) => log.durable = batch_end,
                Err(source) => {
                    let error = Error::Io {
                        action: "write and sync",
                        path,
                        source,
                    };
                    tracing::error!("the write-ahead log failed: {error}");
                    log.failure = Some(error.to_string());
                }
            }
            self.synced.notify_all();
        }
        // ANCHOR_END: exercise_7_3
    }
    // ANCHOR_END: wait_durable

    // ANCHOR: rotate
    /// Syncs every pending record to the current log, then starts a new log
    /// at `path` for the next memtable. Returns the old log's path. The
    /// caller holds the store's write lock, so nothing is appended meanwhile.
    pub fn rotate(&self, path: &Path) -> Result<PathBuf> {
        let mut log = self.lock();
        while log.syncing {
            log = self.synced.wait(log).expect("log lock poisoned");
        }
        if let Some(reason) = &log.failure {
            return Err(Error::LogFailed {
                reason: reason.clone(),
            });
        }
        let batch = std::mem::take(&mut log.pending);
        let io_error = |source| Error::Io {
            action: "write and sync",
            path: log.path.clone(),
            source,
        };
        let mut file = &*log.file;
        file.write_all(&batch)
            .and_then(|()| file.sync_data())
            .map_err(io_error)?;
        log.durable = log.appended;
        log.file = Arc::new(create_file(path)?);
        let old = std::mem::replace(&mut log.path, path.to_path_buf());
        self.synced.notify_all();
        Ok(old)
    }
    // ANCHOR_END: rotate
}

/// Creates an empty log file and makes its name durable.
fn create_file(path: &Path) -> Result<File> {
    let file = File::create(path).map_err(|source| Error::Io {
        action: "create",
        path: path.to_path_buf(),
        source,
    })?;
    crate::sstable::sync_directory(path.parent().unwrap_or(Path::new(".")))?;
    Ok(file)
}

#[cfg(test)]
mod tests {
    use std::thread;

    use super::*;

    fn put(key: &str, value: &str) -> Op {
        Op::Put(key.to_string(), value.to_string())
    }

    #[test]
    fn records_are_one_line_with_a_checksum() {
        let line = encode(&put("kenya:capital", "Nairobi"));
        assert_eq!(
            line,
            format!(
                "{:08x} put kenya:capital→Nairobi\n",
                crc32fast::hash("put kenya:capital→Nairobi".as_bytes())
            )
        );
        assert_eq!(encode(&put("a→b", "line\none")).lines().count(), 1);
        assert!(encode(&Op::Clear).ends_with(" clear\n"));
    }

    #[test]
    fn exercise_7_2_records_decode_to_their_operation() {
        for op in [
            put("kenya:capital", "Nairobi"),
            put("a→b\n", "†"),
            Op::Delete("x y".into()),
            Op::Clear,
        ] {
            let line = encode(&op);
            assert_eq!(decode(line.strip_suffix('\n').unwrap()), Ok(op));
        }
    }

    #[test]
    fn exercise_7_2_damaged_records_are_refused() {
        let good = encode(&put("kenya:capital", "Nairobi"));
        let good = good.strip_suffix('\n').unwrap();
        assert_eq!(
            decode(&good.replace("Nairobi", "Nairob1")),
            Err("the checksum does not match".into())
        );
        assert_eq!(
            decode("put kenya:capital→Nairobi"),
            Err("bad checksum \"put\"".into())
        );
        assert_eq!(
            decode(&good[..good.len() - 3]),
            Err("the checksum does not match".into())
        );
        assert_eq!(decode("nochecksum"), Err("no checksum".into()));
        let unknown = format!("{:08x} get k", crc32fast::hash(b"get k"));
        assert_eq!(
            decode(&unknown),
            Err("unknown operation in \"get k\"".into())
        );
    }

    #[test]
    fn exercise_7_2_replay_applies_records_and_drops_a_torn_tail() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("000001.wal");
        let mut text = [put("a", "1"), put("b", "2"), Op::Delete("a".into())]
            .map(|op| encode(&op))
            .concat();
        text.push_str(&encode(&put("c", "3"))[..7]);
        fs::write(&path, &text).unwrap();
        let mut memtable = Memtable::new();
        let replayed = replay(&path, true, &mut memtable).unwrap();
        assert_eq!(replayed.records, 3);
        assert_eq!(memtable.get("a"), Some(&Entry::Tombstone));
        assert_eq!(memtable.get("b"), Some(&Entry::Value("2".into())));
        assert_eq!(memtable.get("c"), None, "the torn record is dropped");
        // In an older log, or before the end, the same damage stops the store.
        let error = replay(&path, false, &mut Memtable::new())
            .unwrap_err()
            .to_string();
        assert!(error.contains("000001.wal:4: "), "{error}");
        fs::write(
            &path,
            format!(
                "{}garbage\n{}",
                encode(&put("a", "1")),
                encode(&put("b", "2"))
            ),
        )
        .unwrap();
        let error = replay(&path, true, &mut Memtable::new())
            .unwrap_err()
            .to_string();
        assert!(error.contains("000001.wal:2: "), "{error}");
    }

    #[test]
    fn exercise_7_3_an_acknowledged_record_is_in_the_file() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("000001.wal");
        let wal = Wal::create(&path).unwrap();
        let ticket = wal.append(&put("kenya:capital", "Nairobi"));
        wal.wait_durable(ticket).unwrap();
        assert_eq!(
            fs::read_to_string(&path).unwrap(),
            encode(&put("kenya:capital", "Nairobi"))
        );
        // An old ticket is already durable.
        wal.wait_durable(ticket).unwrap();
    }

    #[test]
    fn exercise_7_3_concurrent_writers_are_all_made_durable() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("000001.wal");
        let wal = Arc::new(Wal::create(&path).unwrap());
        let writers: Vec<_> = (0..8)
            .map(|writer| {
                let wal = Arc::clone(&wal);
                thread::spawn(move || {
                    for n in 0..50 {
                        let ticket = wal.append(&put(&format!("w{writer}-{n}"), "v"));
                        wal.wait_durable(ticket).unwrap();
                    }
                })
            })
            .collect();
        for writer in writers {
            writer.join().unwrap();
        }
        let mut memtable = Memtable::new();
        assert_eq!(replay(&path, true, &mut memtable).unwrap().records, 400);
    }

    #[test]
    fn rotation_syncs_the_old_log_and_starts_a_new_one() {
        let directory = tempfile::tempdir().unwrap();
        let (first, second) = (
            directory.path().join("000001.wal"),
            directory.path().join("000002.wal"),
        );
        let wal = Wal::create(&first).unwrap();
        wal.append(&put("a", "1"));
        assert_eq!(wal.rotate(&second).unwrap(), first);
        assert_eq!(fs::read_to_string(&first).unwrap(), encode(&put("a", "1")));
        assert_eq!(fs::read_to_string(&second).unwrap(), "");
        let ticket = wal.append(&put("b", "2"));
        wal.wait_durable(ticket).unwrap();
        assert_eq!(fs::read_to_string(&second).unwrap(), encode(&put("b", "2")));
    }
}
