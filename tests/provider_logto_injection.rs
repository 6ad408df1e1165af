//! Hostile values reach a Logto upstream as literal data (the checks:
//! `common/injection.rs`), read with the client-credentials grant: the
//! token endpoint gets no injected header either; `user_id`,
//! `attr.applicationId` and `attr.key` are pushed verbatim.

mod common;

use common::injection::{no_check, Setup, Wire};
use loggate_core::time::now_ms;
use loggate_logto::sim::{LogtoSim, SimConfig};

fn wire() -> Wire {
    Wire {
        paths: &["/api/logs", "/oidc/token"],
        unchecked_paths: &["/oidc/token"],
        allowed: &[
            "userId",
            "applicationId",
            "logKey",
            "start_time",
            "end_time",
            "page",
            "page_size",
        ],
        pushed: &[
            ("user_id", "userId"),
            ("attr.applicationId", "applicationId"),
            ("attr.key", "logKey"),
        ],
        q_only_if_ascii_superset: false,
        check: no_check,
    }
}

#[tokio::test]
async fn hostile_values_reach_logto_as_literal_data() {
    let mut c = SimConfig::demo(now_ms());
    c.spec.records = 30;
    let sim = LogtoSim::new(c.clone());
    let table = format!(
        "client_id = \"{}\"\nclient_secret = \"{}\"\n",
        c.client_id, c.client_secret
    );
    Setup::serve("logto", &sim, &table, wire())
        .await
        .run(false)
        .await;
}
