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
use solution_07::format::{LogHeader, Op, batch_header, encode};

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

/// A clean step 07 directory with two tables: the workload (one memtable,
/// flushed at its stop: `000001.sst`, `key-1` to `key-8`), then one more
/// run that PUTs `key-9` (`000002.sst`). No merge, and one log,
/// `000004.wal`, which holds no batch: each start makes a log (1, then 3)
/// and each stop rotates to the next (2, then 4) to flush the memtable, and
/// the MANIFEST names the last as the oldest log still needed.
fn clean_07_with_two_tables() -> tempfile::TempDir {
    let binary = env!("CARGO_BIN_EXE_serve-solution-07");
    let clean = tempfile::tempdir().unwrap();
    let no_merging = ["--compaction-threshold=1000"];
    workload(binary, clean.path(), &no_merging);
    let server = Server::start(binary, clean.path(), &[MEMTABLE_07, no_merging[0]]);
    request(&server, "PUT", "key-9", "v9");
    let (status, log) = server.stop_with(libc::SIGTERM);
    assert!(status.success(), "{log}");
    let tree = Tree::read(clean.path(), None).unwrap();
    let names: Vec<&str> = tree.tables.iter().map(|t| t.file.name.as_str()).collect();
    assert_eq!(names, ["000002.sst", "000001.sst"], "newest first");
    assert_eq!(manifest_lines(clean.path()).1, "log 000004");
    let logs: Vec<&str> = tree.logs.iter().map(|log| log.name.as_str()).collect();
    assert_eq!(logs, ["000004.wal"]);
    clean
}

/// `body` as a whole manifest: the lines, then the check line that covers
/// them (the CRC-32 of a batch's records is the same sum).
fn manifest_of(body: &str) -> String {
    format!("{body}check {}\n", crc_of(body))
}

/// The table lines of the manifest in `directory`, and its log line: the
/// lines before the check line.
fn manifest_lines(directory: &Path) -> (Vec<String>, String) {
    let text = fs::read_to_string(directory.join("MANIFEST")).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    lines.pop();
    let log = lines.pop().unwrap();
    (lines, log)
}

/// The batches of a log, one per op, as the log writes them (after the
/// log's header line).
fn log_of(ops: &[Op]) -> String {
    let batch = |op: &Op| batch_header(1, encode(op).as_bytes()) + &encode(op);
    ops.iter().map(batch).collect()
}

/// The header line of log `number`, its file made `made` bytes long, first
/// of a start.
fn log_header(number: u64, made: u64) -> String {
    let header = LogHeader {
        number,
        made,
        after: None,
    };
    header.line()
}

/// Writes log `number` in `directory`: its header, as if the file was made
/// no longer than it is and the log followed none, then `batches`.
fn write_log(directory: &Path, number: u64, batches: &str) {
    let text = log_header(number, 0) + batches;
    fs::write(directory.join(format!("{number:06}.wal")), text).unwrap();
}

/// Writes logs `first`, `first + 1`, ... in `directory` as a store that
/// moved from each to the next leaves them: the batches of each of
/// `writes` (`log_of`), each later log's header following the one before
/// (where its writes end), each but the newest ended by `next`, and each
/// file made `made` bytes long (zeros after what is written).
fn write_chain(directory: &Path, first: u64, made: u64, writes: &[&[Op]]) {
    let mut after = None;
    for (at, ops) in writes.iter().enumerate() {
        let number = first + at as u64;
        let header = LogHeader {
            number,
            made,
            after,
        };
        let mut text = header.line() + &log_of(ops);
        after = Some((number, text.len() as u64));
        if at + 1 < writes.len() {
            text += &log_of(&[Op::Next(number + 1)]);
        }
        let mut bytes = text.into_bytes();
        bytes.resize(bytes.len().max(made as usize), 0);
        fs::write(directory.join(format!("{number:06}.wal")), bytes).unwrap();
    }
}

/// Cuts the log `name` in `directory` to its header line.
fn header_only(directory: &Path, name: &str) {
    let text = fs::read_to_string(directory.join(name)).unwrap();
    let header = text.split_inclusive('\n').next().unwrap().to_string();
    fs::write(directory.join(name), header).unwrap();
}

