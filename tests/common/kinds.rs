//! The built-in simulator flavours by name, for the black-box tests that
//! measure one provider (page cost, sparse filters, recovery). Generic
//! tests take every flavour from the registry ([`Kind::all`]).
#![allow(non_upper_case_globals)]

use super::fleet::Kind;

impl Kind {
    pub const Leveled: Kind = Kind::new("leveled", "default");
    pub const PromptCrafter: Kind = Kind::new("promptcrafter", "default");
    pub const Alloy: Kind = Kind::new("alloy", "default");
    /// Logto v1.42+: honours `start_time`/`end_time`, inclusive.
    pub const LogtoTimed: Kind = Kind::new("logto", "timed");
    /// Logto v1.40–v1.41: honours them as exclusive bounds.
    pub const LogtoExclusive: Kind = Kind::new("logto", "exclusive");
    /// Older Logto: ignores the time filter (offset paging only).
    pub const LogtoUntimed: Kind = Kind::new("logto", "untimed");
}

/// The flavours the generic tests pick for a property of their provider
/// rather than for the provider: this file is the one place under
/// `tests/` (per-provider files aside) that knows which provider has it
/// (`../shared/providers/`, README "Providers").
impl Kind {
    /// Paged, with a total per request that counts a window exactly
    /// (`pagination.total`); the last registered paged provider.
    pub const COUNTS_TOTALS: Kind = Kind::Leveled;
    /// Counts exactly from totals, and per level too (ERROR or not is a
    /// filter on its message).
    pub const COUNTS_LEVELS: Kind = Kind::Alloy;
    /// A simulator that stamps new records now + 1 ms (one in whole
    /// seconds stamps each batch a second further on).
    pub const MILLIS_STAMPS: Kind = Kind::Alloy;
    /// Whole log in every answer, no totals: counts only by scanning, and
    /// refuses `method=pushdown`.
    pub const SCAN_ONLY: Kind = Kind::PromptCrafter;
    /// Offset paging over the whole log, the time filter ignored: its
    /// requests do not send the window's end upstream.
    pub const UNTIMED_OFFSETS: Kind = Kind::LogtoUntimed;
    /// A time filter with inclusive bounds, offset paging (no totals per
    /// level).
    pub const INCLUSIVE_BOUNDS: Kind = Kind::LogtoTimed;
    /// A time filter with exclusive bounds, equal bounds refused.
    pub const EXCLUSIVE_BOUNDS: Kind = Kind::LogtoExclusive;

    /// Every flavour whose totals count an unfiltered window exactly
    /// (a server that ignores the time filter cannot).
    pub fn counting_exactly() -> [Kind; 4] {
        [
            Kind::COUNTS_TOTALS,
            Kind::COUNTS_LEVELS,
            Kind::INCLUSIVE_BOUNDS,
            Kind::EXCLUSIVE_BOUNDS,
        ]
    }
}
