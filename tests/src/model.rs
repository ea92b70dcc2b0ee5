//! Random operation sequences, and the `BTreeMap` model they are checked against.
//!
//! The model is the simplest store there is: a `BTreeMap<String, String>`
//! where a delete removes the key. It shares no code with the stores. Every
//! `get` of the store must equal the model's, and so must the final contents.

use std::collections::BTreeMap;
use std::path::Path;

use proptest::prelude::*;

use crate::stores::Harness;

/// One step of a random sequence.
#[derive(Debug, Clone)]
pub enum Op {
    Set(String, String),
    Get(String),
    Delete(String),
    Clear,
    Flush,
    Reopen,
}

/// Keys from a small pool, so that sequences overwrite and delete the same
/// keys often, plus the characters that the SSTable format must escape.
pub fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "[a-e]{1,2}",
        1 => prop::sample::select(vec!["→", "†", "\\", "a\nb", "\r", "k→†", "🦀", "\\n", " "])
            .prop_map(String::from),
    ]
}

/// Values: short text, sometimes empty, sometimes only special characters.
pub fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "[a-z ]{0,12}",
        1 => prop::sample::select(vec!["†", "→", "\\†", "line\nline", "\\", "tab\there"])
            .prop_map(String::from),
    ]
}

/// One random operation, mostly writes and reads.
pub fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        8 => (key(), value()).prop_map(|(key, value)| Op::Set(key, value)),
        6 => key().prop_map(Op::Get),
        3 => key().prop_map(Op::Delete),
        1 => Just(Op::Clear),
        2 => Just(Op::Flush),
        1 => Just(Op::Reopen),
    ]
}

/// The sequence as the HTTP API would say it, for failure messages:
/// `PUT "a" = "x", RESTART, GET "a"`.
pub fn story(ops: &[Op]) -> String {
    let said: Vec<String> = ops
        .iter()
        .map(|op| match op {
            Op::Set(key, value) => format!("PUT {key:?} = {value:?}"),
            Op::Get(key) => format!("GET {key:?}"),
            Op::Delete(key) => format!("DELETE {key:?}"),
            Op::Clear => "CLEAR".into(),
            Op::Flush => "FLUSH".into(),
            Op::Reopen => "RESTART".into(),
        })
        .collect();
    said.join(", ")
}

/// An answer to a GET as the HTTP API would give it.
fn answer(value: &Option<String>) -> String {
    match value {
        Some(value) => format!("{value:?}"),
        None => "404 (no such key)".into(),
    }
}

/// Applies `ops` to a fresh store of type `S` in `directory` and to the model,
/// and panics at the first difference, saying it in plain words: "after
/// PUT "a" = "x", RESTART, GET "a" returned 404, but a BTreeMap has "x"".
pub fn check_against_model<S: Harness>(directory: &Path, ops: &[Op]) {
    let mut store = S::open(directory);
    let mut model = BTreeMap::<String, String>::new();
    // Every key the sequence touched: the final check reads them all.
    let mut touched = Vec::new();
    for (at, op) in ops.iter().enumerate() {
        match op {
            Op::Set(key, value) => {
                store.set(key, value);
                model.insert(key.clone(), value.clone());
                touched.push(key.clone());
            }
            Op::Get(key) => {
                let (got, expected) = (store.get(key), model.get(key).cloned());
                assert!(
                    got == expected,
                    "{}: after {}: GET {key:?} returned {}, but a BTreeMap has {}",
                    S::NAME,
                    story(&ops[..=at]),
                    answer(&got),
                    answer(&expected)
                );
            }
            Op::Delete(key) => {
                store.delete(key);
                model.remove(key);
                touched.push(key.clone());
            }
            Op::Clear => {
                store.clear();
                model.clear();
            }
            Op::Flush => store.flush(),
            Op::Reopen => store = store.reopen(directory),
        }
    }
    for key in &touched {
        let (got, expected) = (store.get(key), model.get(key).cloned());
        assert!(
            got == expected,
            "{}: after {}, then GET {key:?}: it returned {}, but a BTreeMap has {}",
            S::NAME,
            story(ops),
            answer(&got),
            answer(&expected)
        );
    }
    if let Some(scan) = store.scan() {
        let expected: Vec<(String, String)> = model.into_iter().collect();
        assert!(
            scan == expected,
            "{}: after {}, a scan returned {scan:?}, but a BTreeMap has {expected:?}",
            S::NAME,
            story(ops)
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_story_reads_like_the_http_api() {
        let ops = [
            Op::Set("a".into(), "x".into()),
            Op::Flush,
            Op::Reopen,
            Op::Delete("a".into()),
            Op::Clear,
            Op::Get("a".into()),
        ];
        assert_eq!(
            story(&ops),
            r#"PUT "a" = "x", FLUSH, RESTART, DELETE "a", CLEAR, GET "a""#
        );
        assert_eq!(answer(&None), "404 (no such key)");
    }
}
