//! Late records for the `follow.late_window` tests (tests/tail_late.rs,
//! tests/tail_ws.rs): a writer that stamps records in the past, within the
//! window or beyond it, and the ids a follow must deliver.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use loggate_core::{Filters, Order};

use super::fleet::{Kind, Sim};
use super::reference;

/// One minute in milliseconds.
pub const MINUTE: i64 = 60_000;

/// What the writer inserted that the follow must not deliver.
#[derive(Default)]
pub struct Inserted {
    /// `(source, timestamp)` of records stamped beyond the window.
    pub beyond: BTreeSet<(String, i64)>,
    /// `(source, timestamp)` of records stamped in the past within it.
    pub late: BTreeSet<(String, i64)>,
    /// Timestamps used per source (one record per instant, so that
    /// content-hash ids stay distinct).
    pub used: BTreeMap<String, HashSet<i64>>,
}

impl Inserted {
    /// Writes one record into `sim` stamped `back_ms` before now.
    pub fn insert_past(&mut self, name: &str, sim: &Sim, back_ms: i64, beyond: bool) {
        let used = self.used.entry(name.to_string()).or_default();
        let mut at = loggate_core::time::now_ms() - back_ms;
        while !used.insert(at) {
            at -= 1;
        }
        sim.0.insert_copies(1, at);
        let set = if beyond {
            &mut self.beyond
        } else {
            &mut self.late
        };
        set.insert((name.to_string(), at));
    }
}

/// The ids the follow must deliver (every record but those stamped
/// beyond the window), in reference order, and the late ones among them.
pub fn expected(
    sims: &[(String, Kind, Sim)],
    inserted: &Inserted,
) -> (Vec<String>, HashSet<String>) {
    let data: Vec<(&str, Vec<_>)> = sims
        .iter()
        .map(|(n, _, s)| (n.as_str(), s.snapshot()))
        .collect();
    let mut late = HashSet::new();
    let mut skip = HashSet::new();
    for (name, records) in &data {
        for r in records {
            let key = (name.to_string(), r.timestamp_ms);
            let id = format!("{name}:{}", r.native_id);
            if inserted.beyond.contains(&key) {
                skip.insert(id);
            } else if inserted.late.contains(&key) {
                late.insert(id);
            }
        }
    }
    let all = reference(&data, &Filters::default(), Order::Asc);
    (
        all.into_iter().filter(|id| !skip.contains(id)).collect(),
        late,
    )
}
