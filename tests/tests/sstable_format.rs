//! The SSTable text format, pinned for every step from 03 on.
//!
//! One set of snapshots (`tests/snapshots/sstable_format__*.snap`) holds the
//! exact text of the tables; every step asserts the same snapshots, so a step
//! that changed the format would fail here. The other tests check what the
//! format promises a reader: a cut-short or damaged table is reported with its
//! path and line, never with a panic, and never read as if it were whole.

use std::fs;
use std::path::{Path, PathBuf};

use cross_step_tests::client::{Response, kv_path, send};
use cross_step_tests::for_steps;
use cross_step_tests::server::Server;
use cross_step_tests::stores::Harness;

/// The table files in `directory`, sorted by name.
fn tables(directory: &Path) -> Vec<PathBuf> {
    let mut paths: Vec<PathBuf> = fs::read_dir(directory)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|extension| extension == "sst"))
        .collect();
    paths.sort();
    paths
}

fn request(server: &Server, method: &str, key: &str, body: &str) -> Response {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime
        .block_on(send(server.addr, method, &kv_path(key), body.as_bytes()))
        .unwrap()
}

/// The book's walkthrough, against the real server: four PUTs, a DELETE and
/// `signal` (SIGTERM or SIGINT) leave exactly one table, and a restart serves
/// the same data.
fn walkthrough_survives_a_graceful_stop(binary: &str, signal: libc::c_int) {
    let directory = tempfile::tempdir().unwrap();
    let server = Server::start(binary, directory.path(), &[]);
    for (key, value) in [
        ("kenya:capital", "Nairobi"),
        ("rwanda:capital", "Kigali"),
        ("tanzania:capital", "Dodoma"),
        ("uganda:capital", "Kampala"),
    ] {
        assert_eq!(request(&server, "PUT", key, value).status, 200);
    }
    assert_eq!(
        request(&server, "DELETE", "tanzania:capital", "").status,
        200
    );
    let (status, log) = server.stop_with(signal);
    assert!(
        status.success(),
        "exit status {status} after signal {signal}:\n{log}"
    );

    let tables = tables(directory.path());
    assert_eq!(
        tables.len(),
        1,
        "exactly one table after the stop: {tables:?}\n{log}"
    );
    insta::assert_snapshot!("walkthrough_table", fs::read_to_string(&tables[0]).unwrap());

    let server = Server::start(binary, directory.path(), &[]);
    assert_eq!(
        request(&server, "GET", "kenya:capital", "").body,
        b"Nairobi"
    );
    assert_eq!(
        request(&server, "GET", "uganda:capital", "").body,
        b"Kampala"
    );
    assert_eq!(request(&server, "GET", "tanzania:capital", "").status, 404);
}

/// Keys and values that need every escape, written by a flush.
const AWKWARD: [(&str, &str); 9] = [
    ("a→b", "line one\nline two"),
    ("back\\slash", "C:\\new"),
    ("carriage\rreturn", "\r\n"),
    ("cross", "†"),
    ("cross-inside", "Mary † 1900"),
    ("emoji 🦀", "tab\tand space "),
    ("empty value", ""),
    ("escaped-looking", "\\n\\†"),
    ("kenya:capital", "Nairobi"),
];

/// The escaping table of the format, as a flush writes it.
fn escaping_is_pinned<S: Harness>() {
    let directory = tempfile::tempdir().unwrap();
    // One memtable for all of it, so that the flush writes one table.
    let store = S::try_open(directory.path(), usize::MAX).unwrap();
    for (key, value) in AWKWARD {
        store.set(key, value);
    }
    store.delete("deleted→†");
    store.flush();
    let tables = tables(directory.path());
    assert_eq!(tables.len(), 1, "{tables:?}");
    insta::assert_snapshot!("escaping_table", fs::read_to_string(&tables[0]).unwrap());
    let store = store.reopen(directory.path());
    for (key, value) in AWKWARD {
        assert_eq!(store.get(key).as_deref(), Some(value), "{key:?}");
    }
}

/// The walkthrough's table.
const WALKTHROUGH_TABLE: &str =
    "kenya:capital→Nairobi\nrwanda:capital→Kigali\ntanzania:capital→†\nuganda:capital→Kampala\n";

