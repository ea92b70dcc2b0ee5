//! A small, seeded generator for the suites' workloads: a test must do the
//! same thing on every run, so that a failure can be run again.

/// Xorshift64: a few shifts per number, good enough to spread keys and
/// timings, and the same sequence for the same seed everywhere.
pub struct Xorshift(pub u64);

impl Xorshift {
    /// A number in `0..bound`.
    pub fn below(&mut self, bound: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % bound
    }
}
