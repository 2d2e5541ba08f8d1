//! A fast recording receiver for the benchmarks: HTTP/1.1 keep-alive on loopback, one thread per
//! connection, counting requests. Paths starting with `/hang` never answer (until the sender's
//! timeout closes the connection). Paths starting with `/wait` answer after [`WAIT`].

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long a `/wait` request takes to answer: a receiver across a network (a LAN's round
/// trip and a little work) rather than on loopback.
pub const WAIT: Duration = Duration::from_millis(5);

pub struct Receiver {
    pub port: u16,
    count: Arc<AtomicU64>,
    healthy: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
}

impl Receiver {
    pub fn start() -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let port = listener.local_addr().expect("addr").port();
        let count = Arc::new(AtomicU64::new(0));
        let healthy = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (c, h, s) = (count.clone(), healthy.clone(), stop.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if s.load(Ordering::Relaxed) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let (c, h, s) = (c.clone(), h.clone(), s.clone());
                std::thread::spawn(move || serve(stream, &c, &h, &s));
            }
        });
        Receiver {
            port,
            count,
            healthy,
            stop,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// Every request received, hanging ones included.
    pub fn count(&self) -> u64 {
        self.count.load(Ordering::SeqCst)
    }

    /// Requests answered 200 (not hanging).
    pub fn healthy(&self) -> u64 {
        self.healthy.load(Ordering::SeqCst)
    }

    pub fn reset(&self) {
        self.count.store(0, Ordering::SeqCst);
        self.healthy.store(0, Ordering::SeqCst);
    }

    /// Waits (bounded) until `n` healthy requests arrived; returns when, or `None`.
    pub fn wait_healthy(&self, n: u64, timeout: Duration) -> Option<Instant> {
        let end = Instant::now() + timeout;
        while Instant::now() < end {
            if self.healthy() >= n {
                return Some(Instant::now());
            }
            std::thread::sleep(Duration::from_micros(200));
        }
        None
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

fn serve(stream: TcpStream, count: &AtomicU64, healthy: &AtomicU64, stop: &AtomicBool) {
    let _ = stream.set_nodelay(true);
    let _ = stream.set_read_timeout(Some(Duration::from_secs(60)));
    let Ok(mut writer) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::with_capacity(16 * 1024, stream);
    let mut line = String::new();
    let mut body = Vec::new();
    loop {
        line.clear();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let path = line.split_whitespace().nth(1).unwrap_or_default();
        let hang = path.starts_with("/hang");
        let wait = path.starts_with("/wait");
        let mut len = 0usize;
        loop {
            line.clear();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            if line == "\r\n" || line == "\n" {
                break;
            }
            if let Some((k, v)) = line.split_once(':') {
                if k.eq_ignore_ascii_case("content-length") {
                    len = v.trim().parse().unwrap_or(0);
                }
            }
        }
        body.resize(len, 0);
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        count.fetch_add(1, Ordering::SeqCst);
        if hang {
            // Hold the connection until the sender gives up (bounded).
            let end = Instant::now() + Duration::from_secs(30);
            while Instant::now() < end && !stop.load(Ordering::Relaxed) {
                let mut b = [0u8; 1];
                match reader.get_mut().read(&mut b) {
                    Ok(0) | Err(_) => return,
                    Ok(_) => {}
                }
            }
            return;
        }
        if wait {
            // A receiver that takes a moment, as one across a network does.
            std::thread::sleep(WAIT);
        }
        healthy.fetch_add(1, Ordering::SeqCst);
        if writer
            .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
            .is_err()
        {
            return;
        }
    }
}