/// Logs 4, 5 and 6 of the clean directory as a store that rotated twice
/// leaves them: `a` in log 4, `b` in log 5, `c` in log 6.
fn three_logs(directory: &Path) {
    write_chain(directory, 4, 0, &[&[put("a")], &[put("b")], &[put("c")]]);
}

fn put(key: &str) -> Op {
    Op::Put(key.into(), "v".into())
}

/// What the store makes of a damage, and so what `verify` must say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    /// The store refuses to start: a problem that says so, exit 1.
    Refuses,
    /// The store starts, and rebuilds or removes the file: a problem that
    /// does not say it refuses, exit 1.
    Repairs,
    /// The store starts and serves it as it is: a note at most, exit 0.
    Accepts,
}

type Damage = fn(&Path);

/// One damage done to a copy of the clean directory: what, how, the
/// `path:line: reason` starts `verify` must print (after `[data]/`, or
/// after `note: [data]/` for `Accepts`), and what the store makes of it.
struct Case {
    what: &'static str,
    apply: Damage,
    expected: &'static [&'static str],
    verdict: Verdict,
}

/// Every kind of damage `verify` is checked against, on the directory of
/// `clean_07_with_two_tables`.
fn damage_cases() -> Vec<Case> {
    use Verdict::*;
    vec![
        Case {
            what: "nothing: the clean directory",
            apply: |_| {},
            expected: &[],
            verdict: Accepts,
        },
        Case {
            what: "a flipped byte in a table line",
            apply: |dir| {
                damage(dir, "000001.sst", |text| {
                    text.replacen("key-2→", "key-2\u{2191}", 1)
                })
            },
            expected: &[
                "000001.sst: the table is damaged: it has 113 bytes with CRC-32 ",
                "000001.sst:2: expected `key→value`",
            ],
            verdict: Refuses,
        },
        Case {
            what: "two keys out of order",
            apply: |dir| {
                damage(dir, "000001.sst", |text| {
                    text.replacen("key-4→v4\nkey-5→v5", "key-5→v5\nkey-4→v4", 1)
                })
            },
            expected: &["000001.sst:5: key \"key-4\" is not after the key \"key-5\" on line 4"],
            verdict: Refuses,
        },
        Case {
            what: "a bad escape",
            apply: |dir| damage(dir, "000001.sst", |text| text.replacen("→v5", "→\\q", 1)),
            expected: &["000001.sst:5: bad value: unknown escape `\\q`"],
            verdict: Refuses,
        },
        Case {
            what: "a letter of a value changed: the table still parses",
            apply: |dir| damage(dir, "000001.sst", |text| text.replacen("→v5", "→v6", 1)),
            expected: &["000001.sst: the table is damaged: it has 113 bytes with CRC-32 "],
            verdict: Refuses,
        },
        Case {
            what: "a table longer than its manifest line says",
            apply: |dir| damage(dir, "000002.sst", |text| text + "key-99→v\n"),
            expected: &["000002.sst: the table is damaged: it has 22 bytes with CRC-32 "],
            verdict: Refuses,
        },
        Case {
            what: "a corrupted index",
            apply: |dir| damage(dir, "000001.idx", |text| text.replacen("key-1", "key-0", 1)),
            expected: &["000001.idx:1: the checksum does not match"],
            verdict: Repairs,
        },
        Case {
            what: "an index whose block starts elsewhere, with its checksum made right",
            apply: |dir| {
                damage(dir, "000001.idx", |text| {
                    let (check, body) = text.split_once('\n').unwrap();
                    let body = body.replacen("key-1", "key-0", 1);
                    let check = check.rsplit_once(' ').unwrap().0;
                    format!("{check} {}\n{body}", crc_of(&body))
                })
            },
            expected: &["000001.idx:2: the block of line 1 starts with the key \"key-0\""],
            // The store uses it as it is: it cannot tell.
            verdict: Repairs,
        },
        Case {
            what: "zeroed filter words",
            apply: |dir| damage(dir, "000001.bloom", |text| zero_words(&text, false)),
            expected: &["000001.bloom:1: the checksum does not match"],
            verdict: Repairs,
        },
        Case {
            what: "zeroed filter words, with the checksum made right",
            apply: |dir| damage(dir, "000001.bloom", |text| zero_words(&text, true)),
            expected: &[
                "000001.bloom:2: says \"not here\" for the key \"key-1\" of 000001.sst line 1",
            ],
            verdict: Repairs,
        },
        Case {
            what: "a log record with a bad checksum, whole batches after it",
            apply: |dir| {
                let bad = log_of(&[put("a")]).replace("a→v", "a→w");
                write_log(dir, 4, &(bad + &log_of(&[put("b"), put("c")])));
            },
            expected: &["000004.wal:2: the checksum does not match"],
            verdict: Refuses,
        },
        Case {
            what: "a letter changed in the last batch of the newest log: no tear does that",
            apply: |dir| {
                let log = log_of(&[put("a"), put("b")]).replace("b→v", "b→w");
                write_log(dir, 4, &log);
            },
            expected: &["000004.wal:4: the checksum does not match"],
            verdict: Refuses,
        },
        Case {
            what: "the last batch of the newest log cut short, zeros after it: a torn tail",
            apply: |dir| {
                let log = log_of(&[put("a"), put("b")]);
                // In the last record, before its `→v\n`.
                let cut = &log[..log.len() - 5];
                write_log(dir, 4, &(cut.to_string() + &"\0".repeat(100)));
            },
            expected: &["000004.wal:4: a torn last batch (the checksum does not match)"],
            verdict: Accepts,
        },
        Case {
            what: "zeros in the last batch of the newest log, where a page never reached the disk",
            apply: |dir| {
                let log = log_of(&[put("a"), put("b")]).replace("b→v", "\0\0\0\0\0");
                write_log(dir, 4, &log);
            },
            expected: &["000004.wal:4: a torn last batch (the checksum does not match)"],
            verdict: Accepts,
        },
        Case {
            what: "the last batch of an older log damaged, a newer log after it",
            apply: |dir| {
                write_chain(dir, 4, 0, &[&[put("a"), put("b")], &[put("c")]]);
                damage(dir, "000004.wal", |text| text.replace("b→v", "b→w"));
            },
            expected: &["000004.wal:4: the checksum does not match"],
            verdict: Refuses,
        },
        Case {
            what: "an empty batch whose header lost its newline, ending the newest log",
            apply: |dir| write_log(dir, 4, &(log_of(&[put("a")]) + "batch 0 00000000")),
            expected: &[],
            verdict: Accepts,
        },
        Case {
            what: "three logs, each rotated to the next",
            apply: three_logs,
            expected: &[],
            verdict: Accepts,
        },
        Case {
            what: "a log removed whole from the middle of the chain",
            apply: |dir| {
                three_logs(dir);
                fs::remove_file(dir.join("000005.wal")).unwrap();
            },
            expected: &[
                "000004.wal:5: names 000005.wal as the next log, and it is missing",
                "000006.wal:1: this log holds writes, but its header does not follow 000004.wal",
            ],
            verdict: Refuses,
        },
        Case {
            what: "the newest log removed",
            apply: |dir| {
                three_logs(dir);
                fs::remove_file(dir.join("000006.wal")).unwrap();
            },
            expected: &["000005.wal:5: names 000006.wal as the next log, and it is missing"],
            verdict: Refuses,
        },
        Case {
            what: "a log cut at a batch boundary, shorter than it was made",
            apply: |dir| {
                let log = log_header(4, 4096) + &log_of(&[put("a"), put("b")]);
                fs::write(dir.join("000004.wal"), log).unwrap();
            },
            expected: &["000004.wal:1: the file is 97 bytes, shorter than the 4096 it was made"],
            verdict: Refuses,
        },
        Case {
            what: "a log cut at a batch boundary before where the next log says it ends, \
                   the file as long as it was made (its tail zeroed)",
            apply: |dir| {
                write_chain(dir, 4, 4096, &[&[put("a"), put("b")], &[put("c")]]);
                let path = dir.join("000004.wal");
                let mut bytes = fs::read(&path).unwrap();
                let cut = log_header(4, 4096).len() + log_of(&[put("a")]).len();
                bytes[cut..].fill(0);
                fs::write(path, bytes).unwrap();
            },
            expected: &[
                "000004.wal:1: the next log says this one holds 97 bytes of batches, but only 61",
            ],
            verdict: Refuses,
        },
        Case {
            what: "a rotation that crashed while it made the new log: its header there, its \
                   length not, and no next record names it",
            apply: |dir| {
                write_chain(dir, 4, 4096, &[&[put("a")], &[]]);
                damage(dir, "000004.wal", |text| {
                    let next = log_of(&[Op::Next(5)]);
                    text.replace(&next, &"\0".repeat(next.len()))
                });
                header_only(dir, "000005.wal");
            },
            expected: &[],
            verdict: Accepts,
        },
        Case {
            what: "a new log cut to its header after the log before named it",
            apply: |dir| {
                write_chain(dir, 4, 4096, &[&[put("a")], &[]]);
                header_only(dir, "000005.wal");
            },
            expected: &["000005.wal:1: the file is 41 bytes, shorter than the 4096 it was made"],
            verdict: Refuses,
        },
        Case {
            what: "a rotation that stopped before its next record: the new log follows",
            apply: |dir| {
                write_chain(dir, 4, 0, &[&[put("a")], &[put("b")]]);
                damage(dir, "000004.wal", |text| {
                    text.replace(&log_of(&[Op::Next(5)]), "")
                });
            },
            expected: &[],
            verdict: Accepts,
        },
        Case {
            what: "the next record of an older log torn: a rotation cut while it synced it",
            apply: |dir| {
                write_chain(dir, 4, 0, &[&[put("a")], &[put("b")]]);
                damage(dir, "000004.wal", |text| text[..text.len() - 4].to_string());
            },
            expected: &["000004.wal:4: a torn last batch (the checksum does not match)"],
            verdict: Accepts,
        },
        Case {
            what: "a write after the batches that the next log's header counts",
            apply: |dir| {
                write_chain(dir, 4, 0, &[&[put("a")], &[put("b")]]);
                damage(dir, "000004.wal", |text| text + &log_of(&[put("c")]));
            },
            expected: &[
                "000004.wal:6: after the batches the next log's header counts, only a `next` \
                 record may follow",
            ],
            verdict: Refuses,
        },
        Case {
            what: "the header of the log after another damaged",
            apply: |dir| {
                write_chain(dir, 4, 0, &[&[put("a")], &[put("b")]]);
                damage(dir, "000005.wal", |text| text.replacen("after", "aftex", 1));
            },
            expected: &[
                "000004.wal:5: names 000005.wal as the next log, and its header does not follow \
                 this log",
                "000005.wal:1: this log holds writes, but its header does not follow 000004.wal",
            ],
            verdict: Refuses,
        },
        Case {
            what: "a log that lost its next record, a newer log with writes that follows none",
            apply: |dir| {
                write_log(dir, 4, &log_of(&[put("a")]));
                write_log(dir, 5, &log_of(&[put("b")]));
            },
            expected: &[
                "000005.wal:1: this log holds writes, but its header does not follow 000004.wal, \
                 the last log of the chain",
            ],
            verdict: Refuses,
        },
        Case {
            what: "a batch after a log's next record",
            apply: |dir| {
                write_log(dir, 4, &log_of(&[put("a"), Op::Next(5), put("b")]));
                write_log(dir, 5, "");
            },
            expected: &["000004.wal:6: a line after `next 000005`, which ends the log"],
            verdict: Refuses,
        },
        Case {
            what: "a log whose header names another log",
            apply: |dir| {
                let log = log_header(5, 0) + &log_of(&[put("a")]);
                fs::write(dir.join("000004.wal"), log).unwrap();
            },
            expected: &["000004.wal:1: the header is log 000005's"],
            verdict: Refuses,
        },
        Case {
            what: "the log the manifest names removed",
            apply: |dir| fs::remove_file(dir.join("000004.wal")).unwrap(),
            expected: &[
                "MANIFEST:3: names 000004.wal as the oldest log still needed, and it is missing",
            ],
            verdict: Refuses,
        },
        Case {
            what: "a log below the manifest's, left by a flush",
            apply: |dir| write_log(dir, 3, &log_of(&[put("a"), Op::Next(4)])),
            expected: &[
                "000003.wal: older than 000004.wal, the oldest log the MANIFEST still needs",
            ],
            verdict: Repairs,
        },
        Case {
            what: "an empty log after the chain that follows none of it, left by a start",
            apply: |dir| write_log(dir, 5, ""),
            expected: &["000005.wal: holds no batch, and its header does not follow 000004.wal"],
            verdict: Repairs,
        },
        Case {
            what: "a manifest naming a missing table",
            apply: |dir| {
                let (mut lines, log) = manifest_lines(dir);
                lines.push("000042.sst 3 00000000".into());
                lines.push(log);
                let body: String = lines.iter().map(|line| format!("{line}\n")).collect();
                fs::write(dir.join("MANIFEST"), manifest_of(&body)).unwrap();
            },
            expected: &["MANIFEST:3: the table 000042.sst does not exist"],
            verdict: Refuses,
        },
        Case {
            what: "a duplicated manifest line, the check line made right",
            apply: |dir| {
                let (lines, log) = manifest_lines(dir);
                let body = format!("{0}\n{0}\n{1}\n{log}\n", lines[0], lines[1]);
                fs::write(dir.join("MANIFEST"), manifest_of(&body)).unwrap();
            },
            expected: &["MANIFEST:2: 000001.sst is not newer than the table on the line above"],
            verdict: Refuses,
        },
        Case {
            what: "two manifest lines swapped, the check line made right",
            apply: |dir| {
                let (lines, log) = manifest_lines(dir);
                let body = format!("{}\n{}\n{log}\n", lines[1], lines[0]);
                fs::write(dir.join("MANIFEST"), manifest_of(&body)).unwrap();
            },
            expected: &["MANIFEST:2: 000001.sst is not newer than the table on the line above"],
            verdict: Refuses,
        },
        Case {
            what: "two manifest lines swapped",
            apply: |dir| {
                damage(dir, "MANIFEST", |text| {
                    let lines: Vec<&str> = text.lines().collect();
                    format!("{}\n{}\n{}\n{}\n", lines[1], lines[0], lines[2], lines[3])
                })
            },
            expected: &["MANIFEST:4: the check line says "],
            verdict: Refuses,
        },
        Case {
            what: "an emptied manifest",
            apply: |dir| fs::write(dir.join("MANIFEST"), "").unwrap(),
            expected: &[
                "MANIFEST:1: the manifest is empty: it has no check line: the store refuses to start",
            ],
            verdict: Refuses,
        },
        Case {
            what: "the manifest's last table line dropped",
            apply: |dir| {
                damage(dir, "MANIFEST", |text| {
                    let lines: Vec<&str> = text.lines().collect();
                    format!("{}\n{}\n{}\n", lines[0], lines[2], lines[3])
                })
            },
            expected: &["MANIFEST:3: the check line says "],
            verdict: Refuses,
        },
        Case {
            what: "a directory where a table would be",
            apply: |dir| fs::create_dir(dir.join("000999.sst")).unwrap(),
            expected: &[
                "000999.sst: not a file (a directory?) where the store reads, writes or removes one: the store refuses to start",
            ],
            verdict: Refuses,
        },
        Case {
            what: "a leftover temporary file",
            apply: |dir| fs::write(dir.join("000005.sst.tmp"), "key→half").unwrap(),
            expected: &["000005.sst.tmp: left by an interrupted write"],
            verdict: Repairs,
        },
    ]
}

