//! The tag index: tag → keys (with the write generation that carried the tag), sharded so
//! writers with different tags rarely meet on one lock.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::sync::Mutex;

const SHARDS: usize = 16;

type Shard = HashMap<String, HashMap<String, u64>>;

/// Which keys carry which tag.
pub(super) struct TagIndex {
    hasher: RandomState,
    shards: [Mutex<Shard>; SHARDS],
}

impl Default for TagIndex {
    fn default() -> Self {
        TagIndex {
            hasher: RandomState::new(),
            shards: std::array::from_fn(|_| Mutex::new(HashMap::new())),
        }
    }
}

impl TagIndex {
    fn shard(&self, tag: &str) -> &Mutex<Shard> {
        &self.shards[self.hasher.hash_one(tag) as usize % SHARDS]
    }

    /// Records that the write `generation` of `key` carries `tags`.
    pub(super) fn add(&self, key: &str, tags: &[String], generation: u64) {
        for tag in tags {
            let mut shard = self.shard(tag).lock().expect("tag shard");
            shard
                .entry(tag.clone())
                .or_default()
                .insert(key.to_owned(), generation);
        }
    }

    /// Forgets `key` under `tags`, unless a later write of the key re-tagged it.
    pub(super) fn remove(&self, key: &str, tags: &[String], generation: u64) {
        for tag in tags {
            let mut shard = self.shard(tag).lock().expect("tag shard");
            if let Some(keys) = shard.get_mut(tag) {
                if keys.get(key) == Some(&generation) {
                    keys.remove(key);
                }
                if keys.is_empty() {
                    shard.remove(tag);
                }
            }
        }
    }

    /// Every `(key, generation)` carrying any of `tags`.
    pub(super) fn keys(&self, tags: &[String]) -> Vec<(String, u64)> {
        let mut found = Vec::new();
        for tag in tags {
            let shard = self.shard(tag).lock().expect("tag shard");
            if let Some(keys) = shard.get(tag) {
                found.extend(keys.iter().map(|(k, g)| (k.clone(), *g)));
            }
        }
        found.sort_unstable();
        found.dedup();
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags(list: &[&str]) -> Vec<String> {
        list.iter().map(|t| t.to_string()).collect()
    }

    #[test]
    fn finds_keys_under_any_tag_once() {
        let index = TagIndex::default();
        index.add("a", &tags(&["x", "y"]), 1);
        index.add("b", &tags(&["y"]), 2);
        let found = index.keys(&tags(&["x", "y"]));
        assert_eq!(found, vec![("a".into(), 1), ("b".into(), 2)]);
    }

    #[test]
    fn removal_of_an_old_write_keeps_the_new_one() {
        let index = TagIndex::default();
        index.add("a", &tags(&["x"]), 1);
        index.add("a", &tags(&["x"]), 2);
        index.remove("a", &tags(&["x"]), 1);
        assert_eq!(index.keys(&tags(&["x"])), vec![("a".into(), 2)]);
        index.remove("a", &tags(&["x"]), 2);
        assert!(index.keys(&tags(&["x"])).is_empty());
    }
}
