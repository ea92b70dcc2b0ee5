//! Durable PUTs over HTTP on loopback (step 07): 1, 8 and 64 clients, each
//! on one keep-alive connection, sending 100-byte values as fast as the
//! server answers. Every 200 means the write's log record is on disk.
//!
//! The server runs in this process, on its own tokio runtime, exactly as
//! `main.rs` serves it; the clients run on another runtime. Both share the
//! machine's cores, as a client and a server on one machine do.
//!
//! With `LITTLE_KV_RESULTS` set (see the crate docs), the report also
//! writes `http_durable_puts.csv`, one line per number of clients: the data
//! of chapter 7's throughput chart.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use benchmarks::{Results, disk_syncs_per_second, micros, micros_cell, percentile};
use criterion::{Criterion, criterion_group, criterion_main};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

/// One keep-alive connection that sends PUTs and reads their answers.
struct Connection {
    stream: BufReader<TcpStream>,
}

impl Connection {
    async fn open(addr: SocketAddr) -> Connection {
        let stream = TcpStream::connect(addr).await.unwrap();
        stream.set_nodelay(true).unwrap();
        Connection {
            stream: BufReader::new(stream),
        }
    }

    /// Sends one PUT and returns the status code.
    async fn put(&mut self, key: &str, value: &str) -> u16 {
        let request = format!(
            "PUT /kv/{key} HTTP/1.1\r\nhost: bench\r\ncontent-length: {}\r\n\r\n{value}",
            value.len()
        );
        self.send(&request).await
    }

    /// Sends one GET and returns the status code.
    async fn get(&mut self, key: &str) -> u16 {
        self.send(&format!("GET /kv/{key} HTTP/1.1\r\nhost: bench\r\n\r\n"))
            .await
    }

    /// Sends `request` and reads the answer; returns its status code.
    async fn send(&mut self, request: &str) -> u16 {
        self.stream
            .get_mut()
            .write_all(request.as_bytes())
            .await
            .unwrap();
        let mut status_line = String::new();
        self.stream.read_line(&mut status_line).await.unwrap();
        let status = status_line
            .split(' ')
            .nth(1)
            .and_then(|code| code.parse().ok())
            .unwrap_or(0);
        let mut length = 0;
        loop {
            let mut line = String::new();
            self.stream.read_line(&mut line).await.unwrap();
            if line == "\r\n" {
                break;
            }
            if let Some((name, value)) = line.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                length = value.trim().parse().unwrap();
            }
        }
        let mut body = vec![0; length];
        self.stream.read_exact(&mut body).await.unwrap();
        status
    }
}

/// A server of step 07 on a free loopback port, on its own runtime.
struct Server {
    addr: SocketAddr,
    store: Arc<solution_07::Store>,
    _runtime: tokio::runtime::Runtime,
}

/// Starts step 07's server, serving a store in `directory`.
fn start_server(directory: &std::path::Path) -> Server {
    let store =
        Arc::new(solution_07::Store::open(directory, solution_07::Options::default()).unwrap());
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let listener = runtime
        .block_on(async { solution_07::http::listen(0) })
        .unwrap();
    let addr = listener.local_addr().unwrap();
    let served = Arc::clone(&store);
    runtime.spawn(async move {
        solution_07::http::serve(listener, served, std::future::pending()).await
    });
    Server {
        addr,
        store,
        _runtime: runtime,
    }
}