/// Each kind of damage, on a copy of a clean step 07 directory: `verify`
/// names the file and the line, and the reason, and says that the store
/// refuses to start exactly where it does.
#[test]
fn verify_finds_damage_with_its_file_and_line() {
    let clean = clean_07_with_two_tables();
    for Case {
        what,
        apply,
        expected,
        verdict,
    } in damage_cases()
    {
        let copy = copy_of(clean.path());
        apply(copy.path());
        let tree = Tree::read(copy.path(), Some(Step::new(7).unwrap())).unwrap();
        let (report, ok) = verify::render(&tree);
        let report = said(copy.path(), &report);
        let last = report.lines().last().unwrap_or_default();
        match verdict {
            Verdict::Accepts => {
                assert!(ok, "{what}: verify failed:\n{report}");
                assert!(last.starts_with("ok: "), "{what}:\n{report}");
            }
            Verdict::Repairs => {
                assert!(!ok, "{what}: verify passed:\n{report}");
                assert!(!report.contains("refuses"), "{what}:\n{report}");
            }
            Verdict::Refuses => {
                assert!(!ok, "{what}: verify passed:\n{report}");
                assert!(
                    last.contains(": the store refuses to start (on "),
                    "{what}: the last line does not say the store refuses:\n{report}"
                );
            }
        }
        // A start that refuses on the manifest removes nothing.
        if report.contains("[data]/MANIFEST:") {
            assert!(
                !report.contains("the next start removes it"),
                "{what}:\n{report}"
            );
        }
        let prefix = if verdict == Verdict::Accepts {
            "note: [data]/"
        } else {
            "[data]/"
        };
        for expected in expected {
            assert!(
                report
                    .lines()
                    .any(|line| line.starts_with(&format!("{prefix}{expected}"))),
                "{what}: expected a line starting {prefix}{expected:?} in:\n{report}"
            );
        }
    }
}

