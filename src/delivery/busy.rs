//! Waiting out a busy database in `emit`: another process may hold SQLite's write lock for
//! longer than the busy timeout (a long write, a backup). `emit` holds input that a streaming
//! producer will not send again, so it waits, saying so, for up to [`PATIENCE`] busy timeouts,
//! then fails naming exactly what was not recorded.

use crate::domain::time::Millis;
use crate::store::StoreError;

/// What waits while the database is busy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BusyWait {
    /// Input lines `first..=last` are read but not recorded yet; recording is tried again.
    Recording { first: usize, last: usize },
    /// Results of attempts made are not recorded yet; writing them is tried again.
    Results { count: usize },
    /// Recorded deliveries whose first attempt is left for `drain` (claiming them now would
    /// hold up recording the input).
    LeftForDrain { deliveries: usize },
}

/// Why the database cannot be written for now: a lock another process holds (SQLite, or a
/// PostgreSQL lock timeout), or a lost connection to the server (a restart, a failover).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Held {
    Locked,
    Lost,
}

impl Held {
    /// Why `e` (a busy error, [`StoreError::is_busy`]) says the database cannot be written.
    pub fn of(e: &StoreError) -> Held {
        match e {
            StoreError::Unavailable { .. } => Held::Lost,
            _ => Held::Locked,
        }
    }

    /// What the database is while held so, for a warning: `the database is …`.
    pub fn now(self) -> &'static str {
        match self {
            Held::Locked => "busy (locked by another process)",
            Held::Lost => "unreachable (the connection to the server was lost)",
        }
    }
}

impl std::fmt::Display for Held {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // What it stayed: `the database stayed …`.
        f.write_str(match self {
            Held::Locked => "locked by another process",
            Held::Lost => "unreachable (the connection to the server was lost)",
        })
    }
}

/// How `emit` fails beyond a store error.
#[derive(Debug, thiserror::Error)]
pub enum EmitError {
    /// The database stayed busy for the whole patience: these lines are not in it.
    #[error("the database stayed {held} for {}: {} not recorded, nor anything after {}: send {} again", humantime::format_duration(*waited), lines(*first, *last), if first == last { "it" } else { "them" }, if first == last { "it" } else { "them" })]
    NotRecorded {
        first: usize,
        last: usize,
        waited: std::time::Duration,
        held: Held,
    },
    /// The database stayed busy: the results of attempts made are not recorded (every event
    /// is); those deliveries are sent again by `drain` once their leases run out.
    #[error("the database stayed {held} for {}: every event was recorded, but the results of {count} attempt(s) were not: `webnet drain` sends those deliveries again once their leases run out", humantime::format_duration(*waited))]
    ResultsNotRecorded {
        count: usize,
        waited: std::time::Duration,
        held: Held,
    },
    /// Recording failed for another reason (not a busy database): `first` and every line
    /// after it are not in the database; lines before it are.
    #[error("{source}: line {first} and every line after it were not recorded: send them again once the database is fixed")]
    Failed {
        first: usize,
        #[source]
        source: StoreError,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// `line 4 was` / `lines 4 to 9 were`.
fn lines(first: usize, last: usize) -> String {
    if first == last {
        format!("line {first} was")
    } else {
        format!("lines {first} to {last} were")
    }
}

/// How long `emit` waits for a busy database, counted from the start of the first write that
/// found it busy: ten times the busy timeout (five minutes), then it gives up.
const PATIENCE: u32 = 10;

/// A run of writes that found the database busy: when it began (ms), for [`PATIENCE`].
#[derive(Debug, Default)]
pub(super) struct Waiting {
    since: Option<i64>,
}

impl Waiting {
    /// A write begun at `started` found the database busy (now `now`; writes wait `timeout`
    /// for a lock): `Err(waited)` once the patience is spent, else pauses briefly (in case the
    /// lock was refused without waiting).
    pub(super) fn busy(
        &mut self,
        timeout: std::time::Duration,
        now: Millis,
        started: Millis,
    ) -> Result<(), std::time::Duration> {
        let since = *self.since.get_or_insert(started);
        let waited = (now - since).max(0) as u64;
        let waited = std::time::Duration::from_millis(waited);
        if waited >= timeout * PATIENCE {
            // Said in whole seconds (milliseconds only below one).
            let said = match waited.as_secs() {
                0 => waited,
                s => std::time::Duration::from_secs(s),
            };
            return Err(said);
        }
        std::thread::sleep((timeout / 10).min(std::time::Duration::from_secs(1)));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn the_give_up_message_names_the_lines_to_send_again() {
        let e = EmitError::NotRecorded {
            first: 12,
            last: 40,
            waited: Duration::from_secs(300),
            held: Held::Locked,
        };
        assert_eq!(
            e.to_string(),
            "the database stayed locked by another process for 5m: lines 12 to 40 were not recorded, nor anything after them: send them again"
        );
        let one = EmitError::NotRecorded {
            first: 7,
            last: 7,
            waited: Duration::from_secs(300),
            held: Held::Lost,
        };
        assert_eq!(
            one.to_string(),
            "the database stayed unreachable (the connection to the server was lost) for 5m: line 7 was not recorded, nor anything after it: send it again"
        );
    }
}
