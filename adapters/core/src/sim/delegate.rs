//! The part of a [`Simulator`](super::Simulator) implementation every
//! provider's simulator writes the same way: forwarding to its inherent
//! methods and its [`SimStore`](super::SimStore).

/// Expands, inside `impl loggate_core::sim::Simulator for $sim`, to the
/// trait methods `router`, `faults`, `insert_new`, `insert_copies`,
/// `snapshot`, `insert`, `raw_records` and `source_toml`: `router`,
/// `insert_new` and `insert_copies` call `$sim`'s inherent method of the
/// same name (which tests call without the trait in scope), the others its
/// [`SimStore`](super::SimStore) (`$sim` derefs to one); `source_toml` is
/// the one line `token = "…"` naming the store's token (a provider whose
/// source table needs more writes its own impl instead of this macro).
/// The provider writes the rest (`planted`, …) itself.
#[macro_export]
macro_rules! simulator_delegates {
    ($sim:ty) => {
        fn router(&self) -> ::axum::Router {
            <$sim>::router(self)
        }

        fn faults(&self) -> &$crate::sim::Faults {
            ::std::ops::Deref::deref(self).faults()
        }

        fn insert_new(&self, n: usize) {
            <$sim>::insert_new(self, n)
        }

        fn insert_copies(&self, n: usize, at_ms: i64) {
            <$sim>::insert_copies(self, n, at_ms)
        }

        fn snapshot(&self) -> ::std::vec::Vec<$crate::LogRecord> {
            ::std::ops::Deref::deref(self).snapshot()
        }

        fn insert(&self, raw: ::serde_json::Value) {
            ::std::ops::Deref::deref(self).insert(raw)
        }

        fn raw_records(&self) -> ::std::vec::Vec<::serde_json::Value> {
            ::std::ops::Deref::deref(self).raw_records()
        }

        fn source_toml(&self) -> ::std::string::String {
            $crate::sim::toml_line("token", ::std::ops::Deref::deref(self).token())
        }
    };
}
