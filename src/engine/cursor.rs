//! The signed, versioned cursor.
//!
//! A cursor carries the whole traversal: the sources, the client's filters,
//! the order, the upper time bound pinned when the first page was served,
//! the API key it was issued to, and each source's [`Position`]. It is
//! `base64url(version ‖ JSON ‖ HMAC-SHA256(version ‖ JSON))`: any replica
//! holding the same secret can continue it, and nobody can alter it.

use std::collections::BTreeMap;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use loggate_core::{Filters, Order, Position};
use secrecy::{ExposeSecret, SecretSlice};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::engine::EngineError;

/// The current cursor format.
pub const CURSOR_VERSION: u8 = 1;
const MAC_LEN: usize = 32;
/// Cursors longer than this are rejected before decoding.
pub const MAX_CURSOR_LEN: usize = 64 * 1024;

/// Everything a later page needs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CursorState {
    /// Requested sources, sorted.
    #[serde(rename = "s")]
    pub sources: Vec<String>,
    /// The client's filters (without the pinned bound).
    #[serde(rename = "f")]
    pub filters: Filters,
    #[serde(rename = "o")]
    pub order: Order,
    /// The traversal's upper time bound (epoch ms), pinned at page one.
    #[serde(rename = "p")]
    pub pinned_end: i64,
    /// The API key the cursor was issued to (`None` with open access).
    #[serde(rename = "k", default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// Each requested source's position.
    #[serde(rename = "x")]
    pub positions: BTreeMap<String, Position>,
    /// A follow traversal (spec §8): `pinned_end` moves forward to now −
    /// settle on every call and the cursor outlives the caught-up page.
    #[serde(rename = "w", default, skip_serializing_if = "std::ops::Not::not")]
    pub follow: bool,
    /// How many records each source gave the previous page, when it had
    /// more than one source (issue 13): the next page sizes each source's
    /// first request to that share (`engine::page::sizing`). Empty
    /// on page one and in cursors issued before it was added.
    #[serde(rename = "n", default, skip_serializing_if = "BTreeMap::is_empty")]
    pub served: BTreeMap<String, usize>,
    /// With `follow.late_window` on: per source, the ids it delivered that
    /// a re-read of the recent past may meet ([`super::late`]).
    #[serde(rename = "l", default, skip_serializing_if = "BTreeMap::is_empty")]
    pub late: BTreeMap<String, super::late::Delivered>,
    /// A *terminal* follow cursor (issue 17): the position of a tail whose
    /// window passed the client's `end`, handed out as the last `id:` of
    /// `/logs/tail` and its `end` event so that a client reconnecting with
    /// it learns the tail is over (`204 No Content`, which stops a
    /// browser's `EventSource`) instead of starting again from `since`.
    /// Nothing continues from it: `/logs` answers it with an empty page
    /// and `next_cursor: null`. Signed like every cursor; absent (`false`)
    /// in every other cursor, so the format keeps its version and cursors
    /// issued before the marker existed decode as they did.
    #[serde(rename = "t", default, skip_serializing_if = "std::ops::Not::not")]
    pub terminal: bool,
}

/// Signs and verifies cursors with one secret.
pub struct CursorSigner {
    secret: SecretSlice<u8>,
}

impl CursorSigner {
    pub fn new(secret: &[u8]) -> Self {
        CursorSigner {
            secret: SecretSlice::from(secret.to_vec()),
        }
    }

    /// A signer with a random secret (cursors die with the process).
    pub fn random() -> Self {
        let bytes: [u8; 32] = rand::random();
        CursorSigner::new(&bytes)
    }

    fn mac(&self) -> Hmac<Sha256> {
        // HMAC accepts keys of any length.
        Hmac::<Sha256>::new_from_slice(self.secret.expose_secret())
            .expect("hmac takes any key length")
    }

    pub fn encode(&self, state: &CursorState) -> String {
        let mut bytes = Vec::with_capacity(256);
        bytes.push(CURSOR_VERSION);
        serde_json::to_writer(&mut bytes, state).expect("cursor state serialises");
        let mut mac = self.mac();
        mac.update(&bytes);
        bytes.extend_from_slice(&mac.finalize().into_bytes());
        URL_SAFE_NO_PAD.encode(bytes)
    }

