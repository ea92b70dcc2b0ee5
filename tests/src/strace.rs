//! Records what a server does to its files, with `strace`, and reads the
//! record back as a list of calls in the order they completed.
//!
//! The server runs under `strace -f` (every thread), which writes one line
//! per system call. A call that another thread interrupts is split in two
//! (`write(3<…>, "…" <unfinished ...>` and later `<... write resumed>) = 45`);
//! [`parse`] joins the halves and places the call where it completed, which
//! is what the power-loss check needs: a sync has happened once it has
//! returned, and the server can only answer a client after that.
//!
//! A call the process died in (`kill -9`, or a thread still in a call when
//! the process exits) never returns: strace prints `= ?`, or only its first
//! half. Such a call may or may not have taken effect (tried: an `unlink`
//! printed `= ?` had removed its file one time, and not another). [`parse`]
//! keeps it, marked [`Call::cut_short`], and the power-loss check settles
//! it by what the directory holds once the process is gone.
//!
//! `-yy` prints each file descriptor with what it is (`3</tmp/d/000001.wal>`,
//! `12<TCP:[127.0.0.1:8080->127.0.0.1:41572]>`), and `-xx` prints every
//! string, paths included, as `\xNN` escapes, so that no byte of a file's
//! contents can be mistaken for strace's own punctuation.

use std::path::Path;
use std::process::Command;

/// The system calls [`wrapper`] records: everything that changes a file or
/// a directory, makes it durable, or answers a client. (A regular
/// expression, so that calls an architecture lacks, such as `open` on arm64,
/// are simply not there.)
const TRACED: &str = "/^(open|openat|creat|write|writev|pwrite64|pwritev|pwritev2|\
                      fsync|fdatasync|sync_file_range|sync|syncfs|\
                      rename|renameat|renameat2|unlink|unlinkat|rmdir|mkdir|mkdirat|\
                      link|linkat|symlink|symlinkat|truncate|ftruncate|fallocate|\
                      copy_file_range|sendfile|lseek|accept|accept4|sendto|sendmsg)$";

/// Whether `strace` can be run here.
pub fn available() -> bool {
    Command::new("strace")
        .arg("-V")
        .output()
        .is_ok_and(|output| output.status.success())
}

/// Whether strace can run; if not, says so where the learner sees it (the
/// test harness does not capture a direct write to stderr) and returns
/// false, so that `test` can stop, or fails when `LITTLE_KV_REQUIRE_STRACE`
/// is set (`cargo xtask ci` sets it once it has installed strace).
pub fn available_or_skip(test: &str) -> bool {
    if available() {
        return true;
    }
    let message = format!(
        "{test}: SKIPPED, strace is not installed (apt-get install strace); \
         this test cannot run without it"
    );
    assert!(
        std::env::var_os("LITTLE_KV_REQUIRE_STRACE").is_none(),
        "{message}"
    );
    let _ = std::io::Write::write_all(&mut std::io::stderr(), format!("{message}\n").as_bytes());
    false
}

/// The command that runs a program under strace, recording into `trace`:
/// put it in front of the program and its arguments.
pub fn wrapper(trace: &Path) -> Vec<String> {
    [
        "strace",
        "-f",
        "--seccomp-bpf",
        "-qq",
        "-yy",
        "-xx",
        // Whole strings: the check rebuilds files from the bytes written.
        "-s",
        "16777216",
        "-e",
        "signal=none",
        "-e",
        TRACED,
        "-o",
    ]
    .iter()
    .map(|arg| arg.to_string())
    .chain([trace.display().to_string(), "--".to_string()])
    .collect()
}

/// One system call: completed, or cut short by the death of its process.
#[derive(Debug, Clone)]
pub struct Call {
    /// The thread that made it.
    pub thread: u32,
    pub name: String,
    /// The arguments as strace printed them, between the parentheses.
    pub args: String,
    /// The return value: a count, a new file descriptor, an offset, or -1;
    /// 0 for a call cut short, whose result no one saw.
    pub result: i64,
    /// The process died in this call, before it returned: it may or may not
    /// have taken effect (see the module doc).
    pub cut_short: bool,
    /// What a returned file descriptor is (its path, `TCP:[…]`), decoded.
    pub result_is: Option<String>,
}

