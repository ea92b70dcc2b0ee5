//! Every step against the `BTreeMap` model, with random sequences of
//! set, get, delete, clear and (for the steps with a disk) flush and reopen.
//!
//! The case count is kept small so that `cargo test` stays quick; raise it
//! with `PROPTEST_CASES=5000 cargo test -p cross-step-tests --test model`.
//! Failing sequences are saved in `proptest-regressions/` and replayed first.

use cross_step_tests::model::{Op, check_against_model, op};
use cross_step_tests::stores::Harness;
use proptest::prelude::*;

fn sequences() -> impl Strategy<Value = Vec<Op>> {
    prop::collection::vec(op(), 1..80)
}

fn check<S: Harness>(ops: &[Op]) {
    let directory = tempfile::tempdir().expect("create a temporary directory");
    check_against_model::<S>(directory.path(), ops);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn solution_01_behaves_like_a_btreemap(ops in sequences()) {
        check::<solution_01::Store>(&ops);
    }

    #[test]
    fn solution_02_behaves_like_a_btreemap(ops in sequences()) {
        check::<solution_02::Store>(&ops);
    }

    #[test]
    fn solution_03_behaves_like_a_btreemap(ops in sequences()) {
        check::<solution_03::Store>(&ops);
    }

    #[test]
    fn solution_04_behaves_like_a_btreemap(ops in sequences()) {
        check::<solution_04::Store>(&ops);
    }

    #[test]
    fn solution_05_behaves_like_a_btreemap(ops in sequences()) {
        check::<solution_05::Store>(&ops);
    }

    #[test]
    fn solution_06_behaves_like_a_btreemap(ops in sequences()) {
        check::<solution_06::Store>(&ops);
    }

    #[test]
    fn solution_07_behaves_like_a_btreemap(ops in sequences()) {
        check::<solution_07::Store>(&ops);
    }
}
