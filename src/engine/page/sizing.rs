//! Sizing each source's first request of a page to what the merge will
//! emit from it (issue 13, item 2).
//!
//! A page of `limit` over several sources rarely takes `limit` records from
//! each: the previous page of the traversal shows the split (the cursor
//! carries it, [`super::super::CursorState::served`]), and each source's
//! first fetch of the next page asks for its share of `limit` with a
//! margin. Exactness does not rest on the guess: the merge emits a record
//! only before every open source's frontier, and a source whose share was
//! too small holds the page back (`Stop::Blocked`) and is asked again for
//! the rest, in a round of its own. A wrong guess costs a request, never a
//! record. Page one has no split to go by and asks `limit` from each.

use std::collections::BTreeMap;

/// Margin over a source's share: half again, plus this many records, so
/// that a split that drifts a little between pages does not cost a round.
const MARGIN_RECORDS: usize = 2;

/// The records to ask `source` for in the first round of a page of
/// `limit`: its share of the previous page (`served`, records per source)
/// scaled to `limit`, with half again and [`MARGIN_RECORDS`] more, at
/// most `limit`. `limit` itself when there is no previous split to go
/// by: page one, one source, or a previous page that emitted nothing.
pub(crate) fn first_want(limit: usize, served: &BTreeMap<String, usize>, source: &str) -> usize {
    let total: usize = served.values().sum();
    let Some(&mine) = served.get(source) else {
        return limit;
    };
    if total == 0 {
        return limit;
    }
    let share = limit.saturating_mul(mine).div_ceil(total);
    share
        .saturating_add(share / 2)
        .saturating_add(MARGIN_RECORDS)
        .min(limit)
}

/// What the next page's sizing reads: each source's records on this page
/// when there are several sources, else nothing.
pub(crate) fn served_split<'a>(
    returned: impl ExactSizeIterator<Item = (&'a str, usize)>,
) -> BTreeMap<String, usize> {
    if returned.len() < 2 {
        return BTreeMap::new();
    }
    returned
        .map(|(name, count)| (name.to_string(), count))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(pairs: &[(&str, usize)]) -> BTreeMap<String, usize> {
        pairs.iter().map(|(n, c)| (n.to_string(), *c)).collect()
    }

    #[test]
    fn an_even_split_asks_each_source_for_its_share_and_a_margin() {
        let served = split(&[("a", 13), ("b", 13), ("c", 12), ("d", 12)]);
        // 50 × 13 / 50 = 13, + 6 + 2.
        assert_eq!(first_want(50, &served, "a"), 21);
        assert_eq!(first_want(50, &served, "c"), 20);
        // A larger limit on the next page scales the share.
        assert_eq!(first_want(100, &served, "a"), 26 + 13 + 2);
    }

    #[test]
    fn a_source_that_served_nothing_is_still_asked_for_a_few() {
        let served = split(&[("a", 50), ("b", 0)]);
        assert_eq!(first_want(50, &served, "b"), 2);
        assert_eq!(first_want(50, &served, "a"), 50);
    }

    #[test]
    fn without_a_split_every_source_is_asked_for_the_whole_page() {
        assert_eq!(first_want(50, &BTreeMap::new(), "a"), 50);
        assert_eq!(first_want(50, &split(&[("a", 0), ("b", 0)]), "a"), 50);
        assert_eq!(first_want(50, &split(&[("b", 5), ("c", 5)]), "a"), 50);
    }

    #[test]
    fn only_pages_of_several_sources_record_a_split() {
        assert!(served_split([("a", 50)].into_iter()).is_empty());
        assert_eq!(
            served_split([("a", 30), ("b", 20)].into_iter()),
            split(&[("a", 30), ("b", 20)])
        );
    }
}
