//! [`PromptCrafterAdapter`]: one fetch = one full download of `GET /logs`
//! (or of every prompt's logs, per [`ListMode`]).
//!
//! The API has no pagination, no order and no time filter, so each fetch
//! reads the whole array (narrowed by `promptId` when `attr.promptId` is
//! set), sorts it by (`createdAt`, `_id`) in the query's order, drops what
//! the position already covers and returns the next `want` matches. The
//! position is a keyset bound, never an array index: the array's order is
//! undocumented and inserts shift it.

use async_trait::async_trait;
use loggate_core::http::{classify_status, CallContext, Excerpt, UpstreamClient, UpstreamResponse};
use loggate_core::record::sort_records;
use loggate_core::{
    Adapter, Batch, Capabilities, FetchRequest, Filters, LogRecord, Position, SourceError,
    SourceQuery, SourceSettings,
};
use reqwest::header::{ACCEPT, AUTHORIZATION};
use secrecy::ExposeSecret;
use serde_json::value::RawValue;

use crate::listing::{prompt_ids, ListMode};
use crate::translate::{
    logs_url, pushed_prompt_id, raw_to_record, PromptIdPushdown, PROMPT_ID_FILTER,
};
use crate::wire::error_message;

/// The configuration `kind`.
pub const KIND: &str = "promptcrafter";

/// The adapter of one PromptCrafter source.
pub struct PromptCrafterAdapter {
    settings: SourceSettings,
    capabilities: Capabilities,
    prompt_ids: PromptIdPushdown,
    list_mode: ListMode,
}

/// The logs of one or more downloads, mapped.
#[derive(Default)]
struct Download {
    records: Vec<LogRecord>,
    /// Items read upstream.
    scanned: usize,
    /// Items that could not be mapped.
    skipped: usize,
}

impl PromptCrafterAdapter {
    pub fn new(settings: SourceSettings) -> Self {
        PromptCrafterAdapter {
            settings,
            capabilities: Capabilities::new(&[PROMPT_ID_FILTER]),
            prompt_ids: PromptIdPushdown::default(),
            list_mode: ListMode::default(),
        }
    }

    /// How an unfiltered read lists the logs (`list_mode`; default auto).
    pub fn with_list_mode(mut self, mode: ListMode) -> Self {
        self.list_mode = mode;
        self
    }

    /// Which `attr.promptId` values to push down; by default only ObjectIds.
    pub fn with_prompt_id_pushdown(mut self, mode: PromptIdPushdown) -> Self {
        self.prompt_ids = mode;
        self
    }

    fn request(&self, url: url::Url, what: &str) -> Result<reqwest::Request, SourceError> {
        let mut builder = self
            .settings
            .client
            .http()
            .get(url)
            .header(ACCEPT, "application/json");
        if let Some(token) = &self.settings.token {
            builder = builder.header(AUTHORIZATION, format!("Bearer {}", token.expose_secret()));
        }
        // The message never echoes the URL or the header (they carry secrets).
        builder
            .build()
            .map_err(|_| SourceError::Internal(format!("could not build the request to {what}")))
    }

    /// One `GET /logs`, narrowed to `prompt` when set. A filtered `400` or
    /// `404` is an empty result (see [`classify`]).
    async fn download(
        &self,
        filters: &Filters,
        prompt: Option<&str>,
        ctx: &CallContext,
        include_raw: bool,
    ) -> Result<Download, SourceError> {
        let mut url = logs_url(self.settings.endpoint("logs"), filters, self.prompt_ids);
        if let Some(prompt) = prompt {
            url.set_query(None);
            url.query_pairs_mut().append_pair("promptId", prompt);
        }
        let filtered = url.query().is_some();
        let client = &self.settings.client;
        let response = client
            .execute(self.request(url, "/logs")?, ctx, |response, excerpt| {
                classify(response, excerpt, filtered, client)
            })
            .await?;
        if !(200..300).contains(&response.status) {
            // `classify` lets through only a filtered 400 or 404: the
            // prompt has no logs, or no record can carry such a promptId.
            return Ok(Download::default());
        }
        self.decode(&response, include_raw, ctx)
    }

    /// `GET /prompts`, then each prompt's logs (only ObjectId prompt ids
    /// are sent: any other value crashes the service).
    async fn per_prompt(
        &self,
        filters: &Filters,
        ctx: &CallContext,
        include_raw: bool,
    ) -> Result<Download, SourceError> {
        let client = &self.settings.client;
        let url = self.settings.endpoint("prompts");
        let response = client
            .execute(self.request(url, "/prompts")?, ctx, |response, excerpt| {
                classify(response, excerpt, false, client)
            })
            .await?;
        let (ids, unusable) = prompt_ids(response.json_borrowed::<&RawValue>()?)
            .map_err(|e| SourceError::Decode(format!("GET /prompts: {e}")))?;
        if unusable > 0 {
            tracing::debug!(source = %self.settings.name, unusable, "prompts without a 24-hex _id were not read");
        }
        let mut all = Download::default();
        for id in &ids {
            let one = self.download(filters, Some(id), ctx, include_raw).await?;
            all.records.extend(one.records);
            all.scanned += one.scanned;
            all.skipped += one.skipped;
        }
        // A log belongs to one prompt; should the service say otherwise,
        // each log is still returned once.
        let mut seen = std::collections::HashSet::new();
        all.records.retain(|r| seen.insert(r.native_id.clone()));
        Ok(all)
    }

