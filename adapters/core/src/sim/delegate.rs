//! The part of a [`Simulator`](super::Simulator) implementation every
//! provider's simulator writes the same way: forwarding to its inherent
//! methods of the same names.

/// Expands, inside `impl loggate_core::sim::Simulator for $sim`, to the
/// trait methods `router`, `faults`, `insert_new`, `insert_copies`,
/// `snapshot`, `insert` and `raw_records`, each calling `$sim`'s inherent
/// method of the same name (which tests call without the trait in scope).
/// The provider writes the rest (`source_toml`, `planted`, …) itself.
#[macro_export]
macro_rules! simulator_delegates {
    ($sim:ty) => {
        fn router(&self) -> ::axum::Router {
            <$sim>::router(self)
        }

        fn faults(&self) -> &$crate::sim::Faults {
            <$sim>::faults(self)
        }

        fn insert_new(&self, n: usize) {
            <$sim>::insert_new(self, n)
        }

        fn insert_copies(&self, n: usize, at_ms: i64) {
            <$sim>::insert_copies(self, n, at_ms)
        }

        fn snapshot(&self) -> ::std::vec::Vec<$crate::LogRecord> {
            <$sim>::snapshot(self)
        }

        fn insert(&self, raw: ::serde_json::Value) {
            <$sim>::insert(self, raw)
        }

        fn raw_records(&self) -> ::std::vec::Vec<::serde_json::Value> {
            <$sim>::raw_records(self)
        }
    };
}
