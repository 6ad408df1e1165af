//! The handle every provider's simulator is built on: its data behind one
//! mutex and its fault switches, shared by clones. The inherent methods
//! every simulator has (`faults`, `insert`, `raw_records`, `snapshot`, the
//! fault-wrapped router) are written here once; a simulator derefs to its
//! [`SimStore`] so tests call them as its own.

use std::sync::{Arc, Mutex, MutexGuard};

use axum::Router;
use serde_json::Value;

use super::Faults;
use crate::LogRecord;

/// What a simulator's state holds: native records, in insertion order.
pub trait SimData: Send + 'static {
    /// Every native record held, in insertion order, as the upstream
    /// answers them.
    fn raw_records(&self) -> Vec<Value>;
    /// Stores one native record verbatim, after every other.
    fn insert(&mut self, raw: Value);
    /// Every record held, mapped as the provider's adapter maps it (`raw`
    /// unset; records the adapter cannot read left out, as it leaves them).
    fn snapshot(&self) -> Vec<LogRecord>;
}

/// A simulator's data (`S`) behind one mutex, its fault switches and the
/// API token it accepts; clones share them.
pub struct SimStore<S> {
    state: Arc<Mutex<S>>,
    faults: Faults,
    token: Arc<str>,
}

impl<S> Clone for SimStore<S> {
    fn clone(&self) -> Self {
        SimStore {
            state: Arc::clone(&self.state),
            faults: self.faults.clone(),
            token: Arc::clone(&self.token),
        }
    }
}

impl<S: SimData> SimStore<S> {
    /// A store holding `state` of a simulator accepting `token` (its
    /// configuration's `spec.token`), every fault switch off.
    pub fn new(state: S, token: &str) -> Self {
        SimStore {
            state: Arc::new(Mutex::new(state)),
            faults: Faults::default(),
            token: Arc::from(token),
        }
    }

    /// The API token the simulator accepts.
    pub fn token(&self) -> &str {
        &self.token
    }

    /// The data, locked (a handler that panicked leaves it usable).
    pub fn lock(&self) -> MutexGuard<'_, S> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The fault switches every request passes through.
    pub fn faults(&self) -> &Faults {
        &self.faults
    }

    /// `routes` serving `handle` (the simulator), behind the fault switches.
    pub fn serve<H: Clone + Send + Sync + 'static>(&self, routes: Router<H>, handle: H) -> Router {
        self.faults.layer(routes.with_state(handle))
    }

    /// See [`SimData::insert`].
    pub fn insert(&self, raw: Value) {
        self.lock().insert(raw)
    }

    /// See [`SimData::raw_records`].
    pub fn raw_records(&self) -> Vec<Value> {
        self.lock().raw_records()
    }

    /// See [`SimData::snapshot`].
    pub fn snapshot(&self) -> Vec<LogRecord> {
        self.lock().snapshot()
    }
}

/// Expands to `impl Deref for $sim { type Target = SimStore<$state>; }`
/// for a simulator handle whose [`SimStore`] is its field `store`: the
/// store's methods become the simulator's own.
#[macro_export]
macro_rules! sim_store_deref {
    ($sim:ty, $state:ty) => {
        impl ::std::ops::Deref for $sim {
            type Target = $crate::sim::SimStore<$state>;

            fn deref(&self) -> &$crate::sim::SimStore<$state> {
                &self.store
            }
        }
    };
}

/// Expands to `impl SimData for $state` for a state that keeps its native
/// records as JSON values in the `Vec<Value>` field `$field`, in insertion
/// order, read by `$read: fn(&Value) -> Option<LogRecord>` (the adapter's
/// own mapping, `raw` left out).
#[macro_export]
macro_rules! sim_data_in_vec {
    ($state:ty, $field:ident, $read:expr) => {
        impl $crate::sim::SimData for $state {
            fn raw_records(&self) -> ::std::vec::Vec<::serde_json::Value> {
                self.$field.clone()
            }

            fn insert(&mut self, raw: ::serde_json::Value) {
                self.$field.push(raw);
            }

            fn snapshot(&self) -> ::std::vec::Vec<$crate::LogRecord> {
                let read: fn(&::serde_json::Value) -> Option<$crate::LogRecord> = $read;
                self.$field.iter().filter_map(read).collect()
            }
        }
    };
}
