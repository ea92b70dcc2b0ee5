//! Stalled clients cannot take the server away from everyone, checked
//! against each step's real server process.
//!
//! Each connection is an open file. The server runs here with its open-file
//! limit at 1024, and 1,100 clients connect and stall: every other one sends
//! half a request head (no blank line ends it), the rest send nothing at
//! all. Then one normal client sends a PUT and a GET, which must be answered
//! within [`ANSWER_WITHIN`]. A server that lets a stalled connection keep its
//! file until the client leaves runs out of files, stops accepting, and
//! leaves the normal client in the kernel's queue for as long as the stalled
//! ones stay. Each step's `serve.rs` closes a connection whose request head
//! has not arrived within its deadline, and keeps fewer connections open
//! than its file limit allows, so the normal client is answered after one
//! deadline (its arithmetic is in that file's docs).
//!
//! The test then stops the server with SIGTERM while the last stalled
//! clients still hold their connections: a graceful stop waits for requests
//! in flight, but a half-sent head is not one it may wait for forever.

use std::io::Write;
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::time::{Duration, Instant};

use cross_step_tests::client::{Response, send};
use cross_step_tests::for_steps;
use cross_step_tests::server::Server;

/// The server's open-file limit, soft and hard (so that the server cannot
/// raise it): a common default on Linux.
const SERVER_OPEN_FILES: u64 = 1024;

/// How many clients stall: more than the server's open-file limit.
const STALLED_CLIENTS: usize = 1_100;

/// What a stalling client sends: half a request head, with no blank line
/// after it.
const HALF_A_HEAD: &[u8] = b"PUT /kv/a HTTP/1.1\r\nHost: x\r\n";

/// How long the normal client may wait for each answer (and the server for
/// its stop: `Server::wait_for_log` waits as long).
const ANSWER_WITHIN: Duration = Duration::from_secs(10);

/// Starts `binary` with its open-file limit at [`SERVER_OPEN_FILES`]. The
/// shell sets the limit and runs the server as its only child (`exit $?`
/// comes after, so the shell does not exec it), which is what
/// `Server::start_under` expects of a wrapper.
fn start_with_few_files(binary: &str, working_dir: &Path) -> Server {
    let wrapper = [
        "sh".to_string(),
        "-c".to_string(),
        format!("ulimit -n {SERVER_OPEN_FILES} && \"$@\"; exit $?"),
        "sh".to_string(),
    ];
    Server::start_under(&wrapper, binary, working_dir, &[])
}

/// Opens [`STALLED_CLIENTS`] connections to `addr`; every other one sends
/// [`HALF_A_HEAD`], the rest send nothing. The kernel completes each
/// connection on its own (the server's listen backlog is larger than
/// this), whether or not the server has accepted it.
fn stall(addr: SocketAddr) -> Vec<TcpStream> {
    (0..STALLED_CLIENTS)
        .map(|n| {
            let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5))
                .unwrap_or_else(|error| panic!("stalled client {n}: cannot connect: {error}"));
            if n % 2 == 0 {
                stream
                    .write_all(HALF_A_HEAD)
                    .unwrap_or_else(|error| panic!("stalled client {n}: cannot send: {error}"));
            }
            stream
        })
        .collect()
}

/// Sends one request as a normal client and returns its answer and how long
/// it took; fails if no answer comes within [`ANSWER_WITHIN`].
fn timed_request(
    runtime: &tokio::runtime::Runtime,
    server: &Server,
    method: &str,
    body: &[u8],
) -> (Response, Duration) {
    let started = Instant::now();
    let answer = runtime.block_on(async {
        tokio::time::timeout(ANSWER_WITHIN, send(server.addr, method, "/kv/a", body)).await
    });
    let took = started.elapsed();
    match answer {
        Ok(Ok(response)) => (response, took),
        Ok(Err(error)) => {
            panic!("{method} /kv/a while {STALLED_CLIENTS} clients stall: {error} after {took:.1?}")
        }
        Err(_) => panic!(
            "{method} /kv/a was not answered within {ANSWER_WITHIN:?} while {STALLED_CLIENTS} \
             clients stall and the server's open-file limit is {SERVER_OPEN_FILES}: the stalled \
             connections keep the server's files, so it accepts no one else (a request head \
             needs a deadline, and open connections a bound below the file limit)"
        ),
    }
}

/// The whole check against the server `binary`.
fn normal_client_is_answered_while_clients_stall(binary: &str) {
    // This process holds the stalled connections: raise its own limit.
    // (Each test that runs at the same time holds its own.)
    let own_limit = rlimit::increase_nofile_limit(u64::MAX).expect("raise the open-file limit");
    let needed = STALLED_CLIENTS as u64 + 100;
    assert!(
        own_limit >= needed,
        "the test needs {needed} open files and may only have {own_limit}: \
         raise the hard limit (`ulimit -Hn`)"
    );
    let directory = tempfile::tempdir().unwrap();
    let server = start_with_few_files(binary, directory.path());
    let stalled = stall(server.addr);
    let runtime = tokio::runtime::Runtime::new().expect("start a tokio runtime");

    let (put, put_took) = timed_request(&runtime, &server, "PUT", b"answered");
    let ok = |body: &str| Response {
        status: 200,
        body: body.as_bytes().to_vec(),
    };
    assert_eq!(put, ok(""), "PUT /kv/a while clients stall");
    let (get, get_took) = timed_request(&runtime, &server, "GET", b"");
    assert_eq!(get, ok("answered"), "GET /kv/a while clients stall");
    eprintln!(
        "{binary}: with {STALLED_CLIENTS} clients stalled, PUT answered in {put_took:.2?}, \
         GET in {get_took:.2?}"
    );

    // The clients that the server accepted last still stall: the stop must
    // not wait for them past their deadline.
    let started = Instant::now();
    server.signal(libc::SIGTERM);
    // Waits for at most ten seconds, as [`ANSWER_WITHIN`].
    server.wait_for_log("stopped:");
    eprintln!("{binary}: stopped {:.2?} after SIGTERM", started.elapsed());
    drop(stalled);
    let (status, log) = server.wait();
    assert!(status.success(), "{binary} exited with {status}:\n{log}");
}

for_steps! {
    normal_client_is_answered_while_clients_stall(binary);
    solution_01_answers_a_normal_client_while_clients_stall:
        env!("CARGO_BIN_EXE_serve-solution-01"),
    solution_02_answers_a_normal_client_while_clients_stall:
        env!("CARGO_BIN_EXE_serve-solution-02"),
    solution_03_answers_a_normal_client_while_clients_stall:
        env!("CARGO_BIN_EXE_serve-solution-03"),
    solution_04_answers_a_normal_client_while_clients_stall:
        env!("CARGO_BIN_EXE_serve-solution-04"),
    solution_05_answers_a_normal_client_while_clients_stall:
        env!("CARGO_BIN_EXE_serve-solution-05"),
    solution_06_answers_a_normal_client_while_clients_stall:
        env!("CARGO_BIN_EXE_serve-solution-06"),
    solution_07_answers_a_normal_client_while_clients_stall:
        env!("CARGO_BIN_EXE_serve-solution-07"),
}
