//! A failing disk never makes the store lie: faults are injected into the
//! real server's system calls, and what it answered, what it serves and
//! what a restart recovers must agree (step 07; the cleanup of a clear and
//! of a merge in steps 05 and 06 too).
//!
//! `strace --inject` makes one system call on one file fail, the way a
//! failing disk would: the log's `fdatasync` returns EIO, its `write` ENOSPC
//! (a full disk), creating the next log EMFILE (too many open files), a
//! table's `fsync` EIO during a flush or a merge, removing a table EIO
//! after a clear or a merge. Each case writes through the fault, then checks:
//!
//! - every answer is `200`, or a `5xx` with a one-line reason;
//! - every GET answers what the `200`s left (a refused write is never
//!   seen), or, once the log has failed, refuses to answer;
//! - after a restart without the fault, the store holds exactly what the
//!   `200`s left: nothing acknowledged is lost, nothing refused comes back.
//!
//! It needs `strace` (`apt-get install strace`); where strace is missing
//! the tests say so and stop, unless `LITTLE_KV_REQUIRE_STRACE` is set.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;

use cross_step_tests::client::{Response, kv_path, send};
use cross_step_tests::server::Server;
use cross_step_tests::strace;

/// How many keys the cases write, round-robin.
const KEYS: usize = 6;

/// One injected fault.
struct Fault {
    /// The file it hits, inside the working directory.
    file: &'static str,
    syscall: &'static str,
    /// strace's name of the error: `EIO`, `ENOSPC`, `EMFILE`.
    error: &'static str,
    /// Which of the calls on that file fails first (every later one fails
    /// too). strace counts the calls of each thread apart: where several
    /// threads make the call (step 07's log is synced by the syncer, or by
    /// a writer that leads), the first to fail is some thread's `from_call`th.
    from_call: u32,
}

impl Fault {
    /// The strace command that runs the server with this fault.
    fn wrapper(&self, data: &Path) -> Vec<String> {
        [
            "strace",
            "-f",
            "-qq",
            "-o",
            "/dev/null",
            "-P",
            &data.join(self.file).display().to_string(),
            "-e",
            &format!("trace={}", self.syscall),
            "-e",
            &format!(
                "inject={}:error={}:when={}+",
                self.syscall, self.error, self.from_call
            ),
            "--",
        ]
        .iter()
        .map(|arg| arg.to_string())
        .collect()
    }
}

/// What the clients did, and what the answers promise.
#[derive(Default)]
struct Answers {
    /// What each key holds according to the `200`s (absent: `None`).
    acknowledged: BTreeMap<String, Option<String>>,
    /// How many writes were refused.
    refused: usize,
    /// Each PUT's outcome, in order: `true` for a 200.
    puts: Vec<bool>,
}

impl Answers {
    fn new() -> Answers {
        let acknowledged = (0..KEYS).map(|k| (format!("key-{k}"), None)).collect();
        Answers {
            acknowledged,
            refused: 0,
            puts: Vec::new(),
        }
    }

    /// Checks an answer's form and counts it: `true` if it was a 200.
    fn answered(&mut self, what: &str, response: &Response) -> bool {
        if response.status == 200 {
            return true;
        }
        let reason = response.text();
        assert!(
            (500..600).contains(&response.status)
                && reason.trim_end().lines().count() == 1
                && !reason.trim().is_empty(),
            "{what}: expected 200 or a 5xx with a one-line reason, got {} {reason:?}",
            response.status
        );
        self.refused += 1;
        false
    }

    /// PUTs `writes` values, round-robin over the keys, numbered from
    /// `first`.
    async fn put(&mut self, addr: SocketAddr, first: usize, writes: usize) {
        for n in first..first + writes {
            let key = format!("key-{}", n % KEYS);
            let value = format!("value {n} {}", "x".repeat(20));
            let response = send(addr, "PUT", &kv_path(&key), value.as_bytes())
                .await
                .expect("PUT");
            let accepted = self.answered(&format!("PUT {key}"), &response);
            self.puts.push(accepted);
            if accepted {
                self.acknowledged.insert(key, Some(value));
            }
        }
    }