/// For each damage, `verify` says "the store refuses to start" exactly when
/// the store, opened on the damaged copy, does refuse, and where the store
/// names a file, at that file and line.
#[test]
fn verify_says_the_store_refuses_exactly_when_it_does() {
    let clean = clean_07_with_two_tables();
    for Case { what, apply, .. } in damage_cases() {
        let copy = copy_of(clean.path());
        apply(copy.path());
        let tree = Tree::read(copy.path(), None).unwrap();
        let (report, _) = verify::render(&tree);
        let says_refuses = verify::problems(&tree)
            .iter()
            .any(|problem| problem.refuses_start);
        // After `verify`: a start that succeeds removes leftovers, rebuilds
        // sidecars and replays logs.
        let opened = solution_07::Store::open(copy.path(), solution_07::Options::default());
        let refused = opened.as_ref().err().map(ToString::to_string);
        drop(opened);
        // And where the store names a file, verify names it too, with the
        // line and the words (as far as the store's one screen goes).
        let directory = format!("{}/", copy.path().display());
        if let Some(error) = &refused
            && let Some(at) = error.strip_prefix(&directory)
        {
            let words: String = at.chars().take(100).collect();
            assert!(
                report
                    .lines()
                    .any(|line| line.starts_with(&format!("{directory}{words}"))),
                "{what}: the store refused with {error}, but verify said:\n{report}"
            );
        }
        assert_eq!(
            says_refuses,
            refused.is_some(),
            "{what}: the store {}, but verify said:\n{report}",
            refused.map_or("started".into(), |error| format!("refused: {error}"))
        );
    }
}

