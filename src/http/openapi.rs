//! The OpenAPI 3 document of the API (`GET /openapi.json`), generated with
//! utoipa from the handlers' `#[utoipa::path]` attributes and the schemas
//! below, and the interactive page at `/docs` (Swagger UI compiled into the
//! binary: nothing is fetched at build or view time).
//!
//! The schemas are derived from the very structs the handlers serialise
//! (`Serialize` + `ToSchema` on one declaration each); `tests/openapi.rs`
//! still validates real responses against the document. Objects are closed
//! (`additionalProperties: false`) so that an undocumented field fails that
//! test.

use axum::Json;
use serde_json::json;
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::path::{Parameter, ParameterBuilder, ParameterIn};
use utoipa::openapi::schema::{KnownFormat, SchemaFormat};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ObjectBuilder, Required, Type};
use utoipa::{Modify, OpenApi, ToSchema};

use super::loki::schema::LokiParameters;
use super::{
    Covered, ErrorBody, ErrorEnvelope, HealthError, LogEntry, LogsPage, SeriesEntry, SourceHealth,
    SourceInfo, SourceStats, SourcesList, StatsPage, Status,
};
use crate::engine::count::params::STATS_PARAMS;
use crate::engine::count::CountMethod;
use crate::engine::query::{param as logs_param, Param, ParamDoc, ParamSchema, PARAMS};
use crate::engine::{CacheReport, ReportStatus, SourceFailure, SourceReport};

/// The whole document.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "loggate",
        description = "One endpoint for the logs of many third-party services: \
            GET /logs merges every configured source into one time-ordered stream \
            with one signed cursor."
    ),
    paths(
        super::logs::get_logs,
        super::stats::get_stats,
        super::sources::get_sources,
        super::healthz,
        super::readyz,
        super::get_metrics,
        openapi_json,
        super::loki::query_range,
        super::loki::query,
        super::loki::labels,
        super::loki::label_values,
        super::loki::series,
        super::loki::index_stats,
        super::loki::buildinfo,
        super::tail::get_tail,
        super::loki::tail::tail,
    ),
    components(schemas(
        LogsPage,
        LogEntry,
        StatsPage,
        SeriesEntry,
        SourceStats,
        Covered,
        CountMethod,
        LevelSchema,
        SourceReport,
        CacheReport,
        ReportStatus,
        SourceFailure,
        SourcesList,
        SourceInfo,
        SourceHealth,
        HealthError,
        Status,
        ErrorEnvelope,
        ErrorBody,
    )),
    modifiers(
        &Security,
        &RequestIdHeader,
        &LogsParameters,
        &StatsParameters,
        &LokiParameters
    ),
)]
pub struct ApiDoc;

/// The schema of a log level: the names of [`loggate_core::Level`], from
/// the type itself.
pub struct LevelSchema;

impl utoipa::PartialSchema for LevelSchema {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        let names: Vec<&str> = loggate_core::Level::ALL
            .iter()
            .map(|l| l.as_str())
            .collect();
        ObjectBuilder::new()
            .schema_type(Type::String)
            .description(Some("A log level."))
            .enum_values(Some(names))
            .into()
    }
}

impl ToSchema for LevelSchema {
    fn name() -> std::borrow::Cow<'static, str> {
        "Level".into()
    }
}

/// The `/logs` query parameters, from their one declaration
/// ([`crate::engine::query::PARAMS`]).
struct LogsParameters;

impl Modify for LogsParameters {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let Some(get) = openapi
            .paths
            .paths
            .get_mut("/logs")
            .and_then(|item| item.get.as_mut())
        else {
            return;
        };
        get.parameters = Some(PARAMS.iter().map(parameter).collect());
        tail_parameters(openapi);
    }
}

