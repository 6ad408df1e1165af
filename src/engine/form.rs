//! Strict decoding of a query string as `application/x-www-form-urlencoded`
//! (WHATWG URL Standard §5.1: split on `&`, name and value at the first `=`,
//! `+` is a space, then percent-decoding), except that bytes which are not
//! UTF-8 once decoded are an error naming the parameter instead of being
//! replaced by U+FFFD (what `url::form_urlencoded::parse` does): a filter
//! must never reach an upstream other than as the client wrote it.

use std::borrow::Cow;

use crate::engine::EngineError;

/// The decoded `(name, value)` pairs of `raw`, in order; empty pieces
/// (`a=1&&b=2`) are skipped.
pub fn decode_pairs(raw: &str) -> Result<Vec<(String, String)>, EngineError> {
    let mut pairs = Vec::new();
    for piece in raw.split('&').filter(|p| !p.is_empty()) {
        let (name, value) = piece.split_once('=').unwrap_or((piece, ""));
        let name = match decode(name) {
            Ok(name) => name,
            Err(bytes) => {
                let shown = String::from_utf8_lossy(&bytes).into_owned();
                return Err(not_utf8(&shown));
            }
        };
        let value = decode(value).map_err(|_| not_utf8(&name))?;
        pairs.push((name, value));
    }
    Ok(pairs)
}

/// The value of an integer parameter: ASCII digits only (leading zeros
/// allowed), as the OpenAPI document's `type: integer` spells one in a
/// query string; no sign (`+5`, which `str::parse` takes, is refused), no
/// spaces, no exponent. `None` also when over `u64::MAX`.
pub fn decimal(text: &str) -> Option<u64> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

fn not_utf8(param: &str) -> EngineError {
    EngineError::invalid(
        param,
        "not valid UTF-8 once percent-decoded; percent-encode the UTF-8 bytes of the text",
    )
}

/// `+` to space, then percent-decoding; the raw bytes when not UTF-8.
fn decode(text: &str) -> Result<String, Vec<u8>> {
    let spaced: Cow<str> = if text.contains('+') {
        Cow::Owned(text.replace('+', " "))
    } else {
        Cow::Borrowed(text)
    };
    let bytes: Vec<u8> = percent_encoding::percent_decode_str(&spaced).collect();
    String::from_utf8(bytes).map_err(|e| e.into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(raw: &str) -> Vec<(String, String)> {
        decode_pairs(raw).unwrap()
    }

    #[test]
    fn an_integer_is_digits_only() {
        assert_eq!(decimal("5"), Some(5));
        assert_eq!(decimal("0050"), Some(50));
        assert_eq!(decimal("18446744073709551615"), Some(u64::MAX));
        for refused in [
            "",
            "+5",
            "-5",
            " 5",
            "5 ",
            "5e0",
            "0x5",
            "٥",
            "18446744073709551616",
        ] {
            assert_eq!(decimal(refused), None, "{refused:?}");
        }
    }

    #[test]
    fn decodes_like_the_form_encoding() {
        assert_eq!(
            pairs("a=1&&b=x+y%2Bz&c&d=%C3%A9=&=v"),
            [
                ("a", "1"),
                ("b", "x y+z"),
                ("c", ""),
                ("d", "é="),
                ("", "v")
            ]
            .map(|(n, v)| (n.to_string(), v.to_string()))
        );
        // A stray `%` stays as written, as in the WHATWG algorithm.
        assert_eq!(pairs("q=100%")[0].1, "100%");
    }

    #[test]
    fn invalid_utf8_names_its_parameter() {
        for (raw, param) in [
            ("q=%FF%FE%C3", "q"),
            ("limit=5&service=%C3", "service"),
            ("user_id=a%80", "user_id"),
            ("attr.workflowId=%ED%A0%80", "attr.workflowId"),
            ("cursor=%FF", "cursor"),
            ("%FFname=1", "\u{FFFD}name"),
        ] {
            let e = decode_pairs(raw).unwrap_err();
            assert_eq!(
                (e.code(), e.param()),
                ("invalid_parameter", Some(param)),
                "{raw}"
            );
        }
    }
}