impl Call {
    /// The first argument as a file descriptor, and what it is (decoded).
    pub fn fd(&self) -> Option<(i32, String)> {
        let digits: String = self.args.chars().take_while(char::is_ascii_digit).collect();
        let fd = digits.parse().ok()?;
        let annotation = annotation_at(&self.args[digits.len()..])?;
        Some((fd, annotation))
    }

    /// Every quoted string of the arguments, decoded, in order.
    pub fn strings(&self) -> Vec<Vec<u8>> {
        let mut strings = Vec::new();
        let mut rest = self.args.as_str();
        while let Some(start) = rest.find('"') {
            let (string, after) = decode_string(&rest[start + 1..]).unwrap_or_else(|| {
                panic!("strace shortened a string of {}({})", self.name, self.args)
            });
            strings.push(string);
            rest = after;
        }
        strings
    }

    /// The bytes a write call wrote: its strings up to its result.
    pub fn written(&self) -> Vec<u8> {
        let mut bytes: Vec<u8> = self.strings().concat();
        if !self.cut_short {
            bytes.truncate(usize::try_from(self.result).unwrap_or(0));
        }
        bytes
    }

    /// The last argument as a number (`pwrite64`'s offset).
    pub fn last_number(&self) -> Option<i64> {
        self.args.rsplit(", ").next()?.trim().parse().ok()
    }

    /// Whether the arguments name `flag` (`O_CREAT`). Strings and paths are
    /// escaped, so they cannot contain it.
    pub fn has_flag(&self, flag: &str) -> bool {
        self.args
            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .any(|word| word == flag)
    }

    /// What the directory argument of an `…at` call is (`AT_FDCWD<cwd>` or
    /// `5<dir>`), decoded: the base of a relative path.
    pub fn directory_argument(&self) -> Option<String> {
        let end = self.args.find('<')?;
        if self.args[..end].contains('"') {
            return None;
        }
        annotation_at(&self.args[end..])
    }
}

/// Reads a trace written through [`wrapper`]: the completed calls in the
/// order they completed, then the calls cut short (see the module doc).
/// Lines that are not calls (a process that was killed, say) are skipped.
pub fn parse(text: &str) -> Vec<Call> {
    let mut calls = Vec::new();
    // The first half of each thread's interrupted call.
    let mut unfinished: std::collections::HashMap<u32, String> = Default::default();
    for line in text.lines() {
        let Some((thread, rest)) = line.split_once(' ') else {
            continue;
        };
        let Ok(thread) = thread.parse::<u32>() else {
            continue;
        };
        let rest = rest.trim_start();
        let whole = if let Some(first) = rest.strip_suffix(" <unfinished ...>") {
            unfinished.insert(thread, first.to_string());
            continue;
        } else if rest.starts_with("<... ") {
            let Some((_, second)) = rest.split_once(" resumed>") else {
                continue;
            };
            match unfinished.remove(&thread) {
                Some(first) => format!("{first}{second}"),
                None => continue,
            }
        } else {
            rest.to_string()
        };
        if let Some(call) = parse_call(thread, &whole) {
            calls.push(call);
        }
    }
    // A first half never resumed: its thread died in the call. (Sorted by
    // thread, so that the same trace always reads the same.)
    let mut never_resumed: Vec<(u32, String)> = unfinished.into_iter().collect();
    never_resumed.sort();
    for (thread, first) in never_resumed {
        calls.extend(cut_short(thread, &first));
    }
    // Cut-short calls go after the completed ones: the process died after
    // the last call that returned.
    let (completed, cut): (Vec<Call>, Vec<Call>) =
        calls.into_iter().partition(|call| !call.cut_short);
    completed.into_iter().chain(cut).collect()
}

