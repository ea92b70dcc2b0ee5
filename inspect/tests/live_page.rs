//! `cargo inspect DIR --serve` in a real browser: headless Chromium, driven
//! through chromedriver (WebDriver), watching a running store change.
//!
//! The store is the solution's own (`Store::open` and `http::serve`, what
//! its `main.rs` runs), started in this process with tiny memtables and a
//! merge threshold of 3; the inspector is the real binary. The page is
//! asserted on from its DOM: each new table shows within 2 s of the PUT
//! that made it, the timeline names the merge as the store logs it, the
//! step back shows the tables before it, and the GET box says what `cargo
//! inspect DIR get KEY` prints.
//!
//! Where Chromium or chromedriver is not installed (`apt-get install
//! chromium chromium-driver`), the test prints `SKIPPED:` with the reason
//! and passes, unless `LITTLE_KV_REQUIRE_BROWSER` is set, as `cargo xtask
//! ci` sets it once it has installed them.
//!
//! Screenshots, in the light and the dark theme (the browser's
//! `prefers-color-scheme`, emulated through the DevTools protocol), go to
//! the test's temporary directory; with `LITTLE_KV_UPDATE_SCREENSHOTS=1`
//! also to `book/src/images/live-NN-{light,dark}.png`, the book's figures.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use fantoccini::wd::WebDriverCompatibleCommand;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

mod common;

use common::INSPECT;
/// How soon a change on disk must show on the page.
const REDRAW: Duration = Duration::from_secs(2);

/// One browser for three stores: step 04's flushes, step 05's merge and
/// step back, step 07's log (Chromium takes a second or two to start).
#[test]
fn the_page_follows_a_running_store_and_replays_its_changes() {
    let Some(browser) = Browser::find() else {
        return;
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let driver = browser.start().await;
        step_04(&driver).await;
        step_05(&driver).await;
        step_07(&driver).await;
        let _ = driver.client.clone().close().await;
    });
}

/// Chromium and chromedriver, where they are.
struct Browser {
    chromium: PathBuf,
    chromedriver: PathBuf,
}

impl Browser {
    /// Both programs, or `None` after saying SKIPPED (or a panic, where
    /// `LITTLE_KV_REQUIRE_BROWSER` says the test must run).
    fn find() -> Option<Browser> {
        let chromium = ["chromium", "chromium-browser", "google-chrome"]
            .iter()
            .find_map(|name| on_path(name));
        let chromedriver = on_path("chromedriver");
        let missing = match (&chromium, &chromedriver) {
            (Some(_), Some(_)) => None,
            (None, _) => Some("Chromium is not installed (apt-get install chromium)"),
            (_, None) => Some("chromedriver is not installed (apt-get install chromium-driver)"),
        };
        if let Some(reason) = missing {
            assert!(
                std::env::var_os("LITTLE_KV_REQUIRE_BROWSER").is_none(),
                "LITTLE_KV_REQUIRE_BROWSER is set, but {reason}"
            );
            println!("SKIPPED: {reason}: the live page is not tested in a browser");
            return None;
        }
        Some(Browser {
            chromium: chromium?,
            chromedriver: chromedriver?,
        })
    }

    /// Starts chromedriver and a headless Chromium session through it.
    async fn start(&self) -> Driver {
        let port = free_port();
        let process = Command::new(&self.chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|error| panic!("cannot start chromedriver: {error}"));
        let process = Killed(process);
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "chromedriver never listened");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let profile = tempfile::tempdir().unwrap();
        let mut capabilities = serde_json::Map::new();
        capabilities.insert(
            "goog:chromeOptions".to_string(),
            json!({
                "binary": self.chromium,
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--disable-background-networking", "--disable-component-update",
                    "--disable-sync", "--no-first-run", "--hide-scrollbars",
                    "--window-size=1280,900", "--force-device-scale-factor=1",
                    format!("--user-data-dir={}", profile.path().display()),
                ],
            }),
        );
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let client = ClientBuilder::new(connector)
            .capabilities(capabilities)
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
            .unwrap_or_else(|error| panic!("cannot start a Chromium session: {error}"));
        Driver {
            client,
            _process: process,
            _profile: profile,
        }
    }
}

/// A browser session, and what it needs kept alive.
struct Driver {
    client: Client,
    _process: Killed,
    _profile: tempfile::TempDir,
}

