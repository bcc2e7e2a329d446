//! The text form of schedules: one step per line, as scenario files hold
//! them and failure reports print them, and the durations in it.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use super::steps::{Action, Host, Link, Manner, Schedule, Step, STREAMS_MAX};

/// A step's text could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepError {
    /// The text that was read.
    pub text: String,
    /// What was wrong with it.
    pub reason: String,
}

impl fmt::Display for StepError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "step `{}`: {}", self.text, self.reason)
    }
}

impl std::error::Error for StepError {}

impl Schedule {
    /// One line of text per step, as a scenario file holds them.
    pub fn lines(&self) -> Vec<String> {
        self.steps.iter().map(Step::to_string).collect()
    }

    /// Reads steps from their text form, one per item.
    pub fn parse_lines<S: AsRef<str>>(lines: &[S]) -> Result<Self, StepError> {
        let steps = lines
            .iter()
            .map(|line| line.as_ref().parse())
            .collect::<Result<Vec<Step>, _>>()?;
        Ok(Self::new(steps))
    }
}

impl fmt::Display for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for step in &self.steps {
            writeln!(f, "{step}")?;
        }
        Ok(())
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Action::Start { host } => write!(f, "start{}", on(*host)),
            Action::Request { path, keep, manner } => {
                write!(f, "request {path}")?;
                if let Some(keep) = keep {
                    write!(f, " keep={}", render_duration(*keep))?;
                }
                match manner {
                    Manner::Whole => Ok(()),
                    Manner::SlowBody(span) => write!(f, " slow={}", render_duration(*span)),
                    Manner::HalfClose => f.write_str(" half-close"),
                    Manner::Reuse(after) => write!(f, " reuse={}", render_duration(*after)),
                    Manner::Streams(count) => write!(f, " streams={count}"),
                }
            }
            Action::Connect { partial, hold } => {
                f.write_str("connect")?;
                if *partial {
                    f.write_str(" partial")?;
                }
                match hold {
                    Some(hold) => write!(f, " hold={}", render_duration(*hold)),
                    None => Ok(()),
                }
            }
            Action::Wait => f.write_str("wait"),
            Action::Stop { host, grace: None } => write!(f, "stop{}", on(*host)),
            Action::Stop {
                host,
                grace: Some(grace),
            } => write!(f, "stop{} grace={}", on(*host), render_duration(*grace)),
            Action::Kill { host } => write!(f, "kill{}", on(*host)),
            Action::Restart { host } => write!(f, "restart{}", on(*host)),
            Action::Crash { host } => write!(f, "crash{}", on(*host)),
            Action::Network { link, a, b } => {
                let (a, b) = (a.name(), b.name());
                match link {
                    Link::Partition => write!(f, "partition {a} {b}"),
                    Link::Repair => write!(f, "repair {a} {b}"),
                    Link::Hold => write!(f, "hold {a} {b}"),
                    Link::Release => write!(f, "release {a} {b}"),
                    Link::Latency(delay) => {
                        write!(f, "latency {a} {b} {}", render_duration(*delay))
                    }
                }
            }
        }
    }
}

/// ` <host>` when a step names one.
fn on(host: Option<Host>) -> String {
    host.map_or_else(String::new, |host| format!(" {}", host.name()))
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", render_duration(self.at), self.action)
    }
}

impl FromStr for Step {
    type Err = StepError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let fail = |reason: String| StepError {
            text: text.to_string(),
            reason,
        };
        let mut words = text.split_whitespace();
        let at = words
            .next()
            .ok_or_else(|| fail("empty step: expected `<time> <action>`".into()))?;
        let at = parse_duration(at).map_err(fail)?;
        let verb = words
            .next()
            .ok_or_else(|| fail("missing action after the time".into()))?;
        let arguments: Vec<&str> = words.collect();
        let action = parse_action(verb, &arguments).map_err(fail)?;
        Ok(Step { at, action })
    }
}

