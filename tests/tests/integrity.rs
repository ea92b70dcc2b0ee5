//! One server per data directory, from step 03 on: a second server started
//! on a directory that a running server uses is refused before it reads,
//! replays or removes anything, so the first server's acknowledged writes
//! survive the slip.
//!
//! Without the lock, the second start runs its recovery under the first
//! server's feet (step 07 replays the live log into a table and removes it,
//! while the first server goes on appending to a file that no longer has a
//! name) and then serves the same files: writes the first one acknowledged
//! are gone after its next restart.

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use cross_step_tests::client::{Response, kv_path, send};
use cross_step_tests::server::Server;

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
        put(first.addr, &format!("before:{n:02}"), "written before the slip");
    }
    let (succeeded, printed) = second_start(binary, &data);
    assert!(!succeeded, "the second server exited successfully:\n{printed}");
    let expected = format!("another server is using {}", data.display());
    assert!(
        printed.contains(&expected),
        "the refusal does not say {expected:?}:\n{printed}"
    );
    for n in 0..20 {
        put(first.addr, &format!("after:{n:02}"), "written after the slip");
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

#[test]
fn solution_03_refuses_a_second_server_on_its_directory() {
    a_second_server_is_refused(env!("CARGO_BIN_EXE_serve-solution-03"), libc::SIGTERM);
}

#[test]
fn solution_04_refuses_a_second_server_on_its_directory() {
    a_second_server_is_refused(env!("CARGO_BIN_EXE_serve-solution-04"), libc::SIGTERM);
}

#[test]
fn solution_05_refuses_a_second_server_on_its_directory() {
    a_second_server_is_refused(env!("CARGO_BIN_EXE_serve-solution-05"), libc::SIGTERM);
}

#[test]
fn solution_06_refuses_a_second_server_on_its_directory() {
    a_second_server_is_refused(env!("CARGO_BIN_EXE_serve-solution-06"), libc::SIGTERM);
}

#[test]
fn solution_07_refuses_a_second_server_on_its_directory() {
    a_second_server_is_refused(env!("CARGO_BIN_EXE_serve-solution-07"), libc::SIGKILL);
}
