//! The admin HTTP API (axum). Handlers only read the registry and the running config, and send
//! commands to the session thread; every change is applied there, between two events.
//!
//! Authorization: with a token configured, every mutating call (and, off loopback, every call)
//! needs `Authorization: Bearer <token>`; without one, the API is read-only. Bodies are bounded
//! ([`BODY_LIMIT`]); every error is JSON ([`ErrorBody`]).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, Path, Query, Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tradsys_core::component::ComponentId;
use tradsys_core::session::{Applied, Command, CommandSender, Reply, SessionReport};
use utoipa::OpenApi;

use super::history::{ConfigRevision, KeyChange};
use super::live::{AddRequest, Candidate, LiveConfig, SwapRequest};
use super::plugins::{LiveRegistry, SentApproval};
use super::problem::{ErrorBody, Problem};

/// The largest request body accepted (413 beyond).
pub const BODY_LIMIT: usize = 64 * 1024;

/// The largest module `POST /plugins` accepts (413 beyond).
pub const MODULE_BODY_LIMIT: usize = crate::modules::MAX_MODULE_BYTES as usize;

/// What every handler shares.
#[derive(Clone, Debug)]
pub struct Api {
    inner: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    commands: CommandSender,
    token: Option<String>,
    token_on_reads: bool,
    live: Arc<tokio::sync::Mutex<LiveConfig>>,
    registry: LiveRegistry,
    closing: AtomicBool,
}

impl Api {
    /// The API of a session reading `commands`; `token_on_reads` when bound off loopback.
    #[must_use]
    pub fn new(
        commands: CommandSender,
        token: Option<String>,
        token_on_reads: bool,
        live: Arc<tokio::sync::Mutex<LiveConfig>>,
        registry: LiveRegistry,
    ) -> Api {
        Api {
            inner: Arc::new(Shared {
                commands,
                token,
                token_on_reads,
                live,
                registry,
                closing: AtomicBool::new(false),
            }),
        }
    }

    /// Refuses every further change (the process is shutting down).
    pub fn close(&self) {
        self.inner.closing.store(true, Ordering::SeqCst);
    }

    /// Asks the session thread and waits for its answer.
    async fn ask<T: Send + 'static>(&self, command: impl FnOnce(Reply<T>) -> Command) -> Result<T, Problem> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let reply = Reply::new(move |answer| {
            let _ = tx.send(answer);
        });
        self.inner.commands.send(command(reply)).map_err(|_| Problem::gone())?;
        rx.await.map_err(|_| Problem::gone())
    }

    async fn report(&self) -> Result<SessionReport, Problem> {
        self.ask(|reply| Command::Report { reply }).await
    }

    /// Sends a checked candidate to the session; commits it to the running config if applied.
    async fn apply(&self, live: &mut LiveConfig, candidate: Candidate) -> Result<Json<ChangeResponse>, Problem> {
        if self.inner.closing.load(Ordering::SeqCst) {
            return Err(Problem::conflict("the system is shutting down; no more changes", vec![]));
        }
        let change = Box::new(candidate.change.clone());
        let applied = self.ask(|reply| Command::Apply { change, reply }).await?.map_err(|e| Problem::refused(&e))?;
        let revision = live.commit(candidate, applied.iter().map(ToString::to_string).collect());
        Ok(Json(ChangeResponse {
            keys: revision.keys.iter().map(ToString::to_string).collect(),
            changed: revision.components,
            revision: Some(revision.revision),
        }))
    }
}

/// What a change did.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ChangeResponse {
    /// One line per component the session changed: reconfigured in place, rebuilt, added,
    /// removed, stopped or started (empty when the request changed nothing).
    pub changed: Vec<String>,
    /// One line per config key whose effective value changed, `key: before → after` (plugin
    /// defaults count as values; `(unset)` and `(removed)` for keys of an added or removed
    /// component). Empty for a stop or start, which changes no key.
    pub keys: Vec<String>,
    /// The change's number in `GET /config/history`; absent for a stop or start.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revision: Option<u64>,
}

impl From<&Vec<Applied>> for ChangeResponse {
    fn from(applied: &Vec<Applied>) -> ChangeResponse {
        ChangeResponse { changed: applied.iter().map(ToString::to_string).collect(), keys: Vec::new(), revision: None }
    }
}

