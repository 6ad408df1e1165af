//! Error excerpts: at most 200 characters of an upstream body, whitespace
//! folded, every secret replaced by `[redacted]`.
//!
//! Every response is excerpted (its classifier may need a message), so a
//! large successful page must not be copied and folded whole: the excerpt is
//! computed from a prefix of the body just long enough that the cut cannot
//! change its first 200 characters, with the same result as excerpting the
//! whole body.

const EXCERPT_CHARS: usize = 200;
const REDACTED: &str = "[redacted]";

/// The excerpt of `body` with every one of `secrets` (and its
/// whitespace-folded form) redacted; secrets under 4 bytes are left alone.
pub(crate) fn excerpt(body: &[u8], secrets: &[&str]) -> String {
    let passes = redaction_passes(secrets);
    // How many trailing characters of the prefix's excerpt may differ from
    // the whole body's: the cut may split a character or a whitespace run,
    // and each redaction pass may miss a secret straddling the cut (the
    // text after the last sure point, at most `unsure + len` characters,
    // grows by at most `[redacted]`'s length per secret it holds).
    let mut unsure = 4usize;
    for pass in &passes {
        let chars = pass.chars().count().max(1);
        unsure = (unsure + chars).saturating_mul(REDACTED.len().div_ceil(chars).max(1));
    }
    let mut take = EXCERPT_CHARS
        .saturating_add(unsure)
        .saturating_mul(4)
        .max(1024);
    loop {
        let whole = take >= body.len();
        let text = redact(
            fold(&String::from_utf8_lossy(&body[..take.min(body.len())])),
            &passes,
        );
        let count = text.chars().count();
        if whole || count > EXCERPT_CHARS.saturating_add(unsure) {
            return if count > EXCERPT_CHARS {
                text.chars().take(EXCERPT_CHARS).collect::<String>() + "…"
            } else {
                text
            };
        }
        take = take.saturating_mul(4);
    }
}

/// Each secret as is and whitespace-folded (a secret with inner whitespace
/// would otherwise survive folding), in that order.
fn redaction_passes(secrets: &[&str]) -> Vec<String> {
    secrets
        .iter()
        .flat_map(|secret| [secret.to_string(), fold(secret)])
        .filter(|pass| pass.len() >= 4)
        .collect()
}

fn fold(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn redact(mut text: String, passes: &[String]) -> String {
    for pass in passes {
        if text.contains(pass.as_str()) {
            text = text.replace(pass.as_str(), REDACTED);
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The definition: fold the whole body, redact, cut.
    fn reference(body: &[u8], secrets: &[&str]) -> String {
        let mut folded = fold(&String::from_utf8_lossy(body));
        for secret in secrets {
            let secret_folded = fold(secret);
            for s in [*secret, secret_folded.as_str()] {
                if s.len() >= 4 {
                    folded = folded.replace(s, REDACTED);
                }
            }
        }
        if folded.chars().count() > EXCERPT_CHARS {
            folded = folded.chars().take(EXCERPT_CHARS).collect::<String>() + "…";
        }
        folded
    }

    #[test]
    fn a_large_body_is_excerpted_from_its_start() {
        let body = format!("{{\"logs\": [{}]}}", "{\"m\": \"x\"}, ".repeat(100_000));
        let got = excerpt(body.as_bytes(), &["s3cr3t-token"]);
        assert_eq!(got, reference(body.as_bytes(), &["s3cr3t-token"]));
        assert!(got.ends_with('…'));
    }

    #[test]
    fn a_secret_straddling_the_first_cut_is_still_redacted() {
        // Folded whitespace puts the secret within the first 200 characters
        // while its bytes straddle the first prefix's cut (1,056 bytes here).
        for pad in 660..720 {
            let body = format!(
                "{}{}tok en-9 tail {}",
                "é".repeat(180),
                " ".repeat(pad),
                "z ".repeat(3000)
            );
            let secrets = ["tok en-9", "ab"];
            let got = excerpt(body.as_bytes(), &secrets);
            assert_eq!(got, reference(body.as_bytes(), &secrets));
            assert!(got.contains("[redacted]") && !got.contains("tok"), "{got}");
        }
    }

    fn body_strategy() -> impl Strategy<Value = String> {
        let pieces = prop_oneof![
            Just("secret".to_string()),
            Just("sec ret".to_string()),
            Just("se".to_string()),
            Just("  \n\t".to_string()),
            Just("é".to_string()),
            Just("[redacted]".to_string()),
            "[a-z]{1,8}",
        ];
        proptest::collection::vec(pieces, 0..800).prop_map(|p| p.concat())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn equals_excerpting_the_whole_body(
            body in body_strategy(),
            secrets in proptest::collection::vec("(secret|sec ret|se|cret|ts|[a-z ]{1,6}){1,3}", 0..3),
            bytes in proptest::collection::vec(any::<u8>(), 0..64),
        ) {
            let secrets: Vec<&str> = secrets.iter().map(String::as_str).collect();
            let mut body = body.into_bytes();
            // Invalid UTF-8 at the end too.
            body.extend(bytes);
            prop_assert_eq!(excerpt(&body, &secrets), reference(&body, &secrets));
        }
    }
}
