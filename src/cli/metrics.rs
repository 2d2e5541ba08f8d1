//! `webnet metrics` (Prometheus text on stdout) and the file `drain --metrics-file` keeps
//! (node_exporter's textfile-collector convention: the whole file replaced at once by a
//! rename, so the collector never reads half of one).
//!
//! A drain's metrics are written on their own connection and, with `--watch`, their own thread:
//! reading them scans the kept history, which must not hold up claims and outcomes. A write
//! that fails is logged and never stops the drain.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::{CliError, Context};
use crate::delivery::system_clock;
use crate::domain::text::{error_line, quote};
use crate::domain::Scope;
use crate::ops;
use crate::store::Store;

/// How often `drain --watch --metrics-file` rewrites the file: Prometheus's usual scrape
/// interval, so the collector's reads are never more than one interval behind.
pub const WATCH_EVERY: Duration = Duration::from_secs(15);

pub fn run(ctx: &Context) -> Result<(), CliError> {
    let store = ctx.store()?;
    let text = ops::metrics::render(&store, ctx.scope, ctx.now())?;
    // A closed pipe (`| head`) ends output quietly; a full disk is an error at the end.
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        super::output::output_failed(e);
    }
    Ok(())
}

/// The file `drain --metrics-file` writes, checked before the drain starts.
#[derive(Debug, Clone)]
pub struct MetricsFile {
    path: PathBuf,
    dir: PathBuf,
    name: String,
}

impl MetricsFile {
    /// Refuses (exit 2, naming `--metrics-file`) a path that is not a file name in an existing
    /// directory: a mistyped directory would otherwise fail only at the end of the run.
    pub fn check(path: &Path) -> Result<MetricsFile, CliError> {
        let refuse = |why: &str| {
            CliError::usage(
                "--metrics-file",
                format!("{} {why}", quote(&path.display().to_string())),
            )
        };
        let name = match path.file_name().and_then(|n| n.to_str()) {
            Some(n) if !path.as_os_str().to_string_lossy().ends_with('/') => n.to_string(),
            _ => return Err(refuse("is not a file name")),
        };
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        if !dir.is_dir() {
            return Err(refuse("is in a directory that does not exist"));
        }
        if path.is_dir() {
            return Err(refuse("is a directory"));
        }
        Ok(MetricsFile {
            path: path.to_path_buf(),
            dir,
            name,
        })
    }

    /// Replaces the file with `text`: written to `NAME.tmp.<pid>` beside it (which the textfile
    /// collector, reading only `*.prom`, ignores), mode 0644, then renamed over it.
    pub fn write(&self, text: &str) -> std::io::Result<()> {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        let tmp = self
            .dir
            .join(format!("{}.tmp.{}", self.name, std::process::id()));
        let written = (|| {
            let mut f = std::fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .mode(0o644)
                .open(&tmp)?;
            // The umask may have taken read access from the collector's user.
            f.set_permissions(std::fs::Permissions::from_mode(0o644))?;
            f.write_all(text.as_bytes())?;
            std::fs::rename(&tmp, &self.path)
        })();
        if written.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        written
    }

    /// Reads the metrics of `scope` now and writes them; a failure is one line on stderr.
    pub fn update(&self, store: &Store, scope: Scope) {
        let result = ops::metrics::render(store, scope, system_clock())
            .map_err(|e| CliError::from(e).message)
            .and_then(|text| self.write(&text).map_err(|e| e.to_string()));
        if let Err(why) = result {
            let _ = writeln!(
                std::io::stderr().lock(),
                "drain: --metrics-file: could not write {}: {}",
                quote(&self.path.display().to_string()),
                error_line(&why)
            );
        }
    }

    /// With `drain --watch`: writes now and every [`WATCH_EVERY`] on a thread of its own, with
    /// its own connection, until [`Periodic::finish`].
    pub fn every(&self, store: Store, scope: Scope) -> Periodic {
        let done = Arc::new(AtomicBool::new(false));
        let file = self.clone();
        let flag = Arc::clone(&done);
        let thread = std::thread::spawn(move || {
            while !flag.load(Ordering::SeqCst) {
                file.update(&store, scope);
                let until = Instant::now() + WATCH_EVERY;
                while !flag.load(Ordering::SeqCst) && Instant::now() < until {
                    std::thread::sleep(Duration::from_millis(100));
                }
            }
        });
        Periodic { done, thread }
    }
}

/// The thread [`MetricsFile::every`] started.
pub struct Periodic {
    done: Arc<AtomicBool>,
    thread: JoinHandle<()>,
}

impl Periodic {
    /// Stops the thread (within a tenth of a second, or once a write under way ends).
    pub fn finish(self) {
        self.done.store(true, Ordering::SeqCst);
        let _ = self.thread.join();
    }
}