    /// Every log the query may need, as `list_mode` reads them.
    async fn read_logs(
        &self,
        query: &SourceQuery,
        ctx: &CallContext,
    ) -> Result<Download, SourceError> {
        let (filters, raw) = (&query.filters, query.include_raw);
        if pushed_prompt_id(filters, self.prompt_ids).is_some() {
            return self.download(filters, None, ctx, raw).await;
        }
        match self.list_mode {
            ListMode::All => self.download(filters, None, ctx, raw).await,
            ListMode::PerPrompt => self.per_prompt(filters, ctx, raw).await,
            ListMode::Auto => {
                let all = self.download(filters, None, ctx, raw).await?;
                if all.scanned > 0 {
                    return Ok(all);
                }
                // `[]` may mean "only per prompt" (the service as built).
                self.per_prompt(filters, ctx, raw).await
            }
        }
    }

    fn decode(
        &self,
        response: &UpstreamResponse,
        include_raw: bool,
        ctx: &CallContext,
    ) -> Result<Download, SourceError> {
        // `null` is no logs (spec §10); each item read from the answer's
        // bytes (issue 13).
        let body: &RawValue = response.json_borrowed()?;
        let Some(items) = loggate_core::wire::raw_items(body) else {
            return Err(SourceError::Decode("expected a JSON array of logs".into()));
        };
        let mut records = Vec::with_capacity(items.len());
        let mut skipped = 0usize;
        for item in items.iter().copied() {
            match raw_to_record(item, include_raw) {
                Ok(record) => records.push(record),
                Err(reason) => {
                    skipped += 1;
                    tracing::debug!(source = %self.settings.name, %reason, "skipping a malformed promptcrafter log");
                    ctx.note_skipped(&reason);
                }
            }
        }
        if skipped > 0 {
            tracing::debug!(source = %self.settings.name, skipped, of = items.len(), "promptcrafter logs skipped");
        }
        Ok(Download {
            records,
            scanned: items.len(),
            skipped,
        })
    }
}

#[async_trait]
impl Adapter for PromptCrafterAdapter {
    fn kind(&self) -> &'static str {
        KIND
    }

    fn capabilities(&self) -> &Capabilities {
        &self.capabilities
    }

    /// `attr.promptId`, when its value is one the mode sends upstream.
    fn pushed(&self, filters: &Filters) -> Vec<String> {
        match pushed_prompt_id(filters, self.prompt_ids) {
            Some(_) => vec![PROMPT_ID_FILTER.to_string()],
            None => Vec::new(),
        }
    }

    /// `budget` is not consulted: the whole array is one upstream page.
    async fn fetch(&self, request: FetchRequest<'_>) -> Result<Batch, SourceError> {
        let query = request.query;
        if request.position.done || query.filters.is_unsatisfiable() {
            return Ok(finished_batch(0));
        }
        let Download {
            records,
            scanned,
            skipped,
        } = self.read_logs(query, request.ctx).await?;
        let (records, next) = select_page(records, query, request.position, request.want);
        Ok(Batch {
            records,
            frontier: next,
            scanned,
            skipped,
        })
    }
}

fn finished_batch(scanned: usize) -> Batch {
    Batch {
        records: Vec::new(),
        frontier: Position::finished(),
        scanned,
        skipped: 0,
    }
}

/// Maps a non-2xx answer to its typed error, with the message of a JSON
/// `{"error": ...}` body when there is one (else the plain-text excerpt,
/// as the real service's `401 No token`). On a filtered request, `404`
/// (the docs' "no logs for this prompt") and `400` (a malformed promptId,
/// which no record can carry) are let through as empty results, unless
/// they are HTML pages: those come from a wrong path or a proxy (Express
/// answers an unknown route with `404 Cannot GET ...` as text/html).
fn classify(
    response: &UpstreamResponse,
    excerpt: Excerpt<'_>,
    filtered: bool,
    client: &UpstreamClient,
) -> Option<SourceError> {
    if (200..300).contains(&response.status) {
        return None;
    }
    let html = response
        .header("content-type")
        .is_some_and(|ct| ct.to_ascii_lowercase().contains("html"));
    if filtered && matches!(response.status, 400 | 404) && !html {
        return None;
    }
    let message = match error_message(&response.body) {
        Some(message) => client.excerpt(message.as_bytes()),
        None => match excerpt.text() {
            text if text.is_empty() => "empty response body".to_string(),
            text => text,
        },
    };
    classify_status(response, message)
}

