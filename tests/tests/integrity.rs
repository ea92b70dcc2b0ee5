//! One server per data directory, and damage on disk refused, never served
//! or deleted.
//!
//! From step 03 on, a second server started on a directory that a running
//! server uses is refused before it reads, replays or removes anything, so
//! the first server's acknowledged writes survive the slip.
//!
//! Without the lock, the second start runs its recovery under the first
//! server's feet (step 07 replays the live log into a table and removes it,
//! while the first server goes on appending to a file that no longer has a
//! name) and then serves the same files: writes the first one acknowledged
//! are gone after its next restart.
//!
//! From step 05 on, a stopped directory damaged in one file at random (cut
//! short, cut at a line, a byte changed, a line duplicated, swapped or
//! dropped, a file added or removed) is either refused, with every file
//! left as it was, or served exactly as before: never a wrong answer.

use std::collections::BTreeMap;
use std::fs;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use cross_step_tests::client::{Response, kv_path, send};
use cross_step_tests::directory::copy_files;
use cross_step_tests::for_steps;
use cross_step_tests::random::Xorshift;
use cross_step_tests::server::Server;
use cross_step_tests::stores::{Harness, SMALL_MEMTABLE_BYTES};

/// Sends one request and returns the response.
fn request(addr: SocketAddr, method: &str, path: &str, body: &[u8]) -> Response {
    tokio::runtime::Runtime::new()
        .expect("start a tokio runtime")
        .block_on(send(addr, method, path, body))
        .unwrap_or_else(|error| panic!("{method} {path}: {error}"))
}

fn put(addr: SocketAddr, key: &str, value: &str) {
    let answer = request(addr, "PUT", &kv_path(key), value.as_bytes());
    assert_eq!(answer.status, 200, "PUT {key}: {}", answer.text());
}

fn get(addr: SocketAddr, key: &str) -> (u16, String) {
    let answer = request(addr, "GET", &kv_path(key), b"");
    (answer.status, answer.text())
}

/// Starts `binary` on `working_dir` a second time and returns how it ended
/// and what it printed, or fails if it is still running after ten seconds
/// (it would be serving the same directory).
fn second_start(binary: &str, working_dir: &Path) -> (bool, String) {
    let mut child = Command::new(binary)
        .arg("--port=0")
        .arg("--working-dir")
        .arg(working_dir)
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|error| panic!("cannot start {binary}: {error}"));
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(status) = child.try_wait().expect("wait for the second server") {
            let output = child.wait_with_output().expect("read its output");
            let text = String::from_utf8_lossy(&output.stdout).into_owned()
                + &String::from_utf8_lossy(&output.stderr);
            return (status.success(), text);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let output = child.wait_with_output().expect("read its output");
            panic!(
                "a second server on {} started and served (no lock on the directory):\n{}",
                working_dir.display(),
                String::from_utf8_lossy(&output.stdout)
            );
        }
        thread::sleep(Duration::from_millis(20));
    }
}

/// The slip of issue 20: a second start on a directory in use. It must be
/// refused with a message that names the directory, and every write the
/// first server acknowledged, before and after the slip, must survive its
/// restart. `stop` ends the first server: `SIGKILL` where every answered
/// write is durable (step 07), `SIGTERM` where the graceful stop flushes.
fn a_second_server_is_refused(binary: &str, stop: libc::c_int) {
    let directory = tempfile::tempdir().unwrap();
    let data = directory.path().join("data");
    let first = Server::start(binary, &data, &["--memtable-bytes=64"]);
    for n in 0..20 {
        put(
            first.addr,
            &format!("before:{n:02}"),
            "written before the slip",
        );
    }
    let (succeeded, printed) = second_start(binary, &data);
    assert!(
        !succeeded,
        "the second server exited successfully:\n{printed}"
    );
    let expected = format!("another server is using {}", data.display());
    assert!(
        printed.contains(&expected),
        "the refusal does not say {expected:?}:\n{printed}"
    );
    for n in 0..20 {
        put(
            first.addr,
            &format!("after:{n:02}"),
            "written after the slip",
        );
    }
    let (_, log) = first.stop_with(stop);
    let restarted = Server::start(binary, &data, &[]);
    for n in 0..20 {
        for (key, value) in [
            (format!("before:{n:02}"), "written before the slip"),
            (format!("after:{n:02}"), "written after the slip"),
        ] {
            assert_eq!(
                get(restarted.addr, &key),
                (200, value.to_string()),
                "{key}, acknowledged by the first server, is not back after its restart; \
                 the first server's log:\n{log}"
            );
        }
    }
}

