//! `GET /logs?follow=true` (spec §8, issue 17 item 1): a pipeline that
//! stores the follow cursor gets every matching log exactly once while the
//! simulators keep inserting, across gateway replicas (two gateways with
//! one `cursor_secret`, called in turn) and across a source failing for a
//! while. `settle = "0s"`: nothing waits on the clock; the loops poll until
//! the condition holds, with a bound on the number of calls.

mod common;

use std::collections::BTreeSet;

use common::fleet::{start_sims, Kind, Spec};
use common::{assert_same_ids, of_source, reference, Gateway};
use loggate_core::sim::Fault;
use loggate_core::{Filters, Order};
use serde_json::Value;

const SERVER: &str = "scan_budget = 10000\ncursor_secret = \"follow-test-secret-0123456789\"\n[follow]\nsettle = \"0s\"";

fn ids_of(body: &Value) -> Vec<String> {
    body["logs"]
        .as_array()
        .expect("logs")
        .iter()
        .map(|l| l["id"].as_str().expect("id").to_string())
        .collect()
}

/// Calls the follow cursor (alternating replicas) until it has caught up;
/// returns the ids and the cursor to call next.
async fn catch_up(
    gateways: &[Gateway],
    mut path: String,
    calls: &mut usize,
) -> (Vec<String>, String) {
    let mut ids = Vec::new();
    for _ in 0..500 {
        let gateway = &gateways[*calls % gateways.len()];
        *calls += 1;
        let (status, body) = gateway.get(&path).await;
        assert_eq!(status, 200, "{path}: {body}");
        ids.extend(ids_of(&body));
        let cursor = body["next_cursor"]
            .as_str()
            .unwrap_or_else(|| panic!("a follow cursor never ends: {body}"))
            .to_string();
        path = format!("/logs?cursor={cursor}&limit=7");
        // A failed source holds `caught_up` back; the caller polls again.
        if body["caught_up"] == true || body["partial"] == true {
            return (ids, cursor);
        }
        assert_eq!(body["caught_up"], false, "{body}");
    }
    panic!("the follow traversal never caught up");
}

