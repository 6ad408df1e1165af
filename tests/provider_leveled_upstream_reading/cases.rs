//! The cases of issue 11 (items 1-4, 6-11) with its failing inputs and
//! variants.

use super::*;

/// Item 1: `limit=1` gave B, then the cursor's `endDate=...123Z` lost A.
#[tokio::test]
async fn sub_millisecond_stamps_are_never_lost_between_pages() {
    let records = [
        record("2024-06-03T10:00:00.123250Z", "A"),
        record("2024-06-03T10:00:00.123750Z", "B"),
        record("2024-06-03T10:00:00.1239Z", "C"),
        record("2024-06-03T12:00:00.123999999+02:00", "D"),
        record("2024-06-03T10:00:00.124000001Z", "E"),
        record("2024-06-03T10:00:00.1229999Z", "F"),
        record("2024-06-03T10:00:00.0005Z", "G"),
    ];
    let setup = Setup::start(&records, Wrap::default(), "").await;
    for order in ["desc", "asc"] {
        for limit in [1, 2, 3, 50] {
            let logs = setup.all(&format!("order={order}"), limit).await;
            assert_eq!(
                sorted_messages(&logs),
                ["A", "B", "C", "D", "E", "F", "G"],
                "{order} {limit}"
            );
            let at_123 = logs
                .iter()
                .filter(|l| l["timestamp"] == "2024-06-03T10:00:00.123Z")
                .count();
            assert_eq!(at_123, 4, "{order} {limit}");
        }
    }
    // The user's own bounds: the whole of each millisecond.
    for (query, want) in [
        (
            "start=2024-06-03T10:00:00.123Z&end=2024-06-03T10:00:00.123Z",
            vec!["A", "B", "C", "D"],
        ),
        (
            "end=2024-06-03T10:00:00.123Z",
            vec!["A", "B", "C", "D", "F", "G"],
        ),
        (
            "start=2024-06-03T10:00:00.123Z",
            vec!["A", "B", "C", "D", "E"],
        ),
        ("end=2024-06-03T10:00:00.000Z", vec!["G"]),
    ] {
        for limit in [1, 10] {
            let logs = setup.all(query, limit).await;
            assert_eq!(sorted_messages(&logs), want, "{query} {limit}");
        }
    }
    assert!(setup
        .seen_queries()
        .iter()
        .any(|q| q.contains("endDate=2024-06-03T10%3A00%3A00.123999999Z")));
}

/// Items 2 and 3: `+0000` was skipped; a leap second failed the source.
#[tokio::test]
async fn every_spelling_and_a_leap_second_are_read_in_order() {
    let records = [
        record("2024-06-03T10:00:01+0000", "plus0000"),
        record("2024-06-03T11:00:02+01", "plus01"),
        record("2024-06-03t10:00:03.25z", "lower"),
        record("2024-06-03T04:30:04-0530", "minus0530"),
        record("2024-06-03T10:00:05.123456789123+00:00", "twelve digits"),
        record("2017-01-01T00:00:00.500Z", "new year"),
        record("2016-12-31T23:59:60.750Z", "leap"),
        record("2016-12-31T23:59:59.998Z", "before"),
    ];
    let want = [
        ("2024-06-03T10:00:05.123Z", "twelve digits"),
        ("2024-06-03T10:00:04.000Z", "minus0530"),
        ("2024-06-03T10:00:03.250Z", "lower"),
        ("2024-06-03T10:00:02.000Z", "plus01"),
        ("2024-06-03T10:00:01.000Z", "plus0000"),
        ("2017-01-01T00:00:00.500Z", "new year"),
        ("2016-12-31T23:59:59.999Z", "leap"),
        ("2016-12-31T23:59:59.998Z", "before"),
    ];
    let want: Vec<(String, String)> = want
        .iter()
        .map(|(t, m)| (t.to_string(), m.to_string()))
        .collect();
    let setup = Setup::start(&records, Wrap::default(), "").await;
    for limit in [1, 2, 100] {
        assert_eq!(
            pairs(&setup.all("order=desc", limit).await),
            want,
            "desc {limit}"
        );
        let mut asc = want.clone();
        asc.reverse();
        assert_eq!(
            pairs(&setup.all("order=asc", limit).await),
            asc,
            "asc {limit}"
        );
    }
    // Only the two records of the issue's leap-second example.
    let leap = Setup::start(&records[5..7], Wrap::default(), "").await;
    let (status, body) = leap.gateway.get("/logs").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        sorted_messages(body["logs"].as_array().unwrap()),
        ["leap", "new year"]
    );
    assert_eq!(body["logs"][0]["message"], "new year");
}

