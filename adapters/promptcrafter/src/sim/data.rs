//! Seeded sample data for the simulator: prompts with themes, realistic
//! model outputs, reviewer notes and scores, and `createdAt` values that
//! share timestamps often (batch test runs log several outputs at once).

use loggate_core::sim::{SeededRng, SimSpec};
use loggate_core::time::format_ms;
use serde_json::{json, Value};

use super::Quirks;

const MODELS: &[&str] = &[
    "GPT-4o",
    "GPT-4o mini",
    "GPT-4 Turbo",
    "Claude 3.5 Sonnet",
    "Claude 3 Opus",
    "Claude 3 Sonnet",
    "Gemini 1.5 Pro",
    "Llama 3 70B",
    "Mistral Large",
    "Grok-3 Beta",
];

/// (outputs, notes) of one kind of prompt.
const THEMES: &[(&[&str], &[&str])] = &[
    (
        &[
            "The business report finds that revenue increased 12% last quarter, driven by strong online sales. Recommendations include expanding digital marketing and improving supply chain efficiency.",
            "Revenue grew 8% quarter over quarter while margins narrowed to 21%. The report recommends renegotiating freight contracts and pausing two underperforming product lines.",
            "Q3 summary: subscription revenue up 15%, churn down to 3.1%. Leadership should prioritise the enterprise tier and monitor supplier stability.",
        ],
        &["Summary is clear and actionable. Matches requirements.", "Missed the risk section; otherwise accurate.", "Too long for an executive summary."],
    ),
    (
        &[
            "Dear Ms. Lee, I sincerely apologize for the delay in your order. We have expedited your shipment and included a discount on your next purchase. Thank you for your patience.",
            "Dear Mr. Alvarez, we are sorry your package arrived damaged. A replacement ships today at no cost, and a prepaid return label is attached.",
            "Hi Sam, thanks for flagging the double charge. We have refunded the duplicate payment; it should appear within 3-5 business days.",
        ],
        &["Professional and empathetic. Offers compensation as requested.", "Tone slightly too formal for our brand.", "Forgot to mention the refund timeline."],
    ),
    (
        &[
            "The e-bike is fantastic! Its long battery life and smooth pedal assist make my commute a joy. I especially love the integrated lights for safety.",
            "Solid commuter e-bike: 60 km of range, quick folding, but the seat is uncomfortable on longer rides. Four stars.",
            "Great value for the price. Assembly took twenty minutes and the app pairs instantly; the brakes needed adjusting out of the box.",
        ],
        &["Good review, meets all prompt criteria.", "Reads like marketing copy, not a customer.", "Mentions a feature the product does not have."],
    ),
    (
        &[
            "The Industrial Revolution transformed how people lived and worked, moving production from homes to factories powered by steam engines.",
            "Between 1760 and 1840, new machines such as the spinning jenny and the steam engine changed Britain from a farming society to an industrial one.",
            "Think of the Industrial Revolution as the moment machines started doing work that hands used to do, which moved families from villages to cities.",
        ],
        &["Clear, accessible explanation for students. Good tone.", "Dates are right; vocabulary too advanced for grade 6.", "Good analogy, lacks examples."],
    ),
    (
        &[
            "SELECT customer_id, SUM(total) AS revenue FROM orders WHERE created_at >= NOW() - INTERVAL '30 days' GROUP BY customer_id ORDER BY revenue DESC LIMIT 10;",
            "SELECT c.name, COUNT(o.id) FROM customers c LEFT JOIN orders o ON o.customer_id = c.id GROUP BY c.name HAVING COUNT(o.id) = 0;",
            "WITH monthly AS (SELECT date_trunc('month', created_at) m, SUM(total) t FROM orders GROUP BY 1) SELECT m, t, t - LAG(t) OVER (ORDER BY m) AS delta FROM monthly;",
        ],
        &["Correct and efficient query.", "Uses a non-portable function; fine for Postgres.", "Forgot the index hint we asked for."],
    ),
    (
        &[
            "The function mutates its input list; consider returning a new list. The nested loop makes it O(n^2): a dictionary lookup brings it to O(n).",
            "Missing error handling around the HTTP call: a timeout will crash the worker. Also, the variable name `tmp2` does not explain its purpose.",
            "Looks good overall. Suggest extracting the retry logic into a helper and adding a test for the empty-input case.",
        ],
        &["Actionable review comments.", "Flagged a non-issue as a bug.", "Concise and correct."],
    ),
    (
        &[
            "Big news: our spring collection drops Friday at 9am! Early subscribers get 20% off. #SpringStyle",
            "Your Monday just got better: free shipping on every order this week. Link in bio.",
            "We planted 10,000 trees this year thanks to you. Here is to the next 10,000!",
        ],
        &["Fits the character limit, on brand.", "Hashtag use is excessive.", "Great hook."],
    ),
    (
        &[
            "Bonjour, merci pour votre commande. Votre colis sera expédié sous 48 heures.",
            "Estimado cliente, su reembolso ha sido procesado y se reflejará en su cuenta en cinco días hábiles.",
            "Sehr geehrte Damen und Herren, vielen Dank für Ihre Anfrage. Wir melden uns innerhalb von 24 Stunden.",
        ],
        &["Accurate translation, natural phrasing.", "Too literal in the second sentence.", "Wrong formality level."],
    ),
];

/// Outputs of failed generations: the "error records" of a prompt log.
const FAILURES: &[&str] = &[
    "I'm sorry, but I can't help with that request.",
    "Error: the model returned an empty completion (finish_reason=length).",
    "As an AI language model, I cannot access real-time data about your orders.",
];
const FAILURE_NOTES: &[&str] = &[
    "Refusal; prompt needs rewording.",
    "Truncated output; raise max_tokens.",
    "Hallucinated a limitation.",
];

