//! The HTTP layer: routes, the key and value checks, and status codes.
//!
//! The API (the same in every step):
//!
//! | request              | answer                                                    |
//! |----------------------|-----------------------------------------------------------|
//! | `PUT /kv/{key}`      | 200; the body is the value                                |
//! | `GET /kv/{key}`      | 200 with the value, or 404 `key not found`                |
//! | `DELETE /kv/{key}`   | 200, also when the key is absent                          |
//! | `DELETE /clear`      | 200; every key is gone                                    |
//! | any other method     | 405 `method not allowed`                                  |
//!
//! The key is everything after `/kv/`, percent-decoded, so `/kv/a%2Fb` and
//! `/kv/a/b` both name the key `a/b`. An empty key, an empty value or text
//! that is not UTF-8 answers 400 with a one-line reason. A handler that
//! panics (a bug, or a starter's `todo!`) answers 500 with the panic's
//! message. Every error body is one line ending in `\n`, so that `curl`
//! prints it cleanly.
//!
//! A store call may read or write files. Each handler runs it on one of
//! tokio's threads for blocking work (`off_the_runtime`), so that a request
//! waiting for the disk does not hold up the connections served on the same
//! runtime thread. A file that cannot be read or written, or a damaged
//! table, answers 500 with the error's one line.
//!
//! A failed flush or merge (`ShakerFailed`) answers 500 too: the tree shaker
//! has stopped, so every PUT, DELETE and clear is refused with its reason
//! until a restart, while GETs are still answered.
//!
//! A PUT, DELETE or clear answers 200 only once its record is synced to the
//! write-ahead log. A PUT or DELETE does not hold a thread while it waits:
//! it appends on the runtime's thread and awaits the log syncer
//! (`Store::durable`). Only a write that would fill the memtable goes to a
//! blocking thread, since its freeze syncs the log and may wait for room. A
//! log that failed (`LogFailed`) answers 500 and refuses every later write,
//! as a failed flush does. A GET waits, on its blocking thread, until the
//! writes it could see are synced; after a failed sync it answers 500 too
//! (`ReadAfterLogFailed`), rather than show a write that was refused.
//!
//! Slow clients cannot take the server away from everyone (`serve.rs`): a
//! connection that has not sent its whole request head within 3 seconds
//! (`HEADER_READ_TIMEOUT`) of being accepted, or of its previous answer, is
//! closed; and the server keeps at most its open-file limit minus 256
//! (`RESERVED_FILES`) connections open, 768 with the common limit of 1024,
//! so that it never runs out of files. The connections beyond that wait in
//! the kernel's queue until a slot frees.
//!
//! Shortcuts: plain HTTP/1.1, no TLS, no authentication, bound to 127.0.0.1.
//! Only the request head has a deadline: a client that sends its body
//! slowly, or never reads its answer, keeps its connection's slot.
//!
//! Read alongside chapter 1 of the book, "A hash map behind HTTP"; the move
//! off the runtime, with chapter 3, "SSTables"; the PUT that awaits its log
//! sync, with chapter 7, "Bloom filters and a write-ahead log".

use std::any::Any;
use std::future::Future;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, delete, get};
use percent_encoding::percent_decode_str;
use tokio::net::TcpListener;
use tokio::signal::unix::{SignalKind, signal};
use tower_http::catch_panic::CatchPanicLayer;

use crate::error::panic_message;
use crate::serve;
pub use crate::serve::listen;
use crate::{Error, Result, Storage, Store};

/// The largest request body we accept. The API promises values of at least
/// 1 MiB; the margin above that is for clients that send a little more.
pub const MAX_VALUE_BYTES: usize = 4 * 1024 * 1024;

/// Builds the routes of the API, all served from one shared store.
pub fn router(store: Arc<Store>) -> Router {
    // One handler per method; any other method gets our 405 body instead of
    // axum's empty one.
    let kv: MethodRouter<Arc<Store>> = get(get_value)
        .put(put_value)
        .delete(delete_value)
        .fallback(method_not_allowed);
    Router::new()
        // `{*key}` matches one or more characters, so the empty key needs
        // its own route to reach our "key cannot be empty" answer.
        .route("/kv/", kv.clone())
        .route("/kv/{*key}", kv)
        .route("/clear", delete(clear).fallback(method_not_allowed))
        .layer(DefaultBodyLimit::max(MAX_VALUE_BYTES))
        // A handler that panics has met a bug, or in a starter an exercise's
        // `todo!`: answer 500 with the panic's message rather than drop the
        // connection, so that `curl` says which exercise the request reached.
        .layer(CatchPanicLayer::custom(answer_panic))
        .with_state(store)
}

