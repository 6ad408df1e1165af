//! Spec §10 at the Logto adapter: a `null` body is no entries (issue 11).

mod common;

use common::*;
use loggate_core::query::Filters;
use loggate_core::sim::Fault;
use loggate_core::{Order, Position};
use loggate_logto::TimeFilter;

#[tokio::test]
async fn a_null_body_is_an_empty_page() {
    let env = start(config(21, 10, true), Creds::Static, TimeFilter::On).await;
    for order in [Order::Desc, Order::Asc] {
        env.sim.faults().fail_next(Fault::status(200, "null"));
        let batch = fetch(
            env.adapter.as_ref(),
            &query(Filters::default(), order),
            &Position::start(),
            5,
        )
        .await
        .unwrap();
        assert!(batch.records.is_empty(), "{order:?}");
        assert!(batch.frontier.done, "{order:?}");
    }
}