/// A call whose first half is `first` (`name(args`, maybe with a trailing
/// comma) and whose process died before it returned.
fn cut_short(thread: u32, first: &str) -> Option<Call> {
    let open = first.find('(')?;
    Some(Call {
        thread,
        name: first[..open].to_string(),
        args: first[open + 1..]
            .trim_end()
            .trim_end_matches(',')
            .to_string(),
        result: 0,
        cut_short: true,
        result_is: None,
    })
}

/// `name(args) = result` → a call; `name(args) = ?` (the process died in
/// it) → a call cut short; `None` for anything else.
fn parse_call(thread: u32, text: &str) -> Option<Call> {
    let open = text.find('(')?;
    let name = text[..open].to_string();
    // strace pads a resumed call's result: `)              = 2`.
    let equals = text.rfind(" = ")?;
    let args = text[..equals].trim_end().strip_suffix(')')?;
    let args = args.get(open + 1..)?.trim_end().to_string();
    let result_text = text[equals + 3..].trim();
    if result_text == "?" {
        return Some(Call {
            thread,
            name,
            args,
            result: 0,
            cut_short: true,
            result_is: None,
        });
    }
    let digits_end = result_text
        .find(|c: char| !(c.is_ascii_digit() || c == '-' || c == 'x'))
        .unwrap_or(result_text.len());
    let number = &result_text[..digits_end];
    let result = match number.strip_prefix("0x") {
        Some(hex) => i64::from_str_radix(hex, 16).ok()?,
        None => number.parse().ok()?,
    };
    let result_is = annotation_at(&result_text[digits_end..]);
    Some(Call {
        thread,
        name,
        args,
        result,
        cut_short: false,
        result_is,
    })
}

/// The decoded `<…>` annotation at the start of `text`, if there is one.
/// It ends at a `>` followed by the end, a comma, a space or a parenthesis
/// (a TCP annotation holds `->` inside).
fn annotation_at(text: &str) -> Option<String> {
    let inner = text.strip_prefix('<')?;
    let bytes = inner.as_bytes();
    let end = (0..bytes.len()).find(|&i| {
        bytes[i] == b'>' && matches!(bytes.get(i + 1), None | Some(b',' | b' ' | b')'))
    })?;
    let decoded = decode_escapes(&inner[..end]);
    Some(String::from_utf8_lossy(&decoded).into_owned())
}

/// Decodes a quoted string whose opening quote is just before `text`;
/// returns it and the text after its closing quote, or `None` if strace
/// shortened it (`"…"...`).
fn decode_string(text: &str) -> Option<(Vec<u8>, &str)> {
    let (bytes, length) = decode_escapes_until_quote(text)?;
    let after = &text[length + 1..];
    if after.starts_with("...") {
        return None;
    }
    Some((bytes, after))
}

/// Decodes up to the first unescaped `"`: the bytes and how much of `text`
/// they took.
fn decode_escapes_until_quote(text: &str) -> Option<(Vec<u8>, usize)> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => return Some((out, i)),
            b'\\' => {
                let (byte, taken) = escape(&bytes[i + 1..])?;
                out.push(byte);
                i += 1 + taken;
            }
            other => {
                out.push(other);
                i += 1;
            }
        }
    }
    None
}

/// Decodes every escape of `text` (an annotation); a backslash that starts
/// no escape is kept as it is.
fn decode_escapes(text: &str) -> Vec<u8> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\'
            && let Some((byte, taken)) = escape(&bytes[i + 1..])
        {
            out.push(byte);
            i += 1 + taken;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    out
}