for_steps! {
    a_second_server_is_refused(binary, libc::SIGTERM);
    solution_03_refuses_a_second_server_on_its_directory: env!("CARGO_BIN_EXE_serve-solution-03"),
    solution_04_refuses_a_second_server_on_its_directory: env!("CARGO_BIN_EXE_serve-solution-04"),
    solution_05_refuses_a_second_server_on_its_directory: env!("CARGO_BIN_EXE_serve-solution-05"),
    solution_06_refuses_a_second_server_on_its_directory: env!("CARGO_BIN_EXE_serve-solution-06"),
}

#[test]
fn solution_07_refuses_a_second_server_on_its_directory() {
    a_second_server_is_refused(env!("CARGO_BIN_EXE_serve-solution-07"), libc::SIGKILL);
}

/// The files of `directory` and their bytes, but for `LOCK`: what a refused
/// start must leave as it found it (taking the lock may create `LOCK`).
fn files_of(directory: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut files = BTreeMap::new();
    for entry in fs::read_dir(directory).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if name == "LOCK" {
            continue;
        }
        let bytes = if path.is_dir() {
            b"<a directory>".to_vec()
        } else {
            fs::read(&path).unwrap()
        };
        files.insert(name, bytes);
    }
    files
}

/// One damage to one file, as a disk, a careless hand or a bad tool might
/// do it while the store is stopped. Returns what was done, for the report.
/// `targets`: the endings of the names of the files that may be damaged.
fn damage(directory: &Path, random: &mut Xorshift, targets: &[&str]) -> String {
    let files: Vec<PathBuf> = files_of(directory)
        .keys()
        .filter(|name| targets.iter().any(|ending| name.ends_with(ending)))
        .map(|name| directory.join(name))
        .collect();
    let path = &files[random.below(files.len() as u64) as usize];
    let name = path.file_name().unwrap().to_string_lossy().into_owned();
    let bytes = fs::read(path).unwrap();
    let mut lines: Vec<Vec<u8>> = bytes
        .split_inclusive(|&byte| byte == b'\n')
        .map(<[u8]>::to_vec)
        .collect();
    let pick = |random: &mut Xorshift, count: usize| random.below(count.max(1) as u64) as usize;
    let (what, damaged): (String, Option<Vec<u8>>) = match random.below(8) {
        0 => {
            let length = pick(random, bytes.len());
            (
                format!("{name} cut to {length} bytes"),
                Some(bytes[..length].to_vec()),
            )
        }
        1 => {
            let keep = pick(random, lines.len());
            (
                format!("{name} cut after line {keep}"),
                Some(lines[..keep].concat()),
            )
        }
        2 if !bytes.is_empty() => {
            let at = pick(random, bytes.len());
            let mut changed = bytes.clone();
            // Another byte, never the same one: a printable letter where it
            // was text, so that the damage most often still parses.
            changed[at] = if changed[at] == b'x' { b'y' } else { b'x' };
            (format!("{name}: byte {at} changed"), Some(changed))
        }
        3 if !lines.is_empty() => {
            let at = pick(random, lines.len());
            lines.insert(at, lines[at].clone());
            (
                format!("{name}: line {} duplicated", at + 1),
                Some(lines.concat()),
            )
        }
        4 if lines.len() >= 2 => {
            let at = pick(random, lines.len() - 1);
            lines.swap(at, at + 1);
            (
                format!("{name}: lines {} and {} swapped", at + 1, at + 2),
                Some(lines.concat()),
            )
        }
        5 if !lines.is_empty() => {
            let at = pick(random, lines.len());
            lines.remove(at);
            (
                format!("{name}: line {} dropped", at + 1),
                Some(lines.concat()),
            )
        }
        6 => {
            fs::remove_file(path).unwrap();
            (format!("{name} removed"), None)
        }
        _ => {
            // A file added: a copy of this one under a table's name that
            // nothing names, a leftover's name, or a directory where a table
            // would be.
            let added = match random.below(3) {
                0 => "000999.sst".to_string(),
                1 => format!("{name}.tmp"),
                _ => {
                    fs::create_dir(directory.join("000998.sst")).unwrap();
                    return "a directory 000998.sst/ added".into();
                }
            };
            fs::write(directory.join(&added), &bytes).unwrap();
            return format!("{added} added, a copy of {name}");
        }
    };
    if let Some(damaged) = damaged {
        fs::write(path, damaged).unwrap();
    }
    what
}

