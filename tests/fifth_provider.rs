//! A fifth provider added inside the test tree (`tests/relay/`) and
//! registered with one line: the conformance kit and the black-box
//! gateway tests run over it unchanged, and configuration, `GET /sources`
//! and the OpenAPI document know it, with no change anywhere else.

mod common;
mod relay;

use std::sync::Arc;

use async_trait::async_trait;
use common::fleet::{Fleet, Kind, Spec};
use common::{assert_same_ids, reference};
use loggate::config;
use loggate::registry::Registry;
use loggate_core::sim::{serve_loopback, Faults, Served, SimSpec, Simulator};
use loggate_core::testkit::{test_settings, DataSet, Harness, HarnessFactory};
use loggate_core::{Adapter, Filters, LogRecord, Order, ProviderFactory};
use relay::RelayFactory;

/// The registry line.
fn registry() -> Registry {
    Registry::builtin().with(RelayFactory)
}

const RELAY: Kind = Kind::new(relay::KIND, "default");

/// A relay simulator and the adapter its factory builds from a source
/// table, as the gateway would.
struct RelayHarness {
    sim: Arc<dyn Simulator>,
    adapter: Arc<dyn Adapter>,
    _served: Served,
}

#[async_trait]
impl Harness for RelayHarness {
    fn adapter(&self) -> Arc<dyn Adapter> {
        self.adapter.clone()
    }

    async fn snapshot(&self) -> Vec<LogRecord> {
        self.sim.snapshot()
    }

    async fn insert_new(&self, n: usize) {
        self.sim.insert_new(n)
    }

    fn faults(&self) -> &Faults {
        self.sim.faults()
    }
}

struct RelayHarnesses;

#[async_trait]
impl HarnessFactory for RelayHarnesses {
    async fn start(&self, data: DataSet) -> Box<dyn Harness> {
        let mut spec = SimSpec::new(data.seed, data.records, loggate_core::time::now_ms() - 1000);
        spec.distinct_timestamps = Some(data.distinct_timestamps);
        spec.token = "relay-key-0042".into();
        let sim = RelayFactory
            .simulator(&spec)
            .expect("relay has a simulator");
        let served = serve_loopback(sim.router()).await.unwrap();
        let table = serde_json::json!({"api_key": "relay-key-0042"});
        let provider = RelayFactory
            .configure(table.as_object().unwrap())
            .expect("valid relay settings");
        let adapter = provider.adapter(test_settings(&served.base_url(), None));
        Box::new(RelayHarness {
            sim,
            adapter,
            _served: served,
        })
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_fifth_provider_passes_the_conformance_suite() {
    loggate_core::testkit::run_conformance(&RelayHarnesses).await;
}

/// Relay sources beside built-in ones: a traversal in both orders yields
/// every record exactly once, in the reference order.
#[tokio::test]
async fn the_gateway_merges_the_fifth_provider_with_the_others() {
    let mut specs = vec![Spec::new(RELAY, 1, 90, 20), Spec::new(RELAY, 2, 40, 40)];
    specs.extend(
        Kind::all()
            .into_iter()
            .map(|kind| Spec::new(kind, 3, 50, 12)),
    );
    let fleet = Fleet::start_in(&registry(), &specs, "", "").await;
    for (order, name) in [(Order::Desc, "desc"), (Order::Asc, "asc")] {
        let got = fleet
            .gateway
            .traverse(&format!("order={name}"), 17, |_| {})
            .await;
        let expected = reference(&fleet.snapshot(), &Filters::default(), order);
        assert_same_ids(&got, &expected, name);
    }
    let (status, body) = fleet.gateway.get("/logs?source=s0&q=timeout&limit=5").await;
    assert_eq!(status, 200, "{body}");
    assert!(body["logs"]
        .as_array()
        .unwrap()
        .iter()
        .all(|l| l["provider"] == relay::KIND));
}

/// `GET /sources` and the OpenAPI document name the new kind; its source
/// reports what it pushes down.
#[tokio::test]
async fn sources_and_the_openapi_document_know_the_fifth_kind() {
    let fleet = Fleet::start_in(&registry(), &[Spec::new(RELAY, 4, 30, 10)], "", "").await;
    let (status, sources) = fleet.gateway.get("/sources").await;
    assert_eq!(status, 200, "{sources}");
    let source = &sources["sources"][0];
    assert_eq!(source["kind"], relay::KIND, "{sources}");
    assert!(source["pushdown"].as_array().unwrap().contains(&"q".into()));
    let (_, doc) = fleet.gateway.get("/openapi.json").await;
    let kinds = &doc["components"]["schemas"]["SourceInfo"]["properties"]["kind"]["enum"];
    assert!(
        kinds.as_array().unwrap().contains(&relay::KIND.into()),
        "{kinds}"
    );
}

/// Its own keys are validated by it, reported with key paths, all at once;
/// the unknown-kind error lists it.
#[test]
fn configuration_validates_the_fifth_providers_own_keys() {
    let problems = |toml: &str| config::load_str_with(&registry(), toml, []).unwrap_err().0;
    let found = problems(
        "[sources.r]\nkind = \"relay\"\nbase_url = \"http://h\"\nsearch = \"yes\"\ntoken = \"t\"\nretries = 99",
    );
    for expected in [
        "sources.r.search: invalid type",
        "sources.r.token: only sources of kind",
        "sources.r.api_key: required: the relay's API key",
        "sources.r.retries: expected an integer",
    ] {
        assert!(
            found.iter().any(|p| p.starts_with(expected)),
            "{expected} missing from {found:#?}"
        );
    }
    let found = problems("[sources.r]\nkind = \"relai\"\nbase_url = \"http://h\"");
    assert!(found[0].ends_with(", relay"), "{found:#?}");
    let config = config::load_str_with(
        &registry(),
        "[sources.r]\nkind = \"relay\"\nbase_url = \"http://h\"\napi_key = \"k-1\"\nsearch = false",
        [],
    )
    .unwrap();
    let params = config.sources["r"].provider.params();
    assert_eq!(
        params.downcast_ref::<relay::RelayParams>().unwrap().search,
        Some(false)
    );
    // Without the registry line the built-in registry does not know it.
    assert!(config::load_str(
        "[sources.r]\nkind = \"relay\"\nbase_url = \"http://h\"\napi_key = \"k-1\"",
        []
    )
    .is_err());
}
