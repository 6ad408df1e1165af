//! Exact counting by a provider's total-count field (spec §7), the part an
//! adapter declares: [`crate::Adapter::counts_exactly`] and
//! [`crate::Adapter::count`]. The engine plans the buckets and groups; an
//! adapter only answers "how many records match these filters", with the
//! smallest page its upstream allows.
//!
//! A total is exact only when every filter is evaluated upstream exactly as
//! loggate evaluates it: a filter pushed as a superset (`q` as a provider's
//! ASCII search, a level that an unknown native level also maps to) makes
//! the total an over-count, so such a query is counted by scanning.
//! Unreadable upstream records are in a total; a scan skips them (spec §10).

use crate::query::Filters;

/// True when every filter set in `filters` is one of `exact` (names as
/// [`Filters::names`] spells them) and no text filter is empty (an empty
/// native parameter reads as "no filter" on several providers).
pub fn only_exact(filters: &Filters, exact: &[&str]) -> bool {
    let empty = |value: &Option<String>| value.as_deref() == Some("");
    !empty(&filters.service)
        && !empty(&filters.user_id)
        && filters.attrs.values().all(|v| !v.is_empty())
        && filters
            .names()
            .iter()
            .all(|name| exact.contains(&name.as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_named_filters_are_exact() {
        let mut filters = Filters {
            start: Some(1),
            end: Some(2),
            service: Some("api".into()),
            ..Filters::default()
        };
        assert!(only_exact(&filters, &["start", "end", "service"]));
        assert!(!only_exact(&filters, &["start", "end"]));
        filters.service = Some(String::new());
        assert!(!only_exact(&filters, &["start", "end", "service"]));
        filters.service = None;
        filters.attrs.insert("key".into(), "k".into());
        assert!(!only_exact(&filters, &["start", "end"]));
        assert!(only_exact(&filters, &["start", "end", "attr.key"]));
    }
}
