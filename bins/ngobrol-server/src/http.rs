//! The operator's HTTP listener: `GET /healthz` (the process runs),
//! `GET /readyz` (connected to the broker and consuming, and the store
//! answers) and `GET /metrics` (Prometheus text). It serves nothing else
//! and is meant for loopback: a load balancer's probe, systemd, a
//! Prometheus scraper on the same machine.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use ngobrol_store::Store;
use tokio::net::TcpListener;
use tokio::sync::watch;

/// How long `/readyz` waits for the store before it calls it down.
const STORE_TIMEOUT: Duration = Duration::from_secs(2);

/// The buckets of every `_seconds` histogram: 100 µs to 10 s.
const BUCKETS: &[f64] = &[
    0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

/// What the probes look at.
#[derive(Clone)]
pub(crate) struct Probes {
    /// True while the server consumes requests on a live connection.
    pub serving: watch::Receiver<bool>,
    pub store: Arc<Store>,
    pub metrics: PrometheusHandle,
}

/// Installs the process's metrics recorder (Prometheus), with histogram
/// buckets for every duration. Call once, before serving.
pub(crate) fn install_metrics() -> anyhow::Result<PrometheusHandle> {
    let handle = PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), BUCKETS)?
        .install_recorder()?;
    ngobrol_amqp::server::metrics::describe();
    // Without an exporter thread of its own, the recorder is kept tidy
    // by whoever renders; between scrapes, by this.
    let upkeep = handle.clone();
    tokio::spawn(async move {
        let mut every = tokio::time::interval(Duration::from_secs(5));
        loop {
            every.tick().await;
            upkeep.run_upkeep();
        }
    });
    Ok(handle)
}

/// Binds `addr`. An address in use is an error unless `tolerate_in_use`
/// (the default address, which a second server on the machine finds
/// taken): then it warns and returns `None`.
pub(crate) async fn bind(
    addr: SocketAddr,
    tolerate_in_use: bool,
) -> anyhow::Result<Option<TcpListener>> {
    match TcpListener::bind(addr).await {
        Ok(listener) => Ok(Some(listener)),
        Err(e) if tolerate_in_use && e.kind() == std::io::ErrorKind::AddrInUse => {
            tracing::warn!(
                %addr,
                "the HTTP listener's default address is in use (another server on this machine?); \
                 serving without /healthz, /readyz and /metrics: set --http-addr to give this one its own"
            );
            Ok(None)
        }
        Err(e) => Err(anyhow::anyhow!("cannot listen for HTTP on {addr}: {e}")),
    }
}

/// Serves the probes on `listener` until `shutdown` completes.
pub(crate) async fn serve(
    listener: TcpListener,
    probes: Probes,
    broker_rules: Option<crate::broker_auth::BrokerRules>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    if let Ok(addr) = listener.local_addr() {
        tracing::info!(%addr, "HTTP listener up: /healthz, /readyz, /metrics (and /auth/… in isolated mode)");
    }
    let mut app = Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .with_state(probes);
    if let Some(rules) = broker_rules {
        app = app.merge(crate::broker_auth::routes(rules));
    }
    if let Err(e) = axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
    {
        tracing::warn!("the HTTP listener stopped: {e}");
    }
}

async fn readyz(State(probes): State<Probes>) -> impl IntoResponse {
    if !*probes.serving.borrow() {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "not ready: not consuming requests from the broker\n",
        );
    }
    match tokio::time::timeout(STORE_TIMEOUT, probes.store.ping()).await {
        Ok(Ok(())) => (StatusCode::OK, "ready\n"),
        Ok(Err(_)) => (
            StatusCode::SERVICE_UNAVAILABLE,
            "not ready: the store fails\n",
        ),
        Err(_) => (
            StatusCode::SERVICE_UNAVAILABLE,
            "not ready: the store does not answer\n",
        ),
    }
}

async fn metrics(State(probes): State<Probes>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        probes.metrics.render(),
    )
}
