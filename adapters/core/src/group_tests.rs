use super::*;
use crate::record::Level;

/// A tiny deterministic generator (the simulators' `SeededRng` needs the
/// `sim` feature).
struct SeededRng(u64);

impl SeededRng {
    fn new(seed: u64) -> Self {
        SeededRng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n.max(1)
    }
}

fn record(id: &str) -> LogRecord {
    LogRecord {
        native_id: id.into(),
        timestamp_ms: 1_000,
        level: Level::Info,
        message: format!("m {id}"),
        service: None,
        user_id: None,
        attributes: Default::default(),
        raw: None,
    }
}

/// A `[ts, ts]` window of `ids` served `limit` at a time, shuffled anew
/// per request when `shuffle` (a database without a tie-breaker).
struct Upstream {
    ids: Vec<String>,
    limit: usize,
    shuffle: Option<SeededRng>,
    /// Report the window's total.
    total: bool,
    /// Ignore the offset (always serve the first page).
    ignore_offset: bool,
    requests: u64,
}

impl Upstream {
    fn new(ids: Vec<String>, limit: usize) -> Self {
        Upstream {
            ids,
            limit,
            shuffle: None,
            total: true,
            ignore_offset: false,
            requests: 0,
        }
    }

    fn copies(spec: &[(&str, usize)], limit: usize) -> Self {
        let ids = spec
            .iter()
            .flat_map(|(id, n)| std::iter::repeat_n(id.to_string(), *n))
            .collect();
        Upstream::new(ids, limit)
    }

    fn shuffled(mut self, seed: u64) -> Self {
        self.shuffle = Some(SeededRng::new(seed));
        self
    }
}

#[async_trait]
impl GroupReader for Upstream {
    async fn read(&mut self, from: u64) -> Result<GroupPage, SourceError> {
        self.requests += 1;
        let mut order = self.ids.clone();
        if let Some(rng) = &mut self.shuffle {
            for i in (1..order.len()).rev() {
                order.swap(i, rng.below(i as u64 + 1) as usize);
            }
        }
        let from = if self.ignore_offset { 0 } else { from as usize };
        let page: Vec<String> = order.into_iter().skip(from).take(self.limit).collect();
        let returned = page.len() as u64;
        Ok(GroupPage {
            records: page.iter().map(|id| record(id)).collect(),
            unreadable: Vec::new(),
            covered: returned,
            returned,
            group_len: self.total.then_some(self.ids.len() as u64),
            end: returned < self.limit as u64
                || (self.total && from as u64 + returned >= self.ids.len() as u64),
        })
    }

    fn tells_size(&self) -> bool {
        self.total
    }
}

fn ids(swept: &Swept) -> Vec<String> {
    let mut ids: Vec<String> = swept.records.iter().map(|r| r.native_id.clone()).collect();
    ids.sort();
    ids
}

fn named_copies(id: &str, n: usize) -> Vec<String> {
    let mut ids: Vec<String> = (1..=n)
        .map(|k| match k {
            1 => id.to_string(),
            k => format!("{id}-{k}"),
        })
        .collect();
    ids.sort();
    ids
}

#[tokio::test]
async fn identical_entries_over_two_pages_are_counted_each_once() {
    // Issue 11 item 5: 101 identical records, pages of 100.
    let mut upstream = Upstream::copies(&[("h", 101)], 100);
    let swept = sweep_group(&mut upstream, 1_000, Identity::Content, 100)
        .await
        .unwrap();
    assert_eq!(ids(&swept), named_copies("h", 101));
    // Two passes of two pages: the second confirms the first.
    assert_eq!((swept.requests, upstream.requests), (4, 4));
    assert_eq!(swept.scanned, 202);
}

#[tokio::test]
async fn identical_entries_are_counted_whatever_the_order_and_size() {
    for (copies, limit, seed) in [(250, 100, 1), (101, 100, 2), (7, 3, 3), (1000, 100, 4)] {
        let mut upstream = Upstream::copies(&[("h", copies)], limit).shuffled(seed);
        let swept = sweep_group(&mut upstream, 1_000, Identity::Content, limit as u64)
            .await
            .unwrap();
        assert_eq!(ids(&swept), named_copies("h", copies), "{copies}/{limit}");
        let pages = copies.div_ceil(limit) as u64;
        assert_eq!(swept.requests, 2 * pages, "{copies}/{limit}");
    }
}

#[tokio::test]
async fn mixed_copies_in_a_stable_order_take_two_passes() {
    let mut upstream = Upstream::copies(&[("a", 120), ("b", 80), ("c", 50)], 100);
    let swept = sweep_group(&mut upstream, 1_000, Identity::Content, 100)
        .await
        .unwrap();
    let mut expected = named_copies("a", 120);
    expected.extend(named_copies("b", 80));
    expected.extend(named_copies("c", 50));
    expected.sort();
    assert_eq!(ids(&swept), expected);
    assert_eq!(swept.requests, 6);
}