/// The byte of the escape after a backslash, and how many bytes it took.
fn escape(after: &[u8]) -> Option<(u8, usize)> {
    match after.first()? {
        b'x' => {
            let hex = std::str::from_utf8(after.get(1..3)?).ok()?;
            Some((u8::from_str_radix(hex, 16).ok()?, 3))
        }
        b'n' => Some((b'\n', 1)),
        b't' => Some((b'\t', 1)),
        b'r' => Some((b'\r', 1)),
        b'v' => Some((0x0b, 1)),
        b'f' => Some((0x0c, 1)),
        b'\\' => Some((b'\\', 1)),
        b'"' => Some((b'"', 1)),
        digit @ b'0'..=b'7' => {
            // Octal, one to three digits.
            let mut value = u32::from(digit - b'0');
            let mut taken = 1;
            while taken < 3 && after.get(taken).is_some_and(|d| (b'0'..=b'7').contains(d)) {
                value = value * 8 + u32::from(after[taken] - b'0');
                taken += 1;
            }
            Some((u8::try_from(value).ok()?, taken))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interrupted_calls_are_joined_where_they_complete() {
        let text = "\
21754 write(3<\\x2f\\x64\\x2f\\x61>, \"\\x62\\x0a\", 2 <unfinished ...>\n\
21757 fdatasync(4<\\x2f\\x64\\x2f\\x62>) = 0\n\
21754 <... write resumed>)              = 2\n\
21753 accept4(11<TCP:[127.0.0.1:18777]>, {sa_family=AF_INET, sin_port=htons(41572)}, [128 => 16], SOCK_CLOEXEC) = 12<TCP:[127.0.0.1:18777->127.0.0.1:41572]>\n\
21753 +++ killed by SIGKILL +++\n";
        let calls = parse(text);
        let names: Vec<&str> = calls.iter().map(|call| call.name.as_str()).collect();
        assert_eq!(names, ["fdatasync", "write", "accept4"]);
        assert_eq!(calls[1].fd(), Some((3, "/d/a".to_string())));
        assert_eq!(calls[1].written(), b"b\n");
        assert_eq!(
            calls[2].result_is.as_deref(),
            Some("TCP:[127.0.0.1:18777->127.0.0.1:41572]")
        );
        assert_eq!(calls[2].result, 12);
    }

    #[test]
    fn calls_the_process_died_in_are_kept_after_the_rest_marked_cut_short() {
        let text = "\
7 rename(\"\\x61\", \"\\x62\") = ?\n\
8 unlink(\"\\x63\" <unfinished ...>\n\
9 write(3<\\x2f\\x61>, \"\\x62\\x63\", 2 <unfinished ...>\n\
6 fsync(4<\\x2f\\x64>) = 0\n\
9 <... write resumed>) = ?\n\
7 +++ killed by SIGKILL +++\n";
        let calls = parse(text);
        let summary: Vec<(&str, bool)> = calls
            .iter()
            .map(|call| (call.name.as_str(), call.cut_short))
            .collect();
        assert_eq!(
            summary,
            [
                ("fsync", false),
                ("rename", true),
                ("write", true),
                ("unlink", true)
            ]
        );
        assert_eq!(calls[1].strings(), [b"a".to_vec(), b"b".to_vec()]);
        assert_eq!(calls[3].strings(), [b"c".to_vec()]);
        // No count came back: every byte it was asked to write may be there.
        assert_eq!(calls[2].written(), b"bc");
    }

    #[test]
    fn a_shortened_string_is_refused() {
        let calls = parse("1 write(3<\\x2f\\x61>, \"\\x62\"..., 9) = 9\n");
        let shortened = std::panic::catch_unwind(|| calls[0].strings());
        assert!(shortened.is_err());
    }

    #[test]
    fn flags_and_offsets_are_read() {
        let calls = parse(
            "1 openat(AT_FDCWD<\\x2f>, \"\\x2f\\x61\", O_WRONLY|O_CREAT|O_TRUNC|O_CLOEXEC, 0666) = 3<\\x2f\\x61>\n\
             1 pwrite64(3<\\x2f\\x61>, \"\\x62\", 1, 4096) = 1\n",
        );
        assert!(calls[0].has_flag("O_CREAT"));
        assert!(!calls[0].has_flag("O_APPEND"));
        assert_eq!(calls[0].directory_argument().as_deref(), Some("/"));
        assert_eq!(calls[0].strings(), [b"/a".to_vec()]);
        assert_eq!(calls[1].last_number(), Some(4096));
    }
}