/// A child process killed when dropped.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Chapter 4's Try it: 40-byte memtables, three capitals; two of them
/// flushed, the third in memory only.
async fn step_04(driver: &Driver) {
    let directory = tempfile::tempdir().unwrap();
    let data = directory.path().join("data");
    let options = solution_04::Options {
        memtable_bytes: 40,
        ..solution_04::Options::default()
    };
    let store = Arc::new(solution_04::Store::open(&data, options).unwrap());
    let listener = solution_04::http::listen(0).unwrap();
    let server = Served::start(listener, move |listener, shutdown| {
        solution_04::http::serve(listener, store, shutdown)
    });
    // An empty directory is no step's yet: as chapter 4 says, name it.
    let inspector = Inspector::start(directory.path(), "data", &["--step", "4"]);
    let page = Page::open(driver, &inspector).await;
    page.wait_for_tables("").await;
    server.put("kenya:capital", "Nairobi");
    server.put("uganda:capital", "Kampala");
    page.wait_for_tables("000001.sst").await;
    server.put("rwanda:capital", "Kigali");
    let changes = page.changes().await;
    assert!(
        changes
            .last()
            .unwrap()
            .ends_with("flushed 2 entries to 000001.sst"),
        "{changes:#?}"
    );
    let memory = page.text("memtable-note").await;
    assert!(memory.contains("only in the server's memory"), "{memory}");
    page.explain("rwanda:capital").await;
    page.screenshots("04").await;
    drop(server);
}

/// Chapter 5's Watch it: three flushes with merging off, then a restart
/// with the threshold at 3, whose tree shaker merges the three tables as
/// it starts. (Merging while the third table is flushed would be over in
/// a millisecond or two, often before the page could look at the three.)
async fn step_05(driver: &Driver) {
    let directory = tempfile::tempdir().unwrap();
    let data = directory.path().join("data");
    let start = |compaction_threshold: usize| {
        let options = solution_05::Options {
            memtable_bytes: 64,
            compaction_threshold,
            ..solution_05::Options::default()
        };
        let store = Arc::new(solution_05::Store::open(&data, options).unwrap());
        let listener = solution_05::http::listen(0).unwrap();
        Served::start(listener, move |listener, shutdown| {
            solution_05::http::serve(listener, store, shutdown)
        })
    };
    let server = start(100);
    let inspector = Inspector::start(directory.path(), "data", &[]);
    let page = Page::open(driver, &inspector).await;
    page.wait_for_tables("").await;

    // Each round fills a 64-byte memtable once (4 writes of 17 to 21 bytes
    // of key and value, the first 3 making 59): a flush, and a table of
    // the same size each time.
    let cities = ["Nairobi", "Mombasa", "Kisumu_"];
    let mut tables: Vec<String> = Vec::new();
    for (round, city) in cities.iter().enumerate() {
        for (key, value) in [
            ("kenya:city", *city),
            ("uganda:capital", "Kampala"),
            ("rwanda:capital", "Kigali_"),
            ("ghana:capital", "Accra__"),
        ] {
            server.put(key, value);
        }
        tables.insert(0, format!("{:06}.sst", round + 1));
        page.wait_for_tables(&tables.join(" ")).await;
        // Every table holds the same four keys: one table's worth of live
        // data in as many tables as there are.
        let totals = page.text("totals").await;
        let amplification = format!("space amplification {}.00", round + 1);
        assert!(totals.contains(&amplification), "{totals}");
    }

    // The restart: the stop is seen at once, and the merge as it starts.
    drop(server);
    page.wait_for_change("the server stopped: LOCK is free")
        .await;
    let server = start(3);
    page.wait_for_tables("000004.sst").await;
    let changes = page.changes().await;
    let merge = changes.last().unwrap();
    assert!(
        merge.ends_with(
            "merge: compacted 3 tables into 000004.sst (4 entries): \
             000001.sst, 000002.sst, 000003.sst"
        ),
        "the last change is not the merge: {changes:#?}"
    );
    let totals = page.text("totals").await;
    assert!(totals.contains("space amplification 1.00"), "{totals}");

    // Live: the GET box says what the command line says.
    let cli = inspect_get(&data, "kenya:city");
    assert!(cli.contains("\"Kisumu_\" (from 000004.sst line"), "{cli}");
    let shown = page.explain("kenya:city").await;
    assert_eq!(shown, cli, "the GET box and `cargo inspect DIR get`");
    page.screenshots("05").await;

    // One step back: the three tables before the merge, and the lookup in
    // them, which stops at the newest.
    page.click("back").await;
    page.wait_for_tables("000003.sst 000002.sst 000001.sst")
        .await;
    let before = page.explain_again().await;
    assert!(
        before.contains("answer: \"Kisumu_\" (from 000003.sst line")
            && before.contains("(the store stops here: 2 older tables not read)"),
        "{before}"
    );
    page.click("live").await;
    page.wait_for_tables("000004.sst").await;
    drop(server);
}