    async fn clear(&mut self, addr: SocketAddr) {
        let response = send(addr, "DELETE", "/clear", b"").await.expect("clear");
        if self.answered("clear", &response) {
            for value in self.acknowledged.values_mut() {
                *value = None;
            }
        }
    }

    /// PUTs values, as [`Answers::put`] does, until one is refused (at most
    /// `most`), then `after` more: for a fault whose first failing call
    /// cannot be told in advance (strace counts each thread's calls apart).
    async fn put_until_refused(&mut self, addr: SocketAddr, most: usize, after: usize) {
        for n in 0..most {
            self.put(addr, n, 1).await;
            if self.refused > 0 {
                self.put(addr, n + 1, after).await;
                return;
            }
        }
    }

    /// Checks that the PUTs were answered 200 up to one that failed, and
    /// refused from there on: a failed log refuses every later write.
    fn refused_from_one_on(&self, what: &str) {
        let first = self.puts.iter().position(|accepted| !accepted);
        let first = first.unwrap_or_else(|| panic!("{what}: no write was refused"));
        assert!(first > 0, "{what}: the first write was refused already");
        assert!(
            self.puts[first..].iter().all(|accepted| !accepted),
            "{what}: a write was answered 200 after one was refused: {:?}",
            self.puts
        );
    }

