//! From step 07 on, an acknowledged write survives the crash of the
//! process, `kill -9` included: clients write and delete at once while the
//! server is killed at random moments, and after every restart each key
//! holds what its last acknowledged operation left, or what an operation in
//! flight at the kill would have left (wholly, never half). Two workloads:
//! a few clients with small values and small memtables (flushes, merges and
//! log rotations all the time), and 64 clients with values up to 64 KiB
//! (group commits of many pages).
//!
//! A killed process leaves the page cache behind, so these tests cannot see
//! what a power cut does (unsynced writes lost or torn): the tests of torn
//! logs below, and those in `replay.rs`, build such files by hand.
//!
//! Every other kill is followed by a start killed during its recovery, and
//! a test of its own kills clears halfway.
//!
//! The number of kills is 20 by default; `DURABILITY_KILLS=200` runs more.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use std::fs;
use std::path::{Path, PathBuf};

use cross_step_tests::client::{kv_path, send};
use cross_step_tests::random::Xorshift;
use cross_step_tests::server::Server;
use cross_step_tests::stores::Harness;

const KEYS_PER_CLIENT: usize = 10;

/// A kill -9 workload: how many clients write at once, and how long their
/// values get.
#[derive(Clone, Copy)]
struct Workload {
    clients: usize,
    /// Each value is padded with up to this many bytes.
    max_padding: u64,
    /// The server's flags.
    args: &'static [&'static str],
}

/// What a key may hold after a kill: `None` is "absent".
#[derive(Debug, Clone, Default)]
struct KeyState {
    /// What its last acknowledged operation left.
    acknowledged: Option<String>,
    /// What the operation in flight at the kill would leave, if there was one.
    in_flight: Option<Option<String>>,
}

/// One client's loop: PUTs and DELETEs on its own keys until the server
/// dies. Returns the state of each of its keys.
async fn client(
    addr: SocketAddr,
    id: usize,
    mut keys: BTreeMap<String, KeyState>,
    seed: u64,
    max_padding: u64,
) -> BTreeMap<String, KeyState> {
    let mut random = Xorshift(seed | 1);
    for round in 0.. {
        let key = format!("client-{id}:key-{}", random.below(KEYS_PER_CLIENT as u64));
        let (method, body, leaves) = if random.below(4) == 0 {
            ("DELETE", String::new(), None)
        } else {
            let padding = "x".repeat(random.below(max_padding + 1) as usize);
            let value = format!("value {round} of client {id} {padding}");
            ("PUT", value.clone(), Some(value))
        };
        match send(addr, method, &kv_path(&key), body.as_bytes()).await {
            Ok(response) if response.status == 200 => {
                let state = keys.entry(key).or_default();
                state.acknowledged = leaves;
            }
            // The server died before answering: the operation may or may not
            // have happened.
            _ => {
                keys.entry(key).or_default().in_flight = Some(leaves);
                return keys;
            }
        }
    }
    unreachable!("the loop ends when the server dies")
}

#[test]
fn solution_07_acknowledged_writes_survive_kill_9() {
    // Small memtables, so that flushes, merges and log rotations happen too.
    acknowledged_writes_survive_kill_9(Workload {
        clients: 8,
        max_padding: 0,
        args: &["--memtable-bytes=2000", "--compaction-threshold=3"],
    });
}

/// Many writers with values up to 64 KiB: each group commit spans many
/// pages, so a kill often lands in the middle of a multi-page batch.
#[test]
fn solution_07_multi_page_batches_survive_kill_9() {
    acknowledged_writes_survive_kill_9(Workload {
        clients: 64,
        max_padding: 64 * 1024,
        args: &["--memtable-bytes=1000000", "--compaction-threshold=3"],
    });
}

