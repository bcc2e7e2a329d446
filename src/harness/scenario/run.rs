//! `[run]`'s bounds of each run, read into [`Limits`]: times in simulated
//! and wall-clock time, the listen backlog, the wall-clock time a step may
//! block, the memory a case may hold, and whether clocks and randomness
//! are intercepted; and the HTTP the clients send. A value out of range is an error naming its field and
//! line; an absent one gets [`Limits::default`]'s.

use std::ops::RangeInclusive;
use std::time::Duration;

use toml::Spanned;

use super::error::{Reader, ScenarioError};
use super::file::RunTable;
use super::size::{parse_size, render_size};
use crate::case::http::{Http, Protocol};
use crate::case::{Limits, BACKLOG_DEFAULT, BACKLOG_MAX};

/// The shortest `run.blocked_max`: the watchdog looks at a run every 20 ms,
/// so a shorter bound would be kept no better, and a step of an ordinary
/// run (every host for one tick) on a loaded machine can take a few.
pub(super) const BLOCKED_MAX_LEAST: Duration = Duration::from_millis(10);

/// The sizes `run.memory_max` may name, 1 MiB to 1 TiB: below a mebibyte
/// no simulation fits (turmoil and tokio alone hold more), above a
/// tebibyte no machine it runs on has the memory to reach the bound.
pub(super) const MEMORY_MAX_RANGE: RangeInclusive<u64> = (1 << 20)..=(1 << 40);

/// `[run]`'s bounds of each run.
pub(super) fn limits(reader: &Reader, run: &RunTable) -> Result<Limits, ScenarioError> {
    let defaults = Limits::default();
    let duration = |value: &Option<Spanned<String>>, field: &str, default| {
        reader.optional_duration(value.as_ref(), &format!("run.{field}"), default)
    };
    let limits = Limits {
        settle_max: duration(&run.settle_max, "settle_max", defaults.settle_max)?,
        request_timeout: duration(
            &run.request_timeout,
            "request_timeout",
            defaults.request_timeout,
        )?,
        wall_time_max: duration(&run.wall_time_max, "wall_time_max", defaults.wall_time_max)?,
        ticks_max: defaults.ticks_max,
        tick: duration(&run.tick, "tick", defaults.tick)?,
        convergence_bound: duration(
            &run.convergence_bound,
            "convergence_bound",
            defaults.convergence_bound,
        )?,
        recovery_bound: duration(
            &run.recovery_bound,
            "recovery_bound",
            defaults.recovery_bound,
        )?,
        backlog: backlog(reader, run.backlog.as_ref())?,
        blocked_max: duration(&run.blocked_max, "blocked_max", defaults.blocked_max)?,
        memory_max_bytes: memory_max(reader, run.memory_max.as_ref(), defaults.memory_max_bytes)?,
        intercept: run.intercept.unwrap_or(defaults.intercept),
    };
    if limits.tick.is_zero() {
        let span = run.tick.as_ref().map_or(0..0, Spanned::span);
        return Err(reader.error(span, "run.tick", "must be at least 1ms".into()));
    }
    if limits.blocked_max < BLOCKED_MAX_LEAST {
        let span = run.blocked_max.as_ref().map_or(0..0, Spanned::span);
        return Err(reader.error(
            span,
            "run.blocked_max",
            format!(
                "must be at least {}ms: the watchdog could not keep a shorter bound",
                BLOCKED_MAX_LEAST.as_millis()
            ),
        ));
    }
    Ok(limits)
}

/// `run.protocol`: what the client host's requests carry, `"http"` (the
/// default) or `"grpc"`.
pub(super) fn protocol(reader: &Reader, run: &RunTable) -> Result<Protocol, ScenarioError> {
    let Some(value) = &run.protocol else {
        return Ok(Protocol::Http);
    };
    Protocol::from_name(value.get_ref()).ok_or_else(|| {
        reader.error(
            value.span(),
            "run.protocol",
            format!(
                "unknown protocol `{}`: \"http\" (plain HTTP requests) or \"grpc\" (gRPC \
                 unary calls over HTTP/2)",
                value.get_ref()
            ),
        )
    })
}

/// `run.http`: what the client host sends, `"1.1"` or `"2"`; the default
/// is `"1.1"`, or `"2"` for gRPC, which runs over HTTP/2 only.
pub(super) fn http(
    reader: &Reader,
    run: &RunTable,
    protocol: Protocol,
) -> Result<Http, ScenarioError> {
    let Some(value) = &run.http else {
        return Ok(match protocol {
            Protocol::Grpc => Http::Two,
            _ => Http::One,
        });
    };
    match Http::from_name(value.get_ref()) {
        Some(Http::One) if protocol == Protocol::Grpc => Err(reader.error(
            value.span(),
            "run.http",
            "gRPC runs over HTTP/2: `protocol = \"grpc\"` needs `http = \"2\"` (or none)".into(),
        )),
        Some(http @ (Http::One | Http::Two)) => Ok(http),
        _ => Err(reader.error(
            value.span(),
            "run.http",
            format!(
                "`{}` is not an HTTP the clients send: \"1.1\" or \"2\" (HTTP/2 over \
                 cleartext, with prior knowledge); a service may serve \"auto\", a client \
                 sends one",
                value.get_ref()
            ),
        )),
    }
}

/// `run.backlog`: connections a listener holds unaccepted, 1 to [`BACKLOG_MAX`].
fn backlog(reader: &Reader, value: Option<&Spanned<i64>>) -> Result<usize, ScenarioError> {
    let Some(value) = value else {
        return Ok(BACKLOG_DEFAULT);
    };
    usize::try_from(*value.get_ref())
        .ok()
        .filter(|backlog| (1..=BACKLOG_MAX).contains(backlog))
        .ok_or_else(|| {
            reader.error(
                value.span(),
                "run.backlog",
                format!(
                    "{}: a listen backlog is 1 to {BACKLOG_MAX}",
                    value.get_ref()
                ),
            )
        })
}

/// `run.memory_max`: bytes a case may hold, an integer or a size with its
/// unit ([`parse_size`]), within [`MEMORY_MAX_RANGE`].
fn memory_max(
    reader: &Reader,
    value: Option<&Spanned<toml::Value>>,
    default: u64,
) -> Result<u64, ScenarioError> {
    const FIELD: &str = "run.memory_max";
    let Some(value) = value else {
        return Ok(default);
    };
    let error = |message: String| reader.error(value.span(), FIELD, message);
    let bytes = match value.get_ref() {
        toml::Value::Integer(number) => u64::try_from(*number)
            .map_err(|_| error(format!("{number} bytes: a size is not negative")))?,
        toml::Value::String(text) => parse_size(text).map_err(error)?,
        other => {
            return Err(error(format!(
                "expected an integer number of bytes or a string such as \"512MiB\", \
                 not a {}",
                other.type_str()
            )))
        }
    };
    if !MEMORY_MAX_RANGE.contains(&bytes) {
        return Err(error(format!(
            "{} is out of range: a case's memory bound is {} to {}",
            render_size(bytes),
            render_size(*MEMORY_MAX_RANGE.start()),
            render_size(*MEMORY_MAX_RANGE.end())
        )));
    }
    Ok(bytes)
}
