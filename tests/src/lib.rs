//! The harness of the cross-step suites, which live in `tests/tests/`.
//!
//! Every step of little-kv must keep the same promises: the same HTTP API, the
//! same answers as a plain `BTreeMap`, and from step 03 on the same file
//! format. The suites check each solution against those promises; this
//! library holds what they share:
//!
//! - [`stores`]: one [`stores::Harness`] per solution, so that one test body
//!   drives every step's `Store` (the way toydb runs one set of scripts
//!   against two engines);
//! - [`model`]: random operation sequences and the `BTreeMap` model they are
//!   checked against;
//! - [`server`]: starts a solution's real server as a process and stops it
//!   with a signal;
//! - [`client`]: a tiny HTTP/1.1 client that sends exactly the bytes a test
//!   wants, including ones a polite client would refuse to send;
//! - [`random`]: the seeded generator behind the workloads;
//! - [`directory`]: copies of data directories;
//! - [`strace`], [`file_system`] and [`power_loss`]: the power-loss check,
//!   which records a server's file-system calls and opens every directory a
//!   power cut could have left;
//! - [`for_steps!`]: the `#[test]` wrappers that run one check against each
//!   step, one test per step.

pub mod client;
pub mod directory;
pub mod file_system;
mod for_steps;
pub mod lent_lock;
pub mod model;
pub mod power_loss;
pub mod random;
pub mod server;
pub mod stores;
pub mod strace;
