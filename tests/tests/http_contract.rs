//! The HTTP API, checked against each step's real server process.
//!
//! Every step serves the same API, so one contract runs against all of them:
//! the exact status codes and bodies, the keys and values that must survive
//! the trip (percent-encoded paths, newlines, `→`, `†`, 1 MiB values), a burst
//! of concurrent connections, and, from step 03 on, a graceful stop that
//! flushes and a restart that reads the data back.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;

use cross_step_tests::client::{Response, kv_path, send};
use cross_step_tests::for_steps;
use cross_step_tests::server::Server;

/// How many clients connect at once in the burst test.
const BURST_CONNECTIONS: usize = 10_000;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Runtime::new().expect("start a tokio runtime")
}

/// Sends one request and returns the response.
fn request(addr: SocketAddr, method: &str, path: &str, body: &[u8]) -> Response {
    runtime()
        .block_on(send(addr, method, path, body))
        .unwrap_or_else(|error| panic!("{method} {path}: {error}"))
}

fn ok(body: &str) -> Response {
    Response {
        status: 200,
        body: body.as_bytes().to_vec(),
    }
}

fn error(status: u16, message: &str) -> Response {
    Response {
        status,
        body: format!("{message}\n").into_bytes(),
    }
}

/// The walkthrough of Part 1 of the series, with its exact answers.
fn walkthrough(addr: SocketAddr) {
    let put = |key: &str, value: &str| request(addr, "PUT", &kv_path(key), value.as_bytes());
    assert_eq!(put("kenya:capital", "Nairobi"), ok(""));
    assert_eq!(put("uganda:capital", "Kampala"), ok(""));
    assert_eq!(put("tanzania:capital", "Dar es Salaam"), ok(""));
    assert_eq!(put("tanzania:capital", "Dodoma"), ok(""));
    // The key written as is, not percent-encoded, names the same key.
    assert_eq!(
        request(addr, "GET", "/kv/kenya:capital", b""),
        ok("Nairobi")
    );
    assert_eq!(
        request(addr, "GET", &kv_path("tanzania:capital"), b""),
        ok("Dodoma")
    );
    assert_eq!(
        request(addr, "DELETE", &kv_path("tanzania:capital"), b""),
        ok("")
    );
    assert_eq!(
        request(addr, "GET", &kv_path("tanzania:capital"), b""),
        error(404, "key not found")
    );
    // Deleting is idempotent.
    assert_eq!(
        request(addr, "DELETE", &kv_path("tanzania:capital"), b""),
        ok("")
    );
}

/// Bad input answers 400 with a one-line reason, and other methods 405.
fn bad_requests(addr: SocketAddr) {
    assert_eq!(
        request(addr, "PUT", "/kv/", b"Nairobi"),
        error(400, "key cannot be empty")
    );
    assert_eq!(
        request(addr, "GET", "/kv/", b""),
        error(400, "key cannot be empty")
    );
    assert_eq!(
        request(addr, "DELETE", "/kv/", b""),
        error(400, "key cannot be empty")
    );
    assert_eq!(
        request(addr, "PUT", "/kv/k", b""),
        error(400, "value cannot be empty")
    );
    assert_eq!(
        request(addr, "PUT", "/kv/k", b"\xff\xfe"),
        error(400, "value is not valid UTF-8")
    );
    assert_eq!(
        request(addr, "GET", "/kv/%FF", b""),
        error(400, "key is not valid UTF-8")
    );
    for (method, path) in [
        ("POST", "/kv/k"),
        ("PATCH", "/kv/"),
        ("GET", "/clear"),
        ("PUT", "/clear"),
    ] {
        assert_eq!(
            request(addr, method, path, b"x"),
            error(405, "method not allowed"),
            "{method} {path}"
        );
    }
    // Nothing of the refused requests was stored.
    assert_eq!(
        request(addr, "GET", "/kv/k", b""),
        error(404, "key not found")
    );
}

