//! A bounded ring buffer: the simulators' memory of what happened.
//!
//! Why: a load run or a 48-hour watch sends millions of messages through a simulator; keeping
//! every one (as wiremock-rs does) runs the machine out of memory. The journal keeps the newest
//! `capacity` entries and counts what it dropped, so memory is flat whatever the run length.
//! It is generic so the outbound-message journal and the webhook-delivery log share one
//! implementation. It is not synchronised: owners wrap it in a mutex.

use std::collections::VecDeque;

/// Default number of entries kept.
pub const DEFAULT_CAPACITY: usize = 10_000;

/// Ring buffer of the newest `capacity` entries.
#[derive(Debug, Clone)]
pub struct Journal<T> {
    entries: VecDeque<T>,
    capacity: usize,
    dropped: u64,
}

impl<T> Journal<T> {
    /// A journal keeping at most `capacity` entries (at least one).
    pub fn new(capacity: usize) -> Self {
        let capacity = capacity.max(1);
        Self {
            // Grows on demand up to `capacity`; never beyond.
            entries: VecDeque::with_capacity(capacity.min(1024)),
            capacity,
            dropped: 0,
        }
    }

    /// Appends an entry, evicting the oldest when full; returns the evicted entry (so that an
    /// owner keeping an index of the entries can forget it too).
    pub fn push(&mut self, entry: T) -> Option<T> {
        let evicted = if self.entries.len() == self.capacity {
            self.dropped += 1;
            self.entries.pop_front()
        } else {
            None
        };
        self.entries.push_back(entry);
        evicted
    }

    /// Entries, oldest first.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &T> {
        self.entries.iter()
    }

    /// Mutable access to the newest entry matching `pred` (searching from the newest).
    pub fn find_newest_mut(&mut self, pred: impl Fn(&T) -> bool) -> Option<&mut T> {
        self.entries.iter_mut().rev().find(|e| pred(e))
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// How many entries were evicted since creation or the last [`Journal::clear`].
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// Removes every entry and resets the eviction count.
    pub fn clear(&mut self) {
        self.entries.clear();
        self.dropped = 0;
    }
}

impl<T> Default for Journal<T> {
    fn default() -> Self {
        Self::new(DEFAULT_CAPACITY)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_only_the_newest_entries() {
        let mut j = Journal::new(3);
        let evicted: Vec<i32> = (0..10).filter_map(|i| j.push(i)).collect();
        assert_eq!(evicted, (0..7).collect::<Vec<_>>());
        assert_eq!(j.len(), 3);
        assert_eq!(j.iter().copied().collect::<Vec<_>>(), vec![7, 8, 9]);
        assert_eq!(j.dropped(), 7);
        assert_eq!(j.capacity(), 3);
    }

    #[test]
    fn memory_does_not_grow_with_run_length() {
        let mut j = Journal::new(100);
        for i in 0..100_000u64 {
            j.push(i);
        }
        assert_eq!(j.len(), 100);
        // The backing buffer never grew past what 100 entries need.
        assert!(
            j.entries.capacity() < 256,
            "capacity {}",
            j.entries.capacity()
        );
    }

    #[test]
    fn zero_capacity_is_raised_to_one_and_clear_resets() {
        let mut j = Journal::new(0);
        j.push("a");
        j.push("b");
        assert_eq!(j.iter().copied().collect::<Vec<_>>(), vec!["b"]);
        j.clear();
        assert!(j.is_empty());
        assert_eq!(j.dropped(), 0);
    }

    #[test]
    fn find_newest_mut_updates_in_place() {
        let mut j = Journal::new(5);
        j.push((1, "x"));
        j.push((1, "y"));
        if let Some(e) = j.find_newest_mut(|e| e.0 == 1) {
            e.1 = "z";
        }
        assert_eq!(j.iter().map(|e| e.1).collect::<Vec<_>>(), vec!["x", "z"]);
    }
}
