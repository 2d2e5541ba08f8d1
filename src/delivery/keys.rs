//! The secret key as the engine holds it: loaded once, loaded again when a value does not
//! open with it (a `key rotate`, or a first secret, under a long-running `drain --watch`), with
//! reloads after a failure throttled so a damaged value cannot reload it for every job.

use std::sync::Arc;
use std::time::Duration;

use super::error::DeliveryError;
use super::send::Request;
use crate::domain::secret::SecretKey;
use crate::domain::time::Millis;
use crate::store::{Job, Store};

/// How often a key that failed is loaded again, after the first reload.
pub const KEY_RELOAD: Duration = Duration::from_secs(1);

/// The key in hand, and when it was loaded.
#[derive(Default)]
pub struct KeyCache {
    key: Option<(Result<SecretKey, Arc<crate::store::StoreError>>, Millis)>,
    /// The key in hand was itself reloaded because its predecessor failed to open a value:
    /// another reload waits KEY_RELOAD (a damaged value must not reload it for every job).
    failed: bool,
}

impl KeyCache {
    /// The request for `job` (see [`super::request::build`]), with the key when it needs one.
    /// A value that does not open makes the key load again (at once the first time) and the
    /// build is tried once more; if that fails too, this attempt fails (and is retried).
    pub fn prepare(
        &mut self,
        store: &Store,
        job: &Job,
        now: Millis,
    ) -> Result<Request, DeliveryError> {
        if !job.target.as_ref().is_some_and(|t| t.needs_key()) {
            return super::request::build(job, None, now);
        }
        let key = self.get(store, now, false)?;
        match super::request::build(job, Some(&key), now) {
            Err(e) if e.key_may_be_stale() => {
                let again = self.get(store, now, true)?;
                super::request::build(job, Some(&again), now)
            }
            built => built,
        }
    }

    /// The key, loaded once; loaded again when `failed_to_open` (the one in hand did not open
    /// a value), and after a failed load. A reload after a failure is immediate the first
    /// time; a further one waits KEY_RELOAD, so a damaged value or a lost key cannot make
    /// every job reload it.
    fn get(
        &mut self,
        store: &Store,
        now: Millis,
        failed_to_open: bool,
    ) -> Result<SecretKey, DeliveryError> {
        let throttled = |at: Millis| now - at < KEY_RELOAD.as_millis() as i64;
        let reload = match &self.key {
            None => true,
            Some((Err(_), at)) => !throttled(*at),
            Some((Ok(_), at)) => failed_to_open && !(self.failed && throttled(*at)),
        };
        if reload {
            self.failed = failed_to_open;
            // A `key rotate` that commits between this load's read of the check value and its
            // read of the key file makes the two disagree once; a second load sees both new.
            let loaded = store.secret_key().or_else(|_| store.secret_key());
            self.key = Some((loaded.map_err(Arc::new), now));
        }
        match &self.key {
            Some((Ok(k), _)) => Ok(k.clone()),
            Some((Err(e), _)) => Err(DeliveryError::KeyUnavailable(Arc::clone(e))),
            None => Err(DeliveryError::NoKey),
        }
    }
}