fn acknowledged_writes_survive_kill_9(workload: Workload) {
    let kills: usize = std::env::var("DURABILITY_KILLS")
        .ok()
        .and_then(|text| text.parse().ok())
        .unwrap_or(20);
    let binary = env!("CARGO_BIN_EXE_serve-solution-07");
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let directory = tempfile::tempdir().unwrap();
    let args = workload.args;
    let mut states: Vec<BTreeMap<String, KeyState>> = vec![BTreeMap::new(); workload.clients];
    let mut random = Xorshift(0xdead_beef);
    for kill in 0..kills {
        let server = Server::start(binary, directory.path(), args);
        let addr = server.addr;
        let tasks: Vec<_> = (0..workload.clients)
            .map(|id| {
                runtime.spawn(client(
                    addr,
                    id,
                    std::mem::take(&mut states[id]),
                    random.below(u64::MAX),
                    workload.max_padding,
                ))
            })
            .collect();
        std::thread::sleep(Duration::from_millis(20 + random.below(150)));
        let (_, log) = server.stop_with(libc::SIGKILL);
        for (id, task) in tasks.into_iter().enumerate() {
            states[id] = runtime.block_on(task).expect("a client panicked");
        }
        // Every other round, a start killed at a random moment of its
        // recovery (replaying the logs, writing their table, removing
        // them: all before it listens) must lose nothing either.
        if kill % 2 == 1 {
            kill_during_recovery(binary, directory.path(), args, random.below(40));
        }
        // Restart and check every key the clients touched.
        let server = Server::start(binary, directory.path(), args);
        for keys in &mut states {
            for (key, state) in keys.iter_mut() {
                let response = runtime
                    .block_on(send(server.addr, "GET", &kv_path(key), b""))
                    .unwrap();
                let found = (response.status == 200).then(|| response.text());
                let allowed =
                    found == state.acknowledged || state.in_flight.as_ref() == Some(&found);
                assert!(
                    allowed,
                    "kill {kill}: {key} holds {found:?}, but its last acknowledged operation left {:?} \
                     (in flight: {:?})\n{log}",
                    state.acknowledged, state.in_flight
                );
                // From here on, what the store holds is what was acknowledged.
                *state = KeyState {
                    acknowledged: found,
                    in_flight: None,
                };
            }
        }
        server.stop_with(libc::SIGKILL);
    }
}

/// Starts the server on `directory` and kills it `after_ms` milliseconds
/// later, most often before it listens: in the middle of its recovery.
fn kill_during_recovery(binary: &str, directory: &Path, args: &[&str], after_ms: u64) {
    let mut child = std::process::Command::new(binary)
        .arg("--port=0")
        .arg("--working-dir")
        .arg(directory)
        .args(args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start the server");
    std::thread::sleep(Duration::from_millis(after_ms));
    let _ = child.kill();
    let _ = child.wait();
}

/// A clear killed at any moment is all or nothing: after a restart, every
/// key written before it is there (the clear never became durable) or none
/// is; and none is if the clear was answered 200.
#[test]
fn solution_07_a_clear_killed_halfway_is_all_or_nothing() {
    let binary = env!("CARGO_BIN_EXE_serve-solution-07");
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let mut random = Xorshift(0x5eed_c1ea);
    // Small memtables and no merges: many tables for the clear to remove.
    let args = ["--memtable-bytes=300", "--compaction-threshold=1000"];
    for round in 0..8 {
        let directory = tempfile::tempdir().unwrap();
        let server = Server::start(binary, directory.path(), &args);
        let keys: Vec<String> = (0..60).map(|n| format!("key-{n}")).collect();
        for key in &keys {
            let response = runtime
                .block_on(send(
                    server.addr,
                    "PUT",
                    &kv_path(key),
                    b"a value of some length",
                ))
                .unwrap();
            assert_eq!(response.status, 200);
        }
        let addr = server.addr;
        let clear = runtime.spawn(async move { send(addr, "DELETE", "/clear", b"").await });
        std::thread::sleep(Duration::from_micros(random.below(4000)));
        let (_, log) = server.stop_with(libc::SIGKILL);
        let cleared =
            matches!(runtime.block_on(clear).unwrap(), Ok(response) if response.status == 200);
        let server = Server::start(binary, directory.path(), &args);
        let present = keys
            .iter()
            .filter(|key| {
                let response = runtime
                    .block_on(send(server.addr, "GET", &kv_path(key), b""))
                    .unwrap();
                response.status == 200
            })
            .count();
        assert!(
            present == 0 || (present == keys.len() && !cleared),
            "round {round}: {present} of {} keys after a clear killed halfway \
             (answered 200: {cleared})\n{log}",
            keys.len()
        );
    }
}

/// The write-ahead logs in `directory`.
fn logs(directory: &Path) -> Vec<PathBuf> {
    let mut logs: Vec<PathBuf> = fs::read_dir(directory)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|extension| extension == "wal"))
        .collect();
    logs.sort();
    logs
}