/// The API's routes.
pub fn router(api: Api) -> Router {
    Router::new()
        .route("/health", get(health))
        .route("/plugins", get(plugins).post(upload_plugin).layer(DefaultBodyLimit::max(MODULE_BODY_LIMIT)))
        .route("/components", get(components))
        .route("/components/{id}", get(component))
        .route("/components/{id}/stop", post(stop))
        .route("/components/{id}/start", post(start))
        .route("/metrics", get(metrics))
        .route("/report", get(report))
        .route("/config", get(config).patch(patch_config))
        .route("/config/history", get(config_history))
        .route("/alerts", get(alerts))
        .route("/strategies", post(add_strategy))
        .route("/strategies/{id}", axum::routing::delete(remove_strategy))
        .route("/strategies/{id}/swap", post(swap_strategy))
        .route("/openapi.json", get(openapi))
        .fallback(|| async { Problem::unknown("no such endpoint; see /openapi.json") })
        .layer(middleware::from_fn_with_state(api.clone(), authorize))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .with_state(api)
}

async fn authorize(State(api): State<Api>, request: Request, next: Next) -> Response {
    let mutating = !matches!(*request.method(), Method::GET | Method::HEAD);
    if !(mutating || api.inner.token_on_reads) {
        return next.run(request).await;
    }
    let refusal = match &api.inner.token {
        None => Problem::unauthorized(
            "changes need an admin token: set admin.token or TRADSYS_ADMIN_TOKEN, and send Authorization: Bearer <token>",
        ),
        Some(expected) if !bearer_matches(request.headers(), expected) => {
            Problem::unauthorized("missing or wrong bearer token (Authorization: Bearer <token>)")
        }
        Some(_) => return next.run(request).await,
    };
    // Read what the client is still sending (up to the largest body any route takes) before
    // answering: a connection closed on an unread body is reset, and a client still writing a
    // module would see the reset instead of the 401.
    let _ = axum::body::to_bytes(request.into_body(), MODULE_BODY_LIMIT).await;
    refusal.into_response()
}

/// Whether the request carries `Bearer <expected>` (compared without an early exit).
fn bearer_matches(headers: &HeaderMap, expected: &str) -> bool {
    let Some(given) = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) else { return false };
    let Some(given) = given.strip_prefix("Bearer ") else { return false };
    given.len() == expected.len() && given.bytes().zip(expected.bytes()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
}

fn body_json<T: serde::de::DeserializeOwned>(body: Result<Bytes, BytesRejection>) -> Result<T, Problem> {
    let body = body.map_err(|rejection| Problem {
        status: rejection.status(),
        error: format!("cannot read the body: {}", rejection.body_text()),
        details: vec![format!("bodies are limited to {BODY_LIMIT} bytes")],
    })?;
    serde_json::from_slice(&body).map_err(|error| Problem::invalid(format!("bad JSON body: {error}"), vec![]))
}

#[utoipa::path(get, path = "/health", responses(
    (status = 200, description = "The session runs and its feed is well: `{\"status\": \"ok\", \"events\", \"feed\"}`"),
    (status = 503, description = "A live feed is disconnected or silent past `alerts.feed_quiet_ms` (`\"status\": \"degraded\"`), or the session has ended (`\"ended\"`)"),
))]
async fn health(State(api): State<Api>) -> (StatusCode, Json<Value>) {
    match api.ask(|reply| Command::Health { reply }).await {
        Ok(health) => {
            let (code, status) =
                if health.healthy { (StatusCode::OK, "ok") } else { (StatusCode::SERVICE_UNAVAILABLE, "degraded") };
            (code, Json(json!({ "status": status, "events": health.events, "feed": health.feed })))
        }
        Err(_) => (StatusCode::SERVICE_UNAVAILABLE, Json(json!({ "status": "ended" }))),
    }
}

#[utoipa::path(get, path = "/plugins", responses((status = 200, description = "Every plugin version: compiled in, or loaded from a WebAssembly module")))]
async fn plugins(State(api): State<Api>) -> Json<Value> {
    Json(Value::Array(api.inner.registry.snapshot().iter().map(crate::listing::component_json).collect()))
}

