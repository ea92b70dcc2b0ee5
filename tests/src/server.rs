//! Starts a solution's real server as a child process and stops it with a signal.
//!
//! The server is started with `--port 0`, so the kernel picks a free port, and
//! the harness reads the address from the server's `listening on` log line.
//! Everything the server logs is kept, so that a failing test can show it.

use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crate::lent_lock;

/// A server that exited before it listened: which, how, and its log.
#[derive(Debug)]
struct Exited {
    binary: String,
    status: ExitStatus,
    log: String,
}

impl std::fmt::Display for Exited {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let Exited {
            binary,
            status,
            log,
        } = self;
        write!(f, "{binary} exited ({status}) before listening:\n{log}")
    }
}

/// A running server process. Dropping it kills the process.
pub struct Server {
    child: Child,
    /// Whether `child` is a wrapper (such as strace) around the server.
    wrapped: bool,
    /// Where the server listens.
    pub addr: SocketAddr,
    log: Arc<Mutex<String>>,
    /// The threads that copy the server's output into `log`.
    collectors: Vec<JoinHandle<()>>,
}

impl Server {
    /// Starts `binary` (a path from `env!("CARGO_BIN_EXE_...")`) on a free
    /// port, with its data in `working_dir`, and waits until it listens.
    pub fn start(binary: &str, working_dir: &Path, extra_args: &[&str]) -> Server {
        Server::start_under(&[], binary, working_dir, extra_args)
    }

    /// Like [`Server::start`], with `binary` run by the command `wrapper`
    /// (e.g. `strace -o trace.txt --`); an empty wrapper runs it directly.
    /// Signals then go to the wrapper's child, the server itself.
    /// A start refused because of the directory's lock is tried again for
    /// a moment (see `lent_lock.rs`).
    pub fn start_under(
        wrapper: &[String],
        binary: &str,
        working_dir: &Path,
        extra_args: &[&str],
    ) -> Server {
        lent_lock::again_while_lent(|| {
            Server::try_start_under(wrapper, binary, working_dir, extra_args)
        })
        .unwrap_or_else(|exited| panic!("{exited}"))
    }