/// The records of the log at `path`: its bytes up to the last that is not
/// zero (the file is made longer up front, see `wal.rs`).
fn written(path: &Path) -> Vec<u8> {
    let mut bytes = fs::read(path).unwrap();
    let end = bytes
        .iter()
        .rposition(|&byte| byte != 0)
        .map_or(0, |at| at + 1);
    bytes.truncate(end);
    bytes
}

/// The memtable of the log tests: far above what they write, so nothing is
/// flushed, and small, so that each log is made 256 KiB long (4 times the
/// memtable) rather than 64 MiB: a start reads a log's zeros from its end.
const LOG_TEST_MEMTABLE_BYTES: usize = 64 << 10;

/// Writes a few operations and drops the store without a flush, as a crash
/// would: returns the directory, the log, and the state after each record.
fn crashed_store<S: Harness>() -> (tempfile::TempDir, PathBuf, Vec<Vec<(String, String)>>) {
    let directory = tempfile::tempdir().unwrap();
    let store = S::try_open(directory.path(), LOG_TEST_MEMTABLE_BYTES).unwrap();
    let mut model = BTreeMap::new();
    let mut states = vec![Vec::new()];
    let ops: [(&str, Option<&str>); 6] = [
        ("kenya:capital", Some("Nairobi")),
        ("tanzania:capital", Some("Dar es Salaam")),
        ("a→b", Some("line one\nline two")),
        ("tanzania:capital", Some("Dodoma")),
        ("kenya:capital", None),
        ("cross", Some("†")),
    ];
    for (key, value) in ops {
        match value {
            Some(value) => {
                store.set(key, value);
                model.insert(key.to_string(), value.to_string());
            }
            None => {
                store.delete(key);
                model.remove(key);
            }
        }
        states.push(model.clone().into_iter().collect());
    }
    drop(store);
    let log = logs(directory.path()).pop().expect("a log");
    (directory, log, states)
}

/// A log torn at any byte after its header is replayed up to its last
/// whole batch: a torn batch at the end was never acknowledged, and is
/// dropped. Torn as a power cut tears a log: the file keeps the length it
/// was made with, and the bytes that never reached the disk read as zeros.
/// (The header is synced when the log is made, before any write.)
fn a_log_cut_at_any_byte_replays_a_prefix<S: Harness>() {
    let (directory, log, states) = crashed_store::<S>();
    let made = fs::metadata(&log).unwrap().len();
    let text = written(&log);
    let header = text.iter().position(|&byte| byte == b'\n').unwrap() + 1;
    for cut in header..=text.len() {
        let copy = tempfile::tempdir().unwrap();
        for entry in fs::read_dir(directory.path()).unwrap() {
            let path = entry.unwrap().path();
            if path != log {
                fs::copy(&path, copy.path().join(path.file_name().unwrap())).unwrap();
            }
        }
        // The bytes up to the cut, then zeros to the length it was made
        // (a sparse file: the log may be made many MiB long).
        let torn = copy.path().join(log.file_name().unwrap());
        fs::write(&torn, &text[..cut]).unwrap();
        fs::File::options()
            .write(true)
            .open(&torn)
            .and_then(|file| file.set_len(made))
            .unwrap();
        let store = S::try_open(copy.path(), LOG_TEST_MEMTABLE_BYTES)
            .unwrap_or_else(|error| panic!("cut at {cut}: {error}"));
        // Each write waited for its sync, so each batch is a header line
        // and one record: whole batches are whole pairs of lines.
        let lines = text[header..cut]
            .iter()
            .filter(|&&byte| byte == b'\n')
            .count();
        assert_eq!(
            store.scan().unwrap(),
            states[lines / 2],
            "cut at byte {cut}"
        );
    }
}