/// How a run of damages went.
#[derive(Debug, Default)]
struct Verdicts {
    refused: usize,
    served_as_before: usize,
    /// Served without the newest log's last batch: damage there that looks
    /// like a write torn by a power cut (step 07).
    served_without_the_last_batch: usize,
}

/// Where damage to `directory`'s logs may read as a torn write: the newest
/// log that holds a batch, if no `next` record ends it, from its last batch
/// header on (see `log_record.rs`). `None` without logs.
fn torn_tail(directory: &Path) -> Option<(String, usize)> {
    let files = files_of(directory);
    let (name, bytes) = files.iter().rev().find(|(name, bytes)| {
        name.ends_with(".wal") && bytes.windows(7).any(|w| w == b"\nbatch ")
    })?;
    let text = String::from_utf8_lossy(bytes);
    if text.contains(" next ") {
        return None;
    }
    let start = bytes.windows(7).rposition(|window| window == b"\nbatch ")? + 1;
    Some((name.clone(), start))
}

/// Whether the only difference between `before` and `after` is in the file
/// `name`, at or after byte `start`.
fn changed_only_from(
    before: &BTreeMap<String, Vec<u8>>,
    after: &BTreeMap<String, Vec<u8>>,
    (name, start): &(String, usize),
) -> bool {
    let (Some(old), Some(new)) = (before.get(name), after.get(name)) else {
        return false;
    };
    let others = |files: &BTreeMap<String, Vec<u8>>| {
        files
            .iter()
            .filter(|(other, _)| *other != name)
            .map(|(other, bytes)| (other.clone(), bytes.clone()))
            .collect::<Vec<_>>()
    };
    let first_difference = old.iter().zip(new).position(|(a, b)| a != b);
    let first_difference = first_difference.unwrap_or(old.len().min(new.len()));
    others(before) == others(after) && first_difference >= *start
}

/// Writes a store with several tables, merges, tombstones and (in step 07)
/// a log, stops it, and then damages copies of its directory `rounds`
/// times. Each damaged copy must be refused with every file left as it
/// was, or served exactly as the undamaged directory is.
fn damage_is_refused_or_served_as_before<H: Harness>(
    seed: u64,
    rounds: usize,
    memtable_bytes: usize,
    targets: &[&str],
) -> Verdicts {
    let scratch = tempfile::tempdir().unwrap();
    let base = scratch.path().join("base");
    let mut keys = Vec::new();
    {
        let store = H::try_open(&base, memtable_bytes).unwrap();
        let mut random = Xorshift(seed);
        for n in 0..120 {
            let key = format!(
                "{}:capital",
                ["kenya", "rwanda", "tanzania", "uganda", "burundi"][n % 5]
            );
            let key = format!("{key}:{}", random.below(12));
            if random.below(5) == 0 {
                store.delete(&key);
            } else {
                store.set(&key, &format!("value {n} of {key}"));
            }
            keys.push(key);
        }
        // Dropped without a flush: steps 05-06 lose the memtable (it was
        // never promised), step 07 keeps it in its log.
    }
    keys.sort();
    keys.dedup();
    let read_all = |store: &H| -> Vec<(String, Option<String>)> {
        keys.iter()
            .map(|key| (key.clone(), store.get(key)))
            .collect()
    };
    let probe = scratch.path().join("probe");
    copy_files(&base, &probe);
    let (expected_gets, expected_scan) = {
        let store = H::open(&probe);
        (read_all(&store), store.scan())
    };
    // The store as it reads with the newest log's last batch torn away.
    let tail = torn_tail(&base);
    let without_last_batch = tail.as_ref().map(|(name, start)| {
        let torn = scratch.path().join("torn");
        copy_files(&base, &torn);
        let mut bytes = fs::read(torn.join(name)).unwrap();
        bytes[*start..].fill(0);
        fs::write(torn.join(name), bytes).unwrap();
        let store = H::open(&torn);
        (read_all(&store), store.scan())
    });
    let base_files = files_of(&base);
    let mut verdicts = Verdicts::default();
    let mut random = Xorshift(seed ^ 0x9e37_79b9_7f4a_7c15);
    for round in 0..rounds {
        let damaged = scratch.path().join(format!("damaged-{round}"));
        copy_files(&base, &damaged);
        let what = damage(&damaged, &mut random, targets);
        let before = files_of(&damaged);
        match H::try_open(&damaged, usize::MAX) {
            Err(reason) => {
                assert_eq!(
                    files_of(&damaged),
                    before,
                    "{}: {what}: refused ({reason}), but the files changed",
                    H::NAME
                );
                verdicts.refused += 1;
            }
            Ok(store) => {
                let read = (read_all(&store), store.scan());
                let torn_away = tail
                    .as_ref()
                    .is_some_and(|tail| changed_only_from(&base_files, &before, tail));
                if torn_away
                    && without_last_batch.as_ref() == Some(&read)
                    && read.0 != expected_gets
                {
                    verdicts.served_without_the_last_batch += 1;
                    fs::remove_dir_all(&damaged).unwrap();
                    continue;
                }
                assert_eq!(
                    read_all(&store),
                    expected_gets,
                    "{}: {what}: served, and a GET answered otherwise than before the damage",
                    H::NAME
                );
                assert_eq!(
                    store.scan(),
                    expected_scan,
                    "{}: {what}: served, and the scan differs from before the damage",
                    H::NAME
                );
                verdicts.served_as_before += 1;
            }
        }
        fs::remove_dir_all(&damaged).unwrap();
    }
    let logs = base_files
        .keys()
        .filter(|name| name.ends_with(".wal"))
        .count();
    let damageable = base_files
        .keys()
        .filter(|name| targets.iter().any(|ending| name.ends_with(ending)))
        .count();
    eprintln!(
        "{}: {rounds} damages to {damageable} of its {} files ({logs} logs): {verdicts:?}",
        H::NAME,
        base_files.len()
    );
    verdicts
}

