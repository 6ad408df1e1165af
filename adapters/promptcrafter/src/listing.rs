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

use serde::Deserialize;
use serde_json::value::RawValue;
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
///
/// Read straight from the answer's bytes (issue 13), as the `GET /logs`
/// items are: each prompt is a [`RawValue`] and only its `_id` is decoded
/// ([`WirePrompt`]); a prompt the typed reading refuses (a key repeated)
/// is read as a `Value` instead, so every answer reads as it did.
pub fn prompt_ids(body: &RawValue) -> Result<(Vec<String>, usize), String> {
    // `null` is no prompts (spec §10: `null` where a list is expected).
    let prompts = loggate_core::wire::raw_items(body).ok_or("expected a JSON array of prompts")?;
    let mut ids = BTreeSet::new();
    let mut skipped = 0;
    for prompt in prompts {
        let id = typed_prompt_id(prompt).unwrap_or_else(|_| value_prompt_id(prompt));
        match id.filter(|id| is_object_id(id)) {
            Some(id) => {
                ids.insert(id);
            }
            None => skipped += 1,
        }
    }
    Ok((ids.into_iter().collect(), skipped))
}

/// One prompt of `GET /prompts`: only its `_id` is read, kept as its raw
/// text until its form (a string or an extended-JSON `{"$oid"}`) is known.
#[derive(Debug, Default, Deserialize)]
struct WirePrompt<'a> {
    #[serde(rename = "_id", default, borrow)]
    id: Option<&'a RawValue>,
}

/// MongoDB's extended-JSON ObjectId, `{"$oid": "..."}`.
#[derive(Debug, Default, Deserialize)]
struct ExtendedId<'a> {
    #[serde(rename = "$oid", default, borrow)]
    oid: Option<&'a RawValue>,
}

/// The `_id` of one prompt read typed: `Ok(None)` when it has none in a
/// usable form (absent, a number, a prompt that is not an object), `Err`
/// when an object does not fit the typed form (a key repeated).
fn typed_prompt_id(prompt: &RawValue) -> Result<Option<String>, serde_json::Error> {
    let prompt: WirePrompt<'_> = loggate_core::wire::raw_object(Some(prompt))?;
    let Some(id) = prompt.id else {
        return Ok(None);
    };
    let text = if id.get().starts_with('{') {
        let extended: ExtendedId<'_> = loggate_core::wire::raw_object(Some(id))?;
        match extended.oid {
            Some(oid) => oid,
            None => return Ok(None),
        }
    } else {
        id
    };
    if text.get().starts_with('"') {
        serde_json::from_str(text.get()).map(Some)
    } else {
        Ok(None)
    }
}

/// The `_id` of one prompt read through a `Value`: the fallback of
/// [`typed_prompt_id`], with the same rules (the last of repeated keys).
fn value_prompt_id(prompt: &RawValue) -> Option<String> {
    let prompt: Value = serde_json::from_str(prompt.get()).ok()?;
    match prompt.get("_id")? {
        Value::String(id) => Some(id.clone()),
        Value::Object(oid) => oid.get("$oid")?.as_str().map(str::to_string),
        _ => None,
    }
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
        let (ids, skipped) = prompt_ids(&raw(&body.to_string())).unwrap();
        assert_eq!(
            ids,
            vec!["65F1C0FFEE0000000000000B", "65f1c0ffee0000000000000a"]
        );
        assert_eq!(skipped, 4);
        let error = prompt_ids(&raw(r#"{"prompts": []}"#)).unwrap_err();
        assert_eq!(error, "expected a JSON array of prompts");
        assert_eq!(prompt_ids(&raw("[]")).unwrap(), (Vec::new(), 0));
        assert_eq!(prompt_ids(&raw("null")).unwrap(), (Vec::new(), 0));
    }

    fn raw(text: &str) -> Box<RawValue> {
        RawValue::from_string(text.to_string()).unwrap()
    }

    /// Every shape a `Value` lookup reads the same way: escapes decoded,
    /// a repeated key's last value, non-object prompts and ids skipped,
    /// `null` ids and `$oid`s of other types skipped.
    #[test]
    fn typed_reading_reads_every_shape_as_the_value_lookup() {
        let a = "65f1c0ffee0000000000000a";
        let body = format!(
            r#"[
                {{"_id": "\u0036{rest}"}},
                {{"_id": "prompt1", "_id": "{b}"}},
                {{"_id": {{"$oid": "{c}", "$oid": 7}}}},
                {{"_id": {{"$oid": "{d}", "extra": [1]}}}},
                ["{a}"],
                {{"_id": ["{a}"]}},
                {{"_id": {{"$oid": null}}}},
                {{"_id": null}},
                null,
                "{a}"
            ]"#,
            rest = &a[1..],
            b = "65f1c0ffee0000000000000b",
            c = "65f1c0ffee0000000000000c",
            d = "65f1c0ffee0000000000000d",
        );
        let (ids, skipped) = prompt_ids(&raw(&body)).unwrap();
        assert_eq!(
            ids,
            vec![a, "65f1c0ffee0000000000000b", "65f1c0ffee0000000000000d"]
        );
        assert_eq!(skipped, 7);
    }
}