#[tokio::test]
async fn follow_delivers_every_insert_exactly_once_across_replicas_and_failures() {
    let kinds = Kind::all();
    let specs: Vec<Spec> = kinds
        .iter()
        .enumerate()
        .map(|(i, kind)| Spec::new(*kind, 40 + i as u64, 30, 10))
        .collect();
    let names: Vec<String> = (0..specs.len()).map(|i| format!("s{i}")).collect();
    let now = loggate_core::time::now_ms();
    let (sims, _served, toml) = start_sims(
        &specs,
        &names,
        now,
        SERVER,
        "retries = 0\ncircuit_breaker = { failures = 1000, cool_down = \"1s\" }",
    )
    .await;
    let gateways = [Gateway::start(&toml).await, Gateway::start(&toml).await];
    let snapshot = |sims: &[(String, Kind, common::fleet::Sim)]| -> Vec<(String, Vec<_>)> {
        sims.iter()
            .map(|(n, _, s)| (n.clone(), s.snapshot()))
            .collect()
    };

    let mut calls = 0;
    let first = "/logs?order=asc&follow=true&limit=7".to_string();
    let (mut got, mut cursor) = catch_up(&gateways, first, &mut calls).await;
    for round in 0..6 {
        // Each round some sources receive new records; in rounds 2 and 3
        // the first source is down (its part resumes when it is back).
        for (i, (_, _, sim)) in sims.iter().enumerate() {
            if (i + round) % 2 == 0 {
                sim.insert_new(1 + (round + i) % 4);
            }
        }
        let failing = &sims[0].2;
        if round == 2 || round == 3 {
            failing
                .faults()
                .fail_always(Fault::status(503, "{\"message\":\"down\"}"));
        }
        let data = snapshot(&sims);
        let borrowed: Vec<(&str, Vec<_>)> =
            data.iter().map(|(n, r)| (n.as_str(), r.clone())).collect();
        let expected = reference(&borrowed, &Filters::default(), Order::Asc);
        let healthy: BTreeSet<&str> = names
            .iter()
            .map(String::as_str)
            .filter(|n| *n != "s0" || (round != 2 && round != 3))
            .collect();
        // Poll until every healthy source's records have all arrived (the
        // simulators stamp inserts up to a second ahead).
        for _ in 0..400 {
            let (ids, next) = catch_up(
                &gateways,
                format!("/logs?cursor={cursor}&limit=7"),
                &mut calls,
            )
            .await;
            got.extend(ids);
            cursor = next;
            let complete = healthy
                .iter()
                .all(|s| of_source(&got, s).len() == of_source(&expected, s).len());
            if complete {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        failing.faults().clear();
        for source in &healthy {
            assert_same_ids(
                &of_source(&got, source),
                &of_source(&expected, source),
                &format!("round {round}, {source}"),
            );
        }
    }
    // After the failure, the failed source caught up too: every record of
    // every source exactly once, each source in its own order.
    let data = snapshot(&sims);
    let borrowed: Vec<(&str, Vec<_>)> = data.iter().map(|(n, r)| (n.as_str(), r.clone())).collect();
    let expected = reference(&borrowed, &Filters::default(), Order::Asc);
    for source in &names {
        assert_same_ids(
            &of_source(&got, source),
            &of_source(&expected, source),
            &format!("at the end, {source}"),
        );
    }
    assert_eq!(got.len(), expected.len(), "nothing else was delivered");
}

#[tokio::test]
async fn follow_with_a_filter_delivers_only_matching_inserts() {
    let specs = [Spec::new(Kind::stand_in(), 7, 50, 20)];
    let names = vec!["s0".to_string()];
    let (sims, _served, toml) =
        start_sims(&specs, &names, loggate_core::time::now_ms(), SERVER, "").await;
    let gateways = [Gateway::start(&toml).await];
    let filters = Filters {
        min_level: Some(loggate_core::Level::Warn),
        ..Filters::default()
    };
    let mut calls = 0;
    let (mut got, mut cursor) = catch_up(
        &gateways,
        "/logs?order=asc&follow=true&min_level=warn&limit=5".into(),
        &mut calls,
    )
    .await;
    sims[0].2.insert_new(40);
    let expected = reference(&[("s0", sims[0].2.snapshot())], &filters, Order::Asc);
    for _ in 0..400 {
        let (ids, next) = catch_up(
            &gateways,
            format!("/logs?cursor={cursor}&limit=5"),
            &mut calls,
        )
        .await;
        got.extend(ids);
        cursor = next;
        if got.len() >= expected.len() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_same_ids(&got, &expected, "min_level=warn follow");
}

#[tokio::test]
async fn follow_rejects_bad_combinations_before_reading() {
    let specs = [Spec::new(Kind::stand_in(), 3, 10, 5)];
    let names = vec!["s0".to_string()];
    let (_sims, _served, toml) =
        start_sims(&specs, &names, loggate_core::time::now_ms(), SERVER, "").await;
    let gateway = Gateway::start(&toml).await;
    let (status, body) = gateway.get("/logs?follow=true").await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["param"], "follow", "{body}");
    let (status, body) = gateway.get("/logs?follow=true&order=desc").await;
    assert_eq!(
        (status, body["error"]["param"].as_str()),
        (400, Some("follow")),
        "{body}"
    );
    let (status, body) = gateway.get("/logs?follow=yes&order=asc").await;
    assert_eq!(
        (status, body["error"]["param"].as_str()),
        (400, Some("follow")),
        "{body}"
    );

    // A follow cursor sent with follow=false (or an ordinary cursor with
    // follow=true) is a cursor mismatch.
    let (_, body) = gateway.get("/logs?follow=true&order=asc&limit=1").await;
    let follow_cursor = body["next_cursor"].as_str().expect("cursor").to_string();
    let (status, body) = gateway
        .get(&format!("/logs?cursor={follow_cursor}&follow=false"))
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("cursor_mismatch")),
        "{body}"
    );
    let (_, body) = gateway.get("/logs?order=asc&limit=1").await;
    let plain = body["next_cursor"].as_str().expect("cursor").to_string();
    let (status, body) = gateway
        .get(&format!("/logs?cursor={plain}&follow=true"))
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("cursor_mismatch")),
        "{body}"
    );
    // An ordinary traversal says nothing of caught_up.
    let (status, body) = gateway.get("/logs?order=asc&limit=1").await;
    assert_eq!(status, 200, "{body}");
    assert!(body.get("caught_up").is_none(), "{body}");
}