/// A PUT runs on the runtime's own thread, unlike the other calls: it only
/// takes the lock and appends to memory, and its wait for the log sync is an
/// `.await`, so hundreds of PUTs can wait with no thread blocked. A PUT
/// that finds the memtable full and no room to freeze it goes to a blocking
/// thread instead, where it waits for the tree shaker to make room.
async fn put_value(State(store): State<Arc<Store>>, uri: Uri, body: Bytes) -> Result<()> {
    let key = key_from_path(uri.path())?;
    let value = String::from_utf8(body.into()).map_err(|_| Error::NotUtf8 { what: "value" })?;
    validate_put(&key, &value)?;
    match store.try_set_logged(&key, &value)? {
        Some(ticket) => store.durable(ticket).await,
        // This write waits for room: do it on a thread that may block, as
        // a plain `set` does.
        None => off_the_runtime(move || store.set(&key, &value)).await,
    }
}

async fn get_value(State(store): State<Arc<Store>>, uri: Uri) -> Result<String> {
    let key = key_from_path(uri.path())?;
    validate_key(&key)?;
    off_the_runtime(move || store.get(&key))
        .await?
        .ok_or(Error::KeyNotFound)
}

/// A DELETE is a write too, served as a PUT is.
async fn delete_value(State(store): State<Arc<Store>>, uri: Uri) -> Result<()> {
    let key = key_from_path(uri.path())?;
    validate_key(&key)?;
    match store.try_delete_logged(&key)? {
        Some(ticket) => store.durable(ticket).await,
        None => off_the_runtime(move || store.delete(&key)).await,
    }
}

async fn clear(State(store): State<Arc<Store>>) -> Result<()> {
    off_the_runtime(move || store.clear()).await
}

async fn method_not_allowed() -> Response {
    (StatusCode::METHOD_NOT_ALLOWED, "method not allowed\n").into_response()
}

/// The answer to a request whose handler panicked: 500 with the panic's
/// message on one line, e.g. `panicked: not yet implemented: exercise 1.1:
/// … (book chapter 1)`. Where it happened is in the server's log: the panic
/// hook printed the first panic with its file and line.
fn answer_panic(panic: Box<dyn Any + Send + 'static>) -> Response {
    let message = panic_message(&*panic);
    let one_line = message.lines().collect::<Vec<_>>().join(" ");
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        format!("panicked: {one_line}\n"),
    )
        .into_response()
}

/// Runs a store call on one of tokio's threads for blocking work. A store
/// call may read or write files, or wait for the tree shaker, and a runtime
/// thread that waits serves no other connection meanwhile.
async fn off_the_runtime<T: Send + 'static>(
    call: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T> {
    match tokio::task::spawn_blocking(call).await {
        Ok(result) => result,
        // `call` panicked: a bug, or a starter's `todo!`. Go on panicking
        // with its message, which the router answers (see `answer_panic`).
        Err(failed) => match failed.try_into_panic() {
            Ok(panic) => std::panic::resume_unwind(panic),
            Err(failed) => panic!("a store call did not finish: {failed}"),
        },
    }
}

/// Returns the key that a `/kv/...` path names: everything after `/kv/`,
/// percent-decoded.
fn key_from_path(path: &str) -> Result<String> {
    // The router sends only paths under `/kv/` here.
    let encoded = path.strip_prefix("/kv/").unwrap_or_default();
    let decoded = percent_decode_str(encoded).decode_utf8();
    decoded
        .map(|key| key.into_owned())
        .map_err(|_| Error::NotUtf8 { what: "key" })
}

/// Refuses the empty key, which no request may name.
pub fn validate_key(key: &str) -> Result<()> {
    if key.is_empty() {
        return Err(Error::EmptyKey);
    }
    Ok(())
}

/// Checks a PUT before the store sees it: the key must pass [`validate_key`]
/// and the value must not be empty. The key is checked first, so a request
/// with both wrong is told about the key.
pub fn validate_put(key: &str, value: &str) -> Result<()> {
    // Exercise 1.3: refuse an empty key, then an empty value
    validate_key(key)?;
    if value.is_empty() {
        return Err(Error::EmptyValue);
    }
    Ok(())
}

