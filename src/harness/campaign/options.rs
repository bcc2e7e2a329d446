//! How a campaign runs: threads, the share of its cases, progress and
//! interrupts.

use std::sync::atomic::{AtomicBool, Ordering};

/// A share of a campaign's cases: case `i` belongs to shard `i % count`.
/// The shards of one campaign are disjoint, and together they are the
/// whole campaign, so machines running shards 1..=count cover what one
/// machine would.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// This shard, from 0.
    pub index: u64,
    /// How many shards the campaign is split into (at least 1).
    pub count: u64,
}

impl Shard {
    /// The whole campaign.
    pub const ALL: Shard = Shard { index: 0, count: 1 };

    /// Reads `I/N` (1-based, as on the command line).
    pub fn parse(text: &str) -> Result<Shard, String> {
        let bad = || format!("`{text}` is not a shard: write I/N with 1 <= I <= N, e.g. 2/4");
        let (index, count) = text.split_once('/').ok_or_else(bad)?;
        let index: u64 = index.trim().parse().map_err(|_| bad())?;
        let count: u64 = count.trim().parse().map_err(|_| bad())?;
        if count == 0 || index == 0 || index > count {
            return Err(bad());
        }
        Ok(Shard {
            index: index - 1,
            count,
        })
    }

    /// Whether case `index` of the campaign is this shard's.
    pub fn owns(self, index: u64) -> bool {
        index % self.count == self.index
    }

    /// How many of a campaign's first `total` cases are this shard's:
    /// cases `index`, `index + count`, … below `total`.
    pub fn case_count(self, total: u64) -> u64 {
        total.saturating_sub(self.index).div_ceil(self.count)
    }

    /// The campaign's index of this shard's case at `position` (from 0):
    /// the `position`-th case this shard owns.
    pub fn case_index(self, position: u64) -> u64 {
        self.index + position * self.count
    }
}

/// How a campaign runs: on how many threads, which share of its cases, and
/// whom to tell about progress.
#[derive(Clone, Copy)]
pub struct Options<'a> {
    /// Threads, one simulation each (at least 1).
    pub jobs: usize,
    /// The share of the cases to run.
    pub shard: Shard,
    /// Called after each case with the cases done and the failures found
    /// so far (from any thread).
    pub progress: Option<&'a (dyn Fn(u64, u64) + Sync)>,
    /// Read between cases and between shrinking runs: once it is true, no
    /// case starts, the cases running finish, and the report says
    /// [`Completion::Interrupted`](super::Completion::Interrupted). The command sets it on Ctrl-C.
    /// Default: none, the campaign runs to its end.
    pub interrupt: Option<&'a AtomicBool>,
    /// Whether a failure whose run was
    /// [`Blocked`](crate::case::verdict::Verdict::Blocked) is run again, to
    /// check that it replays and to shrink it. Each run of a blocked case
    /// takes its `blocked_max` in wall time and may leave a thread behind,
    /// so by default it is reported as found. Default: false.
    pub rerun_blocked: bool,
}

impl Default for Options<'_> {
    fn default() -> Self {
        Self {
            jobs: 1,
            shard: Shard::ALL,
            progress: None,
            interrupt: None,
            rerun_blocked: false,
        }
    }
}

impl Options<'_> {
    /// Whether the interrupt flag is set.
    pub(crate) fn interrupted(&self) -> bool {
        self.interrupt
            .is_some_and(|flag| flag.load(Ordering::Relaxed))
    }
}
