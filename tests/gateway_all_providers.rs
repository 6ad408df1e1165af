//! Black-box: one gateway in front of a simulator of every registered
//! provider (its default variant, from the registry). Mixed traversals
//! (limit 1, 13 and 500, both orders, with filters) equal the reference;
//! inserts between pages are not part of the traversal.

mod common;

use common::fleet::{Fleet, Kind, Spec};
use common::{assert_same_ids, reference};
use loggate_core::time::format_ms;
use loggate_core::{Filters, Level, LogRecord, Order};

/// One source per provider, `records` records each, a quarter as many
/// distinct instants, over the last hour.
async fn start(records: usize) -> Fleet {
    let specs: Vec<Spec> = Kind::each_provider()
        .into_iter()
        .enumerate()
        .map(|(i, kind)| Spec::new(kind, 1 + i as u64, records, records / 4))
        .collect();
    Fleet::start(&specs, "", "").await
}

fn middle_half(data: &[(&str, Vec<LogRecord>)]) -> (i64, i64) {
    let mut times: Vec<i64> = data
        .iter()
        .flat_map(|(_, r)| r.iter().map(|r| r.timestamp_ms))
        .collect();
    times.sort();
    (times[times.len() / 4], times[times.len() * 3 / 4])
}

#[tokio::test]
async fn mixed_traversals_over_every_provider_equal_the_reference() {
    let all = start(60).await;
    let data = all.snapshot();
    let (t1, t2) = middle_half(&data);
    let queries: Vec<(String, Filters)> = vec![
        (String::new(), Filters::default()),
        (
            "level=ERROR".into(),
            Filters {
                level: Some([Level::Error].into_iter().collect()),
                ..Filters::default()
            },
        ),
        (
            format!("start={}&end={}", format_ms(t1), format_ms(t2)),
            Filters {
                start: Some(t1),
                end: Some(t2),
                ..Filters::default()
            },
        ),
        (
            "q=ION".into(),
            Filters {
                q: Some("ION".into()),
                ..Filters::default()
            },
        ),
    ];
    for (query, filters) in &queries {
        for order in [Order::Desc, Order::Asc] {
            let expected = reference(&data, filters, order);
            assert!(!expected.is_empty(), "{query} matches nothing");
            let per_source = |ids: &[String], source: &str| {
                ids.iter().filter(|id| id.starts_with(source)).count()
            };
            for (source, _, _) in &all.sims {
                assert!(
                    per_source(&expected, source) > 0 || !query.is_empty(),
                    "{source} has no data"
                );
            }
            for limit in [1, 13, 500] {
                if limit == 1 && !query.is_empty() {
                    continue; // limit 1 is run on the unfiltered query: it is the slowest
                }
                let q = format!("{query}&order={}", order.as_str());
                let got = all.gateway.traverse(&q, limit, |_| {}).await;
                assert_same_ids(&got, &expected, &format!("{q} limit {limit}"));
            }
        }
    }
}

#[tokio::test]
async fn inserts_into_every_provider_between_pages_are_not_part_of_the_traversal() {
    let all = start(50).await;
    for order in [Order::Desc, Order::Asc] {
        let before = all.snapshot();
        let (got, pinned) = all
            .gateway
            .traverse_pinned(&format!("order={}", order.as_str()), 11, |page| {
                all.sims[page % all.sims.len()].2.insert_new(2);
            })
            .await;
        let expected = pinned.expected(&got, |end| {
            let pinned = Filters {
                end: Some(end),
                ..Filters::default()
            };
            reference(&before, &pinned, order)
        });
        assert_same_ids(&got, &expected, &format!("inserts, {order:?}"));
    }
}

/// Issue 11 items 4 and 8 on every provider, through the gateway and its
/// simulators: a `null` list is an empty page, and compressed,
/// BOM-prefixed `text/plain` bodies read as plain ones.
#[tokio::test]
async fn every_provider_reads_null_lists_and_packaged_bodies() {
    use loggate_core::sim::{Encoding, Fault, Packaging};
    for kind in Kind::each_provider() {
        let fleet = Fleet::start(&[Spec::new(kind, 5, 60, 20)], "", "").await;
        let null_body = fleet.sim("s0").null_list_answer();
        let faults = fleet.sim("s0").faults();
        let expected = reference(&fleet.snapshot(), &Filters::default(), Order::Desc);
        for encoding in Encoding::ALL {
            faults.set_packaging(Packaging {
                encoding: Some(encoding),
                bom: true,
                content_type: Some("text/plain"),
            });
            let got = fleet.gateway.traverse("order=desc", 17, |_| {}).await;
            assert_same_ids(&got, &expected, &format!("{kind:?} {}", encoding.as_str()));
        }
        faults.clear();
        faults.fail_always(Fault::status(200, &null_body));
        // A new traversal (the one above is cached by its cursor).
        let (status, body) = fleet
            .gateway
            .get("/logs?level=INFO,WARN,ERROR,DEBUG,FATAL,TRACE")
            .await;
        faults.clear();
        assert_eq!(status, 200, "{kind:?}: {body}");
        assert_eq!(body["sources"]["s0"]["status"], "ok", "{kind:?}: {body}");
        assert_eq!(body["logs"], serde_json::json!([]), "{kind:?}");
        assert_eq!(body["next_cursor"], serde_json::Value::Null, "{kind:?}");
    }
}
