//! A power cut at any moment keeps what the step promised: a recorded run
//! of the real server, every crash image it could leave, each one opened.
//!
//! The server runs under strace while clients write, delete and clear;
//! it is killed (`kill -9`) once and restarted, so that recovery is in the
//! record too, then stopped with SIGTERM. `cross_step_tests::power_loss`
//! then builds what the disk could hold after a power cut before each sync
//! and each change of names, opens each image with the step's store, and
//! checks every key (see there for the rules). Leave out a sync the store
//! relies on, and this suite fails with the key that was lost, what was
//! not yet durable when it was promised, and the exercise (or function)
//! whose sync that is; `cargo xtask sync-mutants` proves that for every
//! sync of steps 03 and 07, and that a sync inside an exercise's answer is
//! reported with that exercise's number.
//!
//! It needs `strace` (`apt-get install strace`). Where strace is missing
//! the tests say so and stop, unless `LITTLE_KV_REQUIRE_STRACE` is set
//! (`.ci/run` sets it), which makes them fail.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use cross_step_tests::file_system::{self, Entry, Image};
use cross_step_tests::power_loss::{self, Op, Promise, Run, Workload};
use cross_step_tests::random::Xorshift;
use cross_step_tests::server::Server;
use cross_step_tests::stores::Harness;
use cross_step_tests::strace;

/// The memtable size of the recorded runs: small, so that a few hundred
/// operations flush, merge and rotate the log many times.
const MEMTABLE_BYTES: usize = 600;

/// How many clients write at once, and how many keys each has.
#[derive(Clone, Copy)]
struct Clients {
    count: usize,
    keys: u64,
}

/// `clients.count` clients at once, sending `operations` PUTs and DELETEs
/// between them, each on its own keys; every answer must be 200.
async fn write_and_delete(
    workload: &Arc<Workload>,
    addr: SocketAddr,
    clients: Clients,
    operations: usize,
    seed: u64,
) {
    let rounds = operations / clients.count;
    let mut tasks = Vec::new();
    for client in 0..clients.count {
        let workload = Arc::clone(workload);
        tasks.push(tokio::spawn(async move {
            let mut random = Xorshift(((seed + client as u64) * 0x9e37_79b9) | 1);
            for round in 0..rounds {
                let key = format!("c{client}-k{}", random.below(clients.keys));
                let op = if random.below(4) == 0 {
                    Op::Delete { key }
                } else {
                    let padding = "x".repeat(random.below(120) as usize);
                    Op::Put {
                        key,
                        value: format!("v{seed}.{round} {padding}"),
                    }
                };
                let answer = workload.send(addr, op.clone()).await;
                assert_eq!(answer.status, 200, "{op:?}: {}", answer.text());
            }
        }));
    }
    for task in tasks {
        task.await.expect("a client panicked");
    }
}

/// The server to record: the step's own, or the binary that
/// `LITTLE_KV_TRACED_SERVER` names (`cargo xtask sync-mutants` points it at
/// a copy of the server with one sync removed; the images are still opened
/// with the step's own store, whose recovery that copy shares).
fn server_to_record(own: &str) -> String {
    std::env::var("LITTLE_KV_TRACED_SERVER").unwrap_or_else(|_| own.to_string())
}

/// What the test adds to the data directory between the `kill -9` and the
/// restart: the leftover of a table write the kill could have interrupted
/// (half a line, never synced, under the temporary name of the next table).
/// The restart removes it and its first table write uses that name again,
/// so every recorded run crosses the window in which a removal not yet
/// synced meets a name reused, which the kill would land in only by chance.
fn leftover_of_an_interrupted_write(data: &Path) -> Image {
    let next = std::fs::read_dir(data)
        .expect("list the data directory")
        .filter_map(|entry| {
            let name = entry.ok()?.file_name().into_string().ok()?;
            name.strip_suffix(".sst")?.parse::<u64>().ok()
        })
        .max()
        .unwrap_or(0)
        + 1;
    Image::from([(
        PathBuf::from(format!("data/{next:06}.sst.tmp")),
        Entry::File("kenya:capital→Nai".as_bytes().to_vec()),
    )])
}

/// Records two runs of `binary` in `root` (its data in `root/data`, which
/// the server creates): writes, a clear, more writes, `kill -9`, the
/// leftover of [`leftover_of_an_interrupted_write`], a restart that
/// recovers, more writes, SIGTERM. Returns each run: what the test added
/// before it, the server's calls, and what it left under the root.
fn record(
    binary: &str,
    root: &Path,
    args: &[&str],
    clients: Clients,
    workload: &Arc<Workload>,
) -> Vec<Run> {
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
    let data = root.join("data");
    let trace = |n: usize| root.with_extension(format!("trace{n}"));
    let mut runs = Vec::new();
    for run in 0..2 {
        let before = if run == 0 {
            Image::new()
        } else {
            leftover_of_an_interrupted_write(&data)
        };
        for (path, entry) in &before {
            if let Entry::File(bytes) = entry {
                std::fs::write(root.join(path), bytes).expect("write the leftover");
            }
        }
        let server = Server::start_under(&strace::wrapper(&trace(run)), binary, &data, args);
        let addr = server.addr;
        runtime.block_on(async {
            if run == 0 {
                write_and_delete(workload, addr, clients, 96, 1).await;
                let answer = workload.send(addr, Op::Clear).await;
                assert_eq!(answer.status, 200, "clear: {}", answer.text());
                write_and_delete(workload, addr, clients, 96, 2).await;
            } else {
                write_and_delete(workload, addr, clients, 48, 3).await;
            }
        });
        let signal = if run == 0 {
            libc::SIGKILL
        } else {
            libc::SIGTERM
        };
        let (status, log) = server.stop_with(signal);
        assert!(run == 0 || status.success(), "the server failed: {log}");
        let text = std::fs::read_to_string(trace(run)).expect("read the trace");
        runs.push(Run {
            added: before,
            calls: strace::parse(&text),
            left: file_system::read_tree(root).expect("read what the run left"),
        });
    }
    runs
}