/// Keys and values with every character a text format could trip on.
const AWKWARD: [(&str, &str); 9] = [
    ("emoji 🦀", "🌍 value"),
    ("spaces and\ttabs", "a value\twith\ttabs"),
    ("new\nline", "line one\nline two\r\n"),
    ("arrow→key", "value→with→arrows"),
    ("cross†", "†"),
    ("back\\slash", "\\n is not a newline\\"),
    ("a/b/c", "slashes in the key"),
    ("percent%20", "%41"),
    ("question?mark#hash", "?#&="),
];

/// Every awkward key and value comes back exactly as it was written.
fn awkward_round_trips(addr: SocketAddr) {
    for (key, value) in AWKWARD {
        assert_eq!(
            request(addr, "PUT", &kv_path(key), value.as_bytes()),
            ok(""),
            "{key:?}"
        );
    }
    for (key, value) in AWKWARD {
        assert_eq!(
            request(addr, "GET", &kv_path(key), b""),
            ok(value),
            "{key:?}"
        );
    }
    // A slash in a key may be written as is or encoded.
    assert_eq!(
        request(addr, "GET", "/kv/a/b/c", b""),
        ok("slashes in the key")
    );
    let big = "0123456789abcdef".repeat(64 * 1024);
    assert_eq!(request(addr, "PUT", "/kv/big", big.as_bytes()), ok(""));
    assert_eq!(request(addr, "GET", "/kv/big", b"").body.len(), big.len());
}

/// `DELETE /clear` removes every key.
fn clear(addr: SocketAddr) {
    assert_eq!(request(addr, "PUT", "/kv/before-clear", b"x"), ok(""));
    assert_eq!(request(addr, "DELETE", "/clear", b""), ok(""));
    assert_eq!(
        request(addr, "GET", "/kv/before-clear", b""),
        error(404, "key not found")
    );
    assert_eq!(
        request(addr, "GET", &kv_path("emoji 🦀"), b""),
        error(404, "key not found")
    );
}

/// The whole contract against the server `binary`.
fn contract(binary: &str) {
    let directory = tempfile::tempdir().unwrap();
    let server = Server::start(binary, directory.path(), &[]);
    walkthrough(server.addr);
    bad_requests(server.addr);
    awkward_round_trips(server.addr);
    clear(server.addr);
    let (status, log) = server.stop_with(libc::SIGTERM);
    assert!(
        status.success(),
        "{binary} exited with {status} after SIGTERM:\n{log}"
    );
}

/// Many clients at once: every PUT is acknowledged and then readable.
fn burst(binary: &str, working_dir: &Path) {
    rlimit::increase_nofile_limit(u64::MAX).expect("raise the open-file limit");
    let server = Server::start(binary, working_dir, &[]);
    let addr = server.addr;
    let runtime = runtime();
    let answers = runtime.block_on(async {
        let puts: Vec<_> = (0..BURST_CONNECTIONS)
            .map(|n| {
                tokio::spawn(async move {
                    send(
                        addr,
                        "PUT",
                        &format!("/kv/burst-{n}"),
                        n.to_string().as_bytes(),
                    )
                    .await
                })
            })
            .collect();
        let mut answers = Vec::new();
        for put in puts {
            answers.push(put.await.expect("the client task panicked"));
        }
        answers
    });
    for (n, answer) in answers.into_iter().enumerate() {
        let answer =
            answer.unwrap_or_else(|error| panic!("PUT burst-{n}: {error}\n{}", server.log()));
        assert_eq!(answer, ok(""), "PUT burst-{n}");
    }
    // Read back in batches, so that the check itself is not another burst.
    runtime.block_on(async {
        for batch in (0..BURST_CONNECTIONS).collect::<Vec<_>>().chunks(500) {
            let gets: Vec<_> = batch
                .iter()
                .map(|&n| {
                    tokio::spawn(async move {
                        (n, send(addr, "GET", &format!("/kv/burst-{n}"), b"").await)
                    })
                })
                .collect();
            for get in gets {
                let (n, answer) = get.await.expect("the client task panicked");
                assert_eq!(
                    answer.expect("GET after the burst"),
                    ok(&n.to_string()),
                    "GET burst-{n}"
                );
            }
        }
    });
}

