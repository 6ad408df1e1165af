//! loggate's adapter for PromptCrafter (`GET /logs`), and its simulator.
//!
//! PromptCrafter stores the outputs of prompt tests. Its `GET /logs` answers
//! the whole array of the user's logs in one response, in no documented
//! order (insertion order in practice), optionally narrowed to one prompt by
//! `promptId`. There is no pagination and no time filter.
//!
//! **Cost:** a page costs one full download of the log array. With no
//! native pagination or time bound, every fetch downloads the whole array
//! (narrowed only by `attr.promptId`), sorts it by (`createdAt`, `_id`),
//! drops what the position says is done and applies every filter locally.
//! The scan budget cannot cut a fetch smaller: the whole array is one
//! upstream page, and `scanned` reports its length.
//!
//! `attr.promptId` is pushed down only when its value is a MongoDB ObjectId
//! (24 hex digits), the real service's ids: the service drops the
//! connection on any other value. Other values are filtered locally after
//! a full download; [`translate::PromptIdPushdown::Any`] sends every value,
//! as the docs (with ids like `prompt101`) describe.
//!
//! - [`wire`]: serde of the native API (log items, error bodies).
//! - [`translate`]: native log → [`loggate_core::LogRecord`] (spec §3) and
//!   filters → the native request; pure functions.
//! - [`adapter`]: [`PromptCrafterAdapter`], the [`loggate_core::Adapter`]
//!   implementation, and the keyset selection of one page.
//! - [`listing`]: [`ListMode`], whether an unfiltered read is one
//!   `GET /logs` or `GET /prompts` and one `GET /logs?promptId=` per prompt
//!   (the service as built answers the unfiltered request with `[]`).
//! - `sim` (feature `sim`): [`sim::PromptCrafterSim`], a simulator written
//!   from the provider docs, with [`sim::Quirks::AsBuilt`] for the real
//!   service's deviations.

pub mod adapter;
pub mod factory;
pub mod listing;
pub mod translate;
pub mod wire;

#[cfg(feature = "sim")]
pub mod sim;

pub use adapter::{PromptCrafterAdapter, KIND};
pub use factory::{PromptCrafterFactory, PromptCrafterParams};
pub use listing::ListMode;
#[cfg(feature = "sim")]
pub use sim::{PromptCrafterSim, Quirks, SimConfig};
pub use translate::PromptIdPushdown;