/// A table cut at any byte is either read whole up to a line that ended, or
/// reported with its path and the line that was cut; it never panics.
fn cut_tables_are_never_read_as_whole<S: Harness>() {
    let lines: Vec<&str> = WALKTHROUGH_TABLE.split_inclusive('\n').collect();
    for cut in 0..=WALKTHROUGH_TABLE.len() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("000001.sst");
        fs::write(&path, &WALKTHROUGH_TABLE.as_bytes()[..cut]).unwrap();
        let whole_lines = lines.iter().scan(0, |end, line| {
            *end += line.len();
            Some(*end)
        });
        let complete = whole_lines.clone().filter(|&end| end <= cut).count();
        let ends_at_line = cut == 0 || whole_lines.clone().any(|end| end == cut);
        match S::try_open(directory.path(), usize::MAX) {
            Ok(store) => {
                assert!(
                    ends_at_line,
                    "cut at byte {cut}: opened a table that was cut mid-line"
                );
                // The complete lines are there.
                assert_eq!(
                    store.get("kenya:capital").is_some(),
                    complete >= 1,
                    "cut at byte {cut}"
                );
                assert_eq!(
                    store.get("uganda:capital").is_some(),
                    complete >= 4,
                    "cut at byte {cut}"
                );
            }
            Err(message) => {
                assert!(
                    !ends_at_line,
                    "cut at byte {cut}: refused a whole table: {message}"
                );
                let expected = format!("{}:{}: ", path.display(), complete + 1);
                assert!(
                    message.starts_with(&expected),
                    "cut at byte {cut}: {message}"
                );
            }
        }
    }
}

/// Damaged tables stop the store with the file and line in the message.
fn damaged_tables_are_reported<S: Harness>() {
    let cases = [
        (
            "no separator\n",
            "1: expected `key→value`, found \"no separator\"",
        ),
        ("a→1\nb→x\\qy\n", "2: bad value: unknown escape `\\q`"),
        (
            "a→1\nb→2\nb→3\n",
            "3: key \"b\" is not after the key \"b\" before it",
        ),
        (
            "b→1\na→2\n",
            "2: key \"a\" is not after the key \"b\" before it",
        ),
        ("a→1→2\n", "1: bad value: '→' must be escaped"),
        ("a†→1\n", "1: bad key: '†' must be escaped"),
        ("a→1\n\n", "2: expected `key→value`, found \"\""),
        (
            "a→ends in a backslash\\\n",
            "1: bad value: a backslash ends the text",
        ),
    ];
    for (text, expected) in cases {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("000001.sst");
        fs::write(&path, text).unwrap();
        let message = S::try_open(directory.path(), usize::MAX)
            .err()
            .unwrap_or_else(|| panic!("{text:?} was accepted"));
        assert_eq!(
            message,
            format!("{}:{expected}", path.display()),
            "{text:?}"
        );
    }
}

for_steps! {
    walkthrough_survives_a_graceful_stop(binary, libc::SIGTERM);
    solution_03_walkthrough_survives_sigterm: env!("CARGO_BIN_EXE_serve-solution-03"),
    solution_04_walkthrough_survives_sigterm: env!("CARGO_BIN_EXE_serve-solution-04"),
    solution_05_walkthrough_survives_sigterm: env!("CARGO_BIN_EXE_serve-solution-05"),
    solution_06_walkthrough_survives_sigterm: env!("CARGO_BIN_EXE_serve-solution-06"),
    solution_07_walkthrough_survives_sigterm: env!("CARGO_BIN_EXE_serve-solution-07"),
}

for_steps! {
    walkthrough_survives_a_graceful_stop(binary, libc::SIGINT);
    solution_03_walkthrough_survives_sigint: env!("CARGO_BIN_EXE_serve-solution-03"),
    solution_04_walkthrough_survives_sigint: env!("CARGO_BIN_EXE_serve-solution-04"),
    solution_05_walkthrough_survives_sigint: env!("CARGO_BIN_EXE_serve-solution-05"),
    solution_06_walkthrough_survives_sigint: env!("CARGO_BIN_EXE_serve-solution-06"),
    solution_07_walkthrough_survives_sigint: env!("CARGO_BIN_EXE_serve-solution-07"),
}

for_steps! {
    escaping_is_pinned::<S>();
    solution_03_escaping_is_pinned: solution_03::Store,
    solution_04_escaping_is_pinned: solution_04::Store,
    solution_05_escaping_is_pinned: solution_05::Store,
    solution_06_escaping_is_pinned: solution_06::Store,
    solution_07_escaping_is_pinned: solution_07::Store,
}

