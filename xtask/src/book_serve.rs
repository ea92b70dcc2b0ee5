//! Serves the built book (`target/book`) on loopback, for `cargo xtask book`.
//!
//! mdBook can serve a book itself, but its `serve` feature (tokio, axum,
//! a file watcher) more than doubles the time `cargo install mdbook` takes
//! on a fresh machine (on 2 cores: 1 min 50 s with only the `search`
//! feature, measured for this change; 4 min 39 s with the defaults, as
//! issue 10 measured it), and a learner reading the book needs none of it. So we install mdBook without it and
//! serve the static files here: GET and HEAD of files under the book's
//! directory, one thread per connection, nothing else. It listens on
//! 127.0.0.1 only, and a path that would leave the directory is refused.

use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Component, Path, PathBuf};
use std::thread;

use crate::error::{Error, Result};

/// Serves `dir` on `address` until the process is stopped.
pub fn serve(dir: &Path, address: &str) -> Result<()> {
    let listener = TcpListener::bind(address).map_err(|source| {
        Error::Check(format!(
            "cannot serve the book on http://{address}: {source} (is another \
             `cargo xtask book` running? the built book is in {} meanwhile)",
            dir.display()
        ))
    })?;
    for stream in listener.incoming() {
        let Ok(stream) = stream else { continue };
        let dir = dir.to_path_buf();
        thread::spawn(move || {
            // A client that goes away mid-answer is not our problem.
            let _ = answer(&dir, stream);
        });
    }
    Ok(())
}

/// Reads one request and answers it; closes the connection after.
fn answer(dir: &Path, stream: TcpStream) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    // The headers are read and ignored, so the client sees its request taken.
    let mut header = String::new();
    while reader.read_line(&mut header)? > 2 {
        header.clear();
    }
    let mut words = request_line.split_whitespace();
    let (method, target) = (words.next().unwrap_or(""), words.next().unwrap_or("/"));
    let mut stream = stream;
    if method != "GET" && method != "HEAD" {
        return respond(
            &mut stream,
            "405 Method Not Allowed",
            "text/plain",
            b"GET only\n",
            true,
        );
    }
    let file =
        file_for(dir, target).and_then(|path| fs::read(&path).ok().map(|bytes| (path, bytes)));
    match file {
        Some((path, bytes)) => respond(
            &mut stream,
            "200 OK",
            content_type(&path),
            &bytes,
            method == "GET",
        ),
        None => respond(
            &mut stream,
            "404 Not Found",
            "text/plain",
            b"not found\n",
            true,
        ),
    }
}

fn respond(
    stream: &mut TcpStream,
    status: &str,
    content_type: &str,
    body: &[u8],
    with_body: bool,
) -> std::io::Result<()> {
    let head = format!(
        "HTTP/1.1 {status}\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\n\
         cache-control: no-cache\r\nconnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes())?;
    if with_body {
        stream.write_all(body)?;
    }
    stream.flush()
}

/// The file a request target names under `dir`: the query is dropped,
/// `%XX` escapes are undone, a directory means its `index.html`, and any
/// `..` or absolute part is refused.
fn file_for(dir: &Path, target: &str) -> Option<PathBuf> {
    let path = target.split(['?', '#']).next().unwrap_or("/");
    let decoded = percent_decode(path)?;
    let relative = Path::new(decoded.trim_start_matches('/'));
    if relative
        .components()
        .any(|part| !matches!(part, Component::Normal(_)))
    {
        return None;
    }
    let mut full = dir.join(relative);
    if full.is_dir() {
        full = full.join("index.html");
    }
    full.is_file().then_some(full)
}

/// Undoes `%XX` escapes; `None` for a malformed escape or non-UTF-8 result.
fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut at = 0;
    while at < bytes.len() {
        if bytes[at] == b'%' {
            let hex = text.get(at + 1..at + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            at += 3;
        } else {
            out.push(bytes[at]);
            at += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// The content type of the kinds of file mdBook writes.
fn content_type(path: &Path) -> &'static str {
    match path.extension().and_then(|ext| ext.to_str()).unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "js" => "text/javascript; charset=utf-8",
        "json" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "woff" => "font/woff",
        "woff2" => "font/woff2",
        "ttf" => "font/ttf",
        "txt" | "md" | "diff" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_port_in_use_is_a_clear_error() {
        let taken = TcpListener::bind("127.0.0.1:0").unwrap();
        let address = taken.local_addr().unwrap().to_string();
        let error = serve(Path::new("target/book"), &address)
            .unwrap_err()
            .to_string();
        assert!(
            error.starts_with(&format!("cannot serve the book on http://{address}: ")),
            "{error}"
        );
    }

    #[test]
    fn targets_map_to_files_inside_the_book_only() {
        let dir = std::env::temp_dir().join(format!("xtask-serve-test-{}", std::process::id()));
        fs::create_dir_all(dir.join("images")).unwrap();
        fs::write(dir.join("index.html"), "home").unwrap();
        fs::write(dir.join("images/a b.svg"), "<svg/>").unwrap();
        assert_eq!(file_for(&dir, "/"), Some(dir.join("index.html")));
        assert_eq!(
            file_for(&dir, "/index.html?x=1#top"),
            Some(dir.join("index.html"))
        );
        assert_eq!(
            file_for(&dir, "/images/a%20b.svg"),
            Some(dir.join("images/a b.svg"))
        );
        assert_eq!(file_for(&dir, "/../etc/passwd"), None);
        assert_eq!(file_for(&dir, "/images/%2e%2e/%2e%2e/x"), None);
        assert_eq!(file_for(&dir, "/missing.html"), None);
        assert_eq!(file_for(&dir, "/%zz"), None);
        assert_eq!(content_type(Path::new("a.svg")), "image/svg+xml");
        fs::remove_dir_all(&dir).unwrap();
    }
}
