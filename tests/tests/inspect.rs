//! `cargo inspect` against the directories the real servers of steps 03 to
//! 07 leave: a scripted workload (PUTs, an overwrite, a DELETE, enough to
//! flush twice, and from step 05 a merge), a clean stop, then snapshots of
//! what the inspector says about it. And `verify` against damaged copies:
//! each damage is found, with its file and line. And each chapter's "Try
//! it" as the learner types it, whose snapshots the book shows (see the
//! section "What the book shows" below).
//!
//! The workload is sequential and its tables come from the memtable filling
//! up, so the files are the same on every run: the snapshots hold no time
//! and no temporary path (the directory is shown as `[data]`).

use std::fs;
use std::path::Path;

use cross_step_tests::client::{kv_path, send};
use cross_step_tests::server::Server;
use inspect::{Step, Tree, get, picture, summary, verify};
use solution_07::format::{Op, batch_header, encode};

/// A memtable of 40 bytes of keys and values: the first six PUTs fill the
/// first table, the next four operations the second (see `workload`).
const MEMTABLE: &str = "--memtable-bytes=40";

/// Step 07 also freezes a memtable when its log reaches four times the
/// memtable's size, and how many bytes the log holds at each write depends
/// on how the group commit batched them: so its workload stays in one
/// memtable, flushed at the stop, and its directories are the same on
/// every run.
const MEMTABLE_07: &str = "--memtable-bytes=100000";

fn memtable_for(binary: &str) -> &'static str {
    if binary.ends_with("07") {
        MEMTABLE_07
    } else {
        MEMTABLE
    }
}

fn request(server: &Server, method: &str, key: &str, body: &str) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let response = runtime
        .block_on(send(server.addr, method, &kv_path(key), body.as_bytes()))
        .unwrap();
    assert!(response.status < 300, "{method} {key}: {}", response.status);
}

/// Runs the workload on `binary` in `directory` and stops the server with
/// SIGTERM. Table 1: `key-1` to `key-6`; table 2: a tombstone for `key-3`,
/// `key-7`, `key-8` and a longer value of `key-1` (its last write crosses
/// the memtable's size, so the stop has nothing left to flush). Table 2 is
/// a little bigger than table 1, so a merge at two tables takes both.
fn workload(binary: &str, directory: &Path, extra: &[&str]) {
    let mut args = vec![memtable_for(binary)];
    args.extend_from_slice(extra);
    let server = Server::start(binary, directory, &args);
    for n in 1..=6 {
        request(&server, "PUT", &format!("key-{n}"), &format!("v{n}"));
    }
    request(&server, "DELETE", "key-3", "");
    request(&server, "PUT", "key-7", "v7");
    request(&server, "PUT", "key-8", "v8");
    request(&server, "PUT", "key-1", "a longer value than before");
    let (status, log) = server.stop_with(libc::SIGTERM);
    assert!(status.success(), "{log}");
}

/// What the inspector says, with the directory shown as `[data]`.
fn said(directory: &Path, text: &str) -> String {
    text.replace(&directory.display().to_string(), "[data]")
}

fn summary_of(directory: &Path) -> String {
    let tree = Tree::read(directory, None).unwrap();
    said(directory, &summary::render(&tree))
}

fn gets_of(directory: &Path) -> String {
    let tree = Tree::read(directory, None).unwrap();
    let keys = ["key-1", "key-3", "key-99"];
    let explained = keys.map(|key| get::explain(&tree, key).0);
    said(directory, &explained.join("\n"))
}

fn verify_of(directory: &Path) -> String {
    let tree = Tree::read(directory, None).unwrap();
    let (text, ok) = verify::render(&tree);
    assert!(ok, "{text}");
    said(directory, &text)
}

