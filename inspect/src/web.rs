//! `--serve`: the inspector as a web page that follows the directory live.
//!
//! The idea: one page (`page.html`, plain HTML, CSS and a little script,
//! built into the binary) shows a frame of the timeline that `live.rs`
//! keeps: the picture (`picture.rs`), the summary (`summary.rs`) and a box
//! that explains a GET (`get.rs`), each the very text the command line
//! prints for that tree, made by the same functions. The page learns of
//! each new frame from a stream of server-sent events and fetches what it
//! shows:
//!
//! ```text
//! GET /                     the page
//! GET /events               text/event-stream: one `frame` event per frame,
//!                           {"run", "number", "at_ms", "changes"}, the kept ones
//!                           first, then each new one as it is seen
//! GET /frame/N              JSON: the frame's changes, step, live tables
//!                           (newest first), SVG, summary, where the memtable is
//! GET /get?frame=N&key=K    text/plain: `cargo inspect DIR get K` on frame N
//! ```
//!
//! Shortcuts, and what they cost:
//! - it listens on 127.0.0.1 only, with no authentication: anyone on this
//!   machine can read the store's data through it, as they could with `cat`;
//! - the page is one file with its style and script inside: no build step,
//!   no framework, and no caching headers (it is small).
//!
//! Invariants:
//! - the server only reads the directory (through `live.rs`);
//! - every text the page shows of a tree comes from the inspector's own
//!   commands, never from a second implementation in the script.

use std::convert::Infallible;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::Router;
use axum::extract::{Path as UrlPath, Query, State};
use axum::http::{StatusCode, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use futures_util::Stream;
use serde::{Deserialize, Serialize};
use solution_07::format::{Op, escape};

use crate::live::{self, Frame, Timeline};
use crate::log::log_name;
use crate::{Error, Result, get as explain_get, history, picture, summary};

/// The page, built into the binary.
const PAGE: &str = include_str!("page.html");

/// Serves the page for `timeline` on 127.0.0.1:`port` (0 picks a free
/// port) until the process is stopped; says where on standard output.
pub fn serve(timeline: Timeline, port: u16) -> Result<()> {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let listener =
        std::net::TcpListener::bind(addr).map_err(|source| Error::Listen { addr, source })?;
    let addr = listener
        .local_addr()
        .map_err(|source| Error::Listen { addr, source })?;
    listener
        .set_nonblocking(true)
        .map_err(|source| Error::Listen { addr, source })?;
    let timeline = Arc::new(timeline);
    let follower = Arc::clone(&timeline);
    std::thread::Builder::new()
        .name("follower".to_string())
        .spawn(move || {
            if let Err(error) = live::follow(&follower) {
                eprintln!("inspect: cannot watch the directory for changes: {error}");
            }
        })
        .map_err(Error::Runtime)?;
    println!(
        "inspect: following {} on http://{addr}/ (Ctrl-C to stop)",
        timeline.directory.display()
    );
    // One thread is plenty for one learner's browser, and idles in epoll.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(Error::Runtime)?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::from_std(listener)
            .map_err(|source| Error::Listen { addr, source })?;
        axum::serve(listener, router(timeline))
            .await
            .map_err(Error::Runtime)
    })
}

/// The page's routes, on `timeline`.
pub fn router(timeline: Arc<Timeline>) -> Router {
    Router::new()
        .route("/", get(page))
        .route("/events", get(events))
        .route("/frame/{number}", get(frame))
        .route("/get", get(explain))
        .with_state(timeline)
}

async fn page() -> Html<&'static str> {
    Html(PAGE)
}

/// The head of a frame: what the timeline lists.
#[derive(Serialize)]
struct Head<'a> {
    /// Which inspector: see [`Timeline::run`].
    run: u64,
    number: usize,
    at_ms: u64,
    changes: &'a [String],
}