    pub fn decode(&self, text: &str) -> Result<CursorState, EngineError> {
        let invalid = |why: &str| EngineError::InvalidCursor(why.to_string());
        if text.is_empty() {
            return Err(invalid("the cursor is empty"));
        }
        if text.len() > MAX_CURSOR_LEN {
            return Err(invalid("the cursor is too long"));
        }
        let bytes = URL_SAFE_NO_PAD
            .decode(text.trim_end_matches('='))
            .map_err(|_| invalid("the cursor is not valid base64url"))?;
        if bytes.len() < 1 + MAC_LEN {
            return Err(invalid("the cursor is truncated"));
        }
        let (signed, tag) = bytes.split_at(bytes.len() - MAC_LEN);
        let mut mac = self.mac();
        mac.update(signed);
        mac.verify_slice(tag).map_err(|_| {
            invalid(
                "the cursor's signature does not match (altered, or signed with another secret)",
            )
        })?;
        if signed[0] != CURSOR_VERSION {
            return Err(invalid(
                "the cursor's version is not supported by this gateway",
            ));
        }
        serde_json::from_slice(&signed[1..])
            .map_err(|_| invalid("the cursor's content is malformed"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use loggate_core::Key;

    fn state() -> CursorState {
        CursorState {
            sources: vec!["a".into(), "b".into()],
            filters: Filters {
                q: Some("fail".into()),
                ..Filters::default()
            },
            order: Order::Desc,
            pinned_end: 1_700_000_000_000,
            key: Some("dashboards".into()),
            positions: [
                ("a".to_string(), Position::after(Key::new(5, "x"), Some(3))),
                ("b".to_string(), Position::finished()),
            ]
            .into(),
            follow: false,
            served: [("a".to_string(), 3), ("b".to_string(), 0)].into(),
            late: BTreeMap::new(),
            terminal: false,
        }
    }

    #[test]
    fn round_trips() {
        let signer = CursorSigner::new(b"secret");
        let text = signer.encode(&state());
        assert!(text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
        assert_eq!(signer.decode(&text).unwrap(), state());
    }

    #[test]
    fn any_altered_byte_is_rejected() {
        let signer = CursorSigner::new(b"secret");
        let bytes = URL_SAFE_NO_PAD.decode(signer.encode(&state())).unwrap();
        for i in 0..bytes.len() {
            let mut altered = bytes.clone();
            altered[i] ^= 0x01;
            let text = URL_SAFE_NO_PAD.encode(&altered);
            assert!(
                matches!(signer.decode(&text), Err(EngineError::InvalidCursor(_))),
                "byte {i}"
            );
        }
    }

    /// The terminal marker is signed with the rest: a terminal cursor
    /// round-trips, and turning an ordinary cursor's JSON into a terminal
    /// one (or back) without the secret breaks the signature.
    #[test]
    fn the_terminal_marker_round_trips_and_is_signed() {
        let signer = CursorSigner::new(b"secret");
        let terminal = CursorState {
            follow: true,
            terminal: true,
            ..state()
        };
        let text = signer.encode(&terminal);
        assert_eq!(signer.decode(&text).unwrap(), terminal);
        let mut bytes = URL_SAFE_NO_PAD.decode(&text).unwrap();
        let json_end = bytes.len() - MAC_LEN;
        let json = String::from_utf8(bytes[1..json_end].to_vec()).unwrap();
        assert!(json.contains(r#""t":true"#), "{json}");
        let forged = json.replace(r#""t":true"#, r#""t":false"#);
        let mut altered = vec![CURSOR_VERSION];
        altered.extend_from_slice(forged.as_bytes());
        altered.extend_from_slice(&bytes.split_off(json_end));
        let forged = URL_SAFE_NO_PAD.encode(&altered);
        assert!(matches!(
            signer.decode(&forged),
            Err(EngineError::InvalidCursor(_))
        ));
    }

    /// A cursor issued before the marker existed (no `t`) still decodes,
    /// as a cursor that is not terminal.
    #[test]
    fn a_cursor_without_the_marker_is_not_terminal() {
        let signer = CursorSigner::new(b"secret");
        let text = signer.encode(&state());
        let bytes = URL_SAFE_NO_PAD.decode(&text).unwrap();
        let json: serde_json::Value =
            serde_json::from_slice(&bytes[1..bytes.len() - MAC_LEN]).unwrap();
        assert!(json.get("t").is_none(), "{json}");
        assert!(!signer.decode(&text).unwrap().terminal);
    }

    #[test]
    fn another_secret_is_rejected() {
        let text = CursorSigner::new(b"one").encode(&state());
        assert!(CursorSigner::new(b"two").decode(&text).is_err());
    }

    #[test]
    fn garbage_is_rejected_without_panic() {
        let signer = CursorSigner::new(b"secret");
        for text in ["", "!!!", "AAAA", &"A".repeat(100_000)] {
            assert!(signer.decode(text).is_err());
        }
    }
}
