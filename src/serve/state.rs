//! What every handler shares: a pool of database connections (a [`Store`] serves one thread
//! at a time), how actions that send are made (scope aside), and the worker's wake-up flag.
//! Handlers run their database work on tokio's blocking threads through [`AppState::call`],
//! which first checks the request's token: one hop per request.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use super::auth::{self, Access, Bearer};
use super::error::{ApiError, ApiResult};
use crate::delivery::system_clock;
use crate::domain::time::Millis;
use crate::ops::tokens::Grant;
use crate::ops::Sending;
use crate::store::Store;

/// Requests that send allowed at once (of the runtime's 64 blocking threads).
pub const SENDING_AT_ONCE: usize = 16;

/// Connections kept for reuse; more may be open at once under load, and are closed after.
const POOL_KEEP: usize = 4;

pub struct AppState {
    /// Idle connections; a request takes one or opens another from `origin`.
    idle: Mutex<Vec<Store>>,
    origin: Mutex<Store>,
    /// How actions that send are made; the caller's scope replaces `scope`.
    pub sending: Sending,
    /// `/metrics` without a token (`--public-metrics`).
    pub public_metrics: bool,
    /// Set when new work was recorded: the worker looks at once instead of at its next poll.
    pub wake: Arc<AtomicBool>,
    /// Requests that send (`test/`, `retry/`) hold a blocking thread for as long as the
    /// receiver takes: at most this many at once, so slow receivers cannot take every thread.
    pub sending_slots: Arc<tokio::sync::Semaphore>,
    /// Records the API's events in groups (one transaction for the requests waiting).
    pub recorder: super::recorder::Recorder,
    /// The web UI's signed-in browsers.
    pub sessions: super::ui::Sessions,
}

impl AppState {
    pub fn new(
        origin: Store,
        recorder: super::recorder::Recorder,
        sending: Sending,
        public_metrics: bool,
    ) -> AppState {
        AppState {
            idle: Mutex::new(Vec::new()),
            origin: Mutex::new(origin),
            sending,
            public_metrics,
            wake: Arc::new(AtomicBool::new(false)),
            sending_slots: Arc::new(tokio::sync::Semaphore::new(SENDING_AT_ONCE)),
            recorder,
            sessions: super::ui::Sessions::new(),
        }
    }

    pub fn now(&self) -> Millis {
        system_clock()
    }

    /// Tells the worker new work is due.
    pub fn wake_worker(&self) {
        self.wake.store(true, Ordering::SeqCst);
    }

    /// Runs `f` on a blocking thread with a connection, once `bearer` is found to be a token
    /// that may do `access`.
    pub async fn call<T, F>(self: &Arc<Self>, bearer: Bearer, access: Access, f: F) -> ApiResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Store, &Grant) -> ApiResult<T> + Send + 'static,
    {
        self.with_store(move |store, now| {
            let grant = auth::check(store, &bearer, access, now)?;
            f(store, &grant)
        })
        .await
    }

    /// As [`AppState::call`] for a request that sends: waits for one of the
    /// [`SENDING_AT_ONCE`] slots first (up to 30 s, then 503).
    /// `f` is given the [`Sending`] of the token's scope ([`AppState::sending_for`]).
    pub async fn call_sending<T, F>(self: &Arc<Self>, bearer: Bearer, f: F) -> ApiResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Store, &Sending) -> ApiResult<T> + Send + 'static,
    {
        let permit = self.sending_slot().await?;
        let state = Arc::clone(self);
        let result = self
            .call(bearer, Access::Write, move |store, grant| {
                f(store, &state.sending_for(grant.scope))
            })
            .await;
        drop(permit);
        result
    }

    /// One of the [`SENDING_AT_ONCE`] slots for a request that sends (the API's and the UI's
    /// tests and retries), waited for up to 30 s, then 503; held until dropped.
    pub async fn sending_slot(&self) -> ApiResult<tokio::sync::OwnedSemaphorePermit> {
        let slots = Arc::clone(&self.sending_slots);
        tokio::time::timeout(std::time::Duration::from_secs(30), slots.acquire_owned())
            .await
            .ok()
            .and_then(Result::ok)
            .ok_or_else(|| {
                ApiError::Unavailable("Too many tests and retries in progress; try again.".into())
            })
    }

    /// How a test or retry sends for `scope`: one request, this server's proxies and allowed
    /// destinations.
    pub fn sending_for(&self, scope: crate::domain::Scope) -> Sending {
        Sending {
            scope,
            concurrency: 1,
            ..self.sending.clone()
        }
    }

    /// Runs `f` on a blocking thread with a connection, no token asked (health).
    pub async fn with_store<T, F>(self: &Arc<Self>, f: F) -> ApiResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Store, Millis) -> ApiResult<T> + Send + 'static,
    {
        let state = Arc::clone(self);
        tokio::task::spawn_blocking(move || {
            let mut store = state.take()?;
            let result = f(&mut store, state.now());
            state.give_back(store);
            result
        })
        .await
        .map_err(|e| ApiError::Internal(format!("the request's task failed: {e}")))?
    }

    fn take(&self) -> ApiResult<Store> {
        if let Some(store) = self.idle.lock().ok().and_then(|mut idle| idle.pop()) {
            store.revive_if_idle();
            return Ok(store);
        }
        let origin = self
            .origin
            .lock()
            .map_err(|_| ApiError::Internal("the connection pool is broken".into()))?;
        Ok(origin.reopen()?)
    }

    fn give_back(&self, store: Store) {
        if let Ok(mut idle) = self.idle.lock() {
            if idle.len() < POOL_KEEP {
                idle.push(store);
            }
        }
    }
}