fn a_power_cut_keeps_what_was_promised<S: Harness>(
    binary: &str,
    promise: Promise,
    clients: Clients,
    args: &[&str],
) {
    let parent = tempfile::tempdir().expect("a temporary directory");
    let root = parent.path().join("root");
    std::fs::create_dir(&root).expect("make the root");
    let workload = Workload::new();
    let runs = record(&server_to_record(binary), &root, args, clients, &workload);
    match power_loss::check::<S>(&root, &runs, &workload, promise, MEMTABLE_BYTES) {
        Ok(summary) => {
            assert!(
                summary.promised > 40,
                "too few operations were promised durable to test anything: {summary:?}"
            );
            println!("{}: {summary:?}", S::NAME);
        }
        Err(report) => {
            // Keep the traces, so that a failure can be read call by call.
            let kept =
                Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("power-loss-{}", S::NAME));
            let _ = std::fs::create_dir_all(&kept);
            for run in 0..2 {
                let name = format!("root.trace{run}");
                let _ = std::fs::copy(parent.path().join(&name), kept.join(&name));
            }
            panic!(
                "{}: {report}\n(the traces are kept in {})",
                S::NAME,
                kept.display()
            )
        }
    }
}

#[test]
fn solution_03_a_power_cut_keeps_every_flushed_write() {
    if !strace::available_or_skip("solution_03_a_power_cut_keeps_every_flushed_write") {
        return;
    }
    let memtable = format!("--memtable-bytes={MEMTABLE_BYTES}");
    a_power_cut_keeps_what_was_promised::<solution_03::Store>(
        env!("CARGO_BIN_EXE_serve-solution-03"),
        Promise::WhenFlushed,
        // One client, as step 03 serves one writer at a time anyway; enough
        // keys that the memtable fills (overwrites do not grow it).
        Clients { count: 1, keys: 24 },
        &[&memtable],
    );
}

#[test]
fn solution_04_a_power_cut_keeps_every_write_of_a_graceful_stop() {
    if !strace::available_or_skip("solution_04_a_power_cut_keeps_every_write_of_a_graceful_stop") {
        return;
    }
    let memtable = format!("--memtable-bytes={MEMTABLE_BYTES}");
    a_power_cut_keeps_what_was_promised::<solution_04::Store>(
        env!("CARGO_BIN_EXE_serve-solution-04"),
        Promise::WhenStopped,
        Clients { count: 4, keys: 6 },
        &[&memtable],
    );
}

#[test]
fn solution_05_a_power_cut_keeps_every_write_of_a_graceful_stop() {
    if !strace::available_or_skip("solution_05_a_power_cut_keeps_every_write_of_a_graceful_stop") {
        return;
    }
    let memtable = format!("--memtable-bytes={MEMTABLE_BYTES}");
    a_power_cut_keeps_what_was_promised::<solution_05::Store>(
        env!("CARGO_BIN_EXE_serve-solution-05"),
        Promise::WhenStopped,
        Clients { count: 4, keys: 6 },
        &[&memtable, "--compaction-threshold=3"],
    );
}

#[test]
fn solution_06_a_power_cut_keeps_every_write_of_a_graceful_stop() {
    if !strace::available_or_skip("solution_06_a_power_cut_keeps_every_write_of_a_graceful_stop") {
        return;
    }
    let memtable = format!("--memtable-bytes={MEMTABLE_BYTES}");
    a_power_cut_keeps_what_was_promised::<solution_06::Store>(
        env!("CARGO_BIN_EXE_serve-solution-06"),
        Promise::WhenStopped,
        Clients { count: 4, keys: 6 },
        &[&memtable, "--compaction-threshold=3"],
    );
}

#[test]
fn solution_07_a_power_cut_keeps_every_acknowledged_write() {
    if !strace::available_or_skip("solution_07_a_power_cut_keeps_every_acknowledged_write") {
        return;
    }
    let memtable = format!("--memtable-bytes={MEMTABLE_BYTES}");
    a_power_cut_keeps_what_was_promised::<solution_07::Store>(
        env!("CARGO_BIN_EXE_serve-solution-07"),
        Promise::WhenAnswered,
        Clients { count: 4, keys: 6 },
        &[&memtable, "--compaction-threshold=3"],
    );
}