/// The `/logs/tail` query parameters: those of `/logs` (spec §8: "the
/// `/logs` filters, plus `cursor` or `since`"), `order` only `asc` (a tail
/// is ascending), `follow` and `partial` only `true` (a tail always
/// follows and goes on with the other sources: issue 17), and `since`, an
/// alias of `start`; after them the `Last-Event-ID` header declared on the
/// handler.
fn tail_parameters(openapi: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::{RefOr, Schema};
    let Some(get) = openapi
        .paths
        .paths
        .get_mut("/logs/tail")
        .and_then(|item| item.get.as_mut())
    else {
        return;
    };
    let mut parameters: Vec<Parameter> = PARAMS.iter().map(parameter).collect();
    for p in parameters.iter_mut().filter(|p| p.name == "order") {
        if let Some(RefOr::T(Schema::Object(object))) = p.schema.as_mut() {
            object.enum_values = Some(vec![json!("asc")]);
        }
        p.description = Some("`asc` (a tail is ascending; `desc` is 400)".into());
    }
    // A tail always follows and always goes on with the other sources:
    // `false` is 400 invalid_parameter naming the parameter.
    let only_true = [
        (
            "follow",
            "`true` or left out: a tail always follows (`false` is 400)",
        ),
        (
            "partial",
            "`true` or left out: a tail always goes on with the other sources when one fails, \
             reporting it in an `event: status` (`false` is 400)",
        ),
    ];
    for (name, description) in only_true {
        for p in parameters.iter_mut().filter(|p| p.name == name) {
            if let Some(RefOr::T(Schema::Object(object))) = p.schema.as_mut() {
                object.enum_values = Some(vec![json!(true)]);
            }
            p.description = Some(description.into());
            // The `/logs` example (`false`) is refused here.
            *p = ParameterBuilder::from(p.clone())
                .example(Some(json!(true)))
                .build();
        }
    }
    if let Some(start) = logs_param("start") {
        let mut since = doc_parameter("since", &start.doc, false);
        since.description = Some(
            "An alias of `start` (spec §8): deliver from this instant; not with `start`. \
             Without `since`, `start` or `cursor` the tail begins at now - `follow.settle`"
                .into(),
        );
        parameters.push(since);
    }
    parameters.extend(get.parameters.take().unwrap_or_default());
    get.parameters = Some(parameters);
}

/// The `/logs/stats` query parameters, from their one declaration
/// ([`STATS_PARAMS`]; a filter documented as in `/logs`).
struct StatsParameters;

impl Modify for StatsParameters {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let Some(get) = openapi
            .paths
            .paths
            .get_mut("/logs/stats")
            .and_then(|item| item.get.as_mut())
        else {
            return;
        };
        let parameters = STATS_PARAMS.iter().filter_map(|p| {
            let doc = match &p.own {
                Some(own) => &own.doc,
                None => &logs_param(p.name)?.doc,
            };
            Some(doc_parameter(p.name, doc, p.required))
        });
        get.parameters = Some(parameters.collect());
    }
}

fn parameter(param: &Param) -> Parameter {
    doc_parameter(param.name, &param.doc, false)
}

fn doc_parameter(name: &str, doc: &ParamDoc, required: bool) -> Parameter {
    let schema = ObjectBuilder::new();
    let (schema, example) = match doc.schema {
        ParamSchema::Text {
            min_length,
            max_length,
            pattern,
        } => (
            schema
                .schema_type(Type::String)
                .min_length(Some(min_length))
                .max_length((max_length > 0).then_some(max_length))
                .pattern(pattern),
            doc.example.map(|e| json!(e)),
        ),
        ParamSchema::DateTime => (
            schema
                .schema_type(Type::String)
                .format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime))),
            doc.example.map(|e| json!(e)),
        ),
        ParamSchema::Integer { minimum, maximum } => (
            schema
                .schema_type(Type::Integer)
                .minimum(Some(minimum))
                .maximum(Some(maximum)),
            doc.example
                .and_then(|e| e.parse::<u64>().ok())
                .map(|n| json!(n)),
        ),
        ParamSchema::Boolean => (
            schema.schema_type(Type::Boolean),
            doc.example
                .and_then(|e| e.parse::<bool>().ok())
                .map(|b| json!(b)),
        ),
        ParamSchema::OneOf(values) => (
            schema
                .schema_type(Type::String)
                .enum_values(Some(values.iter().copied())),
            doc.example.map(|e| json!(e)),
        ),
    };
    ParameterBuilder::new()
        .name(name)
        .parameter_in(ParameterIn::Query)
        .required(if required {
            Required::True
        } else {
            Required::False
        })
        .description(Some(doc.description))
        .schema(Some(schema))
        .example(example)
        .build()
}