/// Without a manifest (steps 03 and 04) a changed letter of a value cannot
/// be seen, and `verify` says so; with one (step 05 on) it is damage the
/// store refuses, and `verify` agrees with each step's own store.
#[test]
fn a_changed_value_is_seen_only_where_a_manifest_sums_the_tables() {
    let change = |dir: &Path| damage(dir, "000001.sst", |text| text.replacen("→v5", "→v6", 1));
    let old = tempfile::tempdir().unwrap();
    workload(env!("CARGO_BIN_EXE_serve-solution-03"), old.path(), &[]);
    change(old.path());
    let (report, ok) = verify::render(&Tree::read(old.path(), None).unwrap());
    assert!(ok, "{report}");
    assert!(
        report.contains("cannot be seen: a letter of a value changed"),
        "{report}"
    );
    assert!(solution_03::Store::open(old.path(), solution_03::Options::default()).is_ok());

    let new = tempfile::tempdir().unwrap();
    let binary = env!("CARGO_BIN_EXE_serve-solution-05");
    workload(binary, new.path(), &["--compaction-threshold=1000"]);
    change(new.path());
    let (report, ok) = verify::render(&Tree::read(new.path(), None).unwrap());
    assert!(!ok, "{report}");
    assert!(
        report.contains("000001.sst: the table is damaged: it has "),
        "{report}"
    );
    assert!(report.contains("the store refuses to start"), "{report}");
    let opened = solution_05::Store::open(new.path(), solution_05::Options::default());
    assert!(opened.is_err(), "step 05 started:\n{report}");
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