#[tokio::test]
async fn copies_that_fit_one_page_are_proved_by_that_page() {
    // Per-page bounds add up to the size: no second pass needed.
    let mut upstream = Upstream::copies(&[("a", 2), ("b", 1)], 3);
    let swept = sweep_group(&mut upstream, 1_000, Identity::Content, 3)
        .await
        .unwrap();
    assert_eq!(ids(&swept), vec!["a", "a-2", "b"]);
    assert_eq!(swept.requests, 1);
}

#[tokio::test]
async fn unique_ids_are_unioned_across_reshuffled_passes() {
    let all: Vec<String> = (0..250).map(|i| format!("id{i:03}")).collect();
    let mut upstream = Upstream::new(all.clone(), 100).shuffled(9);
    let swept = sweep_group(&mut upstream, 1_000, Identity::Unique, 100)
        .await
        .unwrap();
    assert_eq!(ids(&swept), all);
    assert!(swept.requests <= request_limit(250, 100));
}

#[tokio::test]
async fn a_group_never_shown_whole_is_an_error_after_a_bounded_number_of_requests() {
    // 150 announced, the same 100 served at every offset.
    let all: Vec<String> = (0..150).map(|i| format!("id{i:03}")).collect();
    for identity in [Identity::Unique, Identity::Content] {
        let mut upstream = Upstream::new(all.clone(), 100);
        upstream.ignore_offset = true;
        let error = sweep_group(&mut upstream, 1_000, identity, 100)
            .await
            .unwrap_err();
        let SourceError::Upstream { message, .. } = &error else {
            panic!("{error:?}");
        };
        assert!(
            message.contains("could not read all 150 logs stamped 1970-01-01T00:00:01.000Z")
                && message.contains("100 distinct were returned"),
            "{message}"
        );
        assert_eq!(upstream.requests, request_limit(150, 100));
    }
}

#[tokio::test]
async fn without_a_size_one_pass_is_trusted_and_a_repeating_page_ends_it() {
    let mut upstream = Upstream::copies(&[("h", 101)], 100);
    upstream.total = false;
    let swept = sweep_group(&mut upstream, 1_000, Identity::Content, 100)
        .await
        .unwrap();
    assert_eq!(ids(&swept), named_copies("h", 101));
    let all: Vec<String> = (0..150).map(|i| format!("id{i:03}")).collect();
    let mut upstream = Upstream::new(all.clone(), 100);
    (upstream.total, upstream.ignore_offset) = (false, true);
    let swept = sweep_group(&mut upstream, 1_000, Identity::Unique, 100)
        .await
        .unwrap();
    assert_eq!(swept.records.len(), 100);
    assert_eq!(upstream.requests, 2);
}

#[tokio::test]
async fn unreadable_entries_are_counted_not_returned() {
    struct Bad;
    #[async_trait]
    impl GroupReader for Bad {
        async fn read(&mut self, from: u64) -> Result<GroupPage, SourceError> {
            // 3 entries: one readable, two identical unreadable ones, one
            // per page of 2 after the first.
            let (records, unreadable) = match from {
                0 => (vec![record("a")], vec![String::from("x")]),
                _ => (Vec::new(), vec![String::from("x")]),
            };
            let covered = (records.len() + unreadable.len()) as u64;
            Ok(GroupPage {
                records,
                unreadable,
                covered,
                returned: covered,
                group_len: Some(3),
                end: from + covered >= 3,
            })
        }
    }
    let swept = sweep_group(&mut Bad, 1_000, Identity::Content, 2)
        .await
        .unwrap();
    assert_eq!(ids(&swept), vec!["a"]);
    assert_eq!(swept.unreadable, 2);
}

#[tokio::test]
async fn mixed_copies_on_a_reshuffling_upstream_are_never_miscounted() {
    // More copies of `h` than a page holds, among other records, served
    // in a fresh order per request: proved whole or refused, never wrong.
    let spec = [("h", 101), ("a", 1), ("b", 1), ("c", 2), ("d", 1), ("e", 1)];
    let mut expected: Vec<String> = Vec::new();
    for (id, n) in spec {
        expected.extend(named_copies(id, n));
    }
    expected.sort();
    let mut proved = 0;
    for seed in 0..64 {
        let mut upstream = Upstream::copies(&spec, 100).shuffled(seed);
        if let Ok(swept) = sweep_group(&mut upstream, 1_000, Identity::Content, 100).await {
            assert_eq!(ids(&swept), expected, "seed {seed}");
            proved += 1;
        }
        assert!(upstream.requests <= request_limit(107, 100));
    }
    println!("{proved} of 64 proved whole");
}

#[tokio::test]
async fn copies_that_fit_a_page_are_proved_on_a_reshuffling_upstream() {
    // 150 entries in pairs: each pair meets in some page sooner or later.
    let names: Vec<String> = (0..75).map(|i| format!("p{i:02}")).collect();
    let spec: Vec<(&str, usize)> = names.iter().map(|n| (n.as_str(), 2)).collect();
    let mut upstream = Upstream::copies(&spec, 100).shuffled(5);
    let swept = sweep_group(&mut upstream, 1_000, Identity::Content, 100)
        .await
        .unwrap();
    assert_eq!(swept.records.len(), 150);
    let mut expected: Vec<String> = names.iter().flat_map(|n| named_copies(n, 2)).collect();
    expected.sort();
    assert_eq!(ids(&swept), expected);
}
