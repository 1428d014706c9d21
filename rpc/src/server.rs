//! The HTTP server: JSON-RPC on `POST /`, `GET /health`, `GET /ready`, `GET /metrics`.

use std::net::SocketAddr;

use actix_web::http::StatusCode;
use actix_web::{web, App, HttpResponse, HttpServer};
use futures_util::StreamExt;
use rollup_actors::Telemetry;
use serde_json::{json, Value};

use crate::jsonrpc::{dispatch, error_response, Methods, RpcError, RpcMetrics};

/// Settings of the API server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiConfig {
    /// Address to listen on; port 0 picks a free port.
    pub listen: SocketAddr,
    /// Largest accepted request body, in bytes.
    pub max_body_bytes: usize,
    /// Most calls in one batch.
    pub max_batch_len: usize,
    /// HTTP worker threads.
    pub workers: usize,
}

/// Why the API server did not start.
#[derive(Debug, thiserror::Error)]
pub enum StartApiError {
    /// The address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The server's metrics could not be registered.
    #[error("cannot register API metrics: {0}")]
    Metrics(#[from] prometheus::Error),
}

struct State {
    methods: Methods,
    telemetry: Telemetry,
    metrics: RpcMetrics,
    max_body_bytes: usize,
    max_batch_len: usize,
}

/// A started API server.
pub struct ApiServer {
    /// Resolves when the server has stopped; must be polled (spawned) to serve.
    pub server: actix_web::dev::Server,
    /// The bound address (the real port when port 0 was asked for).
    pub local_addr: SocketAddr,
}

/// Binds the API server. Signals are not handled here: the node decides when to stop
/// (`server.handle().stop(true)` drains in-flight requests).
pub fn start(config: &ApiConfig, methods: Methods, telemetry: Telemetry) -> Result<ApiServer, StartApiError> {
    let metrics = RpcMetrics::register(telemetry.metrics.registry())?;
    let state = web::Data::new(State {
        methods,
        telemetry,
        metrics,
        max_body_bytes: config.max_body_bytes,
        max_batch_len: config.max_batch_len,
    });
    let bind_error = |source| StartApiError::Bind { addr: config.listen, source };
    let server = HttpServer::new(move || {
        App::new()
            .app_data(state.clone())
            .route("/", web::post().to(json_rpc))
            .route("/health", web::get().to(health))
            .route("/ready", web::get().to(ready))
            .route("/metrics", web::get().to(metrics_text))
            .default_service(web::to(not_found))
    })
    .workers(config.workers)
    .disable_signals()
    .bind(config.listen)
    .map_err(bind_error)?;
    let local_addr = server.addrs().first().copied().unwrap_or(config.listen);
    Ok(ApiServer { server: server.run(), local_addr })
}

async fn json_rpc(state: web::Data<State>, mut payload: web::Payload) -> HttpResponse {
    let limit = state.max_body_bytes;
    let too_large = || {
        HttpResponse::build(StatusCode::PAYLOAD_TOO_LARGE).json(error_response(
            Value::Null,
            RpcError::invalid_request(format!("request body exceeds {limit} bytes")),
        ))
    };
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        match chunk {
            Ok(chunk) if body.len().saturating_add(chunk.len()) > limit => return too_large(),
            Ok(chunk) => body.extend_from_slice(&chunk),
            Err(actix_web::error::PayloadError::Overflow) => return too_large(),
            Err(error) => {
                return HttpResponse::BadRequest().json(error_response(
                    Value::Null,
                    RpcError::invalid_request(format!("unreadable body: {error}")),
                ))
            }
        }
    }
    match dispatch(&body, &state.methods, state.max_batch_len, &state.metrics).await {
        Some(response) => HttpResponse::Ok().json(response),
        None => HttpResponse::NoContent().finish(),
    }
}

async fn health() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "ok" }))
}

async fn ready(state: web::Data<State>) -> HttpResponse {
    let health = &state.telemetry.health;
    let roles: serde_json::Map<String, Value> =
        health.snapshot().into_iter().map(|(role, status)| (role.to_owned(), json!(status.name()))).collect();
    let ready = health.is_ready();
    let body = json!({ "ready": ready, "shutting_down": health.is_shutting_down(), "roles": roles });
    if ready {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable().json(body)
    }
}

async fn metrics_text(state: web::Data<State>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(state.telemetry.metrics.render())
}

async fn not_found() -> HttpResponse {
    HttpResponse::NotFound().json(
        json!({ "error": "not found: JSON-RPC is served on POST /, and GET /health, /ready, /metrics" }),
    )
}
