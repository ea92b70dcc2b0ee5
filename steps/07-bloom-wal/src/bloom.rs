//! Bloom filters: "certainly not here" without reading the table.
//!
//! The idea: without a filter, a read of a key that no table holds reads one
//! block of every table. A bloom filter is a row of bits and a few hash
//! functions. Adding a key sets the bit each hash function picks; asking for
//! a key checks those bits. If any is 0, the key was never added: the table
//! is skipped without a single read. If all are 1, the key is probably there
//! (or other keys happened to set the same bits: a *false positive*), and
//! the table is read: one block, found through its index. A filter never
//! says "not here" for a key that is.
//!
//! Sizing: for `n` keys and a target false-positive rate `p`, the best filter
//! has `m = -n ln p / (ln 2)^2` bits and `k = (m / n) ln 2` hash functions:
//! about 9.6 bits and 7 hashes per key for 1%. We round `m` up to whole
//! 64-bit words and `k` to the nearest whole number (at least 1).
//!
//! Shortcuts, and what they cost:
//! - a filter per table, loaded whole: about 1.2 bytes of memory per key;
//! - the writer keeps one 8-byte hash per key until the table is finished,
//!   so that the filter can be sized for the exact count.
//!
//! ## The format
//!
//! `NNNNNN.bloom` sits beside `NNNNNN.sst`, after its check line (see
//! `sidecar.rs`: the table's size and a checksum of what follows):
//!
//! ```text
//! bloom := header "\n" word*
//! header := "bits=" m " hashes=" k " keys=" n
//! word  := 16 lowercase hex digits "\n"     bits 64*i .. 64*i+63, bit j of
//!                                           word i is the filter's bit 64*i+j
//! ```
//!
//! Which bits a key sets: one 64-bit hash per key, FNV-1a over its UTF-8
//! bytes followed by the splitmix64 finaliser (FNV-1a alone spreads similar
//! keys poorly), and the `k` positions `h1 + i * h2 (mod m)` for `i` in
//! `0..k` (double hashing, Kirsch and Mitzenmacher, "Less Hashing, Same
//! Performance"), where `h1` is the hash and `h2` the hash mixed once more,
//! made odd. These never change, so a filter means the same after a restart
//! or a rebuild.
//!
//! There are exactly `m / 64` words. A filter of a table without keys has
//! `bits=64` and one word of zeros. The file is written after the table and
//! its index, under a temporary name, then renamed. A missing filter, one
//! whose check line does not match, or one that breaks this format, is
//! rebuilt from its table when the table is opened, with a log line.
//!
//! Example, the filter of the walkthrough's table after its check line (its
//! four keys, the deleted one included: a tombstone is an answer too):
//!
//! ```text
//! bits=64 hashes=11 keys=4
//! 92966069adfa7fb1
//! ```
//!
//! Invariants:
//! - `may_contain(key)` is true for every key added;
//! - on keys never added, it is true for about `p` of them (a test checks
//!   the rate on 100,000 absent keys is within 1.5 times the target).
//!
//! Read alongside chapter 7.1 of the book, "Bloom filters".

use std::fmt::Write as _;

/// The false-positive rate filters are sized for.
pub const FALSE_POSITIVE_RATE: f64 = 0.01;

/// A bloom filter: `bits.len() * 64` bits and `hashes` hash functions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BloomFilter {
    bits: Vec<u64>,
    hashes: u32,
    /// How many keys the filter was built for.
    keys: usize,
}

/// The 64-bit hash of a key: FNV-1a, then the splitmix64 finaliser.
pub fn hash(key: &str) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in key.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    mix(hash)
}