/// Bearer auth on the routes that need a key.
struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "An API key of the gateway (`loggate key` makes one). \
                         With no keys configured, access is open.",
                    ))
                    .build(),
            ),
        );
    }
}

/// Every response carries the request id.
struct RequestIdHeader;

impl Modify for RequestIdHeader {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let header = HeaderBuilder::new()
            .schema(ObjectBuilder::new().schema_type(Type::String))
            .description(Some(
                "The request id: the client's `x-request-id` when it is at most 64 \
                 characters of [A-Za-z0-9._-], else a new one. Every log line of the \
                 request carries it.",
            ))
            .build();
        for item in openapi.paths.paths.values_mut() {
            for operation in [&mut item.get].into_iter().flatten() {
                for response in operation.responses.responses.values_mut() {
                    if let utoipa::openapi::RefOr::T(response) = response {
                        response
                            .headers
                            .insert(super::observe::REQUEST_ID.to_string(), header.clone());
                    }
                }
            }
        }
    }
}

/// The document for the built-in providers.
pub fn document() -> utoipa::openapi::OpenApi {
    document_for(&crate::registry::Registry::builtin().kinds())
}

/// The document with `kind` and `provider` enumerating `kinds` (the
/// registry's, so that a new provider is documented without an edit here).
pub fn document_for(kinds: &[&str]) -> utoipa::openapi::OpenApi {
    use utoipa::openapi::{RefOr, Schema};
    let mut doc = ApiDoc::openapi();
    let schemas = &mut doc.components.get_or_insert_with(Default::default).schemas;
    for (schema, property) in [("LogEntry", "provider"), ("SourceInfo", "kind")] {
        if let Some(RefOr::T(Schema::Object(object))) = schemas.get_mut(schema) {
            if let Some(RefOr::T(Schema::Object(field))) = object.properties.get_mut(property) {
                field.enum_values = Some(kinds.iter().map(|k| (*k).into()).collect());
            }
        }
    }
    doc
}

/// This document.
#[utoipa::path(
    get,
    path = "/openapi.json",
    tag = "meta",
    responses((status = 200, description = "The OpenAPI 3 document of this API", content_type = "application/json", body = Object))
)]
pub async fn openapi_json(
    axum::extract::State(state): axum::extract::State<super::AppState>,
) -> Json<utoipa::openapi::OpenApi> {
    let mut doc = document_for(&state.kinds);
    let names: Vec<String> = state.engine.sources().map(|s| s.name.to_string()).collect();
    configured_sources(&mut doc, &names);
    if state.keys.is_open() {
        without_auth(&mut doc);
    }
    Json(doc)
}

/// The `source` pattern of `/logs`, `/logs/stats` and `/logs/tail` naming
/// exactly the configured sources (a name that is not configured is
/// answered 400 unknown_source by each): the generic `[a-z0-9_]{1,32}`
/// list pattern with `names` in place of a name.
pub fn configured_sources(doc: &mut utoipa::openapi::OpenApi, names: &[String]) {
    use utoipa::openapi::{RefOr, Schema};
    if names.is_empty() {
        return;
    }
    let name = format!("(?:{})", names.join("|"));
    let pattern = format!("^ *{name} *(?:, *{name} *)*$");
    for path in ["/logs", "/logs/stats", "/logs/tail"] {
        let Some(get) = doc.paths.paths.get_mut(path).and_then(|i| i.get.as_mut()) else {
            continue;
        };
        for parameter in get.parameters.iter_mut().flatten() {
            if parameter.name != "source" {
                continue;
            }
            if let Some(RefOr::T(Schema::Object(object))) = parameter.schema.as_mut() {
                object.pattern = Some(pattern.clone());
            }
        }
    }
}

/// The document of a gateway with no API keys configured: no operation
/// requires the bearer scheme, and none answers `401`. (With keys,
/// `/logs` and `/sources` require it, as declared on the handlers.)
pub fn without_auth(doc: &mut utoipa::openapi::OpenApi) {
    for item in doc.paths.paths.values_mut() {
        for operation in [&mut item.get].into_iter().flatten() {
            operation.security = None;
            operation.responses.responses.remove("401");
        }
    }
}