/// A prompt of the simulated user.
#[derive(Debug, Clone)]
pub struct Prompt {
    pub id: String,
    theme: usize,
}

pub fn prompts(rng: &mut SeededRng, records: usize) -> Vec<Prompt> {
    let count = (records / 25).clamp(4, 80);
    (0..count)
        .map(|i| Prompt {
            id: rng.hex(24),
            theme: i % THEMES.len(),
        })
        .collect()
}

/// The `createdAt` of each initial record, within [now - span, now], with
/// many shared values. Roughly one in five falls on a whole second, so
/// that the as-built service's second-precision form (`...:00Z`) ties with
/// the millisecond form of the same instant.
pub fn timestamps(rng: &mut SeededRng, spec: &SimSpec) -> Vec<i64> {
    let span = spec.span_ms.max(0);
    let fresh = |rng: &mut SeededRng| {
        let ts = spec.now_ms - rng.below(span as u64 + 1) as i64;
        let whole = ts - ts.rem_euclid(1000);
        if rng.chance(20) && whole >= spec.now_ms - span {
            whole
        } else {
            ts
        }
    };
    match spec.distinct_timestamps {
        Some(distinct) => {
            let pool: Vec<i64> = (0..distinct.max(1)).map(|_| fresh(rng)).collect();
            (0..spec.records).map(|_| *rng.pick(&pool)).collect()
        }
        None => {
            let mut out: Vec<i64> = Vec::with_capacity(spec.records);
            for _ in 0..spec.records {
                let ts = if !out.is_empty() && rng.chance(30) {
                    *rng.pick(&out)
                } else {
                    fresh(rng)
                };
                out.push(ts);
            }
            out
        }
    }
}

/// One native log as the service stores and returns it.
pub fn log(rng: &mut SeededRng, prompt: &Prompt, created_ms: i64, quirks: Quirks) -> Value {
    let (outputs, notes) = THEMES[prompt.theme % THEMES.len()];
    let failed = rng.chance(6);
    let (output, note) = if failed {
        (*rng.pick(FAILURES), *rng.pick(FAILURE_NOTES))
    } else {
        (*rng.pick(outputs), *rng.pick(notes))
    };
    let score = match (failed, rng.chance(15)) {
        (true, _) => json!(1 + rng.below(3)),
        (false, true) => json!(5.5 + rng.below(5) as f64),
        (false, false) => json!(6 + rng.below(5)),
    };
    let mut log = json!({
        "_id": rng.hex(24),
        "promptId": prompt.id,
        "output": output,
        "modelUsed": rng.pick(MODELS),
        "notes": note,
        "score": score,
        "createdAt": created_at(rng, created_ms, quirks),
    });
    if quirks == Quirks::AsBuilt {
        // Mongoose's timestamps and version key, and optional fields the
        // real schema does not require.
        let edited = if rng.chance(10) {
            rng.below(3_600_000) as i64
        } else {
            0
        };
        log["updatedAt"] = json!(format_ms(created_ms + edited));
        log["__v"] = json!(0);
        if let Some(fields) = log.as_object_mut() {
            if rng.chance(20) {
                fields.remove("notes");
            }
            if rng.chance(10) {
                fields.remove("score");
            }
        }
    }
    log
}

/// As documented, always with milliseconds; as built, whole seconds are
/// sometimes written without them.
fn created_at(rng: &mut SeededRng, ms: i64, quirks: Quirks) -> String {
    let text = format_ms(ms);
    if quirks == Quirks::AsBuilt && ms.rem_euclid(1000) == 0 && rng.chance(50) {
        text.replace(".000Z", "Z")
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::SimConfig;

    #[test]
    fn timestamps_stay_in_the_window_and_tie() {
        let spec = SimSpec {
            records: 500,
            distinct_timestamps: Some(40),
            ..SimConfig::default().spec
        };
        let stamps = timestamps(&mut SeededRng::new(3), &spec);
        assert_eq!(stamps.len(), 500);
        assert!(stamps
            .iter()
            .all(|t| (spec.now_ms - spec.span_ms..=spec.now_ms).contains(t)));
        let distinct: std::collections::BTreeSet<_> = stamps.iter().collect();
        assert!(distinct.len() <= 40);
        let free = timestamps(
            &mut SeededRng::new(3),
            &SimSpec {
                records: 500,
                ..SimConfig::default().spec
            },
        );
        let distinct: std::collections::BTreeSet<_> = free.iter().collect();
        assert!(distinct.len() < 450, "default data should share timestamps");
    }

    #[test]
    fn as_built_logs_carry_mongoose_fields() {
        let mut rng = SeededRng::new(9);
        let prompt = prompts(&mut rng, 100).remove(0);
        let logs: Vec<Value> = (0..200)
            .map(|_| log(&mut rng, &prompt, 1_718_888_400_000, Quirks::AsBuilt))
            .collect();
        assert!(logs
            .iter()
            .all(|l| l["__v"] == json!(0) && l["updatedAt"].is_string()));
        assert!(logs.iter().any(|l| l.get("notes").is_none()));
        assert!(logs.iter().any(|l| l.get("score").is_none()));
        assert!(logs
            .iter()
            .any(|l| l["score"].as_f64().is_some_and(|s| s.fract() != 0.0)));
        assert!(logs
            .iter()
            .any(|l| l["createdAt"] == json!("2024-06-20T13:00:00Z")));
        let documented = log(&mut rng, &prompt, 1_718_888_400_000, Quirks::Documented);
        assert!(documented.get("__v").is_none() && documented.get("notes").is_some());
    }
}
