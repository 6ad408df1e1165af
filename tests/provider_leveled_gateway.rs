//! Black-box: the gateway on a free port in front of two leveled
//! simulators. Full traversals equal the reference for every limit and
//! order, with 300-record timestamp ties and with inserts between pages.

mod common;

use common::{assert_same_ids, reference, Gateway};
use loggate_core::sim::{serve_loopback, Served};
use loggate_core::{Filters, LogRecord, Order};
use loggate_leveled::sim::{LeveledSim, SimConfig};

struct Setup {
    gateway: Gateway,
    sims: Vec<(&'static str, LeveledSim)>,
    _served: Vec<Served>,
}

impl Setup {
    async fn start(records: usize, distinct_timestamps: usize) -> Setup {
        let now = loggate_core::time::now_ms();
        let mut sims = Vec::new();
        let mut served = Vec::new();
        let mut toml = String::from("[server]\nscan_budget = 10000\n");
        for (i, name) in ["app", "billing"].into_iter().enumerate() {
            let mut config = SimConfig::demo(now);
            config.spec.seed = 7 + i as u64;
            config.spec.records = records;
            config.spec.span_ms = 3_600_000;
            config.spec.distinct_timestamps = Some(distinct_timestamps);
            let sim = LeveledSim::new(config);
            let server = serve_loopback(sim.router()).await.unwrap();
            toml.push_str(&format!(
                "[sources.{name}]\nkind = \"leveled\"\nbase_url = \"{}\"\ntoken = \"{}\"\nrate_limit = {{ per_second = 100000, burst = 100000 }}\n",
                server.base_url(),
                sim.token()
            ));
            sims.push((name, sim));
            served.push(server);
        }
        Setup {
            gateway: Gateway::start(&toml).await,
            sims,
            _served: served,
        }
    }

    fn snapshot(&self) -> Vec<(&'static str, Vec<LogRecord>)> {
        self.sims
            .iter()
            .map(|(name, sim)| (*name, sim.snapshot()))
            .collect()
    }
}

#[tokio::test]
async fn traversals_equal_the_reference_for_every_limit_and_order() {
    let setup = Setup::start(120, 30).await;
    let data = setup.snapshot();
    for order in [Order::Desc, Order::Asc] {
        let expected = reference(&data, &Filters::default(), order);
        assert_eq!(expected.len(), 240);
        for limit in [1, 7, 50, 1000] {
            let got = setup
                .gateway
                .traverse(&format!("order={}", order.as_str()), limit, |_| {})
                .await;
            assert_same_ids(&got, &expected, &format!("order {order:?} limit {limit}"));
        }
    }
}

#[tokio::test]
async fn three_hundred_records_sharing_one_timestamp() {
    let setup = Setup::start(300, 1).await;
    let data = setup.snapshot();
    for order in [Order::Desc, Order::Asc] {
        let expected = reference(&data, &Filters::default(), order);
        for limit in [7, 50] {
            let got = setup
                .gateway
                .traverse(&format!("order={}", order.as_str()), limit, |_| {})
                .await;
            assert_same_ids(
                &got,
                &expected,
                &format!("ties, order {order:?} limit {limit}"),
            );
        }
    }
}

#[tokio::test]
async fn inserts_between_pages_change_nothing_in_the_traversal() {
    let setup = Setup::start(100, 20).await;
    for order in [Order::Desc, Order::Asc] {
        // The reference: the data as it is before the first page, up to
        // the bound the gateway pinned then (read from its first cursor;
        // inserts are stamped later). The wall clock read here is no such
        // bound: the batches the first order's traversal stamped ahead of
        // the clock lie at whole seconds, and the pin (the first page's
        // time rounded down to a second) takes in the one at a second
        // passing between this line and the first page.
        let data = setup.snapshot();
        let (got, pinned) = setup
            .gateway
            .traverse_pinned(&format!("order={}", order.as_str()), 9, |page| {
                setup.sims[page % 2].1.insert_new(3);
            })
            .await;
        let expected = pinned.expected(&got, |end| {
            let pinned = Filters {
                end: Some(end),
                ..Filters::default()
            };
            reference(&data, &pinned, order)
        });
        assert!(expected.len() >= 200, "the 200 seeded entries");
        assert_same_ids(&got, &expected, &format!("inserts, order {order:?}"));
    }
}
