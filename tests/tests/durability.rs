//! From step 07 on, an acknowledged write survives anything, `kill -9`
//! included: clients write and delete at once while the server is killed at
//! random moments, and after every restart each key holds what its last
//! acknowledged operation left, or what an operation in flight at the kill
//! would have left (wholly, never half).
//!
//! The number of kills is 20 by default; `DURABILITY_KILLS=200` runs more.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use cross_step_tests::client::{kv_path, send};
use cross_step_tests::server::Server;

const CLIENTS: usize = 8;
const KEYS_PER_CLIENT: usize = 10;

/// What a key may hold after a kill: `None` is "absent".
#[derive(Debug, Clone, Default)]
struct KeyState {
    /// What its last acknowledged operation left.
    acknowledged: Option<String>,
    /// What the operation in flight at the kill would leave, if there was one.
    in_flight: Option<Option<String>>,
}

/// A small, seeded generator: the test must be the same on every run.
struct Xorshift(u64);

impl Xorshift {
    fn below(&mut self, bound: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % bound
    }
}

/// One client's loop: PUTs and DELETEs on its own keys until the server
/// dies. Returns the state of each of its keys.
async fn client(
    addr: SocketAddr,
    id: usize,
    mut keys: BTreeMap<String, KeyState>,
    seed: u64,
) -> BTreeMap<String, KeyState> {
    let mut random = Xorshift(seed | 1);
    for round in 0.. {
        let key = format!("client-{id}:key-{}", random.below(KEYS_PER_CLIENT as u64));
        let (method, body, leaves) = if random.below(4) == 0 {
            ("DELETE", String::new(), None)
        } else {
            let value = format!("value {round} of client {id}");
            ("PUT", value.clone(), Some(value))
        };
        match send(addr, method, &kv_path(&key), body.as_bytes()).await {
            Ok(response) if response.status == 200 => {
                let state = keys.entry(key).or_default();
                state.acknowledged = leaves;
            }
            // The server died before answering: the operation may or may not
            // have happened.
            _ => {
                keys.entry(key).or_default().in_flight = Some(leaves);
                return keys;
            }
        }
    }
    unreachable!("the loop ends when the server dies")
}

#[test]
fn solution_07_acknowledged_writes_survive_kill_9() {
    let kills: usize = std::env::var("DURABILITY_KILLS")
        .ok()
        .and_then(|text| text.parse().ok())
        .unwrap_or(20);
    let binary = env!("CARGO_BIN_EXE_serve-solution-07");
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let directory = tempfile::tempdir().unwrap();
    // Small memtables, so that flushes, merges and log rotations happen too.
    let args = ["--memtable-bytes=2000", "--compaction-threshold=3"];
    let mut states: Vec<BTreeMap<String, KeyState>> = vec![BTreeMap::new(); CLIENTS];
    let mut random = Xorshift(0xdead_beef);
    for kill in 0..kills {
        let server = Server::start(binary, directory.path(), &args);
        let addr = server.addr;
        let tasks: Vec<_> = (0..CLIENTS)
            .map(|id| {
                runtime.spawn(client(
                    addr,
                    id,
                    std::mem::take(&mut states[id]),
                    random.below(u64::MAX),
                ))
            })
            .collect();
        std::thread::sleep(Duration::from_millis(20 + random.below(150)));
        let (_, log) = server.stop_with(libc::SIGKILL);
        for (id, task) in tasks.into_iter().enumerate() {
            states[id] = runtime.block_on(task).expect("a client panicked");
        }
        // Restart and check every key the clients touched.
        let server = Server::start(binary, directory.path(), &args);
        for keys in &mut states {
            for (key, state) in keys.iter_mut() {
                let response = runtime
                    .block_on(send(server.addr, "GET", &kv_path(key), b""))
                    .unwrap();
                let found = (response.status == 200).then(|| response.text());
                let allowed =
                    found == state.acknowledged || state.in_flight.as_ref() == Some(&found);
                assert!(
                    allowed,
                    "kill {kill}: {key} holds {found:?}, but its last acknowledged operation left {:?} \
                     (in flight: {:?})\n{log}",
                    state.acknowledged, state.in_flight
                );
                // From here on, what the store holds is what was acknowledged.
                *state = KeyState {
                    acknowledged: found,
                    in_flight: None,
                };
            }
        }
        server.stop_with(libc::SIGKILL);
    }
}
