//! How often a tail polls (spec §8: "polling intervals adapt to each
//! provider's page cost"; issue 17 item 4).
//!
//! Each source has a pace ([`Pace::of`] one source); a shared poller, and
//! a caught-up stream that found no room for one, read each at its own
//! ([`super::Schedule`]). A stream that waits between pages of its own
//! otherwise (a source failed while it catches up, or it lost its shared
//! poller) waits the slowest its sources' paces ask for ([`Pace::of`]
//! them all). Per source, the minimum is
//! - `follow.poll_min` for an upstream that pages
//!   ([`UpstreamPaging::Paged`]: a caught-up poll costs one or two small
//!   requests), `follow.whole_log_poll_min` for one that sends its whole
//!   log on every request ([`UpstreamPaging::WholeLog`], PromptCrafter: each
//!   poll downloads the whole account), as the provider declares it;
//! - and never less than [`RATE_SHARE`] × the requests of one poll × the
//!   time between two requests at the source's sustained rate
//!   (`rate_limit.per_second`), so that one poller uses at most half the
//!   source's rate and leaves the rest to pages and other pollers. Every
//!   request still goes through the source's rate limit and concurrency cap
//!   (its [`crate::gate::SourceGate`]), whatever the pace.
//!
//! While nothing arrives the wait doubles, up to the larger of
//! `follow.poll_max` and that minimum; logs reset it ([`Pace::next`]).

use std::time::Duration;

use loggate_core::UpstreamPaging;

use crate::config::FollowConfig;
use crate::engine::Source;

/// A poller's share of a source's sustained rate is at most 1 / this.
pub const RATE_SHARE: u32 = 2;

/// Upstream requests one caught-up poll of a source costs at most in the
/// common case (README "Providers": one or two for a paged upstream, one
/// for a whole-log one).
fn requests_per_poll(paging: UpstreamPaging) -> u32 {
    match paging {
        UpstreamPaging::Paged => 2,
        UpstreamPaging::WholeLog => 1,
    }
}

/// The waits between a poller's polls once caught up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pace {
    /// After a poll that delivered logs.
    pub min: Duration,
    /// The longest, after polls that delivered nothing.
    pub max: Duration,
}

impl Pace {
    /// The pace of a poller reading `sources`.
    pub fn of<'a>(settings: &FollowConfig, sources: impl Iterator<Item = &'a Source>) -> Pace {
        let min = sources
            .map(|source| {
                source_min(
                    settings,
                    source.paging,
                    source.gate.as_ref().map(|g| g.interval()),
                )
            })
            .fold(settings.poll_min, Duration::max);
        Pace {
            min,
            max: settings.poll_max.max(min),
        }
    }

    /// The wait after one whose length was `current`: `min` when the poll
    /// `delivered` logs, else twice `current` within `min..=max`.
    pub fn next(&self, current: Duration, delivered: bool) -> Duration {
        super::next_wait(current, self.min, self.max, delivered)
    }
}

/// The shortest wait between two polls of one source: by its page cost,
/// and by its rate limit (`rate_interval`: time between two requests at
/// its sustained rate; `None`: unbounded).
fn source_min(
    settings: &FollowConfig,
    paging: UpstreamPaging,
    rate_interval: Option<Duration>,
) -> Duration {
    let by_cost = match paging {
        UpstreamPaging::Paged => settings.poll_min,
        UpstreamPaging::WholeLog => settings.whole_log_poll_min.max(settings.poll_min),
    };
    let by_rate = rate_interval.unwrap_or_default() * requests_per_poll(paging) * RATE_SHARE;
    by_cost.max(by_rate)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> FollowConfig {
        FollowConfig {
            poll_min: Duration::from_secs(1),
            poll_max: Duration::from_secs(10),
            whole_log_poll_min: Duration::from_secs(30),
            ..FollowConfig::default()
        }
    }

    #[test]
    fn a_whole_log_source_is_polled_less_often_than_a_paged_one() {
        let s = settings();
        let fast = Some(Duration::from_millis(10));
        assert_eq!(source_min(&s, UpstreamPaging::Paged, fast), s.poll_min);
        assert_eq!(
            source_min(&s, UpstreamPaging::WholeLog, fast),
            Duration::from_secs(30)
        );
    }

    #[test]
    fn a_slow_rate_limit_slows_the_polls_to_half_its_rate() {
        let s = settings();
        // 1 request/s, a poll of a paged upstream is 2 requests: one poll
        // every 4 s uses half the rate.
        let rate = Some(Duration::from_secs(1));
        assert_eq!(
            source_min(&s, UpstreamPaging::Paged, rate),
            Duration::from_secs(4)
        );
        // 0.02 s between requests: the page cost decides.
        let rate = Some(Duration::from_millis(20));
        assert_eq!(source_min(&s, UpstreamPaging::Paged, rate), s.poll_min);
    }

    #[test]
    fn the_wait_doubles_while_idle_up_to_the_cap_and_resets_on_logs() {
        let pace = Pace {
            min: Duration::from_secs(30),
            max: Duration::from_secs(30).max(Duration::from_secs(10)),
        };
        assert_eq!(pace.next(pace.min, false), Duration::from_secs(30));
        let pace = Pace {
            min: Duration::from_secs(1),
            max: Duration::from_secs(10),
        };
        let mut wait = pace.min;
        let mut seen = Vec::new();
        for _ in 0..6 {
            wait = pace.next(wait, false);
            seen.push(wait.as_secs());
        }
        assert_eq!(seen, [2, 4, 8, 10, 10, 10]);
        assert_eq!(pace.next(wait, true), pace.min);
    }
}