for_steps! {
    cut_tables_are_never_read_as_whole::<S>();
    solution_03_cut_tables_are_never_read_as_whole: solution_03::Store,
    solution_04_cut_tables_are_never_read_as_whole: solution_04::Store,
    solution_05_cut_tables_are_never_read_as_whole: solution_05::Store,
    solution_06_cut_tables_are_never_read_as_whole: solution_06::Store,
    solution_07_cut_tables_are_never_read_as_whole: solution_07::Store,
}

for_steps! {
    damaged_tables_are_reported::<S>();
    solution_03_damaged_tables_are_reported: solution_03::Store,
    solution_04_damaged_tables_are_reported: solution_04::Store,
    solution_05_damaged_tables_are_reported: solution_05::Store,
    solution_06_damaged_tables_are_reported: solution_06::Store,
    solution_07_damaged_tables_are_reported: solution_07::Store,
}

/// A table of several blocks and its index, from step 06 on: the index
/// text is pinned, and a missing or damaged index is rebuilt to the same.
fn index_is_pinned_and_rebuilt<S: Harness>() {
    let directory = tempfile::tempdir().unwrap();
    let store = S::try_open(directory.path(), usize::MAX).unwrap();
    for n in 0..400 {
        store.set(
            &format!("country-{n:03}:capital→"),
            &format!("city number {n}"),
        );
    }
    store.flush();
    drop(store);
    let index_path = directory.path().join("000001.idx");
    let index = fs::read_to_string(&index_path).unwrap();
    insta::assert_snapshot!("sparse_index", index);
    for damage in [
        "",
        "0 1 country-000:capital\\→\n99999 2 x\n",
        "not an index",
    ] {
        fs::write(&index_path, damage).unwrap();
        let store = S::try_open(directory.path(), usize::MAX).unwrap();
        assert_eq!(
            store.get("country-123:capital→").as_deref(),
            Some("city number 123")
        );
        drop(store);
        assert_eq!(
            fs::read_to_string(&index_path).unwrap(),
            index,
            "rebuilt from {damage:?}"
        );
    }
    fs::remove_file(&index_path).unwrap();
    let store = S::try_open(directory.path(), usize::MAX).unwrap();
    assert_eq!(
        store.get("country-399:capital→").as_deref(),
        Some("city number 399")
    );
    assert_eq!(
        fs::read_to_string(&index_path).unwrap(),
        index,
        "rebuilt when missing"
    );
}

for_steps! {
    index_is_pinned_and_rebuilt::<S>();
    solution_06_index_is_pinned_and_rebuilt: solution_06::Store,
    solution_07_index_is_pinned_and_rebuilt: solution_07::Store,
}

/// The bloom filter and write-ahead log files, from step 07 on.
fn filter_and_log_are_pinned<S: Harness>() {
    let directory = tempfile::tempdir().unwrap();
    let store = S::try_open(directory.path(), usize::MAX).unwrap();
    for (key, value) in [
        ("kenya:capital", "Nairobi"),
        ("rwanda:capital", "Kigali"),
        ("uganda:capital", "Kampala"),
    ] {
        store.set(key, value);
    }
    store.delete("tanzania:capital");
    store.flush();
    let filter = fs::read_to_string(directory.path().join("000001.bloom")).unwrap();
    insta::assert_snapshot!("bloom_filter", filter);
    // Writes after the flush stay in the log; dropping the store without a
    // flush leaves the log as a crash would.
    store.set("a→b", "line one\nline two");
    store.set("cross", "†");
    store.delete("kenya:capital");
    store.clear();
    drop(store);
    let logs: Vec<PathBuf> = fs::read_dir(directory.path())
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|extension| extension == "wal"))
        .collect();
    assert_eq!(logs.len(), 1, "{logs:?}");
    // The file is made longer than its records up front: its records end
    // at its last byte that is not zero (see `log_record.rs`).
    let log = fs::read_to_string(&logs[0]).unwrap();
    let records = log.trim_end_matches('\0');
    assert!(records.len() < log.len(), "the log is preallocated");
    insta::assert_snapshot!("write_ahead_log", records);
}

#[test]
fn solution_07_filter_and_log_are_pinned() {
    filter_and_log_are_pinned::<solution_07::Store>();
}
