//! Black-box injection test, the part no provider shapes: structural
//! attribute names are refused, and bytes that are not UTF-8 once decoded
//! are refused before any upstream is asked, with every registered
//! provider behind the gateway. That hostile values reach each upstream as
//! literal data, never as structure, is checked per provider
//! (`tests/provider_<kind>_injection.rs`, harness `common/injection.rs`).

mod common;

use common::fleet::{Fleet, Kind, Spec};
use common::injection::encode;

/// Every registered provider (default variant), 30 records each.
async fn start() -> Fleet {
    let specs: Vec<Spec> = Kind::each_provider()
        .into_iter()
        .enumerate()
        .map(|(i, kind)| Spec::new(kind, 70 + i as u64, 30, 30))
        .collect();
    Fleet::start(&specs, "", "").await
}

#[tokio::test]
async fn hostile_attribute_names_are_refused() {
    let fleet = start().await;
    // Attribute names are restricted; anything structural is a 400.
    for name in [
        "a&b", "a=b", "a#b", "../x", "a%00", "a\r\nb", "a/b", "a b", "{\"x\"",
    ] {
        let (status, body) = fleet
            .gateway
            .get(&format!("/logs?attr.{}=v", encode(name)))
            .await;
        assert_eq!(status, 400, "{name:?}: {body}");
        assert_eq!(body["error"]["code"], "invalid_parameter", "{body}");
    }
}

/// Bytes that are not UTF-8 once percent-decoded are refused with `400
/// invalid_parameter` naming the parameter, before any upstream is asked:
/// nothing reaches a provider with replacement characters in it.
#[tokio::test]
async fn invalid_utf8_is_refused_before_any_upstream() {
    let fleet = start().await;
    for (_, _, sim) in &fleet.sims {
        sim.faults().forget_seen();
    }
    for param in [
        "q",
        "service",
        "user_id",
        "attr.promptId",
        "source",
        "level",
        "min_level",
        "cursor",
        "start",
        "order",
    ] {
        for bad in [
            "%FF%FE%C3",
            "ok%C3",
            "%ED%A0%80",
            "a%80b",
            "%C3%28",
            "%FF%FE",
        ] {
            let (status, body) = fleet.gateway.get(&format!("/logs?{param}={bad}")).await;
            assert_eq!(status, 400, "{param}={bad}: {body}");
            assert_eq!(body["error"]["code"], "invalid_parameter", "{body}");
            assert_eq!(body["error"]["param"], param, "{body}");
        }
    }
    for (name, kind, sim) in &fleet.sims {
        assert_eq!(sim.faults().seen_count(), 0, "{name} ({kind:?}) was asked");
    }
    // Well-formed UTF-8, percent-encoded, still goes through.
    let (status, body) = fleet.gateway.get("/logs?q=%C3%A9t%C3%A9").await;
    assert_eq!(status, 200, "{body}");
}
