//! Late arrivals in follow traversals (spec §8, issue 17 item 5):
//! `follow.late_window`.
//!
//! A record may reach its upstream after its timestamp is `settle` old; a
//! follow window that has passed its timestamp never reads it again. With
//! a `late_window` L above zero, every follow call restarts a source that
//! had finished its window at `max(old bound + 1 − L, floor)` instead of
//! `old bound + 1` ([`restart`]): it re-reads the last L of the window it
//! finished, and drops what it delivered already. What it delivered is in
//! the cursor, per source ([`Delivered`]): a 64-bit digest of the native
//! id of every record it delivered stamped at or after the source's
//! `floor` (the first 8 bytes of SHA-256: two ids of one window collide
//! with probability about n² / 2⁶⁵). No state is kept in the gateway.
//!
//! The set is bounded: a source keeps at most ⌊`follow.late_ids` /
//! sources⌋ ids (default 256 in all; about 18 cursor characters each, so
//! a cursor stays inside the 8 KiB query string). Ids older than the
//! window are forgotten after each page (`floor` rises to bound + 1 − L).
//! When a page would leave more than the share, the oldest timestamps are
//! forgotten and `floor` rises past them: that source's window shrinks,
//! late records stamped before the new floor are no longer re-read (never
//! delivered twice), and the page says so in `warnings` ([`record`]).

use std::collections::{BTreeMap, HashSet};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use integer_encoding::VarInt;
use loggate_core::{LogRecord, Position, Resume};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::CursorState;

pub mod shared;

/// The most delivered ids one follow cursor may carry in all
/// (`follow.late_ids` is at most this): 256 ids take about 4.6 KB of the
/// cursor, which then still fits the 8 KiB query string.
pub const MAX_LATE_IDS: usize = 256;

/// One source's delivered ids in a follow cursor with `late_window` on.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Delivered {
    /// Every record of this source the traversal delivered stamped at or
    /// after `floor` (epoch ms) has its digest in `ids`.
    #[serde(rename = "f")]
    pub floor: i64,
    /// The bound of the window before the source's current pass: the pass
    /// re-reads up to it (records stamped after it are new to the pass).
    #[serde(rename = "e")]
    pub reread_end: i64,
    /// `(timestamp ms, digest of the native id)`, sorted.
    #[serde(rename = "i", with = "packed")]
    pub ids: Vec<(i64, u64)>,
}

/// The digest a delivered record is remembered by: the first 8 bytes of
/// SHA-256 of its native id (stable across processes and replicas).
pub fn digest(native_id: &str) -> u64 {
    let hash = Sha256::digest(native_id.as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&hash[..8]);
    u64::from_be_bytes(first)
}

/// The digests of the records `source` delivered that a re-read may meet.
pub fn delivered_set(state: &CursorState, source: &str) -> HashSet<u64> {
    state
        .late
        .get(source)
        .map(|d| d.ids.iter().map(|(_, id)| *id).collect())
        .unwrap_or_default()
}

/// Where a source that finished the window ending at `old` (epoch ms)
/// resumes: `old + 1` with the late window off, else up to `late_ms`
/// earlier but never before what its [`Delivered`] set covers.
pub fn restart(
    late: &mut BTreeMap<String, Delivered>,
    source: &str,
    old: i64,
    late_ms: i64,
) -> Position {
    let next = old.saturating_add(1);
    if late_ms <= 0 {
        return Position::group(next, None);
    }
    let delivered = late.entry(source.to_string()).or_insert_with(|| Delivered {
        floor: next,
        reread_end: old,
        ids: Vec::new(),
    });
    delivered.reread_end = old;
    let from = next.saturating_sub(late_ms).max(delivered.floor).min(next);
    Position::group(from, None)
}

/// Before a follow page: every source has its [`Delivered`] set (with the
/// window off, none has). A source without one (a new traversal, or a
/// cursor issued while the window was off) starts with what its position
/// proves it delivered nothing of: everything from a fresh start, from
/// its group, after its key, or after the bound when it is done.
pub fn prepare(state: &mut CursorState, late_ms: i64) {
    if late_ms <= 0 {
        state.late.clear();
        return;
    }
    let bound = state.pinned_end;
    let CursorState {
        sources,
        positions,
        late,
        ..
    } = state;
    late.retain(|name, _| sources.contains(name));
    for name in sources.iter() {
        let position = positions.get(name).cloned().unwrap_or_default();
        late.entry(name.clone()).or_insert_with(|| Delivered {
            floor: first_undelivered(&position, bound),
            reread_end: i64::MIN,
            ids: Vec::new(),
        });
    }
}

/// The earliest timestamp `position` may still deliver records at, for
/// a traversal whose window ends at `bound`.
fn first_undelivered(position: &Position, bound: i64) -> i64 {
    if position.done {
        return bound.saturating_add(1);
    }
    match &position.resume {
        Resume::Start => i64::MIN,
        Resume::Group(ts) => *ts,
        Resume::After(key) => key.timestamp_ms.saturating_add(1),
    }
}

