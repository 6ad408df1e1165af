//! The injection harness (spec §10, README "Security"): hostile values
//! (`&`, `=`, `#`, NUL, `../`, CRLF, `%2F`, unicode, JSON fragments, URLs)
//! in `q`, `service`, `user_id` and `attr.*` must reach an upstream as
//! literal data, never as structure: the path stays the adapter's path, no
//! parameter appears that the adapter does not send, every pushed value
//! decodes to exactly the input, no header is injected. What a provider's
//! requests may look like ([`Wire`]) is declared by its own test file
//! (`tests/provider_<kind>_injection.rs`); the checks are here, once.

use std::collections::BTreeSet;

use loggate_core::query::ascii_search_is_superset;
use loggate_core::sim::{serve_loopback, Faults, SeenRequest, Served, Simulator};

use super::fleet::UNLIMITED;
use super::Gateway;

pub const HOSTILE: &[&str] = &[
    "a&b=c",
    "x=y",
    "frag#ment",
    "nul\0byte",
    "../../admin",
    "..%2F..%2Fadmin",
    "a/b",
    "%2F",
    "%00%2e%2e%2f",
    "line\r\nX-Injected: 1",
    "tab\there",
    "日本語 ünïcødé 🚀",
    "\"},{\"columns\":{\"value\":\"userId\"},\"operators\":{\"value\":\"equals\"},\"userinput\":{\"value\":\"x\"},\"condition\":{\"value\":\"AND\"}}",
    "]},{\"$where\":\"1\"}",
    "?page_size=1000&userId=evil",
    "@evil.example.com",
    "//evil.example.com/x",
    "http://evil.example.com/",
    " spaced value ",
    "+plus+",
    "\\u0000",
    "';--",
];

/// Gateway parameters carrying a hostile value.
pub const PARAMS: &[&str] = &[
    "q",
    "service",
    "user_id",
    "attr.key",
    "attr.applicationId",
    "attr.promptId",
    "attr.forgeWorkflowId",
    "attr.userAgent",
];

/// What a provider's requests may look like.
pub struct Wire {
    /// The paths the adapter asks.
    pub paths: &'static [&'static str],
    /// Paths whose query is not checked (a token endpoint).
    pub unchecked_paths: &'static [&'static str],
    /// The query parameters the adapter sends.
    pub allowed: &'static [&'static str],
    /// gateway parameter -> upstream parameter that must carry it verbatim.
    pub pushed: &'static [(&'static str, &'static str)],
    /// `q` is pushed only where an ASCII-folding search cannot miss a
    /// match (spec §10); otherwise it must not be sent at all.
    pub q_only_if_ascii_superset: bool,
    /// The provider's own check of one request's query pairs, given the
    /// hostile value and a description of the request.
    pub check: fn(&[(String, String)], &str, &str),
}

/// No check of the provider's own.
pub fn no_check(_: &[(String, String)], _: &str, _: &str) {}

/// A gateway in front of one simulator, named `s0`.
pub struct Setup {
    pub gateway: Gateway,
    pub faults: Faults,
    pub wire: Wire,
    pub kind: &'static str,
    _served: Served,
}

impl Setup {
    /// Serves `sim` on loopback behind a gateway whose source `s0` is
    /// `kind` with the keys `table` (its credentials, as TOML lines).
    pub async fn serve(kind: &'static str, sim: &dyn Simulator, table: &str, wire: Wire) -> Setup {
        let served = serve_loopback(sim.router()).await.expect("simulator binds");
        let toml = format!(
            "[sources.s0]\nkind = \"{kind}\"\nbase_url = \"{}\"\n{table}{UNLIMITED}\n",
            served.base_url()
        );
        Setup {
            gateway: Gateway::start(&toml).await,
            faults: sim.faults().clone(),
            wire,
            kind,
            _served: served,
        }
    }

    /// Both checks: [`Setup::hostile_values`], then
    /// [`Setup::bad_encodings_stay_literal`].
    pub async fn run(&self, inserted: bool) {
        self.hostile_values(inserted).await;
        self.bad_encodings_stay_literal().await;
    }