    /// Starts the server once; how it ended if it exits before listening.
    fn try_start_under(
        wrapper: &[String],
        binary: &str,
        working_dir: &Path,
        extra_args: &[&str],
    ) -> Result<Server, Exited> {
        let mut command = match wrapper.split_first() {
            Some((program, args)) => {
                let mut command = Command::new(program);
                command.args(args).arg(binary);
                command
            }
            None => Command::new(binary),
        };
        let mut child = command
            .arg("--port=0")
            .arg("--working-dir")
            .arg(working_dir)
            .args(extra_args)
            .env("NO_COLOR", "1")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|error| panic!("cannot start {binary}: {error}"));
        let log = Arc::new(Mutex::new(String::new()));
        // The server may also log to stderr: collect it so it never fills
        // the pipe and blocks the server.
        let stderr = child.stderr.take().expect("stderr is piped");
        let mut collectors = vec![collect(stderr, Arc::clone(&log))];
        let mut stdout = BufReader::new(child.stdout.take().expect("stdout is piped"));
        let addr = loop {
            let mut line = String::new();
            let read = stdout.read_line(&mut line).expect("read the server's log");
            log.lock().unwrap().push_str(&line);
            if read == 0 {
                let status = child.wait().expect("wait for the server");
                // Its stderr is at its end too: all of the log is in.
                for collector in collectors {
                    collector.join().expect("a log collector panicked");
                }
                let log = log.lock().unwrap().clone();
                return Err(Exited {
                    binary: binary.to_string(),
                    status,
                    log,
                });
            }
            if let Some(addr) = listening_address(&line) {
                break addr;
            }
        };
        collectors.push(collect(stdout, Arc::clone(&log)));
        Ok(Server {
            child,
            wrapped: !wrapper.is_empty(),
            addr,
            log,
            collectors,
        })
    }

    /// Sends `signal` (e.g. `libc::SIGTERM`) and waits for the process to
    /// exit. Returns its exit status and everything it logged.
    pub fn stop_with(self, signal: libc::c_int) -> (ExitStatus, String) {
        self.signal(signal);
        self.wait()
    }

    /// Waits for the process to exit. Returns its exit status and everything
    /// it logged.
    pub fn wait(mut self) -> (ExitStatus, String) {
        let status = self.child.wait().expect("wait for the server");
        // The process has closed its pipes, so the collectors reach the end
        // of its output and finish.
        for collector in self.collectors.drain(..) {
            collector.join().expect("a log collector panicked");
        }
        (status, self.log())
    }

    /// Sends `signal` without waiting for the process to exit.
    pub fn signal(&self, signal: libc::c_int) {
        let pid = self
            .server_pid()
            .unwrap_or_else(|| panic!("no server process under {:?}", self.child.id()));
        // SAFETY: `kill` has no memory-safety preconditions; the pid is our
        // own child, which has not been waited for, so it is not reused.
        let sent = unsafe { libc::kill(pid, signal) };
        assert_eq!(sent, 0, "kill({pid}, {signal}) failed");
    }

    /// The server's process id: the child's, or its own child's if it runs
    /// under a wrapper (which starts the server as its only child).
    fn server_pid(&self) -> Option<libc::pid_t> {
        let child = libc::pid_t::try_from(self.child.id()).expect("a pid fits pid_t");
        if !self.wrapped {
            return Some(child);
        }
        let children = std::fs::read_to_string(format!("/proc/{child}/task/{child}/children"));
        children.ok()?.split_whitespace().next()?.parse().ok()
    }

    /// Waits until the server's log contains `text`, for at most ten seconds.
    pub fn wait_for_log(&self, text: &str) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !self.log().contains(text) {
            assert!(
                Instant::now() < deadline,
                "the server never logged {text:?}:\n{}",
                self.log()
            );
            thread::sleep(Duration::from_millis(5));
        }
    }

    /// Everything the server has logged so far.
    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // A test that fails while its server runs drops the server as it
        // unwinds: show what the server logged, because the reason is often
        // there (a handler that panicked, a file the store refused to read)
        // while the client only saw a closed connection.
        // Harmless if the process has already exited and been waited for.
        if self.wrapped
            && let Some(pid) = self.server_pid()
        {
            // Killing the wrapper alone could leave the server running.
            // SAFETY: as in `signal`.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        if thread::panicking() {
            // The process is gone, so the collectors reach the end of what
            // it wrote: a panic it printed just before the failure is in.
            for collector in self.collectors.drain(..) {
                let _ = collector.join();
            }
            eprintln!("---- the server's log ----\n{}", self.log());
        }
    }
}

/// Copies everything `source` produces into `log`, on a thread of its own.
fn collect(mut source: impl Read + Send + 'static, log: Arc<Mutex<String>>) -> JoinHandle<()> {
    thread::spawn(move || {
        let mut buffer = [0u8; 4096];
        while let Ok(read) = source.read(&mut buffer) {
            if read == 0 {
                break;
            }
            log.lock()
                .unwrap()
                .push_str(&String::from_utf8_lossy(&buffer[..read]));
        }
    })
}

/// Finds the address in a log line such as `... listening on http://127.0.0.1:8888`.
fn listening_address(line: &str) -> Option<SocketAddr> {
    let (_, after) = line.split_once("listening on http://")?;
    let addr = after
        .split(|c: char| c.is_whitespace() || c == '\u{1b}')
        .next()?;
    addr.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_address_is_read_from_the_log_line() {
        let line = "2026-11-24T05:29:51Z  INFO listening on http://127.0.0.1:8891\n";
        assert_eq!(
            listening_address(line),
            Some("127.0.0.1:8891".parse().unwrap())
        );
        assert_eq!(listening_address("INFO flushed 4 entries"), None);
    }
}
