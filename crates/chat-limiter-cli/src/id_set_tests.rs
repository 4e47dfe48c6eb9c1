//! Unit tests of the compact custom_id set, against a plain set of strings.

use super::*;
use proptest::prelude::*;

#[test]
fn numbered_and_hashed_ids_are_told_apart_and_deduplicated() {
    let mut s = IdSet::default();
    for id in ["l7", "l07", "7", "l-7", "", "0", "l0", "abc", "l7x"] {
        assert!(s.insert(id), "{id:?} is new");
    }
    for id in ["l7", "l07", "7", "l-7", "", "0", "l0", "abc", "l7x"] {
        assert!(!s.insert(id), "{id:?} repeats");
    }
    assert!(s.insert("l8") && s.insert("08") && s.insert("8"));
}

#[test]
fn hashed_ids_are_found_after_merges() {
    let mut s = IdSet::default();
    let n = MERGE_AT * 3 + 17;
    for i in 0..n {
        assert!(s.insert(&format!("id-{i}-x")));
    }
    assert!(s.hashed.recent.len() < MERGE_AT && s.hashed.sorted.len() >= MERGE_AT * 3);
    assert!(s.hashed.sorted.windows(2).all(|w| w[0] < w[1]), "the packed keys stay sorted");
    for i in (0..n).rev() {
        assert!(!s.insert(&format!("id-{i}-x")), "id-{i}-x is a repeat");
    }
    assert!(s.insert("id-x"));
}

#[test]
fn a_sparse_number_hashed_first_is_still_a_repeat_once_its_bitset_has_grown() {
    let mut s = IdSet::default();
    let far = FREE_BITS * 4;
    assert!(s.insert(&format!("x{far}")));
    assert!(s.hashed.contains(hash64(&format!("x{far}"))), "too sparse for a bitset");
    for i in 0..(far / BITS_PER_ID + 10) {
        assert!(s.insert(&format!("x{i}")));
    }
    assert!(s.numbered[0].may_hold(far), "dense enough by now");
    assert!(!s.insert(&format!("x{far}")), "found in the hashed part");
}

#[test]
fn a_million_ids_take_little_memory() {
    let mut numbered = IdSet::default();
    let mut hashed = IdSet::default();
    for i in 0..1_000_000u64 {
        assert!(numbered.insert(&format!("l{i}")));
        assert!(hashed.insert(&format!("{i:x}-user")));
    }
    assert!(numbered.heap_bytes() < 200 * 1024, "{} bytes", numbered.heap_bytes());
    // 8 bytes per id, plus the recent ids' hash set.
    assert!(hashed.heap_bytes() < 8_000_000 + MERGE_AT * 20, "{} bytes", hashed.heap_bytes());
}

proptest! {
    #[test]
    fn behaves_like_a_set_of_strings(ids in proptest::collection::vec("[a0-9]{0,3}", 0..400)) {
        let mut s = IdSet::default();
        let mut model = std::collections::HashSet::new();
        for id in &ids {
            prop_assert_eq!(s.insert(id), model.insert(id.clone()), "{}", id);
        }
    }
}