/// `POST /plugins` query.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct UploadQuery {
    /// The file name to keep it under in the plugin directory (`<name>-<version>.wasm` when absent).
    #[serde(default)]
    file: Option<String>,
}

/// `POST /plugins` as JSON: a module with its approval (needed when the config requires approval).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UploadRequest {
    /// The module's bytes, base64 (standard alphabet, padded).
    pub module: String,
    /// The approval listing it (the text `tradsys approve` wrote).
    #[serde(default)]
    pub approval: Option<String>,
    /// The approval's signature (the text of its `.minisig` file).
    #[serde(default)]
    pub signature: Option<String>,
}

#[utoipa::path(post, path = "/plugins", params(("file" = Option<String>, Query, description = "File name in the plugin directory")),
    request_body(content = UploadRequest, description = "A WebAssembly plugin module: its bytes as `application/wasm`, or JSON with its approval"),
    responses((status = 201, description = "The module's component, registered"), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 413, body = ErrorBody), (status = 422, body = ErrorBody), (status = 500, body = ErrorBody)))]
async fn upload_plugin(
    State(api): State<Api>,
    headers: HeaderMap,
    query: Result<Query<UploadQuery>, QueryRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<Value>), Problem> {
    let Query(query) = query.map_err(|rejection| Problem::invalid(rejection.body_text(), vec![]))?;
    let body = body.map_err(|rejection| Problem {
        status: rejection.status(),
        error: format!("cannot read the module: {}", rejection.body_text()),
        details: vec![format!("modules are limited to {MODULE_BODY_LIMIT} bytes")],
    })?;
    if api.inner.closing.load(Ordering::SeqCst) {
        return Err(Problem::conflict("the system is shutting down; no more changes", vec![]));
    }
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    let (module, approval) = if json {
        let request: UploadRequest = serde_json::from_slice(&body)
            .map_err(|error| Problem::invalid(format!("bad JSON body: {error}"), vec![]))?;
        let module = base64::Engine::decode(&base64::engine::general_purpose::STANDARD, request.module.trim())
            .map_err(|error| Problem::invalid(format!("module: not base64: {error}"), vec![]))?;
        let approval = match (request.approval, request.signature) {
            (Some(text), Some(signature)) => Some(SentApproval { text, signature }),
            (None, None) => None,
            _ => return Err(Problem::invalid("an approval needs its signature, and a signature its approval", vec![])),
        };
        (module, approval)
    } else {
        (body.to_vec(), None)
    };
    let registry = api.inner.registry.clone();
    // Compiling a module takes milliseconds of CPU: off the async workers.
    let (registered, saved) =
        tokio::task::spawn_blocking(move || registry.upload(query.file.as_deref(), &module, approval))
            .await
            .map_err(|_| Problem::gone())??;
    let mut answer = crate::listing::component_json(&registered);
    answer["saved"] = saved.map_or(Value::Null, |path| Value::String(path.display().to_string()));
    Ok((StatusCode::CREATED, Json(answer)))
}

fn component_json(component: &tradsys_core::session::ComponentReport) -> Value {
    json!({
        "id": component.id,
        "kind": component.kind,
        "plugin": component.plugin,
        "state": component.state,
        "lazy": component.lazy,
        "initialized": component.initialized,
        "params": component.params,
        "metrics": component.metrics,
    })
}

#[utoipa::path(get, path = "/components", responses((status = 200, description = "Every component: state, lazy, initialized, params, metrics")))]
async fn components(State(api): State<Api>) -> Result<Json<Value>, Problem> {
    let report = api.report().await?;
    Ok(Json(Value::Array(report.components.iter().map(component_json).collect())))
}

/// The component with this id (unique across kinds, or `kind:id`).
fn find_component<'r>(
    report: &'r SessionReport,
    id: &str,
) -> Result<&'r tradsys_core::session::ComponentReport, Problem> {
    let (kind, id) = match id.split_once(':') {
        Some((kind, rest)) => (Some(kind), rest),
        None => (None, id),
    };
    let found: Vec<_> =
        report.components.iter().filter(|c| c.id == id && kind.is_none_or(|k| c.kind.as_str() == k)).collect();
    match found.as_slice() {
        [one] => Ok(one),
        [] => Err(Problem::unknown(format!("no component {id:?}"))),
        many => Err(Problem::conflict(
            format!("{} components have the id {id:?}; name one as kind:id", many.len()),
            many.iter().map(|c| format!("{}:{}", c.kind.as_str(), c.id)).collect(),
        )),
    }
}

