//! Black-box, Logto: client-credentials tokens expiring during a
//! traversal change nothing (with and without the time filter), next to a
//! leveled source.

mod common;

use common::{assert_same_ids, reference, Gateway};
use loggate_core::sim::{serve_loopback, Served};
use loggate_core::time::now_ms;
use loggate_core::{Filters, LogRecord, Order};

const UNLIMITED: &str = "rate_limit = { per_second = 100000, burst = 100000 }";

/// A Logto source read with the client-credentials grant (`auth`) and a
/// leveled one (`app`).
struct LogtoAndApp {
    gateway: Gateway,
    auth: loggate_logto::sim::LogtoSim,
    app: loggate_leveled::sim::LeveledSim,
    _served: Vec<Served>,
}

impl LogtoAndApp {
    async fn start(records: usize, logto_honours_time_filter: bool) -> LogtoAndApp {
        let now = now_ms();
        let hour = 3_600_000;
        let distinct = Some(records / 4);

        let mut c = loggate_logto::sim::SimConfig::demo(now);
        (c.spec.records, c.spec.span_ms, c.spec.distinct_timestamps) = (records, hour, distinct);
        (c.client_id, c.client_secret) = ("cid".into(), "logto-client-secret".into());
        c.honours_time_filter = logto_honours_time_filter;
        let auth = loggate_logto::sim::LogtoSim::new(c);
        let mut c = loggate_leveled::sim::SimConfig::demo(now);
        (
            c.spec.records,
            c.spec.span_ms,
            c.spec.distinct_timestamps,
            c.spec.token,
        ) = (records, hour, distinct, "leveled-token".into());
        let app = loggate_leveled::sim::LeveledSim::new(c);

        let served = vec![
            serve_loopback(auth.router()).await.unwrap(),
            serve_loopback(app.router()).await.unwrap(),
        ];
        let toml = format!(
            "[sources.auth]\nkind = \"logto\"\nbase_url = \"{}\"\nclient_id = \"cid\"\nclient_secret = \"logto-client-secret\"\n{UNLIMITED}\n\
             [sources.app]\nkind = \"leveled\"\nbase_url = \"{}\"\ntoken = \"leveled-token\"\n{UNLIMITED}\n",
            served[0].base_url(),
            served[1].base_url(),
        );
        LogtoAndApp {
            gateway: Gateway::start(&toml).await,
            auth,
            app,
            _served: served,
        }
    }

    fn snapshot(&self) -> Vec<(&'static str, Vec<LogRecord>)> {
        vec![("auth", self.auth.snapshot()), ("app", self.app.snapshot())]
    }
}

#[tokio::test]
async fn logto_tokens_expiring_during_a_traversal_change_nothing() {
    for honours in [true, false] {
        let all = LogtoAndApp::start(40, honours).await;
        let expected = reference(&all.snapshot(), &Filters::default(), Order::Desc);
        let got = all
            .gateway
            .traverse("source=auth,app", 7, |page| {
                if page % 3 == 0 {
                    all.auth.expire_all_tokens();
                }
            })
            .await;
        let expected: Vec<String> = expected
            .into_iter()
            .filter(|id| id.starts_with("auth:") || id.starts_with("app:"))
            .collect();
        assert_same_ids(
            &got,
            &expected,
            &format!("expiring tokens, time filter honoured: {honours}"),
        );
        assert!(
            all.auth.issued_tokens() > 1,
            "tokens were fetched again after expiring"
        );
    }
}