/// Reads an action from its verb and arguments.
fn parse_action(verb: &str, arguments: &[&str]) -> Result<Action, String> {
    let option = |argument: &str, name: &str| -> Result<Duration, String> {
        argument
            .strip_prefix(name)
            .and_then(|rest| rest.strip_prefix('='))
            .ok_or_else(|| {
                format!("`{verb}` does not take `{argument}`: expected `{name}=<duration>`")
            })
            .and_then(parse_duration)
    };
    let link = |link: Link, hosts: &[&str]| -> Result<Action, String> {
        match hosts {
            [a, b] if a != b => Ok(Action::Network {
                link,
                a: Host::from_name(a)?,
                b: Host::from_name(b)?,
            }),
            _ => Err(format!(
                "`{verb}` takes two different hosts, e.g. `{verb} client server`"
            )),
        }
    };
    // A lifecycle step may name its service host first: `restart node-2`.
    let (host, arguments) = match arguments.split_first() {
        Some((first, rest))
            if matches!(verb, "start" | "stop" | "kill" | "restart" | "crash")
                && !first.contains('=') =>
        {
            let host = Host::from_name(first).map_err(|_| {
                format!(
                    "`{first}` is neither a host (server, node-1 to node-16) nor an option such as \
                     `grace=5s`"
                )
            })?;
            (Some(host), rest)
        }
        _ => (None, arguments),
    };
    match (verb, arguments) {
        ("start", []) => Ok(Action::Start { host }),
        ("wait", []) => Ok(Action::Wait),
        ("kill", []) => Ok(Action::Kill { host }),
        ("restart", []) => Ok(Action::Restart { host }),
        ("crash", []) => Ok(Action::Crash { host }),
        ("stop", []) => Ok(Action::Stop { host, grace: None }),
        ("stop", [grace]) => Ok(Action::Stop {
            host,
            grace: Some(option(grace, "grace")?),
        }),
        ("request", [path, rest @ ..]) => {
            check_path(path)?;
            let (mut keep, mut manner) = (None, None);
            for argument in rest {
                let (name, value) = argument.split_once('=').unwrap_or((argument, ""));
                let taken = match name {
                    "keep" if keep.is_none() => {
                        keep = Some(option(argument, "keep")?);
                        continue;
                    }
                    "slow" => Manner::SlowBody(option(argument, "slow")?),
                    "reuse" => Manner::Reuse(option(argument, "reuse")?),
                    "streams" => Manner::Streams(streams(value)?),
                    "half-close" if value.is_empty() && !argument.contains('=') => {
                        Manner::HalfClose
                    }
                    _ => {
                        return Err(format!(
                            "`request` does not take `{argument}`: after the path it takes \
                             `keep=<duration>` and one of `slow=<duration>`, \
                             `reuse=<duration>`, `streams=<count>` or `half-close`"
                        ))
                    }
                };
                if manner.replace(taken).is_some() {
                    return Err(
                        "`request` takes one manner at most: `slow=`, `reuse=`, `streams=` or \
                         `half-close`"
                            .into(),
                    );
                }
            }
            Ok(Action::Request {
                path: path.to_string(),
                keep,
                manner: manner.unwrap_or_default(),
            })
        }
        ("request", _) => Err(
            "`request` takes a path starting with `/`, then optionally `keep=<duration>`".into(),
        ),
        ("connect", arguments) => {
            let (mut partial, mut hold) = (false, None);
            for argument in arguments {
                match *argument {
                    "partial" if !partial => partial = true,
                    _ if argument.starts_with("hold=") && hold.is_none() => {
                        hold = Some(option(argument, "hold")?)
                    }
                    _ => {
                        return Err(format!(
                            "`connect` does not take `{argument}`: it takes `partial` and \
                             `hold=<duration>`, each at most once"
                        ))
                    }
                }
            }
            Ok(Action::Connect { partial, hold })
        }
        ("partition", hosts) => link(Link::Partition, hosts),
        ("repair", hosts) => link(Link::Repair, hosts),
        ("hold", hosts) => link(Link::Hold, hosts),
        ("release", hosts) => link(Link::Release, hosts),
        ("latency", [a, b, delay]) => {
            let delay = parse_duration(delay)?;
            link(Link::Latency(delay), &[a, b])
        }
        ("latency", _) => Err(
            "`latency` takes two hosts and a duration, e.g. `latency client server 50ms`".into(),
        ),
        ("start" | "wait" | "kill" | "restart" | "crash" | "stop", extra) => {
            Err(format!("`{verb}` does not take `{}`", extra.join(" ")))
        }
        (other, _) => Err(format!(
            "unknown action `{other}`: expected start, request, connect, wait, stop, kill, \
             restart, crash, partition, repair, hold, release or latency"
        )),
    }
}

