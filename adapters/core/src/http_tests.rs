use super::*;
use reqwest::header::{HeaderValue, RETRY_AFTER};

/// Issue 11, item 10: all three HTTP-date formats of RFC 9110.
#[test]
fn retry_after_reads_every_http_date_format() {
    let in_a_minute = std::time::SystemTime::now() + Duration::from_secs(90);
    let imf = httpdate::fmt_http_date(in_a_minute);
    let when: chrono::DateTime<chrono::Utc> = in_a_minute.into();
    let rfc850 = when.format("%A, %d-%b-%y %H:%M:%S GMT").to_string();
    let asctime = when.format("%a %b %e %H:%M:%S %Y").to_string();
    let rfc2822 = when.format("%a, %d %b %Y %H:%M:%S +0000").to_string();
    for value in [imf, rfc850, asctime, rfc2822] {
        let mut headers = HeaderMap::new();
        headers.insert(RETRY_AFTER, HeaderValue::from_str(&value).unwrap());
        let wait = retry_after(&headers).unwrap_or_else(|| panic!("{value}"));
        assert!(
            (Duration::from_secs(80)..=Duration::from_secs(90)).contains(&wait),
            "{value}: {wait:?}"
        );
    }
    for past in [
        "Sunday, 06-Nov-94 08:49:37 GMT",
        "Sun Nov  6 08:49:37 1994",
        "Sun, 06 Nov 1994 08:49:37 GMT",
    ] {
        let mut headers = HeaderMap::new();
        headers.insert(RETRY_AFTER, HeaderValue::from_static(past));
        assert_eq!(retry_after(&headers), Some(Duration::ZERO), "{past}");
    }
    let mut headers = HeaderMap::new();
    headers.insert(RETRY_AFTER, HeaderValue::from_static("soon"));
    assert_eq!(retry_after(&headers), None);
}

/// Issue 11, item 10: a redirect names where it pointed.
#[test]
fn a_redirect_is_not_followed_and_names_its_location() {
    let mut headers = HeaderMap::new();
    headers.insert(
        reqwest::header::LOCATION,
        HeaderValue::from_static("https://elsewhere.example/logs"),
    );
    for status in [301, 302, 303, 307, 308] {
        let response = UpstreamResponse {
            status,
            headers: headers.clone(),
            body: Vec::new(),
        };
        let error = classify_status(&response, String::new()).unwrap();
        let text = error.to_string();
        assert!(
            text.contains("redirect to https://elsewhere.example/logs not followed"),
            "{text}"
        );
        assert!(!error.is_retryable());
    }
    let bare = UpstreamResponse {
        status: 307,
        headers: HeaderMap::new(),
        body: Vec::new(),
    };
    let text = classify_status(&bare, String::new()).unwrap().to_string();
    assert!(
        text.contains("redirect without a Location not followed"),
        "{text}"
    );
}

fn response(content_type: Option<&'static str>, body: &[u8]) -> UpstreamResponse {
    let mut headers = HeaderMap::new();
    if let Some(ct) = content_type {
        headers.insert(CONTENT_TYPE, HeaderValue::from_static(ct));
    }
    UpstreamResponse {
        status: 200,
        headers,
        body: body.to_vec(),
    }
}

/// Issue 11, item 8: a BOM and a wrong media type are packaging.
#[test]
fn json_bodies_are_read_whatever_their_packaging() {
    let want = serde_json::json!({"a": [1]});
    for ct in [
        Some("application/json"),
        Some("text/plain; charset=utf-8"),
        Some("text/html"),
        Some("application/octet-stream"),
        None,
    ] {
        for body in [&b"{\"a\":[1]}"[..], b"\xEF\xBB\xBF{\"a\":[1]}"] {
            let parsed: serde_json::Value = response(ct, body).json().unwrap();
            assert_eq!(parsed, want, "{ct:?}");
        }
    }
    let html = response(Some("text/html"), b"<html>502</html>").json::<serde_json::Value>();
    assert_eq!(
        html.unwrap_err().to_string(),
        "could not decode upstream response: expected a JSON body, got content type text/html"
    );
    let bad = response(Some("application/json"), b"{").json::<serde_json::Value>();
    assert!(bad.unwrap_err().to_string().contains("malformed JSON body"));
}

