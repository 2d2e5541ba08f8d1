//! The retry policy (spec "Retry Logic"): `1 + max_retries` attempts; after the n-th failure the
//! next attempt is due `retry_backoff × 2^(n-1)` seconds later; `Retry-After` wins when longer.
//! Pure: time is passed in.

use super::time::Millis;

/// Longest wait between two attempts, so doubling cannot overflow or stall a delivery for ever.
pub const MAX_DELAY_SECS: u64 = 7 * 24 * 3600;
/// Longest `Retry-After` honoured.
pub const MAX_RETRY_AFTER_SECS: u64 = 24 * 3600;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    pub max_retries: u32,
    pub backoff_secs: u32,
}

/// What follows a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// Try again at this time (ms since the epoch).
    RetryAt(Millis),
    /// No attempts left: the delivery is `failed`.
    GiveUp,
}

impl RetryPolicy {
    /// Seconds to wait after the `failures`-th failure (1-based): b, 2b, 4b, …
    pub fn delay_secs(&self, failures: u32) -> u64 {
        let exp = failures.saturating_sub(1).min(40);
        (self.backoff_secs as u64)
            .saturating_mul(1u64 << exp)
            .min(MAX_DELAY_SECS)
    }

    /// After attempt number `attempts` (1-based) failed at `now`: retry when, or give up.
    /// `retry_after` is the receiver's `Retry-After` in seconds (429/503), honoured when longer.
    pub fn after_failure(&self, attempts: u32, now: Millis, retry_after: Option<u64>) -> Next {
        if attempts > self.max_retries {
            return Next::GiveUp;
        }
        let wait = self
            .delay_secs(attempts)
            .max(retry_after.unwrap_or(0).min(MAX_RETRY_AFTER_SECS));
        Next::RetryAt(now + (wait as Millis) * 1000)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_spec_schedule_with_defaults() {
        let p = RetryPolicy {
            max_retries: 3,
            backoff_secs: 60,
        };
        let now = 1_000_000;
        // (attempt that failed, expected next)
        let table = [
            (1, Next::RetryAt(now + 60_000)),
            (2, Next::RetryAt(now + 120_000)),
            (3, Next::RetryAt(now + 240_000)),
            (4, Next::GiveUp),
        ];
        for (attempt, expected) in table {
            assert_eq!(
                p.after_failure(attempt, now, None),
                expected,
                "attempt {attempt}"
            );
        }
    }

    #[test]
    fn zero_retries_gives_up_after_the_first_attempt() {
        let p = RetryPolicy {
            max_retries: 0,
            backoff_secs: 60,
        };
        assert_eq!(p.after_failure(1, 0, None), Next::GiveUp);
    }

    #[test]
    fn retry_after_wins_only_when_longer() {
        let p = RetryPolicy {
            max_retries: 3,
            backoff_secs: 10,
        };
        assert_eq!(p.after_failure(1, 0, Some(30)), Next::RetryAt(30_000));
        assert_eq!(p.after_failure(1, 0, Some(5)), Next::RetryAt(10_000));
        assert_eq!(
            p.after_failure(1, 0, Some(10 * MAX_RETRY_AFTER_SECS)),
            Next::RetryAt(MAX_RETRY_AFTER_SECS as i64 * 1000)
        );
    }

    #[test]
    fn doubling_is_capped() {
        let p = RetryPolicy {
            max_retries: 20,
            backoff_secs: 86_400,
        };
        assert_eq!(p.delay_secs(20), MAX_DELAY_SECS);
        let p = RetryPolicy {
            max_retries: 20,
            backoff_secs: 1,
        };
        assert_eq!(p.delay_secs(1), 1);
        assert_eq!(p.delay_secs(5), 16);
    }
}

#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// The schedule: b, 2b, 4b, … doubling each time, never shrinking, capped.
        #[test]
        fn waits_double_until_the_cap(backoff in 1u32..=86_400, n in 1u32..=40) {
            let p = RetryPolicy { max_retries: 20, backoff_secs: backoff };
            let (a, b) = (p.delay_secs(n), p.delay_secs(n + 1));
            prop_assert!(a >= backoff as u64 || a == MAX_DELAY_SECS);
            prop_assert!(b >= a);
            prop_assert_eq!(b, (2 * a).min(MAX_DELAY_SECS));
        }

        /// Exactly 1 + max_retries attempts, whatever the receiver says in Retry-After.
        #[test]
        fn attempts_are_one_plus_max_retries(
            max_retries in 0u32..=20,
            backoff in 1u32..=86_400,
            retry_after in proptest::option::of(0u64..=1_000_000),
            now in 0i64..=4_000_000_000_000,
        ) {
            let p = RetryPolicy { max_retries, backoff_secs: backoff };
            let mut attempts = 1;
            let mut t = now;
            while let Next::RetryAt(at) = p.after_failure(attempts, t, retry_after) {
                // Never sooner than the backoff; a Retry-After only ever delays, within its cap.
                prop_assert!(at >= t + p.delay_secs(attempts) as i64 * 1000);
                prop_assert!(at <= t + MAX_DELAY_SECS.max(MAX_RETRY_AFTER_SECS) as i64 * 1000);
                t = at;
                attempts += 1;
                prop_assert!(attempts <= 21);
            }
            prop_assert_eq!(attempts, 1 + max_retries);
        }
    }
}