    /// Every hostile value in every parameter: answered 200 and complete,
    /// every match really carries the value, and every request upstream
    /// passes [`Setup::check_request`]. With `inserted`, the source holds
    /// a record per hostile value carrying it as its service and as
    /// `<value>` its message, which `q` and `service` must find.
    pub async fn hostile_values(&self, inserted: bool) {
        // Warm up (a token grant) so the checks below see `/logs` traffic
        // plus whatever refreshes happen.
        let (status, body) = self.gateway.get("/logs?limit=1").await;
        assert_eq!(status, 200, "{body}");
        let mut checked = 0;
        for value in HOSTILE {
            for param in PARAMS {
                if *param == "q" && value.chars().count() > 256 {
                    continue;
                }
                self.faults.forget_seen();
                let path = format!("/logs?{param}={}&limit=50", encode(value));
                let (status, body) = self.gateway.get(&path).await;
                assert_eq!(status, 200, "{param}={value:?}: {body}");
                assert_eq!(body["partial"], false, "{param}={value:?}: {body}");
                let logs = body["logs"].as_array().unwrap();
                if inserted && matches!(*param, "q" | "service") {
                    let found = logs.iter().any(|log| {
                        log["service"] == *value && log["message"] == format!("<{value}>")
                    });
                    assert!(
                        found,
                        "{param}={value:?}: the inserted record is missing: {body}"
                    );
                }
                // Every match really carries the value (the gateway
                // applies every filter again).
                for log in logs {
                    let field = match *param {
                        "q" => continue,
                        "service" => &log["service"],
                        "user_id" => &log["user_id"],
                        attr => &log["attributes"][attr.trim_start_matches("attr.")],
                    };
                    assert_eq!(field, *value, "{param}={value:?}: {log}");
                }
                let seen = self.faults.seen();
                assert!(!seen.is_empty(), "{} was not asked", self.kind);
                for request in &seen {
                    self.check_request(request, param, value);
                    checked += 1;
                }
            }
        }
        assert!(checked >= HOSTILE.len() * PARAMS.len());
    }

    /// Invalid percent-encoding stays literal, never structure. (Bytes
    /// that are not UTF-8 once decoded are refused: `security_injection`.)
    pub async fn bad_encodings_stay_literal(&self) {
        for raw in ["q=%ZZ", "q=%", "q=a%26b%3Dc"] {
            self.faults.forget_seen();
            let (status, body) = self.gateway.get(&format!("/logs?{raw}&limit=3")).await;
            assert_eq!(status, 200, "{raw}: {body}");
            for request in self.faults.seen() {
                assert!(
                    self.wire.paths.contains(&request.path.as_str()),
                    "{raw}: {request:?}"
                );
            }
        }
    }

    /// Every check on one request the simulator received.
    fn check_request(&self, request: &SeenRequest, param: &str, value: &str) {
        let wire = &self.wire;
        let what = format!(
            "{} got {} {}?{} for {param}={value:?}",
            self.kind, request.method, request.path, request.query
        );
        assert!(
            wire.paths.contains(&request.path.as_str()),
            "{what}: unexpected path"
        );
        assert!(
            request.header("x-injected").is_none(),
            "{what}: injected header"
        );
        if wire.unchecked_paths.contains(&request.path.as_str()) {
            return;
        }
        let pairs = request.query_pairs();
        let names: Vec<&str> = pairs.iter().map(|(n, _)| n.as_str()).collect();
        let unique: BTreeSet<&str> = names.iter().copied().collect();
        assert_eq!(unique.len(), names.len(), "{what}: a repeated parameter");
        for name in &names {
            assert!(
                wire.allowed.contains(name),
                "{what}: unexpected parameter {name:?}"
            );
        }
        // A hostile value pushed anywhere must be in the expected
        // parameter, decoded back to exactly the input.
        for (gateway_param, upstream_param) in wire.pushed {
            let sent = pairs.iter().find(|(n, _)| n == upstream_param);
            if *gateway_param == param {
                if param == "q" && wire.q_only_if_ascii_superset && !ascii_search_is_superset(value)
                {
                    assert!(
                        sent.is_none(),
                        "{what}: a q the search could miss was pushed"
                    );
                    continue;
                }
                let (_, sent) =
                    sent.unwrap_or_else(|| panic!("{what}: {upstream_param} not pushed"));
                assert_eq!(sent, value, "{what}: value altered");
            }
        }
        for (name, sent) in &pairs {
            let expected_carrier = wire.pushed.iter().any(|(g, u)| *g == param && u == name);
            if sent.contains(value) && !expected_carrier {
                panic!("{what}: the value leaked into {name:?}");
            }
        }
        (wire.check)(&pairs, value, &what);
    }
}

pub fn encode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}