/// Item 4: `"logs": null` for the empty window after the last log.
#[tokio::test]
async fn a_null_list_ends_the_traversal_instead_of_failing_it() {
    let records: Vec<String> = (0..5)
        .map(|i| record(&format!("2024-06-03T10:00:0{i}Z"), &format!("m{i}")))
        .collect();
    let setup = Setup::start(&records, Wrap::default(), "").await;
    for order in ["desc", "asc"] {
        for limit in [1, 2, 4, 5, 6] {
            let logs = setup.all(&format!("order={order}"), limit).await;
            assert_eq!(logs.len(), 5, "{order} {limit}");
        }
    }
    let empty = Setup::start(&[], Wrap::default(), "").await;
    let (status, body) = empty.gateway.get("/logs").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["logs"], serde_json::json!([]));
    assert_eq!(body["next_cursor"], Value::Null);
}

/// Items 6, 7 and 11: full case folding, pushdown only where the
/// upstream's ASCII-only search cannot lose a match, `%20` for a space.
#[tokio::test]
async fn q_matches_unicode_and_pushdown_never_narrows() {
    let records = [
        record("2024-06-03T10:00:01Z", "Über-Dienst gestartet"),
        record("2024-06-03T10:00:02Z", "ΟΔΟΣΤΡΩΜΑ repaired"),
        record("2024-06-03T10:00:03Z", "paid 5 EUR"),
        record("2024-06-03T10:00:04Z", "paid 5+EUR"),
        record("2024-06-03T10:00:05Z", "Die Straße ist gesperrt"),
        record("2024-06-03T10:00:06Z", "Ошибка входа"),
        record("2024-06-03T10:00:07Z", "ﬂogin ok"),
    ];
    for pushdown in ["", "search_pushdown = false"] {
        let setup = Setup::start(&records, Wrap::default(), pushdown).await;
        for (q, want, pushed) in [
            ("über", "Über-Dienst gestartet", false),
            ("%C3%9CBER", "Über-Dienst gestartet", false),
            ("ΟΔΟΣ", "ΟΔΟΣΤΡΩΜΑ repaired", false),
            ("οδοσ", "ΟΔΟΣΤΡΩΜΑ repaired", false),
            ("5%20EUR", "paid 5 EUR", true),
            ("5%2BEUR", "paid 5+EUR", true),
            ("strasse", "Die Straße ist gesperrt", false),
            ("ОШИБКА", "Ошибка входа", false),
            ("login", "ﬂogin ok", false),
        ] {
            setup.seen.lock().unwrap().clear();
            let (status, body) = setup.gateway.get(&format!("/logs?q={q}")).await;
            assert_eq!(status, 200, "{q}: {body}");
            assert_eq!(
                sorted_messages(body["logs"].as_array().unwrap()),
                [want],
                "{q} {pushdown}"
            );
            let pushed_q = body["sources"]["app"]["pushed"]
                .as_array()
                .unwrap()
                .contains(&"q".into());
            assert_eq!(
                pushed_q,
                pushed && pushdown.is_empty(),
                "{q} {pushdown}: {body}"
            );
            for seen in setup.seen_queries() {
                assert!(!seen.contains('+'), "{q}: {seen}");
                if pushed_q {
                    // `q` is written here as RFC 3986 encodes it.
                    assert!(seen.contains(&format!("search={q}")), "{q}: {seen}");
                } else {
                    assert!(!seen.contains("search="), "{q}: {seen}");
                }
            }
        }
    }
}

/// Item 8: gzip not asked for, deflate, br, a BOM, `text/plain`.
#[tokio::test]
async fn bodies_are_read_through_any_packaging() {
    let records: Vec<String> = (0..7)
        .map(|i| record(&format!("2024-06-03T10:00:0{i}.5Z"), &format!("m{i}")))
        .collect();
    let mut wraps: Vec<Wrap> = Encoding::ALL
        .into_iter()
        .map(|encoding| Wrap {
            encoding: Some(encoding),
            ..Wrap::default()
        })
        .collect();
    wraps.push(Wrap {
        bom: true,
        content_type: Some("text/plain"),
        ..Wrap::default()
    });
    wraps.push(Wrap {
        encoding: Some(Encoding::Gzip),
        bom: true,
        content_type: Some("application/octet-stream"),
        ..Wrap::default()
    });
    for wrap in wraps {
        let setup = Setup::start(&records, wrap, "").await;
        for limit in [3, 100] {
            assert_eq!(setup.all("order=desc", limit).await.len(), 7);
        }
        for (_, headers) in setup.seen.lock().unwrap().iter() {
            let accept = headers
                .get(header::ACCEPT_ENCODING)
                .unwrap()
                .to_str()
                .unwrap();
            for encoding in ["gzip", "deflate", "br"] {
                assert!(accept.contains(encoding), "{accept}");
            }
        }
    }
}

