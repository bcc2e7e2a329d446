//! The app as lifecycle-sim runs it, declared once for every test.

use std::io;

use lifecycle_sim::{Http, Protocol, Service, GRPC_HEALTH_CHECK};

/// The app, fixed or `broken`, served by its own `serve` (production's
/// shutdown path, readiness flip included) over the simulated listener.
///
/// Not `Service::tonic`: that adapter serves a `Router` with the harness's
/// own shutdown signal, and the app's stop does more than tonic's (it
/// reports `slow.Slow` `NOT_SERVING` first, and bounds tonic's drain by its
/// deadline; broken, it returns at the signal).
/// So the app is a `Service::new` declaring what `Service::tonic` declares:
/// gRPC over HTTP/2, and the gRPC health checks the kubelet's probes call.
pub fn service(name: &str, broken: bool) -> Service {
    Service::new(name, move |launch| async move {
        let listener = launch.bind().await?;
        tonic_app::serve(listener.incoming(), launch.shutdown(), broken)
            .await
            .map_err(io::Error::other)
    })
    .http(Http::Two)
    .protocol(Protocol::Grpc)
    .paths(&[tonic_app::QUICK, tonic_app::WAIT])
    .health(GRPC_HEALTH_CHECK)
    .ready(&format!(
        "{GRPC_HEALTH_CHECK}?service={}",
        tonic_app::SERVICE
    ))
    // The app's own bound on its drain, longer than a `Wait` call.
    .drain_deadline(tonic_app::DRAIN_DEADLINE)
}
