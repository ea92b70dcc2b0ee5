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

/// Applies `ops` to a fresh store of type `S` in `directory` and to the model,
/// and panics at the first difference.
pub fn check_against_model<S: Harness>(directory: &Path, ops: &[Op]) {
    let mut store = S::open(directory);
    let mut model = BTreeMap::<String, String>::new();
    // Every key the sequence touched: the final check reads them all.
    let mut touched = Vec::new();
    for (at, op) in ops.iter().enumerate() {
        let context = || format!("{} after {:?}", S::NAME, &ops[..=at]);
        match op {
            Op::Set(key, value) => {
                store.set(key, value);
                model.insert(key.clone(), value.clone());
                touched.push(key.clone());
            }
            Op::Get(key) => assert_eq!(store.get(key), model.get(key).cloned(), "{}", context()),
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
        assert_eq!(
            store.get(key),
            model.get(key).cloned(),
            "{} at the end, key {key:?}",
            S::NAME
        );
    }
    if let Some(scan) = store.scan() {
        let expected: Vec<(String, String)> = model.into_iter().collect();
        assert_eq!(scan, expected, "{}: final scan", S::NAME);
    }
}