/// The next page out of a whole download: records strictly after
/// `position` that match every filter, in traversal order, at most `want`
/// (at least one). The frontier is the last returned key, or finished when
/// nothing matching remains; the full array makes both exact.
pub fn select_page(
    records: Vec<LogRecord>,
    query: &SourceQuery,
    position: &Position,
    want: usize,
) -> (Vec<LogRecord>, Position) {
    let mut pending: Vec<LogRecord> = records
        .into_iter()
        .filter(|r| !position.covers_record(r, query.order) && query.filters.matches(r))
        .collect();
    sort_records(&mut pending, query.order);
    let want = want.max(1);
    if pending.len() <= want {
        return (pending, Position::finished());
    }
    pending.truncate(want);
    let next = match pending.last() {
        Some(last) => Position::after(last.key(), None),
        None => Position::finished(),
    };
    (pending, next)
}

#[cfg(test)]
mod tests {
    use super::*;
    use loggate_core::{Level, Order};
    use proptest::prelude::*;
    use serde_json::{Map, Value};

    fn record(ts: i64, id: &str, prompt: &str) -> LogRecord {
        let mut attributes = Map::new();
        attributes.insert("promptId".into(), Value::String(prompt.into()));
        LogRecord {
            native_id: id.into(),
            timestamp_ms: ts,
            level: Level::Info,
            message: format!("output {id}"),
            service: None,
            user_id: None,
            attributes,
            raw: None,
        }
    }

    fn query(order: Order, prompt: Option<&str>) -> SourceQuery {
        let mut filters = Filters::default();
        if let Some(p) = prompt {
            filters.attrs.insert("promptId".into(), p.into());
        }
        SourceQuery {
            filters,
            order,
            include_raw: false,
        }
    }

    #[test]
    fn pages_resume_inside_a_tie_group_by_key() {
        let records = vec![
            record(5, "c", "p"),
            record(5, "a", "p"),
            record(4, "z", "p"),
            record(5, "b", "p"),
        ];
        let q = query(Order::Desc, None);
        let (first, next) = select_page(records.clone(), &q, &Position::start(), 2);
        let ids: Vec<_> = first.iter().map(|r| r.native_id.as_str()).collect();
        assert_eq!(ids, ["c", "b"]);
        let (second, next) = select_page(records, &q, &next, 2);
        let ids: Vec<_> = second.iter().map(|r| r.native_id.as_str()).collect();
        assert_eq!((ids, next), (vec!["a", "z"], Position::finished()));
    }

    #[test]
    fn group_positions_keep_their_whole_group() {
        let records = vec![
            record(5, "b", "p"),
            record(5, "a", "p"),
            record(4, "z", "p"),
        ];
        let (page, _) = select_page(
            records,
            &query(Order::Asc, None),
            &Position::group(5, None),
            10,
        );
        let ids: Vec<_> = page.iter().map(|r| r.native_id.as_str()).collect();
        assert_eq!(ids, ["a", "b"]);
    }

    #[test]
    fn filters_apply_to_what_upstream_sent() {
        let records = vec![record(1, "a", "p"), record(2, "b", "q")];
        let (page, next) = select_page(
            records,
            &query(Order::Asc, Some("q")),
            &Position::start(),
            5,
        );
        assert_eq!(page.len(), 1);
        assert_eq!(page[0].native_id, "b");
        assert!(next.done);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        /// Walking page by page from the start yields every matching
        /// record once, in order, whatever `want` and the ties.
        #[test]
        fn traversal_is_exactly_once(
            stamps in proptest::collection::vec((0i64..6, 0u8..3), 0..40),
            want in 1usize..7,
            asc in any::<bool>(),
        ) {
            let order = if asc { Order::Asc } else { Order::Desc };
            let records: Vec<LogRecord> = stamps.iter().enumerate()
                .map(|(i, (ts, p))| record(*ts, &format!("{i:03}"), &format!("p{p}")))
                .collect();
            let q = query(order, Some("p1"));
            let mut expected: Vec<LogRecord> = records.iter().filter(|r| q.filters.matches(r)).cloned().collect();
            sort_records(&mut expected, order);
            let mut seen = Vec::new();
            let mut position = Position::start();
            while !position.done {
                let (page, next) = select_page(records.clone(), &q, &position, want);
                prop_assert!(page.len() <= want);
                prop_assert!(page.iter().all(|r| next.covers(&r.key(), order)));
                seen.extend(page);
                position = next;
                prop_assert!(seen.len() <= expected.len());
            }
            prop_assert_eq!(seen, expected);
        }
    }
}