/// Runs `clients` clients of `puts_per_client` PUTs each and prints the
/// rate, the latencies, and the rate against `disk_syncs` (the disk's
/// one-thread sync rate, measured in the same run), and adds them to
/// `results`.
fn report(clients: usize, puts_per_client: usize, disk_syncs: f64, results: &mut Results) {
    let directory = tempfile::tempdir().unwrap();
    let server = start_server(directory.path());
    let addr = server.addr;
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let value = "v".repeat(100);
    let started = Instant::now();
    let mut latencies: Vec<Duration> = runtime.block_on(async {
        let tasks: Vec<_> = (0..clients)
            .map(|client| {
                let value = value.clone();
                tokio::spawn(async move {
                    let mut connection = Connection::open(addr).await;
                    let mut latencies = Vec::with_capacity(puts_per_client);
                    for n in 0..puts_per_client {
                        let began = Instant::now();
                        assert_eq!(
                            connection
                                .put(&format!("client-{client}:key-{n}"), &value)
                                .await,
                            200
                        );
                        latencies.push(began.elapsed());
                    }
                    latencies
                })
            })
            .collect();
        let mut all = Vec::new();
        for task in tasks {
            all.extend(task.await.unwrap());
        }
        all
    });
    let elapsed = started.elapsed();
    let rate = latencies.len() as f64 / elapsed.as_secs_f64();
    let mean = latencies.iter().sum::<Duration>() / latencies.len() as u32;
    let p99 = percentile(&mut latencies, 99.0);
    let p50 = percentile(&mut latencies, 50.0);
    let puts_per_sync = latencies.len() as f64 / server.store.log_syncs() as f64;
    results.row(vec![
        clients.to_string(),
        format!("{rate:.0}"),
        format!("{disk_syncs:.0}"),
        micros_cell(p50),
        micros_cell(mean),
        micros_cell(p99),
        format!("{puts_per_sync:.2}"),
    ]);
    println!(
        "  {clients:>2} clients: {rate:>8.0} durable PUTs/s ({:.1}x the disk's syncs)  p50 {:>10}  \
         mean {:>10}  p99 {:>10} ({:.1}x the mean)  {:>5.1} PUTs per sync",
        rate / disk_syncs,
        micros(p50),
        micros(mean),
        micros(p99),
        p99.as_secs_f64() / mean.as_secs_f64(),
        puts_per_sync,
    );
}

/// How many GETs a second one client gets from the server, one at a time,
/// over a keep-alive connection: a round trip through HTTP and the store
/// with no sync in it. A lone writer pays such a round trip and a sync for
/// every PUT, so its rate is at most `1 / (1 / gets + 1 / disk_syncs)`.
fn lone_round_trips(gets: usize) -> f64 {
    let directory = tempfile::tempdir().unwrap();
    let server = start_server(directory.path());
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let mut connection = Connection::open(server.addr).await;
        assert_eq!(connection.put("key", "value").await, 200);
        let started = Instant::now();
        for _ in 0..gets {
            assert_eq!(connection.get("key").await, 200);
        }
        gets as f64 / started.elapsed().as_secs_f64()
    })
}

fn puts(c: &mut Criterion) {
    let probe = tempfile::tempdir().unwrap();
    let disk_syncs = disk_syncs_per_second(probe.path(), 2_000);
    println!(
        "the disk: {disk_syncs:.0} fdatasyncs/s from one thread (100-byte writes, preallocated file)"
    );
    println!("durable PUTs over HTTP, keep-alive, 100-byte values (step 07):");
    let mut results = Results::new(
        "http_durable_puts",
        &[
            "clients",
            "puts_per_s",
            "disk_syncs_per_s",
            "p50_us",
            "mean_us",
            "p99_us",
            "puts_per_sync",
        ],
    );
    report(1, 2_000, disk_syncs, &mut results);
    let round_trips = lone_round_trips(2_000);
    let bound = 1.0 / (1.0 / round_trips + 1.0 / disk_syncs);
    println!(
        "      one client's GETs: {round_trips:.0}/s, a round trip with no sync; so a lone writer, \
         which pays a round trip and a sync a PUT, can reach at most {bound:.0} PUTs/s \
         ({:.2}x the disk's syncs)",
        bound / disk_syncs
    );
    report(8, 2_500, disk_syncs, &mut results);
    report(64, 500, disk_syncs, &mut results);
    results
        .write_if_asked()
        .expect("write http_durable_puts's results");
    let directory = tempfile::tempdir().unwrap();
    let server = start_server(directory.path());
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let mut connection = runtime.block_on(Connection::open(server.addr));
    let value = "v".repeat(100);
    let mut n = 0;
    c.bench_function("http_durable_put_one_client", |b| {
        b.iter(|| {
            n += 1;
            runtime.block_on(connection.put(&format!("key-{n}"), &value))
        })
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).measurement_time(Duration::from_secs(3));
    targets = puts
}
criterion_main!(benches);