/// Item 9: `include=raw` and `attributes` keep the upstream number text
/// (digits, sign, trailing zeros; only `E` becomes `e`).
#[tokio::test]
async fn raw_numbers_keep_their_upstream_text() {
    let big = "123456789012345678901234567890";
    let text = format!(
        r#"{{"timestamp":"2024-06-03T10:00:01Z","level":"INFO","service":"lb","message":"big","details":{{"user_id":{big},"ratio":1.50,"tiny":1E-7,"n":-0}}}}"#
    );
    let setup = Setup::start(&[text], Wrap::default(), "").await;
    for query in [
        "include=raw".to_string(),
        format!("include=raw&user_id={big}"),
        format!("include=raw&attr.user_id={big}"),
        "include=raw&attr.ratio=1.50".to_string(),
        "include=raw&attr.tiny=1e-7".to_string(),
    ] {
        let response = setup
            .gateway
            .client
            .get(setup.gateway.url(&format!("/logs?{query}")))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        let body = response.text().await.unwrap();
        for part in [
            format!(r#""user_id":{big}"#),
            r#""ratio":1.50"#.to_string(),
            // serde_json writes the exponent marker lower-case (README).
            r#""tiny":1e-7"#.to_string(),
            r#""n":-0"#.to_string(),
            format!(r#""user_id":"{big}""#),
        ] {
            assert!(body.contains(&part), "{query}: {part} not in {body}");
        }
        assert!(!body.contains("e+29") && !body.contains("e29"), "{body}");
    }
    let (_, body) = setup
        .gateway
        .get("/logs?user_id=1.2345678901234568e29")
        .await;
    assert_eq!(body["logs"], serde_json::json!([]));
}

/// Item 10: a redirect says so and names its Location.
#[tokio::test]
async fn a_redirect_is_reported_with_its_location_and_not_followed() {
    for status in [301, 302, 307, 308] {
        let location = "http://198.51.100.9/v2/logs?x=1".to_string();
        let wrap = Wrap {
            redirect: Some((status, location.clone())),
            ..Wrap::default()
        };
        let setup = Setup::start(&[record("2024-06-03T10:00:01Z", "m")], wrap, "").await;
        let (code, body) = setup.gateway.get("/logs").await;
        assert_eq!(code, 502, "{body}");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(
            message.contains(&format!("redirect to {location} not followed")),
            "{message}"
        );
        assert!(message.contains(&format!("answered {status}")), "{message}");
        assert!(!message.contains("t0k3n-up"), "{message}");
        assert_eq!(
            setup.seen_queries().len(),
            1,
            "one request, no retry, no follow"
        );
    }
}

/// Item 10: when every source failed naming a wait beyond the request's
/// deadline, the 502 carries the soonest `Retry-After`.
#[tokio::test]
async fn the_soonest_upstream_retry_after_reaches_the_client() {
    let records = [record("2024-06-03T10:00:01Z", "m")];
    let fail = |status: u16, retry_after: String| Wrap {
        failure: Some((status, retry_after)),
        ..Wrap::default()
    };
    let in_300s: chrono::DateTime<chrono::Utc> =
        (std::time::SystemTime::now() + std::time::Duration::from_secs(300)).into();
    let cases = [
        (vec![fail(503, "120".into())], Some(120..=120)),
        (vec![fail(429, "45".into())], Some(45..=45)),
        (
            vec![fail(503, "120".into()), fail(429, "60".into())],
            Some(60..=60),
        ),
        (
            vec![fail(
                503,
                in_300s.format("%A, %d-%b-%y %H:%M:%S GMT").to_string(),
            )],
            Some(290..=300),
        ),
        (
            vec![fail(
                503,
                in_300s.format("%a %b %e %H:%M:%S %Y").to_string(),
            )],
            Some(290..=300),
        ),
        // One failure without a wait: nothing to promise.
        (
            vec![fail(503, "120".into()), fail(500, "soon".into())],
            None,
        ),
    ];
    for (wraps, want) in cases {
        let setup = Setup::start_many(&records, wraps, "").await;
        let response = setup
            .gateway
            .client
            .get(setup.gateway.url("/logs"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 502);
        let header = response
            .headers()
            .get(header::RETRY_AFTER)
            .map(|v| v.to_str().unwrap().parse::<u64>().unwrap());
        match want {
            Some(range) => assert!(
                header.is_some_and(|s| range.contains(&s)),
                "{header:?} not in {range:?}"
            ),
            None => assert_eq!(header, None),
        }
    }
}
