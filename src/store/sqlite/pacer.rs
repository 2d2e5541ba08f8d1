//! Pacing long work on the one SQLite writer lock: batches sized to a short time, with a
//! jittered pause after each so other writers get the lock in between.

use std::time::Duration;

/// Paces batches of writes: sizes them to take about [`Pacer::TARGET`], and after each pauses
/// at least as long as it took (jittered), so that a writer waiting in SQLite's busy handler —
/// which polls every 25 ms in its first 100 ms, later every 100 ms — finds the lock free.
pub(super) struct Pacer {
    /// Rows in the next batch.
    pub(super) batch: usize,
    min: usize,
    max: usize,
    pub(super) seed: u64,
}

impl Pacer {
    const TARGET: Duration = Duration::from_millis(40);
    const MIN_PAUSE: Duration = Duration::from_millis(30);

    /// Batches start at `first` rows, kept between `min` and `max`; `seed` varies the jitter.
    pub(super) fn new(first: usize, min: usize, max: usize, seed: i64) -> Pacer {
        Pacer {
            batch: first,
            min,
            max,
            seed: (seed as u64 ^ u64::from(std::process::id())) | 1,
        }
    }

    /// After a batch that took `took`: the next batch's size, then a pause.
    pub(super) fn rest(&mut self, took: Duration) {
        if took < Self::TARGET / 2 {
            self.batch = (self.batch * 2).min(self.max);
        } else if took > Self::TARGET * 2 {
            self.batch = (self.batch / 2).max(self.min);
        }
        // xorshift64: jitter, so our transactions cannot stay in step with a waiter's polls.
        self.seed ^= self.seed << 13;
        self.seed ^= self.seed >> 7;
        self.seed ^= self.seed << 17;
        let base = took.max(Self::MIN_PAUSE);
        let jitter = Duration::from_micros(self.seed % (base.as_micros() as u64 / 2 + 1));
        std::thread::sleep(base + jitter);
    }
}