/// After a follow page: remembers what it delivered, forgets what no later
/// re-read can meet, and bounds each source's set to its share of
/// `max_ids`. Returns `(source, warning)` per source whose window had to
/// shrink.
pub fn record<'a>(
    state: &mut CursorState,
    delivered: impl Iterator<Item = (&'a str, &'a LogRecord)>,
    late_ms: i64,
    max_ids: usize,
) -> Vec<(String, String)> {
    if late_ms <= 0 || state.late.is_empty() {
        return Vec::new();
    }
    for (source, record) in delivered {
        if let Some(set) = state.late.get_mut(source) {
            if record.timestamp_ms >= set.floor {
                set.ids
                    .push((record.timestamp_ms, digest(&record.native_id)));
            }
        }
    }
    let share = (max_ids / state.sources.len().max(1)).max(1);
    let keep_from = state.pinned_end.saturating_add(1).saturating_sub(late_ms);
    let mut warnings = Vec::new();
    for (name, set) in state.late.iter_mut() {
        let Some(position) = state.positions.get_mut(name) else {
            continue;
        };
        if let Some(floor) = bound_set(set, position, keep_from, share) {
            let message = format!(
                "{name}: late_window: more than {share} records delivered within the window (this source's share of follow.late_ids); records reaching the upstream late stamped before {} are no longer re-read",
                loggate_core::time::format_ms(floor)
            );
            tracing::warn!(source = %name, share, floor, "late_window set full: window shrunk");
            warnings.push((name.clone(), message));
        }
    }
    warnings
}

/// Prunes one source's set to what a later re-read can meet and to
/// `share` ids; `Some(new floor)` when the share forced the window to
/// shrink. A source still re-reading (its position at or before
/// `reread_end`) keeps what its pass may meet; if the share forces the
/// floor past its position, the position moves to the floor, so nothing
/// forgotten is read again.
fn bound_set(
    set: &mut Delivered,
    position: &mut Position,
    keep_from: i64,
    share: usize,
) -> Option<i64> {
    set.ids.sort_unstable();
    set.ids.dedup();
    let rereading_from = (!position.done)
        .then(|| position.bound_ts().unwrap_or(i64::MIN))
        .filter(|at| *at <= set.reread_end);
    let prune_to = rereading_from.map_or(keep_from, |at| keep_from.min(at));
    set.floor = set.floor.max(prune_to);
    let floor = set.floor;
    set.ids.retain(|(ts, _)| *ts >= floor);
    if set.ids.len() <= share {
        return None;
    }
    while set.ids.len() > share {
        let oldest = set.ids[0].0;
        let cut = set.ids.partition_point(|(ts, _)| *ts <= oldest);
        set.ids.drain(..cut);
        set.floor = oldest.saturating_add(1);
    }
    if let Some(at) = rereading_from {
        if set.floor > at {
            let to = set.floor.min(set.reread_end.saturating_add(1));
            *position = Position::group(to, None);
        }
    }
    Some(set.floor)
}

/// `(timestamp, digest)` pairs as one base64url string: the first
/// timestamp as a zigzag varint, each later one as the varint of its
/// (non-negative) difference from the one before, each followed by the
/// 8 digest bytes.
mod packed {
    use super::*;

    pub fn serialize<S: serde::Serializer>(ids: &[(i64, u64)], s: S) -> Result<S::Ok, S::Error> {
        let mut bytes = Vec::with_capacity(ids.len() * 11);
        let mut previous = None;
        for (ts, id) in ids {
            match previous {
                None => bytes.extend(ts.encode_var_vec()),
                Some(p) => {
                    bytes.extend(ts.saturating_sub(p).max(0).unsigned_abs().encode_var_vec())
                }
            }
            previous = Some(*ts);
            bytes.extend(id.to_be_bytes());
        }
        s.serialize_str(&URL_SAFE_NO_PAD.encode(bytes))
    }

    pub fn deserialize<'de, D: serde::Deserializer<'de>>(
        d: D,
    ) -> Result<Vec<(i64, u64)>, D::Error> {
        use serde::de::Error;
        let text = String::deserialize(d)?;
        let bytes = URL_SAFE_NO_PAD
            .decode(text)
            .map_err(|_| D::Error::custom("delivered ids: not base64url"))?;
        let malformed = || D::Error::custom("delivered ids: malformed");
        let mut ids: Vec<(i64, u64)> = Vec::new();
        let mut rest = bytes.as_slice();
        while !rest.is_empty() {
            let ts = match ids.last() {
                None => {
                    let (ts, n) = i64::decode_var(rest).ok_or_else(malformed)?;
                    rest = &rest[n..];
                    ts
                }
                Some((previous, _)) => {
                    let (delta, n) = u64::decode_var(rest).ok_or_else(malformed)?;
                    rest = &rest[n..];
                    let delta = i64::try_from(delta).map_err(|_| malformed())?;
                    previous.checked_add(delta).ok_or_else(malformed)?
                }
            };
            let (id, tail) = rest.split_first_chunk::<8>().ok_or_else(malformed)?;
            rest = tail;
            ids.push((ts, u64::from_be_bytes(*id)));
        }
        Ok(ids)
    }
}

#[cfg(test)]
mod tests;