/// Damages per run: 60 in each of the 5 runs.
const DAMAGES: usize = 60;

#[test]
fn solution_05_refuses_damage_or_serves_as_before() {
    let verdicts = damage_is_refused_or_served_as_before::<solution_05::Store>(
        5,
        DAMAGES,
        SMALL_MEMTABLE_BYTES,
        &[""],
    );
    assert!(
        verdicts.refused > 0 && verdicts.served_as_before > 0,
        "{verdicts:?}"
    );
}

#[test]
fn solution_06_refuses_damage_or_serves_as_before() {
    let verdicts = damage_is_refused_or_served_as_before::<solution_06::Store>(
        6,
        DAMAGES,
        SMALL_MEMTABLE_BYTES,
        &[""],
    );
    assert!(
        verdicts.refused > 0 && verdicts.served_as_before > 0,
        "{verdicts:?}"
    );
}

/// Step 07's logs are damaged too. The one damage that may be served with
/// less than before is in the newest log's last batch, and only where it
/// looks like a write torn by a power cut (zeros, or a cut where the zeros
/// begin): recovery drops such a batch by design, as a torn write would
/// be dropped, and the test checks that nothing else is lost.
#[test]
fn solution_07_refuses_damage_or_serves_as_before() {
    let verdicts = damage_is_refused_or_served_as_before::<solution_07::Store>(
        7,
        DAMAGES,
        SMALL_MEMTABLE_BYTES,
        &[""],
    );
    assert!(
        verdicts.refused > 0 && verdicts.served_as_before > 0,
        "{verdicts:?}"
    );
}

/// The logs and the manifest that links them, on their own, in two shapes
/// of directory. With 16-byte memtables every write freezes one, so every
/// log has grown past the length it was made (only the next log's header
/// says where it ends) and the newest holds no write yet. With 100-byte
/// memtables every log stays within its length, and the newest holds
/// writes that only the `next` before it knows of. Each shape is what
/// catches one of the links missing: a log cut, or removed whole, must be
/// refused.
#[test]
fn solution_07_refuses_damage_to_its_logs_or_serves_as_before() {
    for (seed, memtable_bytes) in [(70, 16), (71, 100)] {
        let verdicts = damage_is_refused_or_served_as_before::<solution_07::Store>(
            seed,
            DAMAGES,
            memtable_bytes,
            &[".wal", "MANIFEST"],
        );
        assert!(
            verdicts.refused > 0 && verdicts.served_as_before > 0,
            "{verdicts:?}"
        );
    }
}
