//! Which input lines one pass of a job handles, when `--via auto` splits a job between the
//! real-time path and the batch API: a range of line numbers, less the lines held by batches
//! still running.

use std::collections::HashSet;
use std::sync::Arc;

/// Line numbers `first..=last`, except those in `except`.
#[derive(Debug, Clone)]
pub struct LineSet {
    /// The first line (1-based) of the pass.
    pub first: u64,
    /// The last line of the pass, inclusive.
    pub last: u64,
    /// Lines left out (held by a batch that is still running).
    pub except: Arc<HashSet<u64>>,
}

impl LineSet {
    /// Every line from `first` to `last`, none left out.
    pub fn range(first: u64, last: u64) -> Self {
        LineSet { first, last, except: Arc::default() }
    }

    /// The same lines, less `except`.
    pub fn without(mut self, except: HashSet<u64>) -> Self {
        self.except = Arc::new(except);
        self
    }

    /// Whether line `n` belongs to the pass.
    pub fn contains(&self, n: u64) -> bool {
        (self.first..=self.last).contains(&n) && !self.except.contains(&n)
    }
}

/// Whether `set` (none meaning every line) holds line `n`.
pub fn holds(set: Option<&LineSet>, n: u64) -> bool {
    set.is_none_or(|s| s.contains(n))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_range_less_the_lines_left_out() {
        let s = LineSet::range(3, 5).without([4].into_iter().collect());
        let held: Vec<u64> = (1..=7).filter(|n| s.contains(*n)).collect();
        assert_eq!(held, [3, 5]);
        assert!(holds(None, 1_000_000));
        assert!(!holds(Some(&s), 4));
    }
}
