//! The engine's clock: the system's, or one a test moves by hand.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use crate::domain::time::Millis;

/// Where the engine and its workers read the time (ms since the epoch): leases, backoffs,
/// signatures' timestamps and the key reload throttle follow it. (How long a request has been
/// running is measured with `Instant`, which no clock here drives.)
#[derive(Debug, Clone, Default)]
pub enum Clock {
    /// The system clock (the default).
    #[default]
    System,
    /// A clock that moves only when [`Clock::advance`] moves it (tests, benchmarks).
    Manual(Arc<AtomicI64>),
}

impl Clock {
    /// A manual clock reading `start`; clones share it.
    pub fn manual(start: Millis) -> Clock {
        Clock::Manual(Arc::new(AtomicI64::new(start)))
    }

    pub fn now(&self) -> Millis {
        match self {
            Clock::System => system_clock(),
            Clock::Manual(at) => at.load(Ordering::SeqCst),
        }
    }

    /// Moves a manual clock `ms` ahead; the system clock moves by itself.
    pub fn advance(&self, ms: Millis) {
        if let Clock::Manual(at) = self {
            at.fetch_add(ms, Ordering::SeqCst);
        }
    }
}

/// The system clock, read now: the business time every command reads (when a delivery is due,
/// leases, retention cut-offs, health windows).
pub fn system_clock() -> Millis {
    crate::domain::time::to_millis(std::time::SystemTime::now()).saturating_add(test_offset())
}

/// Test-only (ARCHITECTURE.md, "Testing"): in a debug build (what `cargo test` runs),
/// `WEBNET_TEST_CLOCK_OFFSET` (milliseconds, may be negative) moves this process's clock, so
/// tests run the next `drain` past a backoff instead of sleeping. Read once; anything that is
/// not a whole number is ignored. A release build never reads it: a moved clock would judge
/// other processes' live leases expired.
#[cfg(debug_assertions)]
fn test_offset() -> Millis {
    static OFFSET: std::sync::OnceLock<Millis> = std::sync::OnceLock::new();
    *OFFSET.get_or_init(|| {
        std::env::var("WEBNET_TEST_CLOCK_OFFSET")
            .ok()
            .and_then(|v| v.trim().parse::<Millis>().ok())
            .unwrap_or(0)
    })
}

#[cfg(not(debug_assertions))]
fn test_offset() -> Millis {
    0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manual_clock_moves_only_when_moved_and_its_clones_follow() {
        let clock = Clock::manual(1_000);
        let seen_by_a_worker = clock.clone();
        assert_eq!(clock.now(), 1_000);
        clock.advance(250);
        assert_eq!(seen_by_a_worker.now(), 1_250);
        assert!(Clock::System.now() > 1_600_000_000_000);
    }
}