/// A frame as the page shows it.
#[derive(Serialize)]
struct Shown {
    number: usize,
    at_ms: u64,
    changes: Vec<String>,
    /// `None` when the directory could not be read: then `error` says why.
    step: Option<String>,
    /// The live tables, newest first.
    tables: Vec<String>,
    svg: String,
    summary: String,
    /// Where the memtable's writes are, in a sentence.
    memtable_note: String,
    /// Step 07: the records of the logs a start replays, oldest first, one
    /// line each (a log's `next` too).
    logged: Vec<String>,
    error: Option<String>,
}

async fn events(
    State(timeline): State<Arc<Timeline>>,
) -> Sse<impl Stream<Item = std::result::Result<Event, Infallible>>> {
    let seen = timeline.seen.subscribe();
    let stream = futures_util::stream::unfold(
        (timeline, seen, 0usize, Vec::<Frame>::new()),
        |(timeline, mut seen, mut next, mut queue)| async move {
            loop {
                if !queue.is_empty() {
                    let frame = queue.remove(0);
                    next = frame.number + 1;
                    let head = Head {
                        run: timeline.run,
                        number: frame.number,
                        at_ms: frame.at_ms,
                        changes: &frame.changes,
                    };
                    let data = serde_json::to_string(&head).expect("a frame's head is JSON");
                    let event = Event::default().event("frame").data(data);
                    return Some((Ok(event), (timeline, seen, next, queue)));
                }
                // Marks the count as seen before reading the frames, so that
                // a frame added meanwhile wakes us again.
                seen.borrow_and_update();
                queue = timeline.frames_from(next);
                if queue.is_empty() && seen.changed().await.is_err() {
                    return None;
                }
            }
        },
    );
    Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
}

async fn frame(State(timeline): State<Arc<Timeline>>, UrlPath(number): UrlPath<usize>) -> Response {
    let Some(frame) = timeline.frame(number) else {
        return not_kept(number);
    };
    // Drawing a large tree takes a while: off the event loop.
    let shown = tokio::task::spawn_blocking(move || show(frame)).await;
    match shown {
        Ok(shown) => Json(shown).into_response(),
        Err(_) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            "drawing the frame failed\n",
        )
            .into_response(),
    }
}

fn show(frame: Frame) -> Shown {
    let mut shown = Shown {
        number: frame.number,
        at_ms: frame.at_ms,
        changes: frame.changes,
        step: None,
        tables: Vec::new(),
        svg: String::new(),
        summary: String::new(),
        memtable_note: String::new(),
        logged: Vec::new(),
        error: None,
    };
    let tree = match frame.tree {
        Ok(tree) => tree,
        Err(why) => {
            shown.error = Some(why);
            return shown;
        }
    };
    shown.step = Some(tree.step.to_string());
    shown.tables = tree
        .tables
        .iter()
        .map(|table| table.file.name.clone())
        .collect();
    shown.svg = picture::draw(&tree);
    shown.summary = summary::render(&tree);
    shown.memtable_note = history::memtable_note(tree.step).to_string();
    for log in tree.logs.iter().rev() {
        for record in &log.records {
            let op = match &record.op {
                Op::Put(key, value) => format!("put {}→{}", escape(key), escape(value)),
                Op::Delete(key) => format!("del {}", escape(key)),
                Op::Clear => "clear".to_string(),
                Op::Next(number) => format!(
                    "next {number:06} (the log continues in {})",
                    log_name(*number)
                ),
            };
            shown
                .logged
                .push(format!("{} line {}: {op}", log.name, record.line));
        }
    }
    shown
}

#[derive(Deserialize)]
struct GetQuery {
    frame: usize,
    key: String,
}

async fn explain(State(timeline): State<Arc<Timeline>>, Query(query): Query<GetQuery>) -> Response {
    let Some(frame) = timeline.frame(query.frame) else {
        return not_kept(query.frame);
    };
    let text = match &frame.tree {
        Ok(tree) => explain_get::explain(tree, &query.key).0,
        Err(why) => format!("{why}\n"),
    };
    ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], text).into_response()
}

fn not_kept(number: usize) -> Response {
    let why = format!(
        "frame {number} is not kept: the timeline keeps the last {}\n",
        live::KEPT
    );
    (StatusCode::NOT_FOUND, why).into_response()
}
