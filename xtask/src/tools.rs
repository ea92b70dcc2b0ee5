//! Tools that some checks need beyond the Rust toolchain: `strace`, for the
//! power-loss check (`tests/tests/power_loss.rs`) and `sync-mutants`; and
//! Chromium with chromedriver, for the test of `cargo inspect --serve`'s
//! page in a browser (`inspect/tests/live_page.rs`).
//!
//! `ci` installs what is missing where it can (as root, with apt-get, as CI
//! runs on Debian); where it cannot, it says so, and the checks that need
//! the tool say SKIPPED. Where the tool is there, `ci` requires it
//! (`LITTLE_KV_REQUIRE_STRACE`, `LITTLE_KV_REQUIRE_BROWSER`), so that a
//! check that could run never passes by skipping.

use std::process::{Command, Stdio};
use std::sync::OnceLock;

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
    if !can_install() {
        println!(
            "tools: SKIP: strace is not installed and cannot be installed here \
             (that needs root and apt-get); the power-loss check will say SKIPPED. \
             Install it (apt-get install strace) to run it."
        );
        return false;
    }
    if !apt_install(&["strace"]) || !strace_available() {
        println!(
            "tools: SKIP: apt-get could not install strace; the power-loss check will say SKIPPED."
        );
        return false;
    }
    true
}

/// Whether Chromium and chromedriver are both installed, where the browser
/// test looks for them (on `PATH`).
pub fn browser_available() -> bool {
    let runs = |program: &str| {
        Command::new(program)
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|status| status.success())
    };
    runs("chromium") && runs("chromedriver")
}

/// Makes sure Chromium and chromedriver are there, installing Debian's
/// `chromium` and `chromium-driver` with apt-get when we are root and
/// apt-get exists. Returns whether they are available, after saying what
/// it did.
pub fn ensure_browser() -> bool {
    if browser_available() {
        return true;
    }
    if !can_install() {
        println!(
            "tools: SKIP: Chromium and chromedriver are not installed and cannot be installed \
             here (that needs root and apt-get); the test of `cargo inspect --serve` in a \
             browser will say SKIPPED. Install them (apt-get install chromium chromium-driver) \
             to run it."
        );
        return false;
    }
    if !apt_install(&["chromium", "chromium-driver"]) || !browser_available() {
        println!(
            "tools: SKIP: apt-get could not install chromium and chromium-driver; the browser test will say SKIPPED."
        );
        return false;
    }
    true
}

/// Set once the browser is known to be here: `ci`'s cargo commands then
/// require it (`LITTLE_KV_REQUIRE_BROWSER`), so the browser test cannot skip.
static BROWSER_REQUIRED: OnceLock<()> = OnceLock::new();

/// Makes the browser test fail rather than skip from now on.
pub fn require_browser() {
    let _ = BROWSER_REQUIRED.set(());
}

/// Whether [`require_browser`] was called.
pub fn browser_required() -> bool {
    BROWSER_REQUIRED.get().is_some()
}

/// Whether we may install packages: root, and apt-get there.
fn can_install() -> bool {
    let is_root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|output| output.stdout.trim_ascii() == b"0");
    let has_apt = Command::new("apt-get")
        .arg("--version")
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|status| status.success());
    is_root && has_apt
}

/// `apt-get install -y packages`, after an update (the package lists of a
/// fresh machine may be empty); says what it installs.
fn apt_install(packages: &[&str]) -> bool {
    println!(
        "tools: installing {} (apt-get install -y {})",
        packages.join(" and "),
        packages.join(" ")
    );
    Command::new("apt-get")
        .args(["update", "-qq"])
        .status()
        .is_ok_and(|status| status.success())
        && Command::new("apt-get")
            .args(["install", "-y", "-qq"])
            .args(packages)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .status()
            .is_ok_and(|status| status.success())
}