    /// Every GET answers what the 200s left, or (where `may_refuse`) a 5xx
    /// with a one-line reason; never a refused write.
    async fn check_served(&self, addr: SocketAddr, may_refuse: bool, when: &str) {
        for (key, expected) in &self.acknowledged {
            let response = send(addr, "GET", &kv_path(key), b"").await.expect("GET");
            let served = match response.status {
                200 => Some(response.text()),
                404 => None,
                status if may_refuse && (500..600).contains(&status) => continue,
                status => panic!("{when}: GET {key} answered {status} {:?}", response.text()),
            };
            assert_eq!(
                &served, expected,
                "{when}: GET {key} must answer what the 200s left"
            );
        }
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Runtime::new().expect("a tokio runtime")
}

/// Runs `scenario` against step 07's server under `fault`, stops it with
/// SIGKILL, restarts it without the fault, and checks that it recovers
/// exactly what was acknowledged.
fn with_fault(
    test: &str,
    fault: Fault,
    args: &[&str],
    scenario: impl AsyncFnOnce(&Server, &mut Answers),
) {
    let binary = env!("CARGO_BIN_EXE_serve-solution-07");
    with_fault_in(test, binary, libc::SIGKILL, fault, args, scenario);
}

/// [`with_fault`] for any step's `binary`, stopped with `stop`: before step
/// 07 only a flushed write is durable, so those steps are stopped with
/// SIGTERM, which flushes.
fn with_fault_in(
    test: &str,
    binary: &str,
    stop: libc::c_int,
    fault: Fault,
    args: &[&str],
    scenario: impl AsyncFnOnce(&Server, &mut Answers),
) {
    if !strace::available_or_skip(test) {
        return;
    }
    let directory = tempfile::tempdir().expect("a temporary directory");
    let data = directory.path().join("data");
    let runtime = runtime();
    let mut answers = Answers::new();
    let server = Server::start_under(&fault.wrapper(&data), binary, &data, args);
    runtime.block_on(scenario(&server, &mut answers));
    let (_, log) = server.stop_with(stop);
    let restarted = Server::start(binary, &data, args);
    runtime.block_on(answers.check_served(restarted.addr, false, "after a restart"));
    drop(restarted);
    eprintln!(
        "{test}: {} writes refused; the server's log:\n{log}",
        answers.refused
    );
}

#[test]
fn solution_07_a_log_sync_that_fails_refuses_the_write_and_hides_it() {
    let fault = Fault {
        file: "000001.wal",
        syscall: "fdatasync",
        error: "EIO",
        from_call: 4,
    };
    with_fault(
        "solution_07_a_log_sync_that_fails_refuses_the_write_and_hides_it",
        fault,
        &[],
        async |server: &Server, answers: &mut Answers| {
            answers.put_until_refused(server.addr, 200, 3).await;
            answers.refused_from_one_on("the 4th sync (of a thread) fails, and every write after");
            answers
                .check_served(server.addr, true, "after the failed sync")
                .await;
        },
    );
}

#[test]
fn solution_07_a_full_disk_under_the_log_refuses_the_write_and_hides_it() {
    let fault = Fault {
        file: "000001.wal",
        syscall: "write",
        error: "ENOSPC",
        from_call: 3,
    };
    with_fault(
        "solution_07_a_full_disk_under_the_log_refuses_the_write_and_hides_it",
        fault,
        &[],
        async |server: &Server, answers: &mut Answers| {
            answers.put_until_refused(server.addr, 200, 3).await;
            answers.refused_from_one_on("the 3rd write (of a thread) fails, and every write after");
            answers
                .check_served(server.addr, true, "after the full disk")
                .await;
        },
    );
}

#[test]
fn solution_07_a_next_log_that_cannot_be_made_keeps_every_acknowledged_write() {
    // Too many open files when the memtable is frozen and its next log is
    // created: every record so far is synced, later writes are refused,
    // and reads go on, since nothing unsynced is in memory.
    let fault = Fault {
        file: "000002.wal",
        syscall: "openat",
        error: "EMFILE",
        from_call: 1,
    };
    with_fault(
        "solution_07_a_next_log_that_cannot_be_made_keeps_every_acknowledged_write",
        fault,
        &["--memtable-bytes=200"],
        async |server: &Server, answers: &mut Answers| {
            answers.put(server.addr, 0, 20).await;
            assert!(answers.refused > 0, "the rotation's failure refuses writes");
            answers
                .check_served(server.addr, false, "after the failed rotation")
                .await;
        },
    );
}

/// A table whose sync fails: the shaker stops, writes are refused, reads go
/// on, and a restart replays the logs the table would have replaced.
fn a_table_that_cannot_be_synced(test: &str, file: &'static str, args: &[&str]) {
    let fault = Fault {
        file,
        syscall: "fsync",
        error: "EIO",
        from_call: 1,
    };
    with_fault(
        test,
        fault,
        args,
        async |server: &Server, answers: &mut Answers| {
            // Enough for three memtables of 200 bytes.
            answers.put(server.addr, 0, 24).await;
            server.wait_for_log("the tree shaker stopped");
            answers.put(server.addr, 24, 4).await;
            assert!(
                answers.refused >= 4,
                "writes are refused once the shaker stopped"
            );
            answers
                .check_served(server.addr, false, "after the failed table")
                .await;
        },
    );
}

#[test]
fn solution_07_a_flush_that_fails_loses_nothing_acknowledged() {
    a_table_that_cannot_be_synced(
        "solution_07_a_flush_that_fails_loses_nothing_acknowledged",
        "000001.sst.tmp",
        &["--memtable-bytes=200"],
    );
}

#[test]
fn solution_07_a_merge_that_fails_loses_nothing_acknowledged() {
    // Two flushes (tables 1 and 2), then a merge into table 3.
    a_table_that_cannot_be_synced(
        "solution_07_a_merge_that_fails_loses_nothing_acknowledged",
        "000003.sst.tmp",
        &["--memtable-bytes=200", "--compaction-threshold=2"],
    );
}

/// Runs `scenario` against `binary` while every removal of table 1 fails
/// with EIO, the cleanup a clear or a merge does once it is durable.
fn when_table_1_cannot_be_removed(
    test: &str,
    binary: &str,
    stop: libc::c_int,
    args: &[&str],
    scenario: impl AsyncFnOnce(&Server, &mut Answers),
) {
    let fault = Fault {
        file: "000001.sst",
        syscall: "unlink",
        error: "EIO",
        from_call: 1,
    };
    with_fault_in(test, binary, stop, fault, args, scenario);
}

/// A clear whose removal of a table fails: the clear is durable once the
/// empty manifest is written (in step 07, once its log record is synced),
/// so it answers 200, and the file is left for the next start.
fn a_clear_whose_cleanup_fails_is_still_done(test: &str, binary: &str, stop: libc::c_int) {
    when_table_1_cannot_be_removed(
        test,
        binary,
        stop,
        &["--memtable-bytes=200", "--compaction-threshold=100"],
        async |server: &Server, answers: &mut Answers| {
            answers.put(server.addr, 0, 16).await;
            server.wait_for_log("000001.sst");
            answers.clear(server.addr).await;
            assert_eq!(answers.refused, 0, "the clear is durable: 200");
            server.wait_for_log("clear: ");
            answers
                .check_served(server.addr, false, "after the clear")
                .await;
            answers.put(server.addr, 16, 3).await;
            assert_eq!(answers.refused, 0, "a failed cleanup stops nothing");
        },
    );
}

#[test]
fn solution_07_a_clear_whose_cleanup_fails_is_still_done() {
    a_clear_whose_cleanup_fails_is_still_done(
        "solution_07_a_clear_whose_cleanup_fails_is_still_done",
        env!("CARGO_BIN_EXE_serve-solution-07"),
        libc::SIGKILL,
    );
}

#[test]
fn solution_05_a_clear_whose_cleanup_fails_is_still_done() {
    a_clear_whose_cleanup_fails_is_still_done(
        "solution_05_a_clear_whose_cleanup_fails_is_still_done",
        env!("CARGO_BIN_EXE_serve-solution-05"),
        libc::SIGTERM,
    );
}

#[test]
fn solution_06_a_clear_whose_cleanup_fails_is_still_done() {
    a_clear_whose_cleanup_fails_is_still_done(
        "solution_06_a_clear_whose_cleanup_fails_is_still_done",
        env!("CARGO_BIN_EXE_serve-solution-06"),
        libc::SIGTERM,
    );
}

/// A merge whose removal of an input table fails: the merge is durable once
/// the manifest names its output, so the failure is logged, the file is
/// left for the next start, and the store goes on taking writes.
fn a_merge_whose_cleanup_fails_is_still_done(test: &str, binary: &str, stop: libc::c_int) {
    when_table_1_cannot_be_removed(
        test,
        binary,
        stop,
        // Two flushes (tables 1 and 2), then a merge into table 3.
        &["--memtable-bytes=200", "--compaction-threshold=2"],
        async |server: &Server, answers: &mut Answers| {
            // Enough for the two flushes (each memtable holds every key).
            answers.put(server.addr, 0, 30).await;
            server.wait_for_log("merge: ");
            answers.put(server.addr, 30, 8).await;
            assert_eq!(answers.refused, 0, "a failed cleanup stops nothing");
            answers
                .check_served(server.addr, false, "after the merge")
                .await;
        },
    );
}

#[test]
fn solution_05_a_merge_whose_cleanup_fails_is_still_done() {
    a_merge_whose_cleanup_fails_is_still_done(
        "solution_05_a_merge_whose_cleanup_fails_is_still_done",
        env!("CARGO_BIN_EXE_serve-solution-05"),
        libc::SIGTERM,
    );
}

#[test]
fn solution_06_a_merge_whose_cleanup_fails_is_still_done() {
    a_merge_whose_cleanup_fails_is_still_done(
        "solution_06_a_merge_whose_cleanup_fails_is_still_done",
        env!("CARGO_BIN_EXE_serve-solution-06"),
        libc::SIGTERM,
    );
}

#[test]
fn solution_07_a_merge_whose_cleanup_fails_is_still_done() {
    a_merge_whose_cleanup_fails_is_still_done(
        "solution_07_a_merge_whose_cleanup_fails_is_still_done",
        env!("CARGO_BIN_EXE_serve-solution-07"),
        libc::SIGKILL,
    );
}
