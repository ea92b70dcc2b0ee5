//! The `inspect` binary as a learner runs it: what it prints, its exit
//! codes, `--watch`, and a reader that goes away.

use std::fs;
use std::io::Read;
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

const INSPECT: &str = env!("CARGO_BIN_EXE_inspect");

/// A directory as step 03 leaves it after one flush.
fn one_table() -> tempfile::TempDir {
    let directory = tempfile::tempdir().unwrap();
    fs::write(
        directory.path().join("000001.sst"),
        "kenya:capital→Nairobi\ntanzania:capital→†\n",
    )
    .unwrap();
    directory
}

#[test]
fn watch_redraws_the_summary_every_second_until_stopped() {
    let directory = one_table();
    let mut child = Command::new(INSPECT)
        .arg(directory.path())
        .arg("--watch")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let reader = thread::spawn(move || {
        let mut text = String::new();
        // Ends when the child is killed and the pipe closes.
        let _ = stdout.read_to_string(&mut text);
        text
    });
    thread::sleep(Duration::from_millis(2500));
    child.kill().unwrap();
    child.wait().unwrap();
    let text = reader.join().unwrap();
    let redraws = text.matches("\x1b[2J\x1b[H").count();
    assert!(
        (2..=4).contains(&redraws),
        "{redraws} redraws in 2.5 s, not one a second:\n{text}"
    );
    assert!(text.contains("000001.sst"), "{text}");
}

#[test]
fn verify_exits_1_on_a_damaged_table_and_names_its_line() {
    let directory = one_table();
    fs::write(
        directory.path().join("000001.sst"),
        "tanzania:capital→Dodoma\nkenya:capital→Nairobi\n",
    )
    .unwrap();
    let output = Command::new(INSPECT)
        .arg(directory.path())
        .arg("verify")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let text = String::from_utf8(output.stdout).unwrap();
    assert!(text.contains("000001.sst:2: "), "{text}");
}

#[test]
fn verify_says_the_store_refuses_a_table_its_manifest_does_not_name_so() {
    let directory = one_table();
    // Step 05's manifest, naming the table with a size it does not have.
    let body = "000001.sst 3 00000000\n";
    let mut summer = solution_07::format::Summer::default();
    summer.add(body.as_bytes());
    let check = format!("check {:08x}\n", summer.finish().crc);
    fs::write(directory.path().join("MANIFEST"), format!("{body}{check}")).unwrap();
    let output = Command::new(INSPECT)
        .arg(directory.path())
        .arg("verify")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let text = String::from_utf8(output.stdout).unwrap();
    assert!(
        text.contains("000001.sst: the table is damaged: it has 47 bytes with CRC-32 "),
        "{text}"
    );
    assert!(
        text.lines()
            .last()
            .is_some_and(|last| last.contains("the store refuses to start")),
        "{text}"
    );
}

#[test]
fn a_directory_that_cannot_be_read_exits_2_with_its_path() {
    let directory = tempfile::tempdir().unwrap();
    let missing = directory.path().join("no-such-data");
    let output = Command::new(INSPECT).arg(&missing).output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    let error = String::from_utf8(output.stderr).unwrap();
    assert!(error.contains("no-such-data"), "{error}");
}

#[test]
fn a_reader_that_goes_away_ends_the_command_without_a_panic() {
    let directory = one_table();
    let mut child = Command::new(INSPECT)
        .arg(directory.path())
        .arg("--watch")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Close our end of the pipe at once: the next redraw meets no reader.
    drop(child.stdout.take());
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "inspect --watch went on writing to a closed pipe"
        );
        thread::sleep(Duration::from_millis(50));
    };
    let mut error = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut error)
        .unwrap();
    assert!(status.success(), "{status}: {error}");
    assert!(!error.contains("panicked"), "{error}");
}
