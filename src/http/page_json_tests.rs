//! The hand-written page writer against `serde_json` writing
//! [`LogsPage`]: the same bytes, for every string and page shape.

use std::collections::BTreeMap;
use std::sync::Arc;

use loggate_core::{Level, LogRecord};
use proptest::prelude::*;
use serde_json::{json, Map, Value};

use super::*;
use crate::engine::{Page, ReportStatus, SourceReport};
use crate::http::LogsPage;

fn escaped(text: &str) -> String {
    let mut out = Vec::new();
    write_str(&mut out, text);
    String::from_utf8(out).unwrap()
}

fn reference(page: &Page) -> String {
    serde_json::to_string(&LogsPage::from(page)).unwrap()
}

fn written(page: &Page) -> String {
    let mut out = Vec::new();
    write_page(&mut out, page).unwrap();
    String::from_utf8(out).unwrap()
}

/// Every character below U+0100 and a few beyond, alone and at every
/// offset of a word (the fast path reads eight bytes at a time).
#[test]
fn strings_are_escaped_as_serde_json_escapes_them() {
    let mut chars: Vec<char> = (0u32..0x100).filter_map(char::from_u32).collect();
    chars.extend([
        '\u{2028}',
        '\u{2029}',
        '\u{feff}',
        'é',
        '€',
        '😀',
        '\u{10ffff}',
    ]);
    for c in chars {
        for pad in 0..17 {
            let text = format!("{}{c}{}", "a".repeat(pad), "b".repeat(17 - pad));
            assert_eq!(
                escaped(&text),
                serde_json::to_string(&text).unwrap(),
                "{c:?} at {pad}"
            );
        }
    }
    for text in [
        "",
        "\"",
        "\\",
        "\"\\\"\\",
        "a\"b\\c\nd\u{1}e\u{1f}f\u{7f}",
        "/</script>",
    ] {
        assert_eq!(
            escaped(text),
            serde_json::to_string(text).unwrap(),
            "{text:?}"
        );
    }
}

proptest! {
    #[test]
    fn any_string_is_escaped_as_serde_json_escapes_it(
        text in "(\\PC|[\\x00-\\x1f\"\\\\/\u{7f}])*",
        other in any::<String>(),
    ) {
        prop_assert_eq!(escaped(&text), serde_json::to_string(&text).unwrap());
        prop_assert_eq!(escaped(&other), serde_json::to_string(&other).unwrap());
    }
}

fn record(i: usize, text: &str) -> LogRecord {
    let mut attributes = Map::new();
    attributes.insert("path".into(), Value::String(format!("/a/{text}")));
    attributes.insert(format!("k{text}"), json!(i));
    attributes.insert("nested".into(), json!({"a": [1, 2.5, null, true, text]}));
    attributes.insert("big".into(), json!(12345678901234567890u64));
    LogRecord {
        native_id: format!("id-{i}-{text}"),
        timestamp_ms: [1_745_948_650_432, -1, 0, 253_402_300_800_000, i64::MIN][i % 5],
        level: Level::ALL[i % Level::ALL.len()],
        message: format!("message {i}: {text}"),
        service: i.is_multiple_of(2).then(|| format!("svc{text}")),
        user_id: i.is_multiple_of(3).then(|| text.to_string()),
        attributes,
        raw: (i % 4 == 1).then(|| json!({"raw": text, "n": i})),
    }
}

fn page(texts: &[&str], partial: bool, caught_up: Option<bool>) -> Page {
    let logs = texts
        .iter()
        .enumerate()
        .map(|(i, text)| {
            let source: Arc<str> =
                format!("src{}{}", i % 2, if i == 3 { *text } else { "" }).into();
            (source, "leveled", record(i, text))
        })
        .collect();
    let mut sources = BTreeMap::new();
    sources.insert("src0".to_string(), SourceReport::default());
    sources.insert(
        "src\"1".to_string(),
        SourceReport {
            status: ReportStatus::Error,
            error: Some(("upstream_error".into(), "bad \"answer\"\n".into())),
            pushed: vec!["q".into()],
            ..SourceReport::default()
        },
    );
    Page {
        logs,
        next_cursor: partial.then(|| "AQ-_x".to_string()),
        partial,
        caught_up,
        sources,
        warnings: if partial {
            vec!["src\"1: failed\t".into()]
        } else {
            Vec::new()
        },
        room: None,
    }
}

#[test]
fn pages_are_written_as_serde_json_writes_them() {
    let texts = [
        "plain",
        "q\"uote",
        "back\\slash",
        "ctl\u{1}\u{8}\u{c}\n\r\t",
        "é€😀",
        "",
        "a/b\u{7f}",
    ];
    for partial in [false, true] {
        for caught_up in [None, Some(false), Some(true)] {
            for n in 0..=texts.len() {
                let page = page(&texts[..n], partial, caught_up);
                assert_eq!(
                    written(&page),
                    reference(&page),
                    "{n} logs, {partial}, {caught_up:?}"
                );
            }
        }
    }
}

proptest! {
    #[test]
    fn any_page_is_written_as_serde_json_writes_it(
        texts in proptest::collection::vec("(\\PC|[\\x00-\\x1f\"\\\\])*", 0..6),
        partial in any::<bool>(),
        caught_up in proptest::option::of(any::<bool>()),
    ) {
        let texts: Vec<&str> = texts.iter().map(String::as_str).collect();
        let page = page(&texts, partial, caught_up);
        prop_assert_eq!(written(&page), reference(&page));
    }
}