#[test]
fn solution_07_a_log_cut_at_any_byte_replays_a_prefix() {
    a_log_cut_at_any_byte_replays_a_prefix::<solution_07::Store>();
}

/// A damaged record before the end of the log is not a torn write: the
/// store refuses to start, naming the log and the line.
fn damage_before_the_log_tail_stops_the_store<S: Harness>() {
    let (directory, log, _) = crashed_store::<S>();
    // A letter changed in place: the file keeps its length.
    let mut bytes = fs::read(&log).unwrap();
    let at = bytes
        .windows(7)
        .position(|word| word == b"Nairobi")
        .unwrap();
    bytes[at + 6] = b'j';
    fs::write(&log, bytes).unwrap();
    let message = S::try_open(directory.path(), LOG_TEST_MEMTABLE_BYTES)
        .err()
        .expect("the store must refuse to start");
    // The first batch (its header is line 2, after the log's own) is
    // broken, and whole ones follow.
    let expected = format!("{}:2: the checksum does not match", log.display());
    assert_eq!(message, expected);
}

#[test]
fn solution_07_damage_before_the_log_tail_stops_the_store() {
    damage_before_the_log_tail_stops_the_store::<solution_07::Store>();
}

/// A missing or damaged bloom filter is rebuilt from its table.
fn damaged_filters_are_rebuilt<S: Harness>() {
    let directory = tempfile::tempdir().unwrap();
    let store = S::try_open(directory.path(), usize::MAX).unwrap();
    for n in 0..100 {
        store.set(&format!("key-{n:03}"), "value");
    }
    store.flush();
    drop(store);
    let filter_path = directory.path().join("000001.bloom");
    let filter = fs::read_to_string(&filter_path).unwrap();
    // The filter's bits all cleared, its header lines kept: it would say
    // "not here" for every key, and only its checksum tells.
    let zeroed: String = filter
        .lines()
        .enumerate()
        .map(|(at, line)| match at {
            0 | 1 => format!("{line}\n"),
            _ => format!("{}\n", "0".repeat(line.len())),
        })
        .collect();
    for damage in [
        "",
        "bits=64 hashes=7\n",
        "bits=128 hashes=7 keys=100\nzzzz\n",
        zeroed.as_str(),
    ] {
        fs::write(&filter_path, damage).unwrap();
        let store = S::try_open(directory.path(), usize::MAX).unwrap();
        assert_eq!(
            store.get("key-042").as_deref(),
            Some("value"),
            "with filter {damage:?}"
        );
        drop(store);
        assert_eq!(
            fs::read_to_string(&filter_path).unwrap(),
            filter,
            "rebuilt from {damage:?}"
        );
    }
    fs::remove_file(&filter_path).unwrap();
    let store = S::try_open(directory.path(), usize::MAX).unwrap();
    assert_eq!(store.get("key-099").as_deref(), Some("value"));
    assert_eq!(
        fs::read_to_string(&filter_path).unwrap(),
        filter,
        "rebuilt when missing"
    );
}

#[test]
fn solution_07_damaged_filters_are_rebuilt() {
    damaged_filters_are_rebuilt::<solution_07::Store>();
}
