//! What compaction promises, from step 05 on: disk use stays bounded, and a
//! crash at any moment of a merge loses nothing and brings nothing back.

use std::collections::BTreeMap;
use std::fs;
use std::net::SocketAddr;
use std::path::Path;

use cross_step_tests::client::{kv_path, send};
use cross_step_tests::directory::copy_files;
use cross_step_tests::for_steps;
use cross_step_tests::random::Xorshift;
use cross_step_tests::server::Server;
use cross_step_tests::stores::Harness;

/// The bytes of all table files in `directory`.
fn table_bytes(directory: &Path) -> u64 {
    let tables = fs::read_dir(directory)
        .unwrap()
        .map(|entry| entry.unwrap().path());
    let tables = tables.filter(|path| path.extension().is_some_and(|extension| extension == "sst"));
    tables.map(|path| fs::metadata(path).unwrap().len()).sum()
}

/// Overwriting the same keys again and again, with a flush after each
/// round, leaves at most three times the live data on disk once the merges
/// that the flushes called for are done.
fn space_stays_bounded<S: Harness>() {
    const KEYS: usize = 1_000;
    const ROUNDS: usize = 100;
    let directory = tempfile::tempdir().unwrap();
    let store = S::try_open(directory.path(), usize::MAX).unwrap();
    let key = |n: usize| format!("country-{n:04}:capital");
    for round in 0..ROUNDS {
        for n in 0..KEYS {
            store.set(&key(n), &format!("city-{round:03}"));
        }
        store.flush();
    }
    // The live data, as one table would hold it: one line per key.
    let live: u64 = (0..KEYS)
        .map(|n| format!("{}→city-099\n", key(n)).len() as u64)
        .sum();
    let on_disk = table_bytes(directory.path());
    assert!(
        on_disk <= 3 * live,
        "{}: {on_disk} bytes of tables for {live} bytes of live data",
        S::NAME
    );
    assert_eq!(store.get(&key(7)).as_deref(), Some("city-099"));
}

for_steps! {
    space_stays_bounded::<S>();
    solution_05_space_stays_bounded: solution_05::Store,
    solution_06_space_stays_bounded: solution_06::Store,
    solution_07_space_stays_bounded: solution_07::Store,
}

fn request(
    runtime: &tokio::runtime::Runtime,
    addr: SocketAddr,
    method: &str,
    key: &str,
    value: &str,
) -> (u16, String) {
    let response = runtime
        .block_on(send(addr, method, &kv_path(key), value.as_bytes()))
        .unwrap();
    (response.status, response.text())
}

/// Many tables on disk, then SIGKILL at random moments while the server
/// merges them: after every kill the store reopens, and holds exactly the
/// data of the last graceful stop.
fn kill_during_compaction_loses_nothing<S: Harness>(binary: &str) {
    const KEYS: usize = 300;
    const KILLS: usize = 12;
    // Big values make a merge take long enough for kills to land inside it.
    let filler = "x".repeat(20_000);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let directory = tempfile::tempdir().unwrap();
    // Small memtables and no merging: every few writes make a table.
    let no_merging = ["--memtable-bytes=100000", "--compaction-threshold=1000000"];
    let mut expected = BTreeMap::new();
    let server = Server::start(binary, directory.path(), &no_merging);
    for n in 0..KEYS {
        let (key, value) = (format!("key-{n:03}"), format!("first-{n}-{filler}"));
        assert_eq!(request(&runtime, server.addr, "PUT", &key, &value).0, 200);
        expected.insert(key, value);
    }
    let (status, log) = server.stop_with(libc::SIGTERM);
    assert!(status.success(), "{log}");
    let server = Server::start(binary, directory.path(), &no_merging);
    for n in (0..KEYS).step_by(3) {
        let key = format!("key-{n:03}");
        assert_eq!(request(&runtime, server.addr, "DELETE", &key, "").0, 200);
        expected.remove(&key);
    }
    for n in (1..KEYS).step_by(5) {
        let (key, value) = (format!("key-{n:03}"), format!("second-{n}-{filler}"));
        assert_eq!(request(&runtime, server.addr, "PUT", &key, &value).0, 200);
        expected.insert(key, value);
    }
    // Last, a table bigger than any before it, so that the merge policy
    // picks every table at the next start (it merges the newest tables
    // while each older one is no bigger than those picked so far): were
    // the newest table the last, small flush of the stop, nothing would
    // merge, and no kill would land in a merge.
    let (key, value) = ("key-last".to_string(), "y".repeat(150_000));
    assert_eq!(request(&runtime, server.addr, "PUT", &key, &value).0, 200);
    expected.insert(key, value);
    let (status, log) = server.stop_with(libc::SIGTERM);
    assert!(status.success(), "{log}");
    let tables = fs::read_dir(directory.path()).unwrap().filter(|entry| {
        entry
            .as_ref()
            .unwrap()
            .path()
            .extension()
            .is_some_and(|extension| extension == "sst")
    });
    let tables = tables.count();
    assert!(
        tables >= 10,
        "the setup should leave many tables to merge, found {tables}"
    );
    let expected: Vec<(String, String)> = expected.into_iter().collect();

    // Merging at two tables: the server merges as soon as it starts. How
    // long that takes on this machine is measured on a copy, from the
    // server listening to its log's `compacted` line; the kills then fall
    // anywhere in that span and a little after it (a kill after the merge
    // must leave the data as it is, too).
    let merge_takes = {
        let copy = tempfile::tempdir().unwrap();
        copy_files(directory.path(), copy.path());
        let server = Server::start(binary, copy.path(), &["--compaction-threshold=2"]);
        let started = std::time::Instant::now();
        server.wait_for_log("compacted");
        eprintln!("calibration: the merge took {:?}", started.elapsed());
        started.elapsed()
    };
    let span = u64::try_from(merge_takes.as_micros() * 5 / 4)
        .unwrap_or(u64::MAX)
        .max(1);
    let mut random = Xorshift(0x5eed_1e55);
    for kill in 0..KILLS {
        let server = Server::start(binary, directory.path(), &["--compaction-threshold=2"]);
        std::thread::sleep(std::time::Duration::from_micros(random.below(span)));
        let (_, log) = server.stop_with(libc::SIGKILL);
        let store = S::try_open(directory.path(), usize::MAX).unwrap_or_else(|error| {
            panic!("kill {kill}: the store does not reopen: {error}\n{log}")
        });
        let found = store.scan().expect("step 05 can scan");
        assert!(found == expected, "kill {kill}: the data changed\n{log}");
    }
}

#[test]
fn solution_05_kill_during_compaction_loses_nothing() {
    kill_during_compaction_loses_nothing::<solution_05::Store>(env!(
        "CARGO_BIN_EXE_serve-solution-05"
    ));
}

#[test]
fn solution_06_kill_during_compaction_loses_nothing() {
    kill_during_compaction_loses_nothing::<solution_06::Store>(env!(
        "CARGO_BIN_EXE_serve-solution-06"
    ));
}

#[test]
fn solution_07_kill_during_compaction_loses_nothing() {
    kill_during_compaction_loses_nothing::<solution_07::Store>(env!(
        "CARGO_BIN_EXE_serve-solution-07"
    ));
}
