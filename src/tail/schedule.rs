//! When a shared poller reads each of its sources (issue 17 item 4: "each
//! source's poller keeps its own pace").
//!
//! Every source has its own [`Pace`] (its page cost, at most half its rate
//! limit, doubling while idle) and its own next time. A poll reads the
//! sources that are due, in one engine page
//! ([`LogsRequest::poll_sources`](crate::engine::query::LogsRequest)): the
//! follow window moves to now − settle, the sources read finish it, the
//! others keep their positions (everything up to the bound they were last
//! read to) and read the rest of it when they are next due. Positions are
//! per source, so every record is still delivered once and in order per
//! source; across sources a batch of a source polled less often holds
//! records older than the batches before it.
//!
//! **Pacesetters.** The sources with the longest minimum wait set the
//! query's pace: when one of them is due, every source is read in that
//! poll, so the whole query is caught up at one bound after each of those
//! polls (what `caught_up: true` says, and where a new subscriber can join
//! the poller). In between, the faster sources are read alone at their own
//! pace. A query whose sources share one pace polls them all together.
//!
//! **Continuations.** A source that has not finished its window after a
//! poll (its page was full) is read again at once, alone with the others
//! in that state, without moving the window ("hold"): the query reaches a
//! caught-up bound before any source moves on. A source that failed waits
//! its pace (doubling) and resumes from its position.
//!
//! **Late window.** With `follow.late_window` L on the same holds: a
//! source left out of a poll keeps its position (a restart at its own
//! old bound plus 1 less L) and its delivered ids from there on (a source
//! still re-reading keeps what its pass may meet: [`crate::engine::late`]),
//! so when it is next read it re-reads its own window and each subscriber
//! drops what it delivered ([`crate::engine::late::shared`]).

use std::time::Duration;

use tokio::time::Instant;

use super::Pace;
use crate::engine::{Engine, ReportStatus};

/// How one poll went for one source it read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Polled {
    /// It failed (its position is kept; it waits its pace).
    pub failed: bool,
    /// It has not finished the window (read again at once).
    pub unfinished: bool,
    /// It delivered logs (its wait goes back to its minimum).
    pub delivered: bool,
}

impl Polled {
    /// How one page of a follow cursor went for `source` (one it read):
    /// the page (or the `(code, message)` of a poll where every source
    /// failed) and the cursor `after` it (`None`: the follow ended).
    pub fn of(
        engine: &Engine,
        outcome: &super::PollOutcome,
        after: Option<&str>,
        source: &str,
    ) -> Polled {
        let Ok(page) = outcome else {
            return Polled {
                failed: true,
                ..Polled::default()
            };
        };
        let report = page.sources.get(source);
        let unfinished = after
            .and_then(|after| engine.unfinished_sources(after))
            .is_some_and(|unfinished| unfinished.iter().any(|name| name == source));
        Polled {
            failed: report.is_some_and(|r| r.status == ReportStatus::Error),
            unfinished,
            delivered: report.is_some_and(|r| r.returned > 0),
        }
    }
}

/// What the next poll reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NextPoll {
    /// The sources to read; `None`: all.
    pub sources: Option<Vec<String>>,
    /// Keep the window where it is (finish it) instead of moving it to
    /// now − settle.
    pub hold: bool,
}

impl NextPoll {
    /// Where this poll holds the window of `cursor` (epoch ms): the bound
    /// of a window still in progress when `hold`, else `None` (move on).
    pub fn hold_at(&self, engine: &crate::engine::Engine, cursor: &str) -> Option<i64> {
        if self.hold {
            engine.window_in_progress(cursor)
        } else {
            None
        }
    }
}

#[derive(Debug)]
struct Slot {
    name: String,
    pace: Pace,
    wait: Duration,
    due: Instant,
}

/// The per-source timetable of one poller.
#[derive(Debug)]
pub struct Schedule {
    slots: Vec<Slot>,
    /// The longest minimum wait: sources with it are pacesetters.
    slowest: Duration,
    /// Sources to read again at once, holding the window.
    continuing: Vec<String>,
}

impl Schedule {
    /// `sources`: each source's name and pace. The first poll of each
    /// source is its minimum wait after `now`.
    pub fn new(sources: Vec<(String, Pace)>, now: Instant) -> Schedule {
        let slowest = sources
            .iter()
            .map(|(_, pace)| pace.min)
            .max()
            .unwrap_or_default();
        let slots = sources
            .into_iter()
            .map(|(name, pace)| Slot {
                name,
                pace,
                wait: pace.min,
                due: now + pace.min,
            })
            .collect();
        Schedule {
            slots,
            slowest,
            continuing: Vec::new(),
        }
    }

    /// When the next poll is due.
    pub fn next_at(&self, now: Instant) -> Instant {
        if !self.continuing.is_empty() {
            return now;
        }
        self.slots.iter().map(|s| s.due).min().unwrap_or(now)
    }

