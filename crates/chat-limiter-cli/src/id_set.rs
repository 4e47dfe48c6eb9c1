//! The set of custom_ids a run has read, in little memory: what `run` keeps per line of a
//! million-line job.
//!
//! * An id that is a prefix and a canonical decimal number (`l17`, `req-42`, or a bare line
//!   number, the id of a line without one) is a bit in that prefix's bitset: exact, and an
//!   eighth of a byte per id when the numbers are dense. A bitset only grows while it stays
//!   dense (at most [`BITS_PER_ID`] bits per id it holds, plus [`FREE_BITS`]); a number past
//!   that goes to the hashed set instead.
//! * Any other id is a 64-bit hash in a sorted, packed vector (8 bytes per id), with a small
//!   hash set of recent ids merged into it every [`MERGE_AT`] inserts.
//!
//! Membership checks both parts, so an id is found wherever it went in.
//!
//! Collisions: only hashed ids can collide. Two distinct hashed ids share a 64-bit hash with
//! probability 2^-64, so a job of n hashed ids holds a colliding pair with probability about
//! n² / 2^65: 3·10^-8 for a million ids, 3·10^-6 for ten million. A collision makes the later
//! line a `duplicate_custom_id` record (written, counted and shown like any duplicate: never
//! sent, never silent). Nothing is sent twice because of it: this set only ever refuses lines.

use std::collections::hash_map::DefaultHasher;
use std::collections::HashSet;
use std::hash::{Hash, Hasher};

/// Inserts between two merges of the recent ids into the packed vector.
pub const MERGE_AT: usize = 1 << 15;
/// Bits a prefix's bitset may spend per id it holds.
pub const BITS_PER_ID: usize = 64;
/// Bits every bitset may use whatever it holds (the first million numbers).
pub const FREE_BITS: usize = 1 << 20;
/// Prefixes that get a bitset; ids of further prefixes are hashed.
const MAX_PREFIXES: usize = 16;
/// Longest prefix that gets a bitset.
const MAX_PREFIX_LEN: usize = 32;

/// A set of custom_ids (see the module docs).
#[derive(Debug, Default)]
pub struct IdSet {
    numbered: Vec<Numbered>,
    hashed: PackedSet,
}

/// The bitset of one prefix.
#[derive(Debug)]
struct Numbered {
    prefix: String,
    bits: Vec<u64>,
    count: usize,
}

impl Numbered {
    fn contains(&self, n: usize) -> bool {
        self.bits.get(n / 64).is_some_and(|w| w & (1 << (n % 64)) != 0)
    }

    /// Whether the bitset may grow to hold `n`.
    fn may_hold(&self, n: usize) -> bool {
        n < self.bits.len() * 64 || n < FREE_BITS.max((self.count + 1) * BITS_PER_ID)
    }

    fn insert(&mut self, n: usize) {
        if n / 64 >= self.bits.len() {
            // Grow by an eighth at least, so that growing costs little per id.
            let want = (n / 64 + 1).max(self.bits.len() + self.bits.len() / 8);
            self.bits.reserve_exact(want - self.bits.len());
            self.bits.resize(want, 0);
        }
        self.bits[n / 64] |= 1 << (n % 64);
        self.count += 1;
    }
}

/// `id` split into a prefix and its canonical decimal number (no sign, no leading zero).
fn split_number(id: &str) -> Option<(&str, usize)> {
    let digits = id.bytes().rev().take_while(u8::is_ascii_digit).count();
    let (prefix, number) = id.split_at(id.len() - digits);
    let canonical = !number.is_empty() && (number == "0" || !number.starts_with('0'));
    if !canonical || number.len() > 12 || prefix.len() > MAX_PREFIX_LEN {
        return None;
    }
    Some((prefix, number.parse().ok()?))
}

/// The 64-bit hash of a hashed id (SipHash; kept in memory only).
fn hash64(id: &str) -> u64 {
    let mut h = DefaultHasher::new();
    id.hash(&mut h);
    h.finish()
}

impl IdSet {
    /// Adds `id`; false when it was already there.
    pub fn insert(&mut self, id: &str) -> bool {
        let number = split_number(id);
        if let Some((prefix, n)) = number {
            if let Some(set) = self.numbered.iter().find(|s| s.prefix == prefix) {
                if set.contains(n) {
                    return false;
                }
            }
        }
        let h = hash64(id);
        if self.hashed.contains(h) {
            return false;
        }
        if let Some((prefix, n)) = number {
            if let Some(set) = self.numbered_for(prefix).filter(|s| s.may_hold(n)) {
                set.insert(n);
                return true;
            }
        }
        self.hashed.insert(h);
        true
    }

    /// The bitset of `prefix`, made when there is room for one more.
    fn numbered_for(&mut self, prefix: &str) -> Option<&mut Numbered> {
        let at = match self.numbered.iter().position(|s| s.prefix == prefix) {
            Some(i) => i,
            None if self.numbered.len() < MAX_PREFIXES => {
                let set = Numbered { prefix: prefix.to_string(), bits: Vec::new(), count: 0 };
                self.numbered.push(set);
                self.numbered.len() - 1
            }
            None => return None,
        };
        self.numbered.get_mut(at)
    }

    /// Heap bytes held (for the tests' memory bounds).
    #[cfg(test)]
    pub fn heap_bytes(&self) -> usize {
        let bits: usize = self.numbered.iter().map(|s| s.bits.capacity() * 8).sum();
        bits + self.hashed.heap_bytes()
    }
}

/// A set of 64-bit keys: a sorted vector and a hash set of recent keys.
#[derive(Debug, Default)]
struct PackedSet {
    sorted: Vec<u64>,
    recent: HashSet<u64>,
}

impl PackedSet {
    fn contains(&self, k: u64) -> bool {
        self.recent.contains(&k) || self.sorted.binary_search(&k).is_ok()
    }

    /// Adds a key known to be absent.
    fn insert(&mut self, k: u64) {
        self.recent.insert(k);
        if self.recent.len() >= MERGE_AT {
            self.merge();
        }
    }

    /// Moves the recent keys into the sorted vector, merging from the back in place.
    fn merge(&mut self) {
        let mut new: Vec<u64> = self.recent.drain().collect();
        new.sort_unstable();
        let old = self.sorted.len();
        self.sorted.reserve_exact(new.len());
        self.sorted.resize(old + new.len(), 0);
        let (mut i, mut j) = (old, new.len());
        for k in (0..old + new.len()).rev() {
            // Both sides are sorted and disjoint; take the larger tail.
            if j == 0 {
                break; // the rest of `sorted` is already in place
            }
            if i > 0 && self.sorted[i - 1] > new[j - 1] {
                self.sorted[k] = self.sorted[i - 1];
                i -= 1;
            } else {
                self.sorted[k] = new[j - 1];
                j -= 1;
            }
        }
    }

    #[cfg(test)]
    fn heap_bytes(&self) -> usize {
        self.sorted.capacity() * 8 + self.recent.capacity() * 9
    }
}

#[cfg(test)]
#[path = "id_set_tests.rs"]
mod tests;
