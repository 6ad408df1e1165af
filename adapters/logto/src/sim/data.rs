//! Seeded sample audit logs shaped like Logto's: 21-character `[0-9a-z]`
//! ids, the documented keys, payloads with ip, user agent, user,
//! application and session, some failed with an `error` object or string.

use loggate_core::sim::SeededRng;
use serde_json::{json, Map, Value};

/// Keys as Logto writes them, with how often each appears (weights).
const KEYS: [(&str, u64); 10] = [
    ("ExchangeTokenBy.AuthorizationCode", 20),
    ("ExchangeTokenBy.RefreshToken", 18),
    ("ExchangeTokenBy.ClientCredentials", 10),
    ("RevokeToken", 6),
    ("Interaction.Create", 12),
    ("Interaction.End", 8),
    ("Interaction.SignIn.Submit", 12),
    ("Interaction.Register.Identifier.Submit", 5),
    ("JwtCustomizer.AccessToken", 6),
    ("Unknown", 3),
];

const USER_AGENTS: [&str; 5] = [
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:125.0) Gecko/20100101 Firefox/125.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
    "node-fetch/1.0 (+https://github.com/bitinn/node-fetch)",
    "curl/8.5.0",
];

const ERRORS: [(&str, &str); 4] = [
    ("session.invalid_credentials", "Wrong account or password."),
    ("oidc.invalid_grant", "Grant request is invalid."),
    ("user.suspended", "This account has been suspended."),
    (
        "session.verification_failed",
        "The verification was not successful.",
    ),
];

/// Everything records draw from, fixed per seed.
pub struct Pools {
    users: Vec<String>,
    apps: Vec<String>,
    m2m_apps: Vec<String>,
    timestamps: Vec<i64>,
}

impl Pools {
    pub fn new(
        rng: &mut SeededRng,
        now_ms: i64,
        span_ms: i64,
        distinct: Option<usize>,
        records: usize,
    ) -> Self {
        let span = span_ms.max(1) as u64;
        let mut timestamps: Vec<i64> = (0..distinct.unwrap_or(records).max(1))
            .map(|_| now_ms - rng.below(span + 1) as i64)
            .collect();
        timestamps.sort_unstable();
        Pools {
            users: (0..40).map(|_| rng.alnum(12)).collect(),
            apps: (0..5).map(|_| rng.alnum(21)).collect(),
            m2m_apps: (0..2).map(|_| rng.alnum(21)).collect(),
            timestamps,
        }
    }

    pub fn timestamp(&self, rng: &mut SeededRng) -> i64 {
        *rng.pick(&self.timestamps)
    }
}

fn pick_key(rng: &mut SeededRng) -> &'static str {
    let total: u64 = KEYS.iter().map(|(_, w)| w).sum();
    let mut roll = rng.below(total);
    for (key, weight) in KEYS {
        if roll < weight {
            return key;
        }
        roll -= weight;
    }
    "Unknown"
}

/// One log row as `GET /api/logs` returns it.
pub fn log_row(rng: &mut SeededRng, pools: &Pools, tenant_id: &str, created_at: i64) -> Value {
    let key = pick_key(rng);
    let mut payload = Map::new();
    payload.insert("key".into(), json!(key));
    let failed = rng.chance(12);
    payload.insert(
        "result".into(),
        json!(if failed { "Error" } else { "Success" }),
    );
    let machine = key == "ExchangeTokenBy.ClientCredentials";
    let app = if machine {
        rng.pick(&pools.m2m_apps)
    } else {
        rng.pick(&pools.apps)
    };
    if key != "Unknown" {
        payload.insert("applicationId".into(), json!(app));
    }
    let has_user = !machine
        && key != "Interaction.Create"
        && key != "Unknown"
        && !(failed && key.starts_with("Interaction."));
    if has_user {
        payload.insert("userId".into(), json!(rng.pick(&pools.users)));
    }
    if key.starts_with("Interaction.") || key == "ExchangeTokenBy.AuthorizationCode" {
        payload.insert("sessionId".into(), json!(rng.alnum(21)));
    }
    if !rng.chance(10) {
        let ip = format!(
            "{}.{}.{}.{}",
            1 + rng.below(223),
            rng.below(256),
            rng.below(256),
            1 + rng.below(254)
        );
        payload.insert("ip".into(), json!(ip));
        let user_agent = *rng.pick(&USER_AGENTS);
        payload.insert("userAgent".into(), json!(user_agent));
        if rng.chance(50) {
            payload.insert("userAgentParsed".into(), json!({"ua": user_agent, "browser": {}, "device": {}, "engine": {}, "os": {}, "cpu": {}}));
        }
    }
    if key.starts_with("ExchangeTokenBy.") {
        let grant = match key {
            "ExchangeTokenBy.AuthorizationCode" => "authorization_code",
            "ExchangeTokenBy.RefreshToken" => "refresh_token",
            _ => "client_credentials",
        };
        payload.insert(
            "params".into(),
            json!({"grant_type": grant, "client_id": app}),
        );
    }
    if failed {
        let (code, message) = *rng.pick(&ERRORS);
        // Logto stores either a serialised error object or a bare string.
        let error = if rng.chance(70) {
            json!({"code": code, "message": message})
        } else {
            json!(message)
        };
        payload.insert("error".into(), error);
    }
    json!({
        "tenantId": tenant_id,
        "id": rng.alnum(21),
        "key": key,
        "payload": Value::Object(payload),
        "createdAt": created_at,
    })
}