impl IntoResponse for Error {
    /// Every error becomes a status code and a one-line text body.
    fn into_response(self) -> Response {
        let status = match self {
            Error::EmptyKey | Error::EmptyValue | Error::NotUtf8 { .. } => StatusCode::BAD_REQUEST,
            Error::KeyNotFound => StatusCode::NOT_FOUND,
            Error::Io { .. }
            | Error::Corrupt { .. }
            | Error::UnexpectedFile { .. }
            | Error::Locked { .. }
            | Error::Damaged { .. }
            | Error::ShakerFailed { .. }
            | Error::LogFailed { .. }
            | Error::ReadAfterLogFailed { .. } => StatusCode::INTERNAL_SERVER_ERROR,
            Error::Listen { .. } | Error::Start { .. } => StatusCode::INTERNAL_SERVER_ERROR,
        };
        (status, format!("{self}\n")).into_response()
    }
}

/// Serves the API on `listener` (from [`listen`]) until `shutdown`
/// completes, then lets the requests in flight finish before returning.
pub async fn serve(
    listener: std::net::TcpListener,
    store: Arc<Store>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<()> {
    let listener = TcpListener::from_std(listener).map_err(|source| Error::Start {
        what: "listening socket",
        source,
    })?;
    serve::connections(listener, router(store), shutdown).await;
    Ok(())
}

/// Serves `store` on `listener` (from [`listen`]) until SIGTERM or SIGINT
/// (Ctrl-C).
pub fn run(listener: std::net::TcpListener, store: Arc<Store>) -> Result<()> {
    let runtime = tokio::runtime::Runtime::new().map_err(|source| Error::Start {
        what: "async runtime",
        source,
    })?;
    runtime.block_on(async {
        let mut terminate = signal(SignalKind::terminate()).map_err(|source| Error::Start {
            what: "SIGTERM handler",
            source,
        })?;
        let mut interrupt = signal(SignalKind::interrupt()).map_err(|source| Error::Start {
            what: "SIGINT handler",
            source,
        })?;
        let addr = listener.local_addr().map_err(|source| Error::Start {
            what: "listening socket",
            source,
        })?;
        tracing::info!("listening on http://{addr}");
        let shutdown = async move {
            tokio::select! {
                _ = terminate.recv() => tracing::info!("SIGTERM: finishing requests in flight"),
                _ = interrupt.recv() => tracing::info!("SIGINT: finishing requests in flight"),
            }
        };
        serve(listener, store, shutdown).await
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Options;
    use axum::body::{Body, to_bytes};
    use axum::http::{Method, Request};
    use tower::ServiceExt;

    #[tokio::test]
    async fn a_store_call_that_panics_is_answered_500_with_its_message() {
        let app: Router = Router::new()
            .route(
                "/",
                get(|| async {
                    let answer: Result<String> =
                        off_the_runtime(|| -> Result<String> { todo!("a hole") }).await;
                    answer
                }),
            )
            .layer(CatchPanicLayer::custom(answer_panic));
        let request = Request::builder().uri("/").body(Body::empty()).unwrap();
        let response = app.oneshot(request).await.unwrap();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let body = to_bytes(response.into_body(), usize::MAX).await.unwrap();
        assert_eq!(
            String::from_utf8_lossy(&body),
            "panicked: not yet implemented: a hole\n"
        );
    }

    /// Sends one request to a fresh router and returns the status and body.
    fn send(method: Method, path: &str, body: impl Into<Body>) -> (StatusCode, String) {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let directory = tempfile::tempdir().unwrap();
        let options = Options {
            memtable_bytes: usize::MAX,
            ..Options::default()
        };
        let store = Store::open(directory.path(), options).unwrap();
        runtime.block_on(async {
            let request = Request::builder()
                .method(method)
                .uri(path)
                .body(body.into())
                .unwrap();
            let response = router(Arc::new(store)).oneshot(request).await.unwrap();
            let status = response.status();
            let bytes = to_bytes(response.into_body(), usize::MAX).await.unwrap();
            (status, String::from_utf8(bytes.to_vec()).unwrap())
        })
    }

    #[test]
    fn exercise_1_3_put_with_empty_value_is_refused() {
        let answer = send(Method::PUT, "/kv/kenya:capital", "");
        assert_eq!(
            answer,
            (StatusCode::BAD_REQUEST, "value cannot be empty\n".into())
        );
    }

    #[test]
    fn exercise_1_3_put_with_empty_key_is_refused() {
        let answer = send(Method::PUT, "/kv/", "Nairobi");
        assert_eq!(
            answer,
            (StatusCode::BAD_REQUEST, "key cannot be empty\n".into())
        );
        // Both wrong: the key is reported first.
        let answer = send(Method::PUT, "/kv/", "");
        assert_eq!(
            answer,
            (StatusCode::BAD_REQUEST, "key cannot be empty\n".into())
        );
    }

    #[test]
    fn exercise_1_3_valid_put_passes_the_check() {
        assert!(matches!(
            validate_put("kenya:capital", ""),
            Err(Error::EmptyValue)
        ));
        assert!(validate_put("kenya:capital", "Nairobi").is_ok());
        assert!(
            validate_put("k", " ").is_ok(),
            "a space is a value, not an empty one"
        );
    }

    #[test]
    fn get_and_delete_of_empty_key_are_refused() {
        for method in [Method::GET, Method::DELETE] {
            let answer = send(method, "/kv/", Body::empty());
            assert_eq!(
                answer,
                (StatusCode::BAD_REQUEST, "key cannot be empty\n".into())
            );
        }
    }

    #[test]
    fn other_methods_are_not_allowed() {
        for (method, path) in [
            (Method::POST, "/kv/k"),
            (Method::PATCH, "/kv/"),
            (Method::GET, "/clear"),
        ] {
            let answer = send(method, path, "v");
            assert_eq!(
                answer,
                (
                    StatusCode::METHOD_NOT_ALLOWED,
                    "method not allowed\n".into()
                )
            );
        }
    }

    #[test]
    fn value_that_is_not_utf8_is_refused() {
        let answer = send(Method::PUT, "/kv/k", vec![0xff, 0xfe]);
        assert_eq!(
            answer,
            (StatusCode::BAD_REQUEST, "value is not valid UTF-8\n".into())
        );
    }

    #[test]
    fn key_that_is_not_utf8_is_refused() {
        let answer = send(Method::GET, "/kv/%FF", Body::empty());
        assert_eq!(
            answer,
            (StatusCode::BAD_REQUEST, "key is not valid UTF-8\n".into())
        );
    }

    #[test]
    fn keys_are_percent_decoded() {
        assert_eq!(key_from_path("/kv/a%2Fb").unwrap(), "a/b");
        assert_eq!(key_from_path("/kv/a/b").unwrap(), "a/b");
        assert_eq!(
            key_from_path("/kv/caf%C3%A9%20%E2%86%92").unwrap(),
            "café →"
        );
        assert_eq!(key_from_path("/kv/").unwrap(), "");
    }

    #[ignore = "needs exercise 7.1 (book chapter 7): `cargo xtask check 07` runs it"]
    #[test]
    fn writes_that_find_the_queue_full_still_succeed() {
        // Every write fills a memtable, and one frozen memtable fills the
        // queue: many PUTs and DELETEs find no room and take the slow path.
        let directory = tempfile::tempdir().unwrap();
        let options = Options {
            memtable_bytes: 1,
            max_frozen_memtables: 1,
            compaction_threshold: usize::MAX,
        };
        let store = Arc::new(Store::open(directory.path(), options).unwrap());
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let statuses = runtime.block_on(async {
            let requests = (0..100).map(|n| {
                let (method, body) = match n % 4 {
                    3 => (Method::DELETE, Body::empty()),
                    _ => (Method::PUT, Body::from(format!("value-{n}"))),
                };
                let request = Request::builder()
                    .method(method)
                    .uri(format!("/kv/key-{}", n / 2))
                    .body(body)
                    .unwrap();
                tokio::spawn(router(Arc::clone(&store)).oneshot(request))
            });
            let mut statuses = Vec::new();
            for request in requests.collect::<Vec<_>>() {
                statuses.push(request.await.unwrap().unwrap().status());
            }
            statuses
        });
        assert!(statuses.iter().all(|status| *status == StatusCode::OK));
        // Key k got requests 2k and 2k + 1, at the same time: two PUTs for
        // an even k, a PUT and a DELETE for an odd k, in either order.
        for k in 0..50 {
            let key = format!("key-{k}");
            let value = store.get(&key).unwrap();
            let first = Some(format!("value-{}", 2 * k));
            let second = match k % 2 {
                0 => Some(format!("value-{}", 2 * k + 1)),
                _ => None,
            };
            assert!(value == first || value == second, "{key}: {value:?}");
        }
    }
}
