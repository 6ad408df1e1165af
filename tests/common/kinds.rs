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
