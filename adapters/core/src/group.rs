//! Reading one tie group whole: every upstream entry sharing one
//! timestamp, when the group is larger than one upstream page.
//!
//! Upstreams order by time only (leveled, Alloy, Logto: no tie-breaker),
//! so entries sharing a timestamp may come back in a different order on
//! every request and paging by offset over the group can repeat some and
//! miss others. [`sweep_group`] pages over the group again and again
//! ("passes") until the entries in hand are provably the whole group:
//!
//! - [`Identity::Unique`] (the upstream's own ids): done once as many
//!   distinct ids are in hand as the group has entries (its size comes
//!   from the window's total, or from where the group ends).
//! - [`Identity::Content`] (ids are content hashes, so identical entries
//!   share one): identical entries are interchangeable, so they are
//!   *counted* rather than told apart. One page never holds an entry
//!   twice, so the most copies of an id seen in one page is a lower bound
//!   of its multiplicity; the group is known when those bounds add up to
//!   its size, or when two passes counted every id alike (each count at or
//!   above its bound, the counts adding up to the size, and every page of
//!   one pass serving the same ids in the same order as the same page of
//!   the other: the tie order held still). The `k`-th copy of
//!   id `h` is named `h-k` from the second on, as
//!   `loggate_leveled::translate::assign_occurrence_ids` names copies
//!   within a page. Spec: `API.md` §10 (issue 11, item 5).
//!
//! On an upstream whose tie order is stable (the usual case) a group costs
//! two passes with content ids and one pass with unique ids. After
//! [`request_limit`] requests the sweep gives up with an error naming the
//! group, never a group that silently lacks entries.

use std::collections::{BTreeMap, BTreeSet};

use async_trait::async_trait;

use crate::error::SourceError;
use crate::record::LogRecord;
use crate::time::format_ms;

/// What a provider's native ids are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Identity {
    /// The upstream's own ids: no two entries share one.
    Unique,
    /// Content hashes: identical entries share one and are counted.
    Content,
}

/// One upstream page read while sweeping a group.
#[derive(Debug, Default)]
pub struct GroupPage {
    /// Readable entries of the page that belong to the group (others
    /// dropped by the reader), with bare ids (no copy suffix).
    pub records: Vec<LogRecord>,
    /// Entries of the group that could not be read, each keyed by what
    /// identifies it (its raw text; one shared key when nothing does).
    pub unreadable: Vec<String>,
    /// How many of the group's positions this page covered (returned
    /// entries of the group, readable or not): the next page of the pass
    /// starts that far on.
    pub covered: u64,
    /// Upstream entries in the answer (for `scanned`).
    pub returned: u64,
    /// The group's size, when this answer tells it (a `[ts, ts]` window's
    /// total; where the group ends in a wider result).
    pub group_len: Option<u64>,
    /// This page reaches the group's last entry: the pass is complete.
    pub end: bool,
}

/// Reads the pages of one group for [`sweep_group`].
#[async_trait]
pub trait GroupReader: Send {
    /// Reads the page starting `from` entries into the group (`0` starts
    /// a pass).
    async fn read(&mut self, from: u64) -> Result<GroupPage, SourceError>;

    /// Whether the upstream tells the group's size at all (asked after
    /// each read). When it does not (an Alloy answer without
    /// `totalItems`), a page that adds nothing ends a pass (an upstream
    /// ignoring the offset would otherwise be paged forever) and one pass
    /// is trusted.
    fn tells_size(&self) -> bool {
        true
    }
}

/// A group read whole.
#[derive(Debug, Default)]
pub struct Swept {
    /// Every readable entry of the group, copies named apart.
    pub records: Vec<LogRecord>,
    /// Entries of the group that could not be read.
    pub unreadable: usize,
    /// Upstream entries read by the sweep.
    pub scanned: usize,
    /// Upstream requests the sweep made.
    pub requests: u64,
}

/// Requests a sweep of a group of `len` entries, read `page` at a time,
/// may take: sixteen passes and sixteen spare requests.
pub fn request_limit(len: u64, page: u64) -> u64 {
    16 * len.div_ceil(page.max(1)).max(1) + 16
}

/// Counts of one pass or one page: id → copies (readable or not).
type Counts = BTreeMap<String, u64>;

/// One pass: its total counts and each page's ids in the order served.
#[derive(Debug, Default, PartialEq)]
struct Pass {
    counts: Counts,
    pages: Vec<Vec<String>>,
}

/// Reads the group stamped `ts` whole; `page` is the page size the reader
/// asks for (it bounds the number of requests).
pub async fn sweep_group(
    reader: &mut dyn GroupReader,
    ts: i64,
    identity: Identity,
    page: u64,
) -> Result<Swept, SourceError> {
    let mut state = Sweep::new(identity);
    let mut swept = Swept::default();
    loop {
        let mut pass = Pass::default();
        let mut from = 0u64;
        // The group changed size during the pass: its counts prove nothing.
        let mut torn = false;
        loop {
            let got = reader.read(from).await?;
            swept.requests += 1;
            swept.scanned += got.returned as usize;
            if let Some(len) = got.group_len {
                torn |= state.len.is_some_and(|known| known != len);
                state.len = Some(len);
            }
            from = from.saturating_add(got.covered);
            let end = got.end || got.covered == 0 || state.len.is_some_and(|l| from >= l);
            let learned = state.take(got, &mut pass);
            if let Some(found) = state.known() {
                return Ok(state.finish(found, swept));
            }
            if swept.requests >= state.request_limit(page) {
                return Err(state.gave_up(ts, swept.requests));
            }
            if end || (!reader.tells_size() && state.len.is_none() && !learned) {
                break;
            }
        }
        if !torn {
            if let Some(found) = state.end_pass(pass, reader.tells_size()) {
                return Ok(state.finish(found, swept));
            }
        }
    }
}

