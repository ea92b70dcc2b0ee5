//! The `inspect` binary as a learner runs it: what it prints, its exit
//! codes, `--watch`, and a reader that goes away.

use std::fs;
use std::io::Read;
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

mod common;

use common::INSPECT;

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

/// Runs `cargo inspect DIR verify`: its exit code and what it printed.
fn verify(directory: &std::path::Path) -> (Option<i32>, String) {
    let output = Command::new(INSPECT)
        .arg(directory)
        .arg("verify")
        .output()
        .unwrap();
    (
        output.status.code(),
        String::from_utf8(output.stdout).unwrap(),
    )
}

#[test]
fn verify_exits_1_on_a_damaged_table_and_names_its_line() {
    let directory = one_table();
    fs::write(
        directory.path().join("000001.sst"),
        "tanzania:capital→Dodoma\nkenya:capital→Nairobi\n",
    )
    .unwrap();
    let (code, text) = verify(directory.path());
    assert_eq!(code, Some(1));
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
    let (code, text) = verify(directory.path());
    assert_eq!(code, Some(1));
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

/// `--serve` without a browser: the page, a frame, the events and a GET,
/// each the command line's own text, and the directory left as it was.
#[test]
fn serve_answers_with_the_commands_own_text_and_writes_nothing() {
    let directory = one_table();
    let (mut child, address) = serve(directory.path());
    let cli = |args: &[&str]| {
        let output = Command::new(INSPECT)
            .arg(directory.path())
            .args(args)
            .output()
            .unwrap();
        String::from_utf8(output.stdout).unwrap()
    };

    let page = http_get(&address, "/");
    assert!(
        page.contains("<title>little-kv: the tree, live</title>"),
        "{page}"
    );
    // The first look is frame 0; the event stream lists it first.
    let events = http_get_first_event(&address);
    assert!(
        events.contains("first look: step 03, 1 live table"),
        "{events}"
    );
    let frame: serde_json::Value = serde_json::from_str(&http_get(&address, "/frame/0")).unwrap();
    assert_eq!(frame["summary"], cli(&[]));
    assert_eq!(frame["svg"], cli(&["picture"]));
    assert_eq!(frame["tables"], serde_json::json!(["000001.sst"]));
    let get = http_get(&address, "/get?frame=0&key=tanzania%3Acapital");
    assert_eq!(get, cli(&["get", "tanzania:capital"]));
    assert!(http_get(&address, "/frame/7").starts_with("frame 7 is not kept"));

    child.kill().unwrap();
    child.wait().unwrap();
    let names: Vec<String> = fs::read_dir(directory.path())
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["000001.sst"], "--serve created or removed a file");
}

/// With nothing changing and a page open (its event stream connected), the
/// inspector sleeps in the kernel: no thread of it runs at all, so it
/// neither polls the directory nor rereads a table. Counted by the kernel's
/// context switches of each thread, which a loop that looks once a second
/// would move at every look.
#[test]
fn an_idle_inspector_does_not_run_at_all() {
    let directory = one_table();
    let (mut child, address) = serve(directory.path());
    // The first look is done once frame 0 is there; then nothing changes.
    let mut events = open_event_stream(&address);
    read_first_event(&mut events);
    http_get(&address, "/frame/0");
    thread::sleep(Duration::from_millis(500));

    let before = context_switches(child.id());
    thread::sleep(Duration::from_secs(3));
    let after = context_switches(child.id());

    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(
        after - before,
        0,
        "an idle inspector ran {} times in 3 s: something polls",
        after - before
    );
}

/// How many times the threads of process `pid` have been switched to, so
/// far (Linux's `/proc/PID/task/*/status`).
fn context_switches(pid: u32) -> u64 {
    let mut switches = 0;
    for task in fs::read_dir(format!("/proc/{pid}/task")).unwrap() {
        let status = fs::read_to_string(task.unwrap().path().join("status")).unwrap();
        for line in status.lines() {
            if let Some(count) = line
                .strip_prefix("voluntary_ctxt_switches:")
                .or_else(|| line.strip_prefix("nonvoluntary_ctxt_switches:"))
            {
                switches += count.trim().parse::<u64>().unwrap();
            }
        }
    }
    switches
}

/// `inspect DIRECTORY --serve` on a free port, and its address
/// (`host:port`) once it says it is listening.
fn serve(directory: &std::path::Path) -> (std::process::Child, String) {
    let directory = directory.to_str().expect("a temporary path in UTF-8");
    let (child, url) = common::serve(std::path::Path::new("."), &[directory]);
    let address = url
        .strip_prefix("http://")
        .and_then(|rest| rest.strip_suffix('/'))
        .unwrap_or_else(|| panic!("not an address: {url:?}"))
        .to_string();
    (child, address)
}

/// The body of `GET path` from the server at `address`.
fn http_get(address: &str, path: &str) -> String {
    use std::io::Write;
    let mut stream = std::net::TcpStream::connect(address).unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    let (_, body) = answer.split_once("\r\n\r\n").unwrap();
    body.to_string()
}

/// The first event of `/events` (the stream never ends by itself).
fn http_get_first_event(address: &str) -> String {
    read_first_event(&mut open_event_stream(address))
}

/// A connection to `/events`, as a page holds it open.
fn open_event_stream(address: &str) -> std::net::TcpStream {
    use std::io::Write;
    let mut stream = std::net::TcpStream::connect(address).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(stream, "GET /events HTTP/1.1\r\nHost: {address}\r\n\r\n").unwrap();
    stream
}

/// The stream's answer up to the end of its first event.
fn read_first_event(stream: &mut std::net::TcpStream) -> String {
    let mut answer = Vec::new();
    let mut buffer = [0; 4096];
    while !String::from_utf8_lossy(&answer).contains("\n\n") {
        let read = stream.read(&mut buffer).unwrap();
        assert!(read > 0, "the event stream ended");
        answer.extend_from_slice(&buffer[..read]);
    }
    String::from_utf8_lossy(&answer).into_owned()
}
