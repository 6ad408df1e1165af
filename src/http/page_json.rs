//! `GET /logs`'s response body written straight into one buffer: the bytes
//! `serde_json` writes for [`LogsPage`](super::LogsPage), byte for byte
//! (the tests compare them), with the page's strings escaped eight bytes at
//! a time. `serde_json` escapes a string byte by byte: with 50 logs that
//! was about a tenth of a one-source page's instructions, and the record
//! id went through `format_args!` (issue 13, the response encoding).
//! Values that are not strings (`attributes` values, `raw`, the source
//! reports and warnings) are still written by `serde_json`.

use serde_json::{Map, Value};

use super::logs::rfc3339_millis;
use crate::engine::Page;

/// The page's JSON, as `serde_json::to_writer(out, &LogsPage::from(page))`
/// writes it (the field order and `skip_serializing_if` rules of
/// [`LogsPage`](super::LogsPage) and [`LogEntry`](super::LogEntry)).
pub(super) fn write_page(out: &mut Vec<u8>, page: &Page) -> serde_json::Result<()> {
    out.extend_from_slice(b"{\"logs\":[");
    for (i, (source, provider, r)) in page.logs.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(b"{\"id\":\"");
        escape_into(out, source);
        out.push(b':');
        escape_into(out, &r.native_id);
        out.extend_from_slice(b"\",\"source\":");
        write_str(out, source);
        out.extend_from_slice(b",\"provider\":");
        write_str(out, provider);
        out.extend_from_slice(b",\"timestamp\":");
        match rfc3339_millis(r.timestamp_ms) {
            Some(text) => {
                out.push(b'"');
                out.extend_from_slice(&text);
                out.push(b'"');
            }
            None => write_str(out, &loggate_core::time::format_ms(r.timestamp_ms)),
        }
        out.extend_from_slice(b",\"level\":");
        write_str(out, r.level.as_str());
        out.extend_from_slice(b",\"severity_number\":");
        write_u8(out, r.level.severity_number());
        out.extend_from_slice(b",\"message\":");
        write_str(out, &r.message);
        out.extend_from_slice(b",\"service\":");
        write_opt_str(out, r.service.as_deref());
        out.extend_from_slice(b",\"user_id\":");
        write_opt_str(out, r.user_id.as_deref());
        out.extend_from_slice(b",\"attributes\":");
        write_map(out, &r.attributes)?;
        if let Some(raw) = &r.raw {
            out.extend_from_slice(b",\"raw\":");
            serde_json::to_writer(&mut *out, raw)?;
        }
        out.push(b'}');
    }
    out.extend_from_slice(b"],\"next_cursor\":");
    write_opt_str(out, page.next_cursor.as_deref());
    out.extend_from_slice(if page.partial {
        &b",\"partial\":true"[..]
    } else {
        b",\"partial\":false"
    });
    if let Some(caught_up) = page.caught_up {
        out.extend_from_slice(if caught_up {
            &b",\"caught_up\":true"[..]
        } else {
            b",\"caught_up\":false"
        });
    }
    out.extend_from_slice(b",\"sources\":");
    serde_json::to_writer(&mut *out, &page.sources)?;
    if !page.warnings.is_empty() {
        out.extend_from_slice(b",\"warnings\":");
        serde_json::to_writer(&mut *out, &page.warnings)?;
    }
    out.push(b'}');
    Ok(())
}

/// A map as `serde_json` writes it, its keys and string values escaped
/// here.
fn write_map(out: &mut Vec<u8>, map: &Map<String, Value>) -> serde_json::Result<()> {
    out.push(b'{');
    for (i, (key, value)) in map.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_str(out, key);
        out.push(b':');
        match value {
            Value::String(text) => write_str(out, text),
            other => serde_json::to_writer(&mut *out, other)?,
        }
    }
    out.push(b'}');
    Ok(())
}

/// A `u8` in decimal.
fn write_u8(out: &mut Vec<u8>, n: u8) {
    if n >= 100 {
        out.push(b'0' + n / 100);
    }
    if n >= 10 {
        out.push(b'0' + n / 10 % 10);
    }
    out.push(b'0' + n % 10);
}

fn write_opt_str(out: &mut Vec<u8>, text: Option<&str>) {
    match text {
        Some(text) => write_str(out, text),
        None => out.extend_from_slice(b"null"),
    }
}

/// `text` as a JSON string, quoted.
pub(crate) fn write_str(out: &mut Vec<u8>, text: &str) {
    out.reserve(text.len() + 2);
    out.push(b'"');
    escape_into(out, text);
    out.push(b'"');
}

/// `text`'s JSON string contents, escaped exactly as `serde_json` escapes
/// them: `\"`, `\\`, `\b`, `\f`, `\n`, `\r`, `\t`, the other control
/// characters below U+0020 as `\u00xx` (lowercase hex); everything else,
/// `/`, DEL and non-ASCII included, as is. Clean runs are found a
/// machine word at a time and copied whole.
pub(crate) fn escape_into(out: &mut Vec<u8>, text: &str) {
    let bytes = text.as_bytes();
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        if let Some(word) = bytes.get(i..i + 8) {
            let word = u64::from_le_bytes(word.try_into().unwrap_or_default());
            if !needs_escape(word) {
                i += 8;
                continue;
            }
        }
        let byte = bytes[i];
        let escape: &[u8] = match byte {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0x08 => b"\\b",
            0x0c => b"\\f",
            0x00..=0x1f => &[],
            _ => {
                i += 1;
                continue;
            }
        };
        out.extend_from_slice(&bytes[start..i]);
        if escape.is_empty() {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            out.extend_from_slice(&[
                b'\\',
                b'u',
                b'0',
                b'0',
                HEX[usize::from(byte >> 4)],
                HEX[usize::from(byte & 0xf)],
            ]);
        } else {
            out.extend_from_slice(escape);
        }
        i += 1;
        start = i;
    }
    out.extend_from_slice(&bytes[start..]);
}

/// Whether any of the eight bytes of `word` is below 0x20, `"` or `\`
/// (exact: the classic "has a zero byte" / "has a byte less than n" bit
/// tricks, whose only false positives sit above a true hit).
fn needs_escape(word: u64) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let below_space = word.wrapping_sub(ONES * 0x20) & !word & HIGH;
    let quote = word ^ (ONES * u64::from(b'"'));
    let quote = quote.wrapping_sub(ONES) & !quote & HIGH;
    let backslash = word ^ (ONES * u64::from(b'\\'));
    let backslash = backslash.wrapping_sub(ONES) & !backslash & HIGH;
    below_space | quote | backslash != 0
}

#[cfg(test)]
#[path = "page_json_tests.rs"]
mod tests;