/// A request that is in flight when SIGTERM arrives is answered, and only
/// then does the server exit, with status 0.
fn in_flight_request_finishes_after_sigterm(binary: &str) {
    let directory = tempfile::tempdir().unwrap();
    let server = Server::start(binary, directory.path(), &[]);
    let mut stream = TcpStream::connect(server.addr).unwrap();
    // `Expect: 100-continue` makes the server say when the handler starts
    // reading the body: from then on the request is in flight.
    let head = "PUT /kv/in-flight HTTP/1.1\r\nhost: test\r\ncontent-length: 5\r\n\
                expect: 100-continue\r\nconnection: close\r\n\r\n";
    stream.write_all(head.as_bytes()).unwrap();
    let mut continue_line = [0u8; 25];
    stream.read_exact(&mut continue_line).unwrap();
    assert_eq!(&continue_line, b"HTTP/1.1 100 Continue\r\n\r\n");
    server.signal(libc::SIGTERM);
    server.wait_for_log("SIGTERM");
    stream.write_all(b"value").unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    assert!(response.starts_with("HTTP/1.1 200 OK\r\n"), "{response}");
    let (status, log) = server.wait();
    assert!(status.success(), "exit status {status}:\n{log}");
}

for_steps! {
    contract(binary);
    solution_01_keeps_the_contract: env!("CARGO_BIN_EXE_serve-solution-01"),
    solution_02_keeps_the_contract: env!("CARGO_BIN_EXE_serve-solution-02"),
    solution_03_keeps_the_contract: env!("CARGO_BIN_EXE_serve-solution-03"),
    solution_04_keeps_the_contract: env!("CARGO_BIN_EXE_serve-solution-04"),
    solution_05_keeps_the_contract: env!("CARGO_BIN_EXE_serve-solution-05"),
    solution_06_keeps_the_contract: env!("CARGO_BIN_EXE_serve-solution-06"),
    solution_07_keeps_the_contract: env!("CARGO_BIN_EXE_serve-solution-07"),
}

for_steps! {
    in_flight_request_finishes_after_sigterm(binary);
    solution_01_finishes_requests_in_flight_at_sigterm: env!("CARGO_BIN_EXE_serve-solution-01"),
    solution_02_finishes_requests_in_flight_at_sigterm: env!("CARGO_BIN_EXE_serve-solution-02"),
    solution_03_finishes_requests_in_flight_at_sigterm: env!("CARGO_BIN_EXE_serve-solution-03"),
    solution_04_finishes_requests_in_flight_at_sigterm: env!("CARGO_BIN_EXE_serve-solution-04"),
    solution_05_finishes_requests_in_flight_at_sigterm: env!("CARGO_BIN_EXE_serve-solution-05"),
    solution_06_finishes_requests_in_flight_at_sigterm: env!("CARGO_BIN_EXE_serve-solution-06"),
    solution_07_finishes_requests_in_flight_at_sigterm: env!("CARGO_BIN_EXE_serve-solution-07"),
}

for_steps! {
    burst(binary, &tempfile::tempdir().unwrap().path().join("data"));
    solution_01_survives_a_burst_of_connections: env!("CARGO_BIN_EXE_serve-solution-01"),
    solution_02_survives_a_burst_of_connections: env!("CARGO_BIN_EXE_serve-solution-02"),
}

for_steps! {
    burst(binary, tempfile::tempdir().unwrap().path());
    solution_03_survives_a_burst_of_connections: env!("CARGO_BIN_EXE_serve-solution-03"),
    solution_04_survives_a_burst_of_connections: env!("CARGO_BIN_EXE_serve-solution-04"),
    solution_05_survives_a_burst_of_connections: env!("CARGO_BIN_EXE_serve-solution-05"),
    solution_06_survives_a_burst_of_connections: env!("CARGO_BIN_EXE_serve-solution-06"),
    solution_07_survives_a_burst_of_connections: env!("CARGO_BIN_EXE_serve-solution-07"),
}