/// The step's snapshots after the workload; from step 05 on, also after a
/// restart that merges the two tables.
fn inspect_after_workload(step: &str, binary: &str) {
    let directory = tempfile::tempdir().unwrap();
    let data = directory.path();
    let no_merging: &[&str] = if step >= "05" {
        &["--compaction-threshold=1000"]
    } else {
        &[]
    };
    workload(binary, data, no_merging);
    insta::assert_snapshot!(format!("{step}_summary"), summary_of(data));
    insta::assert_snapshot!(format!("{step}_get"), gets_of(data));
    insta::assert_snapshot!(format!("{step}_verify"), verify_of(data));
    let tree = Tree::read(data, None).unwrap();
    assert_eq!(tree.step.number() >= 5, step >= "05");
    if step < "05" || step == "07" {
        // Step 07's workload leaves one table (see `MEMTABLE_07`).
        return;
    }
    // Merging at two tables: the server merges as soon as it starts.
    let server = Server::start(binary, data, &[MEMTABLE, "--compaction-threshold=2"]);
    server.wait_for_log("compacted 2 tables");
    let (status, log) = server.stop_with(libc::SIGTERM);
    assert!(status.success(), "{log}");
    insta::assert_snapshot!(format!("{step}_summary_after_merge"), summary_of(data));
    verify_of(data);
}

#[test]
fn solution_03_inspected() {
    inspect_after_workload("03", env!("CARGO_BIN_EXE_serve-solution-03"));
}

#[test]
fn solution_04_inspected() {
    inspect_after_workload("04", env!("CARGO_BIN_EXE_serve-solution-04"));
}

#[test]
fn solution_05_inspected() {
    inspect_after_workload("05", env!("CARGO_BIN_EXE_serve-solution-05"));
}

#[test]
fn solution_06_inspected() {
    inspect_after_workload("06", env!("CARGO_BIN_EXE_serve-solution-06"));
}

#[test]
fn solution_07_inspected() {
    inspect_after_workload("07", env!("CARGO_BIN_EXE_serve-solution-07"));
}

/// Step 07 after a kill: the log holds the acknowledged writes, and `get`
/// finds them there before any table.
#[test]
fn solution_07_log_read_before_the_tables() {
    let binary = env!("CARGO_BIN_EXE_serve-solution-07");
    let directory = tempfile::tempdir().unwrap();
    let data = directory.path();
    workload(binary, data, &["--compaction-threshold=1000"]);
    let server = Server::start(binary, data, &[MEMTABLE_07, "--compaction-threshold=1000"]);
    request(&server, "PUT", "key-9", "v9");
    request(&server, "DELETE", "key-2", "");
    server.stop_with(libc::SIGKILL);
    insta::assert_snapshot!("07_summary_with_log", summary_of(data));
    let tree = Tree::read(data, None).unwrap();
    let explained = ["key-9", "key-2", "key-4"].map(|key| get::explain(&tree, key).0);
    insta::assert_snapshot!("07_get_with_log", said(data, &explained.join("\n")));
    verify_of(data);
}

/// Copies the files of `from` into a new directory.
fn copy_of(from: &Path) -> tempfile::TempDir {
    let copy = tempfile::tempdir().unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        fs::copy(&path, copy.path().join(path.file_name().unwrap())).unwrap();
    }
    copy
}

/// Rewrites the file `name` in `directory` with `change`.
fn damage(directory: &Path, name: &str, change: impl FnOnce(String) -> String) {
    let path = directory.join(name);
    let text = fs::read_to_string(&path).unwrap();
    let changed = change(text.clone());
    assert_ne!(changed, text, "the damage to {name} changed nothing");
    fs::write(&path, changed).unwrap();
}

/// The CRC-32 of `body` as a sidecar's check line writes it, computed by
/// the store's own code (a batch header holds the same checksum).
fn crc_of(body: &str) -> String {
    let header = batch_header(0, body.as_bytes());
    header.trim_end().rsplit(' ').next().unwrap().to_string()
}

