//! An owning iterator over a vector that gives its memory back as it is consumed.
//!
//! `Vec::into_iter` keeps the whole buffer until the iterator is dropped: a batch of 100,000
//! requests moved out one by one into their results would hold 300 bytes an item of dead input
//! until its very end, which is its peak. [`Shrinking`] yields the items in order and halves the
//! buffer whenever three quarters of it are unused (each item is moved a few times in all:
//! amortised O(1)).

/// Below this capacity the buffer is not worth shrinking.
const MIN_CAPACITY: usize = 64;

/// Yields a vector's items in order, shrinking its buffer as they go.
pub(crate) struct Shrinking<T> {
    /// The items left, last first (so `pop` yields them in their original order).
    rev: Vec<T>,
}

impl<T> Shrinking<T> {
    pub(crate) fn new(mut items: Vec<T>) -> Self {
        items.reverse();
        Shrinking { rev: items }
    }
}

impl<T> Iterator for Shrinking<T> {
    type Item = T;

    fn next(&mut self) -> Option<T> {
        let item = self.rev.pop()?;
        let (len, cap) = (self.rev.len(), self.rev.capacity());
        if cap > MIN_CAPACITY && len < cap / 4 {
            self.rev.shrink_to(len * 2);
        }
        Some(item)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.rev.len(), Some(self.rev.len()))
    }
}

impl<T> ExactSizeIterator for Shrinking<T> {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yields_every_item_in_order_and_gives_the_buffer_back() {
        let n = 10_000;
        let mut it = Shrinking::new((0..n).map(|i| i.to_string()).collect());
        assert_eq!(it.len(), n);
        let mut caps = Vec::new();
        for want in 0..n {
            assert_eq!(it.next(), Some(want.to_string()));
            caps.push(it.rev.capacity());
        }
        assert_eq!(it.next(), None);
        assert!(caps[0] >= n - 1, "nothing shrinks at the start");
        assert!(caps[n * 7 / 8] <= n / 2, "seven eighths consumed: at most half the buffer left");
        assert!(caps[n - 1] <= MIN_CAPACITY, "at the end only a small buffer is left");
    }

    #[test]
    fn small_and_empty_inputs() {
        assert_eq!(Shrinking::new(Vec::<u8>::new()).next(), None);
        assert_eq!(Shrinking::new(vec![1, 2, 3]).collect::<Vec<_>>(), [1, 2, 3]);
    }
}
