//! Case folding of `q` and the ASCII-search pushdown rule (issue 11,
//! items 6 and 7).

use super::*;
use proptest::prelude::*;

/// Issue 11, item 6: lower-casing turns the final sigma into `ς`.
#[test]
fn q_folds_the_whole_unicode_case() {
    assert!(contains_case_insensitive("ΟΔΟΣΤΡΩΜΑ repaired", "ΟΔΟΣ"));
    assert!(contains_case_insensitive("ΟΔΟΣΤΡΩΜΑ repaired", "οδος"));
    assert!(contains_case_insensitive("οδός", "ΟΔΌΣ"));
    assert!(contains_case_insensitive(
        "Die Straße ist gesperrt",
        "STRASSE"
    ));
    assert!(contains_case_insensitive("DIE STRASSE", "straße"));
    assert!(contains_case_insensitive("Über-Dienst gestartet", "über"));
    assert!(contains_case_insensitive("ÜBER-DIENST", "über"));
    assert!(contains_case_insensitive("Ошибка входа", "ОШИБКА"));
    assert!(contains_case_insensitive("ﬁle written", "FILE"));
    assert!(contains_case_insensitive("200 \u{212a}B", "kb"));
    assert!(contains_case_insensitive("Failed to LOGIN", "login"));
    assert!(contains_case_insensitive("ÉCHEC de connexion", "échec"));
    assert!(contains_case_insensitive("日本語のログ", "本語"));
    assert!(!contains_case_insensitive("ΟΔΟΣ", "ΟΔΟΣΤΡΩΜΑ"));
    assert!(!contains_case_insensitive("ok", "fail"));
    assert!(!contains_case_insensitive("Über", "uber"));
}

/// The list the pushdown rule rests on, recomputed from the tables.
#[test]
fn folds_reaching_ascii_match_the_folding_tables() {
    let mut found: Vec<String> = Vec::new();
    for c in (0x80u32..=0x10FFFF).filter_map(char::from_u32) {
        let fold = fold_case(c.encode_utf8(&mut [0; 4]));
        if fold.chars().any(|f| f.is_ascii()) && !found.contains(&fold) {
            found.push(fold);
        }
    }
    let mut listed: Vec<String> = FOLDS_REACHING_ASCII.iter().map(|s| s.to_string()).collect();
    found.sort();
    listed.sort();
    assert_eq!(found, listed);
}

#[test]
fn only_queries_no_non_ascii_letter_can_reach_are_pushed_to_an_ascii_search() {
    for q in [
        "error",
        "ERROR",
        "Error 500",
        "GET /",
        "db down",
        "v2.1",
        "queue",
    ] {
        assert!(ascii_search_is_superset(q), "{q}");
    }
    for q in [
        "", "über", "ΟΔΟΣ", "ok", "class", "login", "st", "sta", "fail", "wait", "ti", "data",
        "ni", "ja", "sh", "quota",
    ] {
        assert!(!ascii_search_is_superset(q), "{q}");
    }
}

/// Characters that fold interestingly, plus plain ASCII letters.
fn haystack_char() -> impl Strategy<Value = char> {
    prop::sample::select(vec![
        'a', 'A', 'e', 'E', 'f', 'i', 'k', 'K', 'l', 'n', 'o', 'r', 's', 'S', 't', 'w', 'y', ' ',
        'ß', 'ẞ', 'ſ', '\u{212a}', 'ﬁ', 'ﬂ', 'ﬀ', 'ﬃ', 'ﬅ', 'İ', 'ŉ', 'ǰ', 'ẖ', 'ẗ', 'ẘ', 'ẙ', 'ẚ',
        'É', 'é', 'Σ', 'σ', 'ς', 'Ω',
    ])
}

fn ascii_contains(haystack: &str, needle: &str) -> bool {
    let needle = needle.as_bytes();
    haystack
        .as_bytes()
        .windows(needle.len())
        .any(|w| w.eq_ignore_ascii_case(needle))
}

proptest! {
    /// A `q` judged pushable is found by an ASCII-folding search wherever
    /// the gateway's matcher finds it: pushing only over-selects.
    #[test]
    fn a_pushable_q_is_found_by_an_ascii_search_wherever_we_match(
        haystack in prop::collection::vec(haystack_char(), 0..24),
        q in "[a-zA-Z ]{1,4}",
    ) {
        let haystack: String = haystack.into_iter().collect();
        if ascii_search_is_superset(&q) && contains_case_insensitive(&haystack, &q) {
            prop_assert!(ascii_contains(&haystack, &q), "{:?} in {:?}", q, haystack);
        }
    }

    /// Matching agrees with a reference: the caseless crate's own
    /// caseless equality on every window of folded characters, and the
    /// matcher is blind to the case of either side.
    #[test]
    fn matching_is_case_blind_like_the_reference(
        text in prop::collection::vec(haystack_char(), 1..16),
        from in any::<prop::sample::Index>(),
        len in 1usize..6,
    ) {
        let text: String = text.into_iter().collect();
        let chars: Vec<char> = text.chars().collect();
        let start = from.index(chars.len());
        let part: String = chars[start..(start + len).min(chars.len())].iter().collect();
        prop_assert!(contains_case_insensitive(&text, &part));
        prop_assert!(contains_case_insensitive(&text.to_uppercase(), &part.to_lowercase()));
        prop_assert!(contains_case_insensitive(&text.to_lowercase(), &part.to_uppercase()));
        prop_assert!(caseless::default_caseless_match_str(&text.to_uppercase(), &text));
    }
}
