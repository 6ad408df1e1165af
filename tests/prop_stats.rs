//! Property: over the real gateway and any mix of the provider simulators
//! (every Logto generation), with generated data full of timestamp ties,
//! random windows (bounds anywhere, on record timestamps or not), any
//! interval (aligned to `start` only), any grouping of up to two, any
//! combination of the level, minimum level, service and search filters
//! (values taken from the data) and either method, `GET /logs/stats`
//! equals the data counted by hand, every bucket covered.
//!
//! 24 cases by default; `LOGGATE_SOAK=1` runs 256.

mod common;

use common::counts::{fleet_data, reference_counts, response_counts};
use common::enc;
use common::fleet::{Fleet, Kind, Spec};
use loggate_core::time::format_ms;
use loggate_core::{Filters, Level};
use proptest::prelude::*;

fn soak() -> bool {
    std::env::var("LOGGATE_SOAK").is_ok_and(|v| v == "1")
}

#[derive(Debug, Clone)]
struct Case {
    specs: Vec<Spec>,
    /// Offsets of `start` and `end` from the data's span, in ms.
    start_offset: i64,
    end_offset: i64,
    interval_ms: i64,
    by: Vec<&'static str>,
    level: Option<Level>,
    min_level: Option<Level>,
    /// A record whose service becomes the `service` filter.
    service_of: Option<prop::sample::Index>,
    /// A record whose message gives the `q` search text.
    text_of: Option<prop::sample::Index>,
    scan: bool,
}

fn case() -> impl Strategy<Value = Case> {
    let groupings =
        prop::sample::subsequence(vec!["level", "source", "provider", "service"], 0..=2);
    (
        prop::collection::vec(
            (
                prop::sample::select(Kind::all()),
                any::<u64>(),
                1usize..=120,
                1usize..=40,
            )
                .prop_map(|(kind, seed, records, distinct)| {
                    Spec::new(kind, seed, records, distinct)
                }),
            1..=3,
        ),
        -120_000i64..=2_400_000,
        -2_400_000i64..=120_000,
        prop_oneof![1i64..=1_000, 1_000i64..=600_000, 600_000i64..=4_000_000],
        groupings,
        prop::option::of(prop::sample::select(Level::ALL.to_vec())),
        (
            prop::option::of(prop::sample::select(Level::ALL.to_vec())),
            prop::option::of(any::<prop::sample::Index>()),
            prop::option::of(any::<prop::sample::Index>()),
        ),
        any::<bool>(),
    )
        .prop_map(
            |(
                specs,
                start_offset,
                end_offset,
                interval_ms,
                by,
                level,
                (min_level, service_of, text_of),
                scan,
            )| Case {
                specs,
                start_offset,
                end_offset,
                interval_ms,
                by,
                level,
                min_level,
                service_of,
                text_of,
                scan,
            },
        )
}

async fn check(case: Case) -> Result<(), TestCaseError> {
    let fleet = Fleet::start(&case.specs, "", "").await;
    let data = fleet_data(&fleet);
    // Every simulator's data lies in the hour before its start.
    let now = loggate_core::time::now_ms();
    let start = now - 3_600_000 + case.start_offset;
    let end = (now + case.end_offset).max(start + 1);
    let mut interval = case.interval_ms;
    while (end - start + interval - 1) / interval > 1_000 {
        interval *= 2;
    }
    let mut filters = Filters::default();
    let mut query = format!(
        "/logs/stats?start={}&end={}&interval={interval}ms&method={}",
        format_ms(start),
        format_ms(end),
        if case.scan { "scan" } else { "auto" }
    );
    if !case.by.is_empty() {
        query.push_str(&format!("&by={}", case.by.join(",")));
    }
    if let Some(level) = case.level {
        filters.level = Some([level].into_iter().collect());
        query.push_str(&format!("&level={}", level.as_str()));
    }
    if let Some(min) = case.min_level {
        filters.min_level = Some(min);
        query.push_str(&format!("&min_level={}", min.as_str()));
    }
    let all: Vec<_> = data
        .iter()
        .flat_map(|(_, _, records)| records.iter())
        .collect();
    if let (Some(pick), false) = (&case.service_of, all.is_empty()) {
        if let Some(service) = &all[pick.index(all.len())].service {
            filters.service = Some(service.clone());
            query.push_str(&format!("&service={}", enc(service)));
        }
    }
    if let (Some(pick), false) = (&case.text_of, all.is_empty()) {
        let message = &all[pick.index(all.len())].message;
        // Three characters of the message's longest word: found in it, and
        // in others that share the word.
        let word = message.split_whitespace().max_by_key(|w| w.chars().count());
        let text: String = word.unwrap_or("").chars().take(3).collect();
        if !text.is_empty() {
            query.push_str(&format!("&q={}", enc(&text)));
            filters.q = Some(text);
        }
    }
    let (status, body) = fleet.gateway.get(&query).await;
    prop_assert_eq!(status, 200, "{}: {}", query, body);
    prop_assert_eq!(&body["complete"], true, "{}: {}", query, body);
    let expected = reference_counts(&data, &filters, (start, end, interval), &case.by);
    prop_assert_eq!(response_counts(&body), expected, "{}", query);
    Ok(())
}

fn run(case: Case) -> Result<(), TestCaseError> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(check(case))
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: if soak() { 256 } else { 24 },
        max_shrink_iters: 100,
        ..ProptestConfig::default()
    })]

    #[test]
    fn counts_equal_the_reference(case in case()) {
        run(case)?;
    }
}
