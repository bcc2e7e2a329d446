//! Seeded preemption points: where another thread could run, let the seed decide.
//!
//! turmoil runs every task of a host on one thread, and tasks switch only where
//! they await. A race that needs another thread to run between two lines — the
//! drain-hang lost wakeup, between loading a connection count and creating the
//! `Notified` that would hear the last connection close — never opens there.
//! [`preempt`] is an await the seed turns into a yield of some ticks, or not:
//! place it where a multi-threaded runtime could interleave, and the harness
//! explores both orders, reproducibly.
//!
//! Outside a lifecycle-sim run it returns at once and costs a thread-local read.
//!
//! ```
//! # async fn drain(live: &std::cell::Cell<usize>, closed: &tokio::sync::Notify) {
//! if live.get() > 0 {
//!     // A worker thread could close the last connection right here.
//!     lifecycle_sim::preempt("drain: between count and wait").await;
//!     closed.notified().await;
//! }
//! # }
//! ```

use std::cell::RefCell;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::core::perturb::{self, Site};

/// Out of this many preemption points, one on average yields.
const YIELD_ONE_IN: u32 = 2;
/// The longest yield, in ticks of the simulation.
const YIELD_TICKS_MAX: u32 = 4;

thread_local! {
    static CHOOSER: RefCell<Option<Chooser>> = const { RefCell::new(None) };
}

struct Chooser {
    rng: StdRng,
    tick: Duration,
}

/// Installs the seeded chooser for the run on this thread; removed on drop.
pub(crate) struct Installed(());

impl Installed {
    /// Seeds the preemption choices of the run about to start on this thread.
    pub(crate) fn new(seed: u64, tick: Duration) -> Installed {
        CHOOSER.with(|chooser| {
            *chooser.borrow_mut() = Some(Chooser {
                rng: StdRng::seed_from_u64(seed),
                tick,
            });
        });
        Installed(())
    }
}

impl Drop for Installed {
    fn drop(&mut self) {
        CHOOSER.with(|chooser| chooser.borrow_mut().take());
    }
}

/// How a preemption point resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Choice {
    Continue,
    YieldNow,
    Sleep(Duration),
}

fn choose() -> Choice {
    CHOOSER.with(|chooser| {
        let mut chooser = chooser.borrow_mut();
        let Some(chooser) = chooser.as_mut().filter(|_| turmoil::in_simulation()) else {
            return Choice::Continue;
        };
        if chooser.rng.random_range(0..YIELD_ONE_IN) != 0 {
            return Choice::Continue;
        }
        match chooser.rng.random_range(0..=YIELD_TICKS_MAX) {
            0 => Choice::YieldNow,
            ticks => Choice::Sleep(chooser.tick * ticks),
        }
    })
}

/// A point where another thread could run: in a lifecycle-sim run the seed
/// decides whether the calling task yields here, and for how many ticks (none,
/// a bare yield, or up to four ticks of simulated time). Elsewhere it returns
/// at once. `label` names the point for readers; it does not change the choice.
pub async fn preempt(label: &str) {
    // On a real thread of the threads backend: a perturbation point.
    perturb::point(Site::Socket);
    let choice = choose();
    tracing::trace!(label, ?choice, "preemption point");
    match choice {
        Choice::Continue => {}
        Choice::YieldNow => tokio::task::yield_now().await,
        Choice::Sleep(duration) => tokio::time::sleep(duration).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outside_a_simulation_a_preemption_point_continues() {
        let _installed = Installed::new(1, Duration::from_millis(1));
        assert_eq!(choose(), Choice::Continue);
    }
}
