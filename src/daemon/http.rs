//! The optional HTTP listener (`[http]`, off by default, loopback by default): `GET /healthz`
//! (JSON, 200 or 503, every target; see [`super::health`]), `GET /healthz/{name}` (one
//! target: 200 or 503 by its own verdict, 404 for a name the daemon does not serve) and
//! `GET /metrics` (Prometheus/OpenMetrics text).
//! Read-only: nothing here can change what the daemon does.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::Utc;

use super::Shared;

const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// `[http] listen` could not be bound.
#[derive(Debug, thiserror::Error)]
#[error("[http] cannot listen on {listen}: {source}")]
pub struct ListenError {
    listen: std::net::SocketAddr,
    source: std::io::Error,
}

/// Binds `[http] listen` and serves until the process ends.
pub async fn start(shared: Arc<Shared>, listen: std::net::SocketAddr) -> Result<(), ListenError> {
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|source| ListenError { listen, source })?;
    let bound = listener.local_addr().unwrap_or(listen);
    if !bound.ip().is_loopback() {
        tracing::warn!(address = %bound, "the health and metrics listener is reachable from other hosts");
    }
    tracing::info!(address = %bound, "serving /healthz and /metrics");
    let router = Router::new()
        .route("/healthz", get(healthz))
        .route("/healthz/{name}", get(target_healthz))
        .route("/metrics", get(metrics))
        .with_state(shared);
    tokio::spawn(async move {
        if let Err(error) = axum::serve(listener, router).await {
            tracing::error!(%error, "the health and metrics listener stopped");
        }
    });
    Ok(())
}

async fn healthz(State(shared): State<Arc<Shared>>) -> Response {
    let max_age = Duration::from_secs(shared.max_success_age_seconds());
    let (healthy, document) = shared.health().verdict(Utc::now(), max_age);
    health_response(healthy, &document)
}

async fn target_healthz(State(shared): State<Arc<Shared>>, Path(name): Path<String>) -> Response {
    let max_age = Duration::from_secs(shared.max_success_age_seconds());
    let verdict = shared.health().target_verdict(&name, Utc::now(), max_age);
    match verdict {
        Some((healthy, document)) => health_response(healthy, &document),
        None => (
            StatusCode::NOT_FOUND,
            [(header::CONTENT_TYPE, "application/json")],
            format!("{}\n", serde_json::json!({"error": "no such target"})),
        )
            .into_response(),
    }
}

fn health_response(healthy: bool, document: &serde_json::Value) -> Response {
    let status = if healthy {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        format!("{document}\n"),
    )
        .into_response()
}

async fn metrics(State(shared): State<Arc<Shared>>) -> Response {
    (
        [(header::CONTENT_TYPE, OPENMETRICS)],
        shared.metrics.render(),
    )
        .into_response()
}
