//! `[follow]`: follow cursors and live tails (spec §8, issue 17).

use std::time::Duration;

use serde_json::{Map, Value};

use super::table::Table;

/// `[follow]`: how follow cursors and `/logs/tail` behave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FollowConfig {
    /// A follow traversal never reads anything newer than now − `settle`,
    /// so that upstream writes landing up to `settle` late are not skipped
    /// (spec §8; default 5 s; `"0s"` allowed).
    pub settle: Duration,
    /// Shortest wait between two polls of a caught-up tail (default 1 s).
    pub poll_min: Duration,
    /// Shortest wait between two polls of a caught-up tail reading a
    /// source whose upstream sends its whole log on every request
    /// (`UpstreamPaging::WholeLog`, PromptCrafter; default 5 s; never less
    /// than `poll_min`). See [`crate::tail::Pace`].
    pub whole_log_poll_min: Duration,
    /// Longest wait between two polls of an idle tail (default 10 s).
    pub poll_max: Duration,
    /// Interval of the SSE comment heartbeats (default 15 s).
    pub heartbeat: Duration,
    /// A tail stream is closed after this long, its last event carrying
    /// the cursor to resume from (default 1 h).
    pub max_duration: Duration,
    /// A tail stream that delivered no logs for this long (since it opened
    /// or since its last logs) is closed, its last event carrying the
    /// cursor to resume from (`end` reason `idle`; default `0s`: off, as
    /// Loki's tail; heartbeats do not count as logs).
    pub idle_timeout: Duration,
    /// Most tail streams one API key may hold open at once (default 16).
    pub max_streams_per_key: usize,
    /// Most tail streams open at once in the gateway (default 256).
    pub max_streams: usize,
    /// Most shared pollers (one per distinct tailed query) at once
    /// (default 64); a tail whose query finds no room polls on its own.
    pub max_groups: usize,
    /// How far back each follow call re-reads for records that reached
    /// their upstream after their timestamp was `settle` old, dropping the
    /// ids it delivered already (issue 17 item 5; default 0 s: off; at most
    /// 1 h). See [`crate::engine::late`].
    pub late_window: Duration,
    /// Most delivered ids a follow cursor carries for `late_window`, shared
    /// evenly by its sources (default and most
    /// [`crate::engine::late::MAX_LATE_IDS`]).
    pub late_ids: usize,
}

impl Default for FollowConfig {
    fn default() -> Self {
        FollowConfig {
            settle: Duration::from_secs(5),
            poll_min: Duration::from_secs(1),
            whole_log_poll_min: Duration::from_secs(5),
            poll_max: Duration::from_secs(10),
            heartbeat: Duration::from_secs(15),
            max_duration: Duration::from_secs(3600),
            idle_timeout: Duration::ZERO,
            max_streams_per_key: 16,
            max_streams: 256,
            max_groups: 64,
            late_window: Duration::ZERO,
            late_ids: crate::engine::late::MAX_LATE_IDS,
        }
    }
}

/// Reads `[follow]`, every problem into `problems`.
pub(super) fn parse_follow(
    map: Option<&Map<String, Value>>,
    problems: &mut Vec<String>,
) -> FollowConfig {
    let defaults = FollowConfig::default();
    let empty = Map::new();
    let mut t = Table::new(map.unwrap_or(&empty), "follow", problems);
    let config = FollowConfig {
        settle: t.zero_or_duration("settle").unwrap_or(defaults.settle),
        late_window: t
            .zero_or_duration("late_window")
            .unwrap_or(defaults.late_window),
        late_ids: t
            .integer("late_ids", 1, crate::engine::late::MAX_LATE_IDS as i64)
            .map_or(defaults.late_ids, |n| n as usize),
        poll_min: t.duration("poll_min").unwrap_or(defaults.poll_min),
        whole_log_poll_min: t
            .duration("whole_log_poll_min")
            .unwrap_or(defaults.whole_log_poll_min),
        poll_max: t.duration("poll_max").unwrap_or(defaults.poll_max),
        heartbeat: t.duration("heartbeat").unwrap_or(defaults.heartbeat),
        max_duration: t.duration("max_duration").unwrap_or(defaults.max_duration),
        idle_timeout: t
            .zero_or_duration("idle_timeout")
            .unwrap_or(defaults.idle_timeout),
        max_streams_per_key: t
            .integer("max_streams_per_key", 1, 100_000)
            .map_or(defaults.max_streams_per_key, |n| n as usize),
        max_streams: t
            .integer("max_streams", 1, 1_000_000)
            .map_or(defaults.max_streams, |n| n as usize),
        max_groups: t
            .integer("max_groups", 1, 100_000)
            .map_or(defaults.max_groups, |n| n as usize),
    };
    if config.poll_min > config.poll_max {
        t.problem("poll_max", "must not be shorter than poll_min");
    }
    t.finish();
    config
}
