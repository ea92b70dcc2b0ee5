//! The cross-step suites live in `tests/tests/`; this library holds what they share.
