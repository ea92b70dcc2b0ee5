//! Tools that some checks need beyond the Rust toolchain: `strace`, for the
//! power-loss check (`tests/tests/power_loss.rs`) and `sync-mutants`.
//!
//! `ci` installs what is missing where it can (as root, with apt-get, as CI
//! runs on Debian); where it cannot, it says so, and the checks that need
//! the tool say SKIPPED. Where the tool is there, `ci` requires it
//! (`LITTLE_KV_REQUIRE_STRACE`), so that a check that could run never
//! passes by skipping.

use std::process::{Command, Stdio};

/// Whether `strace` runs here.
pub fn strace_available() -> bool {
    Command::new("strace")
        .arg("-V")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

/// Makes sure strace is there, installing it with apt-get when we are root
/// and apt-get exists. Returns whether it is available, after saying what
/// it did.
pub fn ensure_strace() -> bool {
    if strace_available() {
        return true;
    }
    let is_root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|output| output.stdout.trim_ascii() == b"0");
    let has_apt = Command::new("apt-get")
        .arg("--version")
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|status| status.success());
    if !(is_root && has_apt) {
        println!(
            "tools: SKIP: strace is not installed and cannot be installed here \
             (that needs root and apt-get); the power-loss check will say SKIPPED. \
             Install it (apt-get install strace) to run it."
        );
        return false;
    }
    println!("tools: installing strace (apt-get install -y strace)");
    // The package lists of a fresh machine may be empty: update first.
    let installed = Command::new("apt-get")
        .args(["update", "-qq"])
        .status()
        .is_ok_and(|status| status.success())
        && Command::new("apt-get")
            .args(["install", "-y", "-qq", "strace"])
            .env("DEBIAN_FRONTEND", "noninteractive")
            .status()
            .is_ok_and(|status| status.success());
    if !installed || !strace_available() {
        println!(
            "tools: SKIP: apt-get could not install strace; the power-loss check will say SKIPPED."
        );
        return false;
    }
    true
}
