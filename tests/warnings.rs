//! Black-box (issue 11 item 12, spec §5 and §10): nothing is dropped
//! silently. A failed source is named in the page's top-level `warnings`;
//! a page with nothing to say has no `warnings`. (A record an adapter
//! cannot read is counted and named there too:
//! `provider_promptcrafter_warnings.rs`.)

mod common;

use common::{warnings, Gateway};
use loggate_core::sim::Fault;

const UNLIMITED: &str = "rate_limit = { per_second = 100000, burst = 100000 }";

#[tokio::test]
async fn a_failed_source_is_named_in_warnings_and_a_clean_page_has_none() {
    // Two simulators of the stand-in provider holding the same data.
    let (_, _up_server, up) = common::stand_in_sim(10, 0x01e7_e1ed).await;
    let (down, _down_server, down_table) = common::stand_in_sim(10, 0x01e7_e1ed).await;
    down.faults().fail_always(Fault::status(
        500,
        "{\"status\":\"error\",\"message\":\"boom\"}",
    ));
    let toml = format!(
        "[sources.up]\n{up}{UNLIMITED}\n\
         [sources.down]\n{down_table}retries = 0\n{UNLIMITED}\n",
    );
    let gateway = Gateway::start(&toml).await;

    let (status, page) = gateway.get("/logs?limit=100").await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["partial"], true);
    let warnings = warnings(&page);
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0].starts_with("down: failed (upstream_error): upstream answered 500"),
        "{warnings:?}"
    );

    let (status, page) = gateway.get("/logs?source=up&limit=100").await;
    assert_eq!(status, 200, "{page}");
    assert!(page.get("warnings").is_none(), "{page}");
}
