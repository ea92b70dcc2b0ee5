//! [`for_steps!`](crate::for_steps): one `#[test]` per step for a check
//! written once.
//!
//! Most checks in `tests/tests/` are one generic function (generic over the
//! step's `Store`, or taking the path of the step's server) that must run
//! against several steps. Each step gets a test of its own, so that a failure
//! names the step and `cargo xtask check 05` can pick step 05's tests by name.
//! The macro writes those wrappers; the call site still lists every test and
//! what it runs against.

/// Writes one `#[test]` function per step for a check written once.
///
/// The first line is the call, with a placeholder for what changes from one
/// step to the next: `S` for the step's `Store` type, or `binary` for the
/// path of its server. Then each line names a test and says what the
/// placeholder is in it:
///
/// ```text
/// for_steps! {
///     escaping_is_pinned::<S>();
///     solution_03_escaping_is_pinned: solution_03::Store,
///     solution_04_escaping_is_pinned: solution_04::Store,
/// }
///
/// for_steps! {
///     walkthrough_survives_a_graceful_stop(binary, libc::SIGTERM);
///     solution_03_walkthrough_survives_sigterm: env!("CARGO_BIN_EXE_serve-solution-03"),
/// }
/// ```
///
/// is exactly the hand-written
///
/// ```text
/// #[test]
/// fn solution_03_escaping_is_pinned() {
///     escaping_is_pinned::<solution_03::Store>();
/// }
/// // … the same for solution_04 …
///
/// #[test]
/// fn solution_03_walkthrough_survives_sigterm() {
///     walkthrough_survives_a_graceful_stop(
///         env!("CARGO_BIN_EXE_serve-solution-03"),
///         libc::SIGTERM,
///     );
/// }
/// ```
///
/// Each test's full name is spelled at the call site (`macro_rules!` cannot
/// glue `solution_03` and `escaping_is_pinned` into one name), which keeps
/// two things working: a name from a test report can be found with grep,
/// and `cargo xtask check NN`, which renames `solution_NN` to `step_NN` in a
/// copy of these files and then runs the tests named `step_NN_*`, renames
/// the test together with the crate it drives.
///
/// `binary` must be the call's first argument. A test whose arguments differ
/// in more than the placeholder is written out by hand.
#[macro_export]
macro_rules! for_steps {
    // One test of the `binary` form (see the last rule): `(binary, rest…)`
    // becomes `($binary, rest…)`.
    (@test $test:ident, $binary:expr, $check:ident (binary $($rest:tt)*)) => {
        #[test]
        fn $test() {
            $check($binary $($rest)*);
        }
    };
    // `check::<S>(args…)`: each test calls it with its step's `Store`.
    ($check:ident::<S> $args:tt; $($test:ident: $store:ty),+ $(,)?) => {
        $(
            #[test]
            fn $test() {
                $check::<$store> $args;
            }
        )+
    };
    // `check(binary, args…)`: each test calls it with its step's server.
    // The arguments are taken as one group here and taken apart in the
    // `@test` rule, once per test: a macro cannot repeat a list of
    // arguments inside the repetition over the tests.
    ($check:ident $args:tt; $($test:ident: $binary:expr),+ $(,)?) => {
        $(
            $crate::for_steps!(@test $test, $binary, $check $args);
        )+
    };
}
