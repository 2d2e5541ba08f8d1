//! The delivery worker inside `serve`: `drain --watch` on its own thread and connection, woken
//! at once when the API records events (so their first attempts go out at once), and due
//! retries within its poll (a second). It stops with the server: nothing new is started, what
//! is in flight finishes and is recorded.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use crate::delivery::service::{DrainOptions, DrainReport};
use crate::ops::{self, Sending};
use crate::store::Store;

pub struct Worker {
    stop: Arc<AtomicBool>,
    thread: JoinHandle<()>,
}

impl Worker {
    pub fn start(
        mut store: Store,
        sending: Sending,
        wake: Arc<AtomicBool>,
        mut report: Box<dyn DrainReport + Send>,
    ) -> std::io::Result<Worker> {
        let stop = Arc::new(AtomicBool::new(false));
        let opts = DrainOptions {
            watch: true,
            stop: Some(Arc::clone(&stop)),
            tick_every: Some(Duration::from_secs(60)),
            wake: Some(wake),
            ..DrainOptions::default()
        };
        let thread = std::thread::Builder::new()
            .name("webnet-worker".into())
            .spawn(move || {
                let stop = opts.stop.clone().unwrap_or_default();
                while !stop.load(Ordering::SeqCst) {
                    // `drain --watch` returns only when stopped, or on a failure it cannot wait
                    // out (a busy database it waits out itself): say so and start again.
                    if let Err(e) = ops::delivery::drain(&mut store, &sending, &opts, &mut *report)
                    {
                        eprintln!(
                            "worker: {}; starting again in 5 s",
                            crate::domain::text::error_line(&e.to_string())
                        );
                        for _ in 0..50 {
                            if stop.load(Ordering::SeqCst) {
                                break;
                            }
                            std::thread::sleep(Duration::from_millis(100));
                        }
                    }
                }
            })?;
        Ok(Worker { stop, thread })
    }

    /// Stops claiming, lets requests in flight finish and be recorded, and waits for that.
    pub fn stop(self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = self.thread.join();
    }
}
