//! What the test files share: the `inspect` binary serving its page.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

/// The binary under test.
pub const INSPECT: &str = env!("CARGO_BIN_EXE_inspect");

/// Starts `inspect ARGS --serve --port 0` in `working_dir`, and returns it
/// with its page's URL (`http://127.0.0.1:PORT/`) once it says where it
/// listens.
pub fn serve(working_dir: &Path, args: &[&str]) -> (Child, String) {
    let mut process = Command::new(INSPECT)
        .current_dir(working_dir)
        .args(args)
        .args(["--serve", "--port", "0"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(process.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    // "inspect: following DIR on http://127.0.0.1:PORT/ (Ctrl-C to stop)"
    let url = line
        .split_whitespace()
        .find(|word| word.starts_with("http://"))
        .unwrap_or_else(|| panic!("no address in {line:?}"))
        .to_string();
    (process, url)
}
