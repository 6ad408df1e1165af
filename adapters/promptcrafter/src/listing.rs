//! Which requests read an account's logs: `list_mode` (issue 11 item 14).
//!
//! The service as built answers an unfiltered `GET /logs` by querying
//! `{promptId: null}`: with Mongoose's defaults that is only the logs that
//! have no prompt (normally `[]`), not all of the account's logs as the
//! docs say (`../shared/providers/README.md`). The logs are then reachable
//! only per prompt: `GET /prompts` lists the caller's prompts, and
//! `GET /logs?promptId=ID` reads each one's logs.
//!
//! - [`ListMode::All`]: one unfiltered `GET /logs` (as documented).
//! - [`ListMode::PerPrompt`]: `GET /prompts`, then `GET /logs?promptId=ID`
//!   per prompt. Logs without a prompt are not read.
//! - [`ListMode::Auto`] (default): the unfiltered `GET /logs`; when it
//!   answers `[]`, `GET /prompts` and, if the account has prompts, their
//!   logs one prompt at a time.
//!
//! Only 24-hex prompt ids (MongoDB ObjectIds) are ever sent: an empty or
//! malformed `promptId` crashes the service. Others are skipped with a
//! warning.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use serde_json::Value;

use crate::translate::is_object_id;

/// How an unfiltered read lists the account's logs (`list_mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ListMode {
    /// The unfiltered `GET /logs`, then per prompt if it answers `[]`.
    #[default]
    Auto,
    /// Only the unfiltered `GET /logs`.
    All,
    /// `GET /prompts`, then `GET /logs?promptId=ID` per prompt.
    PerPrompt,
}

impl ListMode {
    /// The configuration values, in the order the docs list them.
    pub const NAMES: [&'static str; 3] = ["auto", "all", "per_prompt"];

    pub fn as_str(self) -> &'static str {
        match self {
            ListMode::Auto => "auto",
            ListMode::All => "all",
            ListMode::PerPrompt => "per_prompt",
        }
    }
}

impl fmt::Display for ListMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ListMode {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        match text {
            "auto" => Ok(ListMode::Auto),
            "all" => Ok(ListMode::All),
            "per_prompt" => Ok(ListMode::PerPrompt),
            other => Err(format!(
                "unknown list_mode {other:?}; expected one of {}",
                ListMode::NAMES.join(", ")
            )),
        }
    }
}

/// The prompt ids of a `GET /prompts` answer (an array of prompts, each
/// with `_id`, a string or `{"$oid": "..."}`), deduplicated, only those
/// safe to send; the second value counts the prompts skipped.
pub fn prompt_ids(body: &Value) -> Result<(Vec<String>, usize), String> {
    // `null` is no prompts (spec §10: `null` where a list is expected).
    let prompts = match body {
        Value::Array(prompts) => prompts.as_slice(),
        Value::Null => &[],
        _ => return Err("expected a JSON array of prompts".into()),
    };
    let mut ids = BTreeSet::new();
    let mut skipped = 0;
    for prompt in prompts {
        let id = match prompt.get("_id") {
            Some(Value::String(id)) => Some(id.as_str()),
            Some(Value::Object(oid)) => oid.get("$oid").and_then(Value::as_str),
            _ => None,
        };
        match id.filter(|id| is_object_id(id)) {
            Some(id) => {
                ids.insert(id.to_string());
            }
            None => skipped += 1,
        }
    }
    Ok((ids.into_iter().collect(), skipped))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn modes_parse_from_their_config_names_only() {
        for name in ListMode::NAMES {
            assert_eq!(name.parse::<ListMode>().unwrap().as_str(), name);
        }
        let error = "per-prompt".parse::<ListMode>().unwrap_err();
        assert_eq!(
            error,
            "unknown list_mode \"per-prompt\"; expected one of auto, all, per_prompt"
        );
        assert_eq!(ListMode::default(), ListMode::Auto);
    }

    #[test]
    fn only_object_ids_are_kept_and_the_rest_counted() {
        let body = json!([
            {"_id": "65f1c0ffee0000000000000a", "title": "a"},
            {"_id": {"$oid": "65F1C0FFEE0000000000000B"}},
            {"_id": "65f1c0ffee0000000000000a"},
            {"_id": ""},
            {"_id": "prompt101"},
            {"_id": 7},
            {"title": "no id"}
        ]);
        let (ids, skipped) = prompt_ids(&body).unwrap();
        assert_eq!(
            ids,
            vec!["65F1C0FFEE0000000000000B", "65f1c0ffee0000000000000a"]
        );
        assert_eq!(skipped, 4);
        assert!(prompt_ids(&json!({"prompts": []})).is_err());
        assert_eq!(prompt_ids(&json!([])).unwrap(), (Vec::new(), 0));
    }
}