/// Checks that `path` can be sent as an HTTP request target.
pub fn check_path(path: &str) -> Result<(), String> {
    if !path.starts_with('/') {
        return Err(format!("`{path}` is not a path: it must start with `/`"));
    }
    path.parse::<hyper::http::uri::PathAndQuery>()
        .map(|_| ())
        .map_err(|error| format!("`{path}` is not a valid request path: {error}"))
}

/// Reads `streams=`'s count: 2 to [`STREAMS_MAX`].
fn streams(value: &str) -> Result<u16, String> {
    value
        .parse::<u16>()
        .ok()
        .filter(|count| (2..=STREAMS_MAX).contains(count))
        .ok_or_else(|| {
            format!("`streams={value}`: a request sends 2 to {STREAMS_MAX} streams at once")
        })
}

/// Reads a duration such as `250ms`, `5s` or `2m` (whole numbers only).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .ok_or_else(|| format!("`{text}` has no unit: write e.g. `250ms`, `5s` or `2m`"))?;
    let (number, unit) = text.split_at(split);
    let number: u64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a duration: write e.g. `250ms`, `5s` or `2m`"))?;
    let duration = match unit {
        "ms" => Duration::from_millis(number),
        "s" => Duration::from_secs(number),
        "m" => Duration::from_secs(number.saturating_mul(60)),
        _ => {
            return Err(format!(
                "`{text}` has unknown unit `{unit}`: use ms, s or m"
            ))
        }
    };
    if duration > DURATION_MAX {
        return Err(format!(
            "`{text}` is longer than a simulation may run ({}s at most)",
            DURATION_MAX.as_secs()
        ));
    }
    Ok(duration)
}

/// The longest duration a schedule or scenario may name: a day of simulated
/// time, so that sums of times never overflow.
pub const DURATION_MAX: Duration = Duration::from_secs(86_400);

/// Renders a duration in the form [`parse_duration`] reads, in whole
/// milliseconds (the simulation's tick) or seconds when exact.
pub fn render_duration(duration: Duration) -> String {
    let millis = duration.as_millis();
    if millis >= 1000 && millis % 1000 == 0 {
        format!("{}s", millis / 1000)
    } else {
        format!("{millis}ms")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_form_round_trips() {
        let text = [
            "0ms start",
            "12ms request /",
            "13ms request /upload keep=2s slow=1500ms",
            "14ms request / half-close",
            "15ms request / keep=1s reuse=800ms",
            "16ms connect",
            "17ms connect partial hold=2s",
            "18ms connect hold=0ms",
            "300ms stop grace=5s",
            "1s restart",
        ];
        let schedule = Schedule::parse_lines(&text).unwrap();
        assert_eq!(schedule.lines(), text);
    }

    #[test]
    fn malformed_steps_name_what_is_wrong() {
        let error = "12 start".parse::<Step>().unwrap_err();
        assert!(error.reason.contains("no unit"), "{error}");
        let error = "5ms jump".parse::<Step>().unwrap_err();
        assert!(error.reason.contains("unknown action `jump`"), "{error}");
        let error = "5ms stop soon".parse::<Step>().unwrap_err();
        assert!(error.reason.contains("neither a host"), "{error}");
        assert!(error.reason.contains("grace=5s"), "{error}");
        let error = "5ms stop node-2 soon".parse::<Step>().unwrap_err();
        assert!(error.reason.contains("grace="), "{error}");
        let error = "5ms partition client client".parse::<Step>().unwrap_err();
        assert!(error.reason.contains("two different hosts"), "{error}");
        let error = "5ms hold client moon".parse::<Step>().unwrap_err();
        assert!(error.reason.contains("unknown host `moon`"), "{error}");
        let error = "5ms request x".parse::<Step>().unwrap_err();
        assert!(error.reason.contains("path"), "{error}");
        let error = "5ms request / slow=1s half-close"
            .parse::<Step>()
            .unwrap_err();
        assert!(error.reason.contains("one manner at most"), "{error}");
        let error = "5ms request / quickly".parse::<Step>().unwrap_err();
        assert!(error.reason.contains("does not take `quickly`"), "{error}");
        let error = "5ms connect partial partial".parse::<Step>().unwrap_err();
        assert!(error.reason.contains("each at most once"), "{error}");
        let error = "5ms connect hold=soon".parse::<Step>().unwrap_err();
        assert!(error.reason.contains("soon"), "{error}");
    }
}