/// Chapter 7.2's Try it: two PUTs and a DELETE, in a log and no table.
async fn step_07(driver: &Driver) {
    let directory = tempfile::tempdir().unwrap();
    let data = directory.path().join("data");
    let options = solution_07::Options::default();
    let store = Arc::new(solution_07::Store::open(&data, options).unwrap());
    let listener = solution_07::http::listen(0).unwrap();
    let server = Served::start(listener, move |listener, shutdown| {
        solution_07::http::serve(listener, store, shutdown)
    });
    let inspector = Inspector::start(directory.path(), "data", &[]);
    let page = Page::open(driver, &inspector).await;
    page.wait_for_tables("").await;
    server.put("kenya:capital", "Nairobi");
    server.put("tanzania:capital", "Dodoma");
    server.request("DELETE", "tanzania:capital", "");
    // Line 1 is the log's header; each write is a batch of its own, its
    // header line, then its record.
    let logged = [
        "000001.wal line 3: put kenya:capital→Nairobi",
        "000001.wal line 5: put tanzania:capital→Dodoma",
        "000001.wal line 7: del tanzania:capital",
    ]
    .join("\n");
    let deadline = Instant::now() + REDRAW;
    while page.text("logged").await != logged {
        assert!(
            Instant::now() < deadline,
            "the page shows the log's records as {:?}, not {logged:?}",
            page.text("logged").await
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let changes = page.changes().await;
    assert!(
        changes
            .iter()
            .any(|change| change.contains("logged ") && change.ends_with("to 000001.wal")),
        "{changes:#?}"
    );
    let cli = inspect_get(&data, "tanzania:capital");
    assert!(cli.contains("line 7 deletes it"), "{cli}");
    assert_eq!(page.explain("tanzania:capital").await, cli);
    page.screenshots("07-2").await;
    drop(server);
}

/// A solution's server on a runtime of its own, stopped when dropped.
struct Served {
    addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Served {
    fn start<F, E>(
        listener: TcpListener,
        serve: impl FnOnce(TcpListener, std::pin::Pin<Box<dyn Future<Output = ()> + Send>>) -> F
        + Send
        + 'static,
    ) -> Served
    where
        F: Future<Output = Result<(), E>>,
        E: std::fmt::Debug,
    {
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
                .unwrap();
            let shutdown = Box::pin(async move {
                let _ = stopped.await;
            });
            runtime.block_on(serve(listener, shutdown)).unwrap();
        });
        Served {
            addr,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// PUTs `value` at `key`, and checks that it is answered 200.
    fn put(&self, key: &str, value: &str) {
        self.request("PUT", key, value);
    }

    /// Sends `method` for `/kv/{key}` with `body`, and checks that it is
    /// answered 200.
    fn request(&self, method: &str, key: &str, body: &str) {
        let mut stream = TcpStream::connect(self.addr).unwrap();
        write!(
            stream,
            "{method} /kv/{key} HTTP/1.1\r\nHost: {}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            self.addr,
            body.len()
        )
        .unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).unwrap();
        assert!(
            answer.starts_with("HTTP/1.1 200"),
            "{method} {key}: {answer}"
        );
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// `inspect DIR --serve --port 0`, and where it listens.
struct Inspector {
    _process: Killed,
    url: String,
}

impl Inspector {
    /// Starts it in `working_dir` on `directory`, named as a learner would
    /// (`data`), so that the screenshots show no temporary path, with `args`
    /// after it.
    fn start(working_dir: &Path, directory: &str, args: &[&str]) -> Inspector {
        let mut all = vec![directory];
        all.extend_from_slice(args);
        let (process, url) = common::serve(working_dir, &all);
        Inspector {
            _process: Killed(process),
            url,
        }
    }
}

/// The page, open in the browser.
struct Page<'a> {
    client: &'a Client,
}

impl<'a> Page<'a> {
    async fn open(driver: &'a Driver, inspector: &Inspector) -> Page<'a> {
        driver.client.goto(&inspector.url).await.unwrap();
        Page {
            client: &driver.client,
        }
    }

    /// Runs `script` (a function body that returns a value) in the page.
    async fn run(&self, script: &str) -> Value {
        self.client.execute(script, Vec::new()).await.unwrap()
    }

    /// Waits until the picture shows the live tables `tables`, newest first
    /// and separated by spaces, for at most [`REDRAW`].
    async fn wait_for_tables(&self, tables: &str) {
        let deadline = Instant::now() + REDRAW;
        loop {
            let shown = self
                .run("const p = document.getElementById('picture'); return p.dataset.frame === '' ? null : p.dataset.tables;")
                .await;
            if shown.as_str() == Some(tables) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the page shows the tables {shown} {REDRAW:?} after the change, not {tables:?}; its timeline:\n{:#?}",
                self.changes().await
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Waits until the timeline's last entry ends with `change`, for at
    /// most [`REDRAW`].
    async fn wait_for_change(&self, change: &str) {
        let deadline = Instant::now() + REDRAW;
        loop {
            let changes = self.changes().await;
            if changes.last().is_some_and(|last| last.ends_with(change)) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the timeline does not end with {change:?} {REDRAW:?} after the change:\n{changes:#?}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The text of the element `id`.
    async fn text(&self, id: &str) -> String {
        let script = format!("return document.getElementById('{id}').textContent;");
        self.run(&script)
            .await
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// The timeline's entries, oldest first.
    async fn changes(&self) -> Vec<String> {
        let list = self
            .run("return [...document.querySelectorAll('#changes li')].map(li => li.textContent);")
            .await;
        serde_json::from_value(list).unwrap()
    }

    async fn click(&self, id: &str) {
        let button = self.client.find(Locator::Id(id)).await.unwrap();
        button.click().await.unwrap();
    }

    /// Types `key` into the GET box, asks, and returns the answer shown.
    async fn explain(&self, key: &str) -> String {
        let input = self.client.find(Locator::Id("key")).await.unwrap();
        input.clear().await.unwrap();
        input.send_keys(key).await.unwrap();
        self.explain_again().await
    }

    /// The GET box's answer for the frame shown, once it has come.
    async fn explain_again(&self) -> String {
        self.run("document.getElementById('get-answer').dataset.frame = ''; return null;")
            .await;
        self.click_submit().await;
        let deadline = Instant::now() + REDRAW;
        loop {
            let answer = self
                .run("const a = document.getElementById('get-answer'); return a.dataset.frame === document.getElementById('picture').dataset.frame ? a.textContent : null;")
                .await;
            if let Some(answer) = answer.as_str() {
                return answer.to_string();
            }
            assert!(Instant::now() < deadline, "the GET box never answered");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    async fn click_submit(&self) {
        let button = self
            .client
            .find(Locator::Css("#get-form button"))
            .await
            .unwrap();
        button.click().await.unwrap();
    }

    /// Saves a screenshot in each theme as `live-{name}-{theme}.png`.
    async fn screenshots(&self, name: &str) {
        for theme in ["light", "dark"] {
            let media = json!({
                "cmd": "Emulation.setEmulatedMedia",
                "params": {"features": [{"name": "prefers-color-scheme", "value": theme}]},
            });
            self.client.issue_cmd(Cdp(media)).await.unwrap();
            let background = self
                .run("return getComputedStyle(document.body).backgroundColor;")
                .await;
            let expected = if theme == "dark" {
                "rgb(21, 23, 28)"
            } else {
                "rgb(246, 247, 249)"
            };
            assert_eq!(background, expected, "the page in the {theme} theme");
            let png = self.client.screenshot().await.unwrap();
            let file = format!("live-{name}-{theme}.png");
            std::fs::write(Path::new(env!("CARGO_TARGET_TMPDIR")).join(&file), &png).unwrap();
            if std::env::var_os("LITTLE_KV_UPDATE_SCREENSHOTS").is_some() {
                let book = Path::new(env!("CARGO_MANIFEST_DIR")).join("../book/src/images");
                std::fs::write(book.join(&file), &png).unwrap();
            }
        }
    }
}

/// A DevTools protocol command, sent through chromedriver's
/// `goog/cdp/execute`.
#[derive(Debug)]
struct Cdp(Value);

impl WebDriverCompatibleCommand for Cdp {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        let session = session_id.unwrap_or_default();
        base_url.join(&format!("session/{session}/goog/cdp/execute"))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        (http::Method::POST, Some(self.0.to_string()))
    }
}

/// What `cargo inspect DIR get KEY` prints.
fn inspect_get(directory: &Path, key: &str) -> String {
    let output = Command::new(INSPECT)
        .arg(directory)
        .args(["get", key])
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    String::from_utf8(output.stdout).unwrap()
}

/// `name` in a directory of `PATH`.
fn on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|directory| directory.join(name))
        .find(|candidate| candidate.is_file())
}

/// A port free at the moment of asking.
fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}
