//! How many tail streams may be open: per API key and in all (issue 17
//! item 4). A [`TailPermit`] holds one place until it is dropped.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Open tail streams, counted per key and in all.
#[derive(Debug)]
pub struct TailLimits {
    per_key: usize,
    total: usize,
    open: Arc<Mutex<Counts>>,
}

#[derive(Debug, Default)]
struct Counts {
    total: usize,
    /// By API key name; `""` for open access.
    by_key: HashMap<String, usize>,
}

/// One open tail stream's place; released when dropped.
#[derive(Debug)]
pub struct TailPermit {
    key: String,
    open: Arc<Mutex<Counts>>,
}

impl TailLimits {
    pub fn new(per_key: usize, total: usize) -> Self {
        TailLimits {
            per_key,
            total,
            open: Arc::default(),
        }
    }

    /// A place for one more stream of `key`, or why there is none.
    pub fn admit(&self, key: Option<&str>) -> Result<TailPermit, String> {
        let key = key.unwrap_or("").to_string();
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        if open.total >= self.total {
            return Err(format!(
                "the gateway already serves its maximum of {} tail streams (follow.max_streams)",
                self.total
            ));
        }
        let mine = open.by_key.entry(key.clone()).or_default();
        if *mine >= self.per_key {
            return Err(format!(
                "this API key already has its maximum of {} tail streams open (follow.max_streams_per_key)",
                self.per_key
            ));
        }
        *mine += 1;
        open.total += 1;
        Ok(TailPermit {
            key,
            open: self.open.clone(),
        })
    }

    /// Tail streams open now.
    pub fn open(&self) -> usize {
        self.open.lock().unwrap_or_else(|e| e.into_inner()).total
    }
}

impl Drop for TailPermit {
    fn drop(&mut self) {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        open.total = open.total.saturating_sub(1);
        if let Some(n) = open.by_key.get_mut(&self.key) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                open.by_key.remove(&self.key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_per_key_and_in_all_and_releases_on_drop() {
        let limits = TailLimits::new(2, 3);
        let a1 = limits.admit(Some("a")).unwrap();
        let _a2 = limits.admit(Some("a")).unwrap();
        let e = limits.admit(Some("a")).unwrap_err();
        assert!(e.contains("max_streams_per_key"), "{e}");
        let _b1 = limits.admit(Some("b")).unwrap();
        let e = limits.admit(Some("b")).unwrap_err();
        assert!(e.contains("follow.max_streams"), "{e}");
        drop(a1);
        assert_eq!(limits.open(), 2);
        assert!(limits.admit(Some("a")).is_ok());
    }
}