/// Each kind of damage, on a copy of a clean step 07 directory: `verify`
/// names the file and the line, and the reason.
#[test]
fn verify_finds_damage_with_its_file_and_line() {
    let clean = tempfile::tempdir().unwrap();
    workload(
        env!("CARGO_BIN_EXE_serve-solution-07"),
        clean.path(),
        &["--compaction-threshold=1000"],
    );
    type Damage = fn(&Path);
    let cases: &[(&str, Damage, &str)] = &[
        (
            "a flipped byte in a table line",
            |dir| {
                damage(dir, "000001.sst", |text| {
                    text.replacen("key-2→", "key-2\u{2191}", 1)
                })
            },
            "000001.sst:2: expected `key→value`",
        ),
        (
            "two keys out of order",
            |dir| {
                damage(dir, "000001.sst", |text| {
                    text.replacen("key-4→v4\nkey-5→v5", "key-5→v5\nkey-4→v4", 1)
                })
            },
            "000001.sst:5: key \"key-4\" is not after the key \"key-5\" on line 4",
        ),
        (
            "a bad escape",
            |dir| damage(dir, "000001.sst", |text| text.replacen("→v5", "→\\q", 1)),
            "000001.sst:5: bad value: unknown escape `\\q`",
        ),
        (
            "a corrupted index",
            |dir| damage(dir, "000001.idx", |text| text.replacen("key-1", "key-0", 1)),
            "000001.idx:1: the checksum does not match",
        ),
        (
            "an index whose block starts elsewhere, with its checksum made right",
            |dir| {
                damage(dir, "000001.idx", |text| {
                    let (check, body) = text.split_once('\n').unwrap();
                    let body = body.replacen("key-1", "key-0", 1);
                    let check = check.rsplit_once(' ').unwrap().0;
                    format!("{check} {}\n{body}", crc_of(&body))
                })
            },
            "000001.idx:2: the block of line 1 starts with the key \"key-0\"",
        ),
        (
            "zeroed filter words",
            |dir| damage(dir, "000001.bloom", |text| zero_words(&text, false)),
            "000001.bloom:1: the checksum does not match",
        ),
        (
            "zeroed filter words, with the checksum made right",
            |dir| damage(dir, "000001.bloom", |text| zero_words(&text, true)),
            "000001.bloom:2: says \"not here\" for the key \"key-1\" of 000001.sst line 1",
        ),
        (
            "a log record with a bad checksum, whole batches after it",
            |dir| {
                let put = |key: &str| Op::Put(key.into(), "v".into());
                let batch = |op: &Op| batch_header(1, encode(op).as_bytes()) + &encode(op);
                let bad = batch(&put("a")).replace("a→v", "a→w");
                let log = bad + &batch(&put("b")) + &batch(&put("c"));
                fs::write(dir.join("000009.wal"), log).unwrap();
            },
            "000009.wal:1: the checksum does not match",
        ),
        (
            "a manifest naming a missing table",
            |dir| damage(dir, "MANIFEST", |text| text + "000042.sst\n"),
            "MANIFEST:2: the table 000042.sst does not exist",
        ),
        (
            "a leftover temporary file",
            |dir| fs::write(dir.join("000005.sst.tmp"), "key→half").unwrap(),
            "000005.sst.tmp: left by an interrupted write",
        ),
    ];
    for (what, apply, expected) in cases {
        let copy = copy_of(clean.path());
        apply(copy.path());
        let tree = Tree::read(copy.path(), Some(Step::new(7).unwrap())).unwrap();
        let (report, ok) = verify::render(&tree);
        let report = said(copy.path(), &report);
        assert!(!ok, "{what}: verify passed:\n{report}");
        assert!(
            report.contains(&format!("[data]/{expected}")),
            "{what}: expected {expected:?} in:\n{report}"
        );
    }
}

/// The filter text with every word of bits zeroed, its check line made
/// right again if `fix_check` (so that only the bits are wrong).
fn zero_words(text: &str, fix_check: bool) -> String {
    let (check, body) = text.split_once('\n').unwrap();
    let mut lines = body.lines();
    let header = lines.next().unwrap();
    let words: String = lines.map(|_| "0000000000000000\n").collect();
    let body = format!("{header}\n{words}");
    let check = if fix_check {
        format!("{} {}", check.rsplit_once(' ').unwrap().0, crc_of(&body))
    } else {
        check.to_string()
    };
    format!("{check}\n{body}")
}

