//! Seeded, realistic sample entries for the simulator: the services and
//! message shapes of the provider's documentation, `details` with numeric
//! or string `user_id`s, IP addresses, ids and durations, every documented
//! level and now and then an undocumented one (`NOTICE`).

use loggate_core::sim::SeededRng;
use loggate_core::time::format_ms;
use serde_json::{json, Map, Value};

const SERVICES: [&str; 8] = [
    "user-service",
    "payment-gateway",
    "product-service",
    "order-service",
    "auth-service",
    "notification-service",
    "inventory-service",
    "api-gateway",
];

const USER_AGENTS: [&str; 4] = [
    "PostmanRuntime/7.28.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7)",
    "okhttp/4.9.3",
    "curl/8.4.0",
];

/// An entry's timestamp as the provider writes it: whole seconds with `Z`
/// (the documented form), or with milliseconds when `millis` is set.
pub(crate) fn format_timestamp(ms: i64, millis: bool) -> String {
    let full = format_ms(ms);
    if millis || full.len() < 20 {
        return full;
    }
    format!("{}Z", &full[..19])
}

/// The instants entries are stamped with: at most `distinct` of them in
/// `[now - span, now]`, whole seconds unless `millis`.
pub(crate) fn instants(
    rng: &mut SeededRng,
    distinct: usize,
    now_ms: i64,
    span_ms: i64,
    millis: bool,
) -> Vec<i64> {
    let unit = if millis { 1 } else { 1000 };
    let first = (now_ms - span_ms.max(0)).div_euclid(unit) + 1;
    let last = now_ms.div_euclid(unit);
    let slots = (last - first + 1).max(1) as u64;
    (0..distinct.max(1))
        .map(|_| (first + rng.below(slots) as i64) * unit)
        .collect()
}

/// One entry stamped `ts`.
pub(crate) fn entry(rng: &mut SeededRng, ts: i64, millis: bool) -> Value {
    let level = match rng.below(100) {
        0..=47 => "INFO",
        48..=62 => "DEBUG",
        63..=77 => "WARN",
        78..=92 => "ERROR",
        93..=96 => "FATAL",
        _ => "NOTICE",
    };
    let service = *rng.pick(&SERVICES);
    let mut details = Map::new();
    let user = match rng.below(10) {
        0..=5 => Some(json!(10_000 + rng.below(90_000))),
        6..=7 => Some(json!(format!("usr_{}", rng.hex(8)))),
        _ => None,
    };
    let user_text = user.as_ref().map_or("anonymous".to_string(), |u| match u {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    });
    if let Some(user) = user {
        details.insert("user_id".into(), user);
    }
    if rng.chance(70) {
        let ip = format!(
            "{}.{}.{}",
            rng.pick(&["192.168", "10.0", "172.16"]),
            rng.below(256),
            rng.below(256)
        );
        details.insert("ip_address".into(), json!(ip));
    }
    let message = message(rng, level, &user_text, &mut details);
    let mut object = Map::new();
    object.insert("timestamp".into(), json!(format_timestamp(ts, millis)));
    object.insert("level".into(), json!(level));
    object.insert("service".into(), json!(service));
    object.insert("message".into(), json!(message));
    // `details` is optional in the documentation.
    if !details.is_empty() || rng.chance(50) {
        object.insert("details".into(), Value::Object(details));
    }
    Value::Object(object)
}

fn message(
    rng: &mut SeededRng,
    level: &str,
    user: &str,
    details: &mut Map<String, Value>,
) -> String {
    let product = 1000 + rng.below(9000);
    let order = format!("ord_{}", rng.alnum(10));
    let millis = 5 + rng.below(4000);
    let variant = rng.below(4);
    let mut put = |key: &str, value: Value| {
        details.insert(key.to_string(), value);
    };
    match (level, variant) {
        ("INFO", 0) => format!("User {user} logged in successfully"),
        ("INFO", 1) => {
            put("product_id", json!(product));
            put("user_agent", json!(rng.pick(&USER_AGENTS)));
            format!("Product with ID {product} retrieved successfully.")
        }
        ("INFO", 2) => {
            put("order_id", json!(order));
            format!("Order {order} created")
        }
        ("INFO", _) => {
            put("duration_ms", json!(millis));
            format!("GET /api/v1/products/{product} completed in {millis} ms")
        }
        ("DEBUG", 0) => format!("Cache miss for key product:{product}"),
        ("DEBUG", 1) => {
            put("duration_ms", json!(millis));
            format!("Executing query on table orders took {millis} ms")
        }
        ("DEBUG", _) => format!("Token refreshed for session sess_{}", rng.alnum(12)),
        ("WARN", 0) => {
            put("duration_ms", json!(millis));
            format!("Slow response from inventory database: {millis} ms")
        }
        ("WARN", 1) => {
            put("attempt", json!(1 + rng.below(3)));
            "Retrying payment provider call after timeout".to_string()
        }
        ("WARN", _) => format!("Rate limit nearly reached for user {user}"),
        ("ERROR", 0) => {
            format!("Failed to authenticate user: invalid credentials for user_id {user}")
        }
        ("ERROR", 1) => {
            put("order_id", json!(order));
            put("error_code", json!("card_declined"));
            format!("Payment declined for order {order}: insufficient funds")
        }
        ("ERROR", 2) => {
            put("upstream", json!("inventory-service"));
            "Timeout while calling inventory-service".to_string()
        }
        ("ERROR", _) => format!("Failed to send email notification to user {user}"),
        ("FATAL", 0) => "Database connection pool exhausted".to_string(),
        ("FATAL", _) => format!("Out of memory: killing worker process {}", rng.below(64)),
        _ => "Configuration reloaded from /etc/app/config.yaml".to_string(),
    }
}

/// The seeded data set of a simulator.
pub(crate) fn generate(
    seed: u64,
    records: usize,
    distinct: usize,
    now_ms: i64,
    span_ms: i64,
    millis: bool,
) -> Vec<Value> {
    let mut rng = SeededRng::new(seed);
    let instants = instants(&mut rng, distinct, now_ms, span_ms, millis);
    (0..records)
        .map(|_| {
            let ts = *rng.pick(&instants);
            entry(&mut rng, ts, millis)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_use_the_documented_form_unless_millis() {
        assert_eq!(
            format_timestamp(1_698_402_915_000, false),
            "2023-10-27T10:35:15Z"
        );
        assert_eq!(
            format_timestamp(1_698_402_915_042, true),
            "2023-10-27T10:35:15.042Z"
        );
    }

    #[test]
    fn generation_is_seeded_and_stays_in_the_window() {
        let now = 1_700_000_000_500;
        let a = generate(7, 200, 20, now, 3_600_000, false);
        assert_eq!(a, generate(7, 200, 20, now, 3_600_000, false));
        let stamps: std::collections::BTreeSet<String> = a
            .iter()
            .map(|e| e["timestamp"].as_str().unwrap().to_string())
            .collect();
        assert!(stamps.len() <= 20);
        for stamp in &stamps {
            let ms = loggate_core::time::parse_rfc3339_ms(stamp).unwrap();
            assert!(ms > now - 3_600_000 && ms <= now, "{stamp}");
        }
    }
}
