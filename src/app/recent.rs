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
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity: capacity.max(1),
            order: VecDeque::new(),
            seen: HashSet::new(),
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