#[test]
fn retry_after_reads_seconds_and_dates() {
    let mut headers = HeaderMap::new();
    headers.insert(RETRY_AFTER, HeaderValue::from_static("7"));
    assert_eq!(retry_after(&headers), Some(Duration::from_secs(7)));
    headers.insert(
        RETRY_AFTER,
        HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"),
    );
    assert_eq!(retry_after(&headers), Some(Duration::ZERO));
    let mut headers = HeaderMap::new();
    headers.insert("x-ratelimit-reset", HeaderValue::from_static("3"));
    assert_eq!(retry_after(&headers), Some(Duration::from_secs(3)));
}

#[test]
fn excerpts_are_short_and_scrubbed() {
    let client = UpstreamClient::new(UpstreamPolicy::default())
        .with_secrets(vec![SecretString::from("s3cr3t-token")]);
    let body = format!("bad   token s3cr3t-token\n{}", "x".repeat(500));
    let excerpt = client.excerpt(body.as_bytes());
    assert!(excerpt.starts_with("bad token [redacted] x"));
    assert!(!excerpt.contains("s3cr3t"));
    assert!(excerpt.chars().count() <= 201);
}

#[test]
fn errors_built_from_raw_bodies_are_scrubbed_of_carried_credentials() {
    let client = UpstreamClient::new(UpstreamPolicy::default())
        .with_secrets(vec![SecretString::from("configured-secret")]);
    let mut headers = HeaderMap::new();
    // base64("cid:client-secret-1")
    headers.insert(
        reqwest::header::AUTHORIZATION,
        HeaderValue::from_static("Basic Y2lkOmNsaWVudC1zZWNyZXQtMQ=="),
    );
    let carried = carried_credentials(&headers);
    let error = SourceError::Unauthorized {
        status: 401,
        message: format!(
            "bad client-secret-1 Y2lkOmNsaWVudC1zZWNyZXQtMQ== configured-secret {}",
            "y".repeat(400)
        ),
    };
    let text = client.scrub_error(error, &carried).to_string();
    assert!(!text.contains("client-secret-1") && !text.contains("Y2lk"));
    assert!(!text.contains("configured-secret"));
    assert!(text.chars().count() < 300);
    headers.insert(
        reqwest::header::AUTHORIZATION,
        HeaderValue::from_static("Bearer fetched-token-9"),
    );
    let carried = carried_credentials(&headers);
    let text = client
        .scrub_error(SourceError::Decode("echo fetched-token-9".into()), &carried)
        .to_string();
    assert!(!text.contains("fetched-token-9"));
}

/// The excerpt a classifier asks for (made only then, issue 13) is
/// scrubbed of the configured secrets and of the credentials the request
/// carried, as the eager one was.
#[test]
fn a_classifiers_excerpt_is_scrubbed_of_carried_credentials() {
    let client = UpstreamClient::new(UpstreamPolicy::default())
        .with_secrets(vec![SecretString::from("configured-secret")]);
    let mut headers = HeaderMap::new();
    headers.insert(
        reqwest::header::AUTHORIZATION,
        HeaderValue::from_static("bearer fetched-token-9"),
    );
    let body = format!(
        "{{\"message\": \"bad   fetched-token-9 configured-secret\"}} {}",
        "z".repeat(500)
    );
    let excerpt = Excerpt {
        client: &client,
        body: body.as_bytes(),
        headers: &headers,
    };
    let text = excerpt.text();
    assert!(
        text.starts_with("{\"message\": \"bad [redacted] [redacted]\"} z"),
        "{text}"
    );
    assert!(text.chars().count() <= 201, "{text}");
}