    /// What to read at `now` (call it once `next_at` has passed).
    pub fn take(&mut self, now: Instant) -> NextPoll {
        if !self.continuing.is_empty() {
            let sources = std::mem::take(&mut self.continuing);
            let all = sources.len() == self.slots.len();
            return NextPoll {
                sources: (!all).then_some(sources),
                hold: true,
            };
        }
        let due: Vec<&Slot> = self.slots.iter().filter(|s| s.due <= now).collect();
        let pacesetter = due.iter().any(|s| s.pace.min >= self.slowest);
        let all = pacesetter || due.len() == self.slots.len();
        NextPoll {
            sources: (!all).then(|| due.iter().map(|s| s.name.clone()).collect()),
            hold: false,
        }
    }

    /// Takes the outcome of the poll that read `read` (`None`: all), each
    /// source's from `outcome`, at `now`.
    pub fn polled(
        &mut self,
        read: Option<&[String]>,
        outcome: impl Fn(&str) -> Polled,
        now: Instant,
    ) {
        let was_read = |name: &str| read.is_none_or(|read| read.iter().any(|r| r == name));
        let outcomes: Vec<(usize, Polled)> = (0..self.slots.len())
            .filter(|&i| was_read(&self.slots[i].name))
            .map(|i| (i, outcome(&self.slots[i].name)))
            .collect();
        for (i, polled) in outcomes {
            let slot = &mut self.slots[i];
            if polled.unfinished && !polled.failed {
                self.continuing.push(slot.name.clone());
                continue;
            }
            slot.wait = slot.pace.next(slot.wait, polled.delivered);
            slot.due = now + slot.wait;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    fn pace(min: u64, max: u64) -> Pace {
        Pace {
            min: MS * min as u32,
            max: MS * max as u32,
        }
    }

    /// A fast paged source `f` (10 ms, idle up to 40) and a slow whole-log
    /// source `s` (100 ms, up to 400).
    fn mixed(now: Instant) -> Schedule {
        let sources = vec![
            ("f".to_string(), pace(10, 40)),
            ("s".to_string(), pace(100, 400)),
        ];
        Schedule::new(sources, now)
    }

    fn quiet(_: &str) -> Polled {
        Polled::default()
    }

    fn only(names: &[&str]) -> Option<Vec<String>> {
        Some(names.iter().map(|n| n.to_string()).collect())
    }

    #[test]
    fn each_source_keeps_its_own_pace_and_the_slow_one_reads_all() {
        let t0 = Instant::now();
        let mut schedule = mixed(t0);
        let mut reads = Vec::new();
        let mut now = t0;
        // Polls with logs every time: each source stays at its minimum.
        for _ in 0..20 {
            now = schedule.next_at(now);
            let next = schedule.take(now);
            assert!(!next.hold);
            let delivered = |_: &str| Polled {
                delivered: true,
                ..Polled::default()
            };
            schedule.polled(next.sources.as_deref(), delivered, now);
            reads.push((now - t0, next.sources));
        }
        // The fast source alone every 10 ms; at 100 ms the slow one is due
        // and every source is read (caught up at one bound).
        assert_eq!(reads[0], (MS * 10, only(&["f"])));
        assert_eq!(reads[8], (MS * 90, only(&["f"])));
        assert_eq!(reads[9], (MS * 100, None));
        assert_eq!(reads[10], (MS * 110, only(&["f"])));
        let all = reads.iter().filter(|(_, s)| s.is_none()).count();
        assert_eq!(all, 2, "{reads:?}");
    }

    #[test]
    fn an_idle_source_doubles_its_own_wait_only() {
        let t0 = Instant::now();
        let mut schedule = mixed(t0);
        let mut now = t0;
        let mut times = Vec::new();
        while now - t0 < MS * 100 {
            now = schedule.next_at(now);
            let next = schedule.take(now);
            schedule.polled(next.sources.as_deref(), quiet, now);
            times.push((now - t0).as_millis());
        }
        // 10, then doubling: 20, 40, 40 (its max) ... and the slow one at 100.
        assert_eq!(times, [10, 30, 70, 100]);
    }

    #[test]
    fn an_unfinished_source_is_read_again_at_once_holding_the_window() {
        let t0 = Instant::now();
        let mut schedule = mixed(t0);
        let now = t0 + MS * 100;
        let next = schedule.take(now);
        assert_eq!(next.sources, None);
        let full = |name: &str| Polled {
            unfinished: name == "s",
            delivered: true,
            ..Polled::default()
        };
        schedule.polled(next.sources.as_deref(), full, now);
        assert_eq!(schedule.next_at(now), now);
        let again = schedule.take(now);
        assert_eq!(
            again,
            NextPoll {
                sources: only(&["s"]),
                hold: true
            }
        );
        // A failed source is not: it waits its pace.
        let failed = |_: &str| Polled {
            failed: true,
            unfinished: true,
            ..Polled::default()
        };
        schedule.polled(again.sources.as_deref(), failed, now);
        assert!(schedule.next_at(now) > now);
    }
}
