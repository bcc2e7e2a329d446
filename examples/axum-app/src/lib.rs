//! A small axum service: `/` answers at once, `/slow` after a second,
//! `/stream` streams ten chunks a second apart, `/health` says whether the
//! process lives and `/ready` whether it takes traffic.
//!
//! [`serve`] takes any listener axum can serve, so production hands it a
//! TCP listener and the tests hand it lifecycle-sim's simulated one.

use std::convert::Infallible;
use std::future::Future;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;
use tokio::sync::watch;

/// Chunks a `/stream` response sends, one per [`CHUNK_INTERVAL`].
pub const CHUNKS: u32 = 10;
/// Time between two chunks of a stream.
pub const CHUNK_INTERVAL: Duration = Duration::from_secs(1);

/// What handlers share: whether the service is draining, and whether it has
/// the drain bug.
#[derive(Clone)]
struct App {
    draining: watch::Receiver<bool>,
    broken: bool,
}

/// Serves until `shutdown` resolves, then drains gracefully: stops
/// accepting, answers `/ready` 503, lets requests finish and ends streams.
/// With `broken`, streams ignore the drain and run to their end.
pub async fn serve<L>(
    listener: L,
    shutdown: impl Future<Output = ()> + Send + 'static,
    broken: bool,
) -> std::io::Result<()>
where
    L: axum::serve::Listener,
    L::Addr: std::fmt::Debug,
{
    let (drain, draining) = watch::channel(false);
    let app = App { draining, broken };
    let router = Router::new()
        .route("/", get(|| async { "hello" }))
        .route("/slow", get(slow))
        .route("/stream", get(stream))
        .route("/health", get(|| async { "alive" }))
        .route("/ready", get(ready))
        .with_state(app);
    axum::serve(listener, router)
        .with_graceful_shutdown(async move {
            shutdown.await;
            drain.send_replace(true);
        })
        .await
}

async fn slow() -> &'static str {
    tokio::time::sleep(Duration::from_secs(1)).await;
    "slow"
}

async fn ready(State(app): State<App>) -> (StatusCode, &'static str) {
    if *app.draining.borrow() {
        (StatusCode::SERVICE_UNAVAILABLE, "draining")
    } else {
        (StatusCode::OK, "ready")
    }
}

/// Ten chunks a second apart. The fixed app ends the stream cleanly when the
/// drain begins; the broken one ignores it.
async fn stream(State(app): State<App>) -> Body {
    let chunks = futures_util::stream::unfold((0, app), |(sent, mut app)| async move {
        if sent == CHUNKS {
            return None;
        }
        if app.broken {
            tokio::time::sleep(CHUNK_INTERVAL).await;
        } else {
            tokio::select! {
                () = tokio::time::sleep(CHUNK_INTERVAL) => {}
                _ = app.draining.wait_for(|draining| *draining) => return None,
            }
        }
        let chunk = Bytes::from(format!("chunk {sent}\n"));
        Some((Ok::<_, Infallible>(chunk), (sent + 1, app)))
    });
    Body::from_stream(chunks)
}