/// The picture is well-formed XML with its own background, and the same
/// bytes for the same directory.
#[test]
fn the_picture_is_well_formed_and_stable() {
    let directory = tempfile::tempdir().unwrap();
    workload(
        env!("CARGO_BIN_EXE_serve-solution-06"),
        directory.path(),
        &["--compaction-threshold=1000"],
    );
    let draw = || picture::draw(&Tree::read(directory.path(), None).unwrap());
    let svg = draw();
    assert_eq!(svg, draw(), "two pictures of one directory differ");
    let document =
        roxmltree::Document::parse(&svg).unwrap_or_else(|error| panic!("{error}:\n{svg}"));
    let root = document.root_element();
    assert_eq!(root.tag_name().name(), "svg");
    let background = root
        .children()
        .find(|node| node.attribute("class") == Some("background"));
    assert_eq!(
        background.and_then(|node| node.attribute("fill")),
        Some("#ffffff")
    );
    let texts: Vec<&str> = document
        .descendants()
        .filter_map(|node| node.text())
        .collect();
    assert!(
        texts.iter().any(|text| text.contains("000002.sst")),
        "{svg}"
    );
}

// What the book shows. Each chapter's "Try it", from chapter 3 on, as the
// learner types it, then what `cargo inspect` says about the directory it
// leaves. `cargo xtask book` copies these snapshots into
// `book/src/generated/inspect-*` (see `xtask/src/book_generated.rs`), so
// the book shows what these tests check. The directory is shown as the
// learner names it, `./data`. Each workload is sequential, and where the
// store would merge in the background while the learner types, the Try it
// puts merging off until a restart, so every run leaves the same files.

/// The inspector's text with the directory shown as the book's learner
/// names it.
fn as_typed(directory: &Path, text: &str) -> String {
    text.replace(&directory.display().to_string(), "./data")
}

/// The explanation of `get KEY` for each of `keys`, as the book shows it.
fn gets_as_typed(directory: &Path, keys: &[&str]) -> String {
    let tree = Tree::read(directory, None).unwrap();
    let explained: Vec<String> = keys.iter().map(|key| get::explain(&tree, key).0).collect();
    as_typed(directory, &explained.join("\n"))
}

/// Sends each `(method, key, body)` in order, each after the last answered.
fn requests(server: &Server, requests: &[(&str, &str, &str)]) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    for (method, key, body) in requests {
        let response = runtime
            .block_on(send(server.addr, method, &kv_path(key), body.as_bytes()))
            .unwrap();
        assert!(response.status < 300, "{method} {key}: {}", response.status);
    }
}

/// Chapter 3's capitals: four PUTs and a DELETE (also the start of 7.1's
/// and 7.2's, which stop after their own few).
const CAPITALS: &[(&str, &str, &str)] = &[
    ("PUT", "kenya:capital", "Nairobi"),
    ("PUT", "rwanda:capital", "Kigali"),
    ("PUT", "tanzania:capital", "Dodoma"),
    ("PUT", "uganda:capital", "Kampala"),
    ("DELETE", "tanzania:capital", ""),
];

/// Chapter 3: the capitals, Ctrl-C, and the one table the stop flushed.
#[test]
fn chapter_03_try_it_shows_the_first_table() {
    let directory = tempfile::tempdir().unwrap();
    let data = directory.path();
    let server = Server::start(env!("CARGO_BIN_EXE_serve-solution-03"), data, &[]);
    requests(&server, CAPITALS);
    let (status, log) = server.stop_with(libc::SIGINT);
    assert!(status.success(), "{log}");
    let tree = Tree::read(data, None).unwrap();
    insta::assert_snapshot!("03_try_it_summary", as_typed(data, &summary::render(&tree)));
}

