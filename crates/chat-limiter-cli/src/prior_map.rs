//! What the output already records, per custom_id, in 24 bytes an id: read once when a run
//! starts and looked up for every input line.
//!
//! The keys are the ids' 128-bit hashes ([`crate::record::id_hash`]): two ids would need a
//! 128-bit collision to be taken for one, so no id's record is taken for another's (which
//! could skip a line unsent) and compaction drops no other id's answer. The request
//! fingerprint is kept to its low [`FP_BITS`] bits, beside the record's outcome: a changed
//! request is taken for the recorded one only when its 128-bit fingerprint agrees on those
//! bits (chance 2^-61 per changed line).

/// What an earlier run recorded for a custom_id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prior {
    /// Succeeded: skip.
    Succeeded,
    /// Failed for good: skip (counts as a failure for the exit code).
    Failed,
    /// Failed in a way worth retrying: send again.
    Retry,
}

/// The latest record of a custom_id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Known {
    /// What it says.
    pub prior: Prior,
    /// The low [`FP_BITS`] bits of the fingerprint of the request it answers, when the record
    /// has one (see [`fp_key`]).
    pub fingerprint: Option<u64>,
}

impl Known {
    /// Whether the record answers a request with fingerprint `fp` (a record without a
    /// fingerprint, from an older version, answers any).
    pub fn answers(&self, fp: u128) -> bool {
        self.fingerprint.is_none_or(|had| had == fp_key(fp))
    }
}

/// Bits of a fingerprint kept in memory.
pub const FP_BITS: u32 = 61;

/// The part of a fingerprint that [`Known`] keeps.
pub fn fp_key(fp: u128) -> u64 {
    (fp as u64) & ((1 << FP_BITS) - 1)
}

/// One id: its hash, then the fingerprint key and the outcome packed in one word.
#[derive(Debug, Clone, Copy)]
struct Entry {
    hi: u64,
    lo: u64,
    /// Bits 0-1: the outcome; bit 2: a fingerprint is present; bits 3-63: the fingerprint key.
    packed: u64,
}

impl Entry {
    fn new(hash: u128, k: Known) -> Self {
        let outcome = match k.prior {
            Prior::Succeeded => 0,
            Prior::Failed => 1,
            Prior::Retry => 2,
        };
        let fp = k.fingerprint.map_or(0, |f| ((f & ((1 << FP_BITS) - 1)) << 3) | 4);
        Entry { hi: (hash >> 64) as u64, lo: hash as u64, packed: fp | outcome }
    }

    fn key(&self) -> (u64, u64) {
        (self.hi, self.lo)
    }

    fn known(&self) -> Known {
        let prior = match self.packed & 3 {
            0 => Prior::Succeeded,
            1 => Prior::Failed,
            _ => Prior::Retry,
        };
        let fingerprint = (self.packed & 4 != 0).then_some(self.packed >> 3);
        Known { prior, fingerprint }
    }
}

/// The latest record of every custom_id, by hash: a vector sorted once all are read.
#[derive(Debug, Default)]
pub struct PriorMap {
    entries: Vec<Entry>,
    /// Entries pushed since the last [`PriorMap::seal`].
    unsorted: bool,
}

impl PriorMap {
    /// Records `known` as the latest record of the id with hash `hash` (records are pushed in
    /// file order; call [`PriorMap::seal`] before looking up).
    pub fn push(&mut self, hash: u128, known: Known) {
        self.entries.push(Entry::new(hash, known));
        self.unsorted = true;
    }

    /// Sorts the records and keeps the latest of each id; true when some id had more than
    /// one (its older records are superseded).
    pub fn seal(&mut self) -> bool {
        if !self.unsorted {
            return false;
        }
        self.unsorted = false;
        // A stable sort keeps each id's records in file order: the last one is the latest.
        self.entries.sort_by_key(Entry::key);
        let before = self.entries.len();
        let mut kept = 0;
        for i in 0..before {
            let last_of_id =
                self.entries.get(i + 1).is_none_or(|next| next.key() != self.entries[i].key());
            if last_of_id {
                self.entries[kept] = self.entries[i];
                kept += 1;
            }
        }
        self.entries.truncate(kept);
        self.entries.shrink_to_fit();
        kept < before
    }

    /// The latest record of the id with hash `hash`.
    pub fn get(&self, hash: &u128) -> Option<Known> {
        debug_assert!(!self.unsorted, "looked up before seal()");
        let key = ((hash >> 64) as u64, *hash as u64);
        let i = self.entries.binary_search_by_key(&key, Entry::key).ok()?;
        Some(self.entries[i].known())
    }

    /// Whether the output records the id with hash `hash`.
    pub fn contains_key(&self, hash: &u128) -> bool {
        self.get(hash).is_some()
    }

    /// Ids recorded.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.entries.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn known(prior: Prior, fingerprint: Option<u64>) -> Known {
        Known { prior, fingerprint }
    }

    #[test]
    fn the_latest_record_of_each_id_wins() {
        let mut m = PriorMap::default();
        m.push(5, known(Prior::Retry, None));
        m.push(1 << 100, known(Prior::Failed, Some(3)));
        m.push(5, known(Prior::Succeeded, Some(9)));
        m.push(7, known(Prior::Retry, Some((1 << FP_BITS) - 1)));
        assert!(m.seal(), "id 5 has a superseded record");
        assert_eq!(m.len(), 3);
        assert_eq!(m.get(&5), Some(known(Prior::Succeeded, Some(9))));
        assert_eq!(m.get(&(1 << 100)), Some(known(Prior::Failed, Some(3))));
        assert_eq!(m.get(&7), Some(known(Prior::Retry, Some((1 << FP_BITS) - 1))));
        assert_eq!(m.get(&6), None);
        assert!(!m.contains_key(&((1 << 100) + 5)), "both halves of the hash count");
        let mut once = PriorMap::default();
        once.push(1, known(Prior::Succeeded, None));
        assert!(!once.seal(), "nothing superseded");
    }

    #[test]
    fn a_fingerprint_is_compared_on_its_kept_bits() {
        let fp: u128 = 0xdead_beef_0123_4567_89ab_cdef_0011_2233;
        let k = known(Prior::Succeeded, Some(fp_key(fp)));
        assert!(k.answers(fp));
        assert!(!k.answers(fp ^ 1), "a changed request is not answered");
        assert!(known(Prior::Succeeded, None).answers(fp), "an old record answers any");
        let e = Entry::new(3, k);
        assert_eq!(e.known(), k, "packing keeps the outcome and the key");
    }
}