/// The splitmix64 finaliser: every input bit affects every output bit.
fn mix(mut x: u64) -> u64 {
    x ^= x >> 30;
    x = x.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x ^= x >> 27;
    x = x.wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

impl BloomFilter {
    /// A filter holding the keys whose [`hash`]es are `hashes`, sized for
    /// [`FALSE_POSITIVE_RATE`].
    pub fn from_hashes(hashes: &[u64]) -> BloomFilter {
        let keys = hashes.len();
        let ln2 = std::f64::consts::LN_2;
        let ideal_bits = -(keys.max(1) as f64) * FALSE_POSITIVE_RATE.ln() / (ln2 * ln2);
        let words = (ideal_bits / 64.0).ceil().max(1.0) as usize;
        let hash_count = ((words * 64) as f64 / keys.max(1) as f64 * ln2)
            .round()
            .max(1.0) as u32;
        let mut filter = BloomFilter {
            bits: vec![0; words],
            hashes: hash_count,
            keys,
        };
        for &hash in hashes {
            filter.insert(hash);
        }
        filter
    }

    /// The bit positions of the key whose hash is `hash`.
    fn positions(&self, hash: u64) -> impl Iterator<Item = usize> + use<> {
        let bits = (self.bits.len() * 64) as u64;
        let second = mix(hash) | 1;
        (0..u64::from(self.hashes))
            .map(move |i| (hash.wrapping_add(i.wrapping_mul(second)) % bits) as usize)
    }

    /// Adds the key whose hash is `hash`.
    pub fn insert(&mut self, hash: u64) {
        // TODO(exercise 7.1): set the bit at each of the key's positions
        todo!("exercise 7.1: set the bit at each of the key's positions (book chapter 7)")
    }

    /// Whether `key` may have been added: `false` means certainly not.
    pub fn may_contain(&self, key: &str) -> bool {
        self.positions(hash(key))
            .all(|position| self.bits[position / 64] & (1 << (position % 64)) != 0)
    }

    /// How many bits the filter has (`m`).
    pub fn bit_count(&self) -> usize {
        self.bits.len() * 64
    }

    /// How many hash functions it uses (`k`).
    pub fn hash_count(&self) -> u32 {
        self.hashes
    }

    /// How many keys it was built for (`n`).
    pub fn key_count(&self) -> usize {
        self.keys
    }

    /// The text of the filter's file.
    pub fn encode(&self) -> String {
        let mut text = format!(
            "bits={} hashes={} keys={}\n",
            self.bits.len() * 64,
            self.hashes,
            self.keys
        );
        for word in &self.bits {
            // Writing to a String cannot fail.
            let _ = writeln!(text, "{word:016x}");
        }
        text
    }

    /// Parses a filter file; the error is the line that breaks the format.
    pub fn parse(text: &str) -> Result<BloomFilter, (usize, String)> {
        let mut lines = text.lines();
        let header = lines.next().unwrap_or_default();
        let field = |name: &str| {
            header
                .split(' ')
                .find_map(|part| part.strip_prefix(name)?.strip_prefix('='))
                .and_then(|value| value.parse::<usize>().ok())
        };
        let (Some(bits), Some(hashes), Some(keys)) =
            (field("bits"), field("hashes"), field("keys"))
        else {
            return Err((
                1,
                format!("expected `bits=M hashes=K keys=N`, found {header:?}"),
            ));
        };
        if bits == 0 || bits % 64 != 0 || hashes == 0 || hashes > 64 {
            return Err((
                1,
                format!("bits must be a positive multiple of 64 and hashes 1 to 64: {header:?}"),
            ));
        }
        let mut words = Vec::with_capacity(bits / 64);
        for (at, line) in lines.enumerate() {
            let word = (line.len() == 16)
                .then(|| u64::from_str_radix(line, 16).ok())
                .flatten();
            words.push(
                word.ok_or_else(|| (at + 2, format!("expected 16 hex digits, found {line:?}")))?,
            );
        }
        if words.len() != bits / 64 || !text.ends_with('\n') {
            return Err((
                words.len() + 1,
                format!("expected {} words of bits, each on a whole line", bits / 64),
            ));
        }
        Ok(BloomFilter {
            bits: words,
            hashes: hashes as u32,
            keys,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filter_of(keys: impl Iterator<Item = String>) -> BloomFilter {
        let hashes: Vec<u64> = keys.map(|key| hash(&key)).collect();
        BloomFilter::from_hashes(&hashes)
    }

    #[test]
    fn exercise_7_1_every_added_key_may_be_contained() {
        let filter = filter_of((0..1_000).map(|n| format!("country-{n}:capital")));
        for n in 0..1_000 {
            assert!(
                filter.may_contain(&format!("country-{n}:capital")),
                "key {n}"
            );
        }
    }

    #[test]
    fn exercise_7_1_the_false_positive_rate_is_near_the_target() {
        let filter = filter_of((0..100_000).map(|n| format!("present-{n}")));
        let false_positives = (0..100_000)
            .filter(|n| filter.may_contain(&format!("absent-{n}")))
            .count();
        let rate = false_positives as f64 / 100_000.0;
        assert!(
            rate <= 1.5 * FALSE_POSITIVE_RATE,
            "false-positive rate {rate}"
        );
        assert!(
            rate > 0.0,
            "a filter with no false positives is suspiciously large"
        );
    }

    #[test]
    fn an_empty_filter_holds_nothing() {
        let filter = BloomFilter::from_hashes(&[]);
        assert_eq!(
            filter.encode(),
            "bits=64 hashes=44 keys=0\n0000000000000000\n"
        );
        assert!(!filter.may_contain("anything"));
    }

    #[test]
    fn hashes_are_stable() {
        // The file format depends on these values: they must never change.
        assert_eq!(hash(""), mix(0xcbf2_9ce4_8422_2325));
        assert_eq!(hash("kenya:capital"), hash("kenya:capital"));
        assert_ne!(hash("kenya:capital"), hash("kenya:capitaL"));
    }

    #[test]
    fn exercise_7_1_the_file_round_trips() {
        let filter = filter_of((0..5).map(|n| format!("key-{n}")));
        let text = filter.encode();
        // The bits that the keys set are in the file: not every word is zero.
        assert!(
            text.lines().skip(1).any(|word| word != "0000000000000000"),
            "{text}"
        );
        assert_eq!(BloomFilter::parse(&text), Ok(filter));
    }

    #[test]
    fn damaged_filter_files_are_refused_with_their_line() {
        let cases = [
            ("bits=64 hashes=7\n0000000000000000\n", 1),
            ("bits=63 hashes=7 keys=1\n0000000000000000\n", 1),
            ("bits=64 hashes=7 keys=1\n000000000000000g\n", 2),
            ("bits=128 hashes=7 keys=1\n0000000000000000\n", 2),
            ("bits=64 hashes=7 keys=1\n0000000000000000", 2),
        ];
        for (text, line) in cases {
            assert_eq!(BloomFilter::parse(text).unwrap_err().0, line, "{text:?}");
        }
    }
}