/// What the sweep knows so far.
struct Sweep {
    identity: Identity,
    len: Option<u64>,
    /// One readable entry per id.
    first: BTreeMap<String, LogRecord>,
    /// Unreadable keys (their counts live in `lower`).
    unreadable: BTreeSet<String>,
    /// The most copies of each id seen in one page.
    lower: Counts,
    /// The last complete pass (content ids).
    last_pass: Option<Pass>,
}

const UNREADABLE: &str = "\u{0}unreadable\u{0}";

impl Sweep {
    fn new(identity: Identity) -> Self {
        Sweep {
            identity,
            len: None,
            first: BTreeMap::new(),
            unreadable: BTreeSet::new(),
            lower: Counts::new(),
            last_pass: None,
        }
    }

    /// Counts one page into the pass; true when it showed an id or a copy
    /// not known before.
    fn take(&mut self, page: GroupPage, pass: &mut Pass) -> bool {
        let mut learned = false;
        let mut counts = Counts::new();
        let mut served = Vec::with_capacity(page.records.len() + page.unreadable.len());
        for record in page.records {
            *counts.entry(record.native_id.clone()).or_default() += 1;
            served.push(record.native_id.clone());
            self.first.entry(record.native_id.clone()).or_insert(record);
        }
        for key in page.unreadable {
            let key = format!("{UNREADABLE}{key}");
            *counts.entry(key.clone()).or_default() += 1;
            served.push(key.clone());
            self.unreadable.insert(key);
        }
        for (id, n) in &counts {
            *pass.counts.entry(id.clone()).or_default() += n;
        }
        pass.pages.push(served);
        for (id, n) in counts {
            let bound = self.lower.entry(id).or_default();
            let seen = match self.identity {
                Identity::Unique => 1,
                Identity::Content => n,
            };
            learned |= seen > *bound;
            *bound = (*bound).max(seen);
        }
        learned
    }

    /// Requests allowed: by the group's size, or by what was seen of it.
    fn request_limit(&self, page: u64) -> u64 {
        let seen: u64 = self.lower.values().sum();
        request_limit(self.len.unwrap_or(seen), page)
    }

    /// The group, when the per-page bounds alone prove it whole.
    fn known(&self) -> Option<Counts> {
        let len = self.len?;
        let sum: u64 = self.lower.values().sum();
        (sum >= len).then(|| self.lower.clone())
    }

    /// After a complete pass: the group when this pass settles it.
    fn end_pass(&mut self, pass: Pass, tells_size: bool) -> Option<Counts> {
        let sum: u64 = pass.counts.values().sum();
        let Some(len) = self.len else {
            if tells_size {
                return None;
            }
            // Nothing to check against: trust one pass (the upstream then
            // presumably keeps its tie order); unique ids are never doubled.
            return Some(match self.identity {
                Identity::Unique => self.lower.clone(),
                Identity::Content => {
                    let mut counts = pass.counts;
                    for (id, n) in &self.lower {
                        let c = counts.entry(id.clone()).or_default();
                        *c = (*c).max(*n);
                    }
                    counts
                }
            });
        };
        if self.identity == Identity::Unique || sum != len {
            return None;
        }
        let consistent = self
            .lower
            .iter()
            .all(|(id, n)| pass.counts.get(id).is_some_and(|c| c >= n));
        if !consistent {
            return None;
        }
        // Page for page, id for id alike: the upstream kept its tie order
        // (or the group is copies of one record), so the pass counted each
        // entry once. Passes that only add up alike could hide a double
        // count on an upstream that reshuffles ties.
        if self.last_pass.as_ref() == Some(&pass) {
            return Some(pass.counts);
        }
        self.last_pass = Some(pass);
        None
    }

    fn finish(self, counts: Counts, mut swept: Swept) -> Swept {
        for (id, n) in counts {
            if id.starts_with(UNREADABLE) {
                swept.unreadable += n as usize;
                continue;
            }
            let Some(record) = self.first.get(&id) else {
                continue;
            };
            swept.records.push(record.clone());
            for copy in 2..=n {
                let mut record = record.clone();
                record.native_id = format!("{id}-{copy}");
                swept.records.push(record);
            }
        }
        swept
    }

    fn gave_up(&self, ts: i64, requests: u64) -> SourceError {
        let distinct: u64 = self.lower.values().sum();
        SourceError::Upstream {
            status: 200,
            message: format!(
                "could not read all {} logs stamped {} after {requests} requests: \
                 {distinct} distinct were returned (ties reorder between pages)",
                self.len
                    .map_or_else(|| "the".to_string(), |n| n.to_string()),
                format_ms(ts),
            ),
            retry_after: None,
        }
    }
}

#[cfg(test)]
#[path = "group_tests.rs"]
mod tests;
