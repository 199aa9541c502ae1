//! A set that remembers only its newest keys: what the app keeps about past messages and
//! customers (delivered message ids, customers who get plain text) must not grow with every
//! customer ever seen, or a long-running app's memory grows with its traffic
//! (`benches/soak.sh` showed it).

use std::collections::{HashSet, VecDeque};
use std::hash::Hash;

/// The newest `capacity` distinct keys; inserting one more forgets the oldest.
#[derive(Debug)]
pub struct Recent<K> {
    capacity: usize,
    order: VecDeque<K>,
    seen: HashSet<K>,
}

impl<K: Hash + Eq + Clone> Recent<K> {
    /// A set that grows as keys come, up to `capacity`.
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity: capacity.max(1),
            order: VecDeque::new(),
            seen: HashSet::new(),
        }
    }

    /// A set whose memory is taken at once, for one that fills under any steady traffic: the
    /// hash table gets twice `capacity`, so the tombstones of forgotten keys are cleared by a
    /// rehash in place, never by a bigger table. Grown on demand instead, a full set doubled
    /// its table long after start-up (a step in a soak's RSS, `benches/soak.sh`).
    pub fn reserved(capacity: usize) -> Self {
        let capacity = capacity.max(1);
        Self {
            capacity,
            order: VecDeque::with_capacity(capacity),
            seen: HashSet::with_capacity(2 * capacity),
        }
    }

    /// Remembers `key`; `true` when it was not remembered already.
    pub fn insert(&mut self, key: K) -> bool {
        if self.seen.contains(&key) {
            return false;
        }
        if self.order.len() == self.capacity {
            if let Some(old) = self.order.pop_front() {
                self.seen.remove(&old);
            }
        }
        self.order.push_back(key.clone());
        self.seen.insert(key);
        true
    }

    pub fn contains(&self, key: &K) -> bool {
        self.seen.contains(key)
    }

    pub fn len(&self) -> usize {
        self.seen.len()
    }

    pub fn is_empty(&self) -> bool {
        self.seen.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reserved_set_never_grows_its_table() {
        let mut r = Recent::reserved(1_000);
        let (order, seen) = (r.order.capacity(), r.seen.capacity());
        for k in 0..50_000u64 {
            r.insert(k);
        }
        assert_eq!(r.len(), 1_000);
        assert!(r.contains(&49_999) && !r.contains(&48_999));
        assert_eq!(r.order.capacity(), order);
        // `capacity()` is the keys plus the room left, which tombstones lower between rehashes:
        // it never passes the reserved one unless the table grew (to twice the buckets).
        assert!(r.seen.capacity() <= seen, "{} > {seen}", r.seen.capacity());
    }

    #[test]
    fn remembers_the_newest_keys_only() {
        let mut r = Recent::new(2);
        assert!(r.insert("a"));
        assert!(!r.insert("a"), "a duplicate is not new");
        assert!(r.insert("b"));
        assert!(r.insert("c"), "a third key forgets the oldest");
        assert_eq!(r.len(), 2);
        assert!(!r.contains(&"a") && r.contains(&"b") && r.contains(&"c"));
        assert!(r.insert("a"), "a forgotten key is new again");
        assert!(!r.contains(&"b"));
    }
}