/// Chapter 5: six small tables that overlap, merging put off; then a
/// restart with a threshold of 3, which merges all six into one (the
/// newest table, of 47 bytes, is no smaller than any older one, so the
/// size-tiered pick takes them all, and the tombstone goes).
///
/// Each second PUT fills the memtable of 20 bytes. The learner's next
/// `curl` comes long after that flush; the test waits for it, because a
/// write that finds the flush queue full stays in the full memtable, and
/// the next write would then go into the same table.
#[test]
fn chapter_05_try_it_merges_six_tables_into_one() {
    let binary = env!("CARGO_BIN_EXE_serve-solution-05");
    let directory = tempfile::tempdir().unwrap();
    let data = directory.path();
    let args = ["--memtable-bytes=20", "--compaction-threshold=100"];
    let server = Server::start(binary, data, &args);
    let cities = ["Nairobi", "Mombasa", "Kisumu", "Nakuru", "Eldoret"];
    for (n, city) in cities.into_iter().enumerate() {
        requests(
            &server,
            &[
                ("PUT", "kenya:city", city),
                ("PUT", "uganda:capital", "Kampala"),
            ],
        );
        server.wait_for_log(&format!("{:06}.sst", n + 1));
    }
    requests(
        &server,
        &[
            ("DELETE", "uganda:capital", ""),
            ("PUT", "tanzania:capital", "Dodoma"),
        ],
    );
    server.wait_for_log("000006.sst");
    let (status, log) = server.stop_with(libc::SIGINT);
    assert!(status.success(), "{log}");
    let before = Tree::read(data, None).unwrap();
    assert_eq!(before.tables.len(), 6, "{}", summary::render(&before));
    insta::assert_snapshot!("05_picture_before_merge", picture::draw(&before));

    let server = Server::start(binary, data, &["--compaction-threshold=3"]);
    server.wait_for_log("compacted 6 tables");
    let (status, log) = server.stop_with(libc::SIGINT);
    assert!(status.success(), "{log}");
    let after = Tree::read(data, None).unwrap();
    assert_eq!(after.tables.len(), 1, "{}", summary::render(&after));
    insta::assert_snapshot!("05_picture_after_merge", picture::draw(&after));
}

/// Chapter 6: 400 keys in a memtable of 8000 bytes, of which the first 242
/// are flushed while the server runs; `get` reads one block of that table.
#[test]
fn chapter_06_try_it_reads_one_block() {
    let directory = tempfile::tempdir().unwrap();
    let data = directory.path();
    let binary = env!("CARGO_BIN_EXE_serve-solution-06");
    let server = Server::start(binary, data, &["--memtable-bytes=8000"]);
    let keys: Vec<(String, String)> = (1..=400)
        .map(|n| (format!("country-{n}:capital"), format!("city number {n}")))
        .collect();
    let puts: Vec<(&str, &str, &str)> = keys
        .iter()
        .map(|(key, value)| ("PUT", key.as_str(), value.as_str()))
        .collect();
    requests(&server, &puts);
    server.wait_for_log("flushed 242 entries");
    insta::assert_snapshot!(
        "06_try_it_get",
        gets_as_typed(data, &["country-200:capital"])
    );
    let (status, log) = server.stop_with(libc::SIGINT);
    assert!(status.success(), "{log}");
}

/// Page 7.1: two capitals, Ctrl-C; the filter of the one table answers
/// "not here" for a key it does not hold.
#[test]
fn chapter_07_1_try_it_skips_a_table_on_its_filter() {
    let directory = tempfile::tempdir().unwrap();
    let data = directory.path();
    let server = Server::start(env!("CARGO_BIN_EXE_serve-solution-07"), data, &[]);
    requests(&server, &[CAPITALS[0], CAPITALS[2]]);
    let (status, log) = server.stop_with(libc::SIGINT);
    assert!(status.success(), "{log}");
    insta::assert_snapshot!(
        "07_1_try_it_get",
        gets_as_typed(data, &["uganda:capital", "kenya:capital"])
    );
}

/// Page 7.2: two capitals and a DELETE, then `kill -9`: no table, and the
/// log holds the three acknowledged writes.
#[test]
fn chapter_07_2_try_it_finds_a_key_in_the_log() {
    let directory = tempfile::tempdir().unwrap();
    let data = directory.path();
    let server = Server::start(env!("CARGO_BIN_EXE_serve-solution-07"), data, &[]);
    requests(&server, &[CAPITALS[0], CAPITALS[2], CAPITALS[4]]);
    server.stop_with(libc::SIGKILL);
    let tree = Tree::read(data, None).unwrap();
    insta::assert_snapshot!(
        "07_2_try_it_summary",
        as_typed(data, &summary::render(&tree))
    );
    insta::assert_snapshot!(
        "07_2_try_it_get",
        gets_as_typed(data, &["kenya:capital", "tanzania:capital"])
    );
}