#[utoipa::path(get, path = "/components/{id}", params(("id" = String, Path, description = "Component id, or kind:id")),
    responses((status = 200, description = "One component"), (status = 404, body = ErrorBody)))]
async fn component(State(api): State<Api>, Path(id): Path<String>) -> Result<Json<Value>, Problem> {
    let report = api.report().await?;
    Ok(Json(component_json(find_component(&report, &id)?)))
}

async fn lifecycle(api: &Api, id: &str, stop: bool) -> Result<Json<ChangeResponse>, Problem> {
    if api.inner.closing.load(Ordering::SeqCst) {
        return Err(Problem::conflict("the system is shutting down; no more changes", vec![]));
    }
    let report = api.report().await?;
    let found = find_component(&report, id)?;
    let component = ComponentId::new(found.kind, found.id.as_str());
    let answer = if stop {
        api.ask(|reply| Command::Stop { component, reply }).await?
    } else {
        api.ask(|reply| Command::Start { component, reply }).await?
    };
    let applied = answer.map_err(|error| Problem::refused(&[error]))?;
    Ok(Json(ChangeResponse::from(&vec![applied])))
}

#[utoipa::path(post, path = "/components/{id}/stop", params(("id" = String, Path, description = "Component id, or kind:id")),
    responses((status = 200, body = ChangeResponse), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn stop(State(api): State<Api>, Path(id): Path<String>) -> Result<Json<ChangeResponse>, Problem> {
    lifecycle(&api, &id, true).await
}

#[utoipa::path(post, path = "/components/{id}/start", params(("id" = String, Path, description = "Component id, or kind:id")),
    responses((status = 200, body = ChangeResponse), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn start(State(api): State<Api>, Path(id): Path<String>) -> Result<Json<ChangeResponse>, Problem> {
    lifecycle(&api, &id, false).await
}

#[utoipa::path(get, path = "/metrics", responses((status = 200, description = "Prometheus text exposition format", content_type = "text/plain")))]
async fn metrics(State(api): State<Api>) -> Result<Response, Problem> {
    let report = api.report().await?;
    let text = crate::prometheus::render(&report);
    Ok(([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text).into_response())
}

#[utoipa::path(get, path = "/report", responses((status = 200, description = "The live report, the shape of `run --report`")))]
async fn report(State(api): State<Api>) -> Result<Json<SessionReport>, Problem> {
    Ok(Json(api.report().await?))
}

#[utoipa::path(get, path = "/config", responses((status = 200, description = "The effective config: every key, its value and its source")))]
async fn config(State(api): State<Api>) -> Result<Json<Value>, Problem> {
    let live = api.inner.live.lock().await;
    let rows = live.checked().loader.effective().map_err(|errors| Problem::config(&errors))?;
    Ok(Json(Value::Array(
        rows.into_iter().map(|(key, value, source)| json!({ "key": key, "value": value, "source": source })).collect(),
    )))
}

#[utoipa::path(get, path = "/config/history", responses((status = 200, body = [ConfigRevision], description = "Every change applied since start-up (the latest 1,000), oldest first: its source, the keys it changed (before → after) and what the session did")))]
async fn config_history(State(api): State<Api>) -> Json<Vec<ConfigRevision>> {
    Json(api.inner.live.lock().await.history())
}

#[utoipa::path(patch, path = "/config", request_body(content = Object, description = "A partial config in the file's schema; null removes strategies.<id> or risk.<id>"),
    responses((status = 200, body = ChangeResponse), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 409, body = ErrorBody), (status = 413, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn patch_config(
    State(api): State<Api>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<ChangeResponse>, Problem> {
    let patch: Value = body_json(body)?;
    let mut live = api.inner.live.lock().await;
    let candidate = live.patch(patch, &api.inner.registry.snapshot())?;
    api.apply(&mut live, candidate).await
}

#[utoipa::path(get, path = "/alerts", responses((status = 200, description = "Budgets crossed so far")))]
async fn alerts(State(api): State<Api>) -> Result<Json<Value>, Problem> {
    let report = api.report().await?;
    Ok(Json(serde_json::to_value(&report.alerts).unwrap_or(Value::Null)))
}

#[utoipa::path(post, path = "/strategies", request_body = AddRequest,
    responses((status = 200, body = ChangeResponse), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn add_strategy(
    State(api): State<Api>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<ChangeResponse>, Problem> {
    let request: AddRequest = body_json(body)?;
    let mut live = api.inner.live.lock().await;
    let candidate = live.add(request, &api.inner.registry.snapshot())?;
    api.apply(&mut live, candidate).await
}

/// `DELETE /strategies/{id}` query.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RemoveQuery {
    /// Only `cancel`: a removed strategy's orders cannot outlive it.
    #[serde(default)]
    open_orders: Option<String>,
}

#[utoipa::path(delete, path = "/strategies/{id}", params(("id" = String, Path, description = "Strategy id"), ("open_orders" = Option<String>, Query, description = "cancel (the only choice)")),
    responses((status = 200, body = ChangeResponse), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn remove_strategy(
    State(api): State<Api>,
    Path(id): Path<String>,
    query: Result<Query<RemoveQuery>, QueryRejection>,
) -> Result<Json<ChangeResponse>, Problem> {
    let Query(query) = query.map_err(|rejection| Problem::invalid(rejection.body_text(), vec![]))?;
    if let Some(choice) = query.open_orders.as_deref()
        && choice != "cancel"
    {
        return Err(Problem::invalid(
            format!("open_orders={choice:?}: a removed strategy's orders are always cancelled; expected cancel"),
            vec![],
        ));
    }
    let mut live = api.inner.live.lock().await;
    let candidate = live.remove(&id, &api.inner.registry.snapshot())?;
    api.apply(&mut live, candidate).await
}

#[utoipa::path(post, path = "/strategies/{id}/swap", params(("id" = String, Path, description = "Strategy id")), request_body = SwapRequest,
    responses((status = 200, body = ChangeResponse), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn swap_strategy(
    State(api): State<Api>,
    Path(id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<ChangeResponse>, Problem> {
    let request: SwapRequest = body_json(body)?;
    let mut live = api.inner.live.lock().await;
    let candidate = live.swap(&id, request, &api.inner.registry.snapshot())?;
    api.apply(&mut live, candidate).await
}

/// The OpenAPI document, generated from the handlers' annotations.
#[derive(Debug, OpenApi)]
#[openapi(
    info(title = "tradsys admin API", description = "Manage a running tradsys session: see docs/admin-api.md"),
    paths(
        health,
        plugins,
        upload_plugin,
        components,
        component,
        stop,
        start,
        metrics,
        report,
        config,
        config_history,
        patch_config,
        alerts,
        add_strategy,
        remove_strategy,
        swap_strategy
    ),
    components(schemas(
        UploadRequest,
        ErrorBody,
        ChangeResponse,
        ConfigRevision,
        KeyChange,
        SwapRequest,
        AddRequest,
        super::live::OpenOrdersChoice
    ))
)]
pub struct ApiDoc;

async fn openapi() -> Response {
    match ApiDoc::openapi().to_json() {
        Ok(text) => ([(header::CONTENT_TYPE, "application/json")], text).into_response(),
        Err(error) => (StatusCode::INTERNAL_SERVER_ERROR, error.to_string()).into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_exact_bearer_token_passes() {
        let mut headers = HeaderMap::new();
        assert!(!bearer_matches(&headers, "s3cret"));
        headers.insert(header::AUTHORIZATION, "Bearer s3cret".parse().unwrap());
        assert!(bearer_matches(&headers, "s3cret"));
        assert!(!bearer_matches(&headers, "s3cre"));
        headers.insert(header::AUTHORIZATION, "Basic s3cret".parse().unwrap());
        assert!(!bearer_matches(&headers, "s3cret"));
    }

    #[test]
    fn the_openapi_document_lists_every_route() {
        let doc = ApiDoc::openapi().to_json().unwrap();
        for path in ["/health", "/components/{id}/stop", "/strategies/{id}/swap", "/config", "/alerts"] {
            assert!(doc.contains(&format!("\"{path}\"")), "{path} missing");
        }
    }
}
