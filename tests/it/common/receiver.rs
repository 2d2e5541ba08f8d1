//! A recording HTTP/1.1 receiver on loopback that answers as each test tells it (in the spirit
//! of Svix's `TestReceiver`). It also watches for the same delivery being sent twice at once.

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// One request as received.
#[derive(Debug, Clone)]
pub struct Received {
    pub path: String,
    /// Header names lower-cased.
    pub headers: HashMap<String, String>,
    pub body: Vec<u8>,
    pub at: Instant,
    /// 0-based index among all requests this receiver got.
    pub index: usize,
}

impl Received {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .get(&name.to_ascii_lowercase())
            .map(String::as_str)
    }

    pub fn delivery(&self) -> i64 {
        self.header("x-webhook-delivery")
            .and_then(|v| v.parse().ok())
            .unwrap_or(-1)
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("JSON body")
    }
}

/// Turns a [`Receiver::switchable`] receiver healthy (200) or failing.
#[derive(Clone)]
pub struct Switch(Arc<AtomicBool>);

impl Switch {
    pub fn healthy(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    pub fn failing(&self) {
        self.0.store(false, Ordering::SeqCst);
    }
}

/// How to answer one request.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// Wait this long before answering (a slow or hanging receiver).
    pub delay: Duration,
    /// Close the connection without answering.
    pub close: bool,
    /// Answer 200 with a body that never ends (until the client hangs up; bounded).
    pub endless: bool,
    /// Send the answer one byte at a time, this far apart.
    pub trickle: Option<Duration>,
    /// With `trickle`: the status line and headers at once, only the body a byte at a time.
    pub trickle_body_only: bool,
}

impl Reply {
    pub fn status(status: u16) -> Reply {
        Reply {
            status,
            headers: Vec::new(),
            body: b"ok".to_vec(),
            delay: Duration::ZERO,
            close: false,
            endless: false,
            trickle: None,
            trickle_body_only: false,
        }
    }
    pub fn endless() -> Reply {
        Reply {
            endless: true,
            ..Reply::ok()
        }
    }
    pub fn trickle(every: Duration) -> Reply {
        Reply {
            trickle: Some(every),
            ..Reply::ok()
        }
    }
    /// 200 and its headers at once, then `body` a byte at a time, `every` apart.
    pub fn trickle_body(every: Duration, body: &str) -> Reply {
        Reply {
            trickle: Some(every),
            trickle_body_only: true,
            ..Reply::ok().body(body)
        }
    }
    pub fn ok() -> Reply {
        Reply::status(200)
    }
    pub fn header(mut self, k: &str, v: &str) -> Reply {
        self.headers.push((k.into(), v.into()));
        self
    }
    pub fn body(mut self, b: impl Into<Vec<u8>>) -> Reply {
        self.body = b.into();
        self
    }
    pub fn delay(mut self, d: Duration) -> Reply {
        self.delay = d;
        self
    }
    pub fn close() -> Reply {
        Reply {
            close: true,
            ..Reply::ok()
        }
    }
}

type Behaviour = dyn Fn(&Received) -> Reply + Send + Sync;

struct Shared {
    received: Mutex<Vec<Received>>,
    active: Mutex<HashSet<i64>>,
    overlaps: AtomicUsize,
    behaviour: Box<Behaviour>,
    stop: AtomicBool,
}

pub struct Receiver {
    pub port: u16,
    /// The loopback address it listens on (127.0.0.1 unless started with [`Receiver::start_on`]).
    pub ip: std::net::IpAddr,
    shared: Arc<Shared>,
}

impl Receiver {
    /// Answers every request with `behaviour(request)`.
    pub fn start(behaviour: impl Fn(&Received) -> Reply + Send + Sync + 'static) -> Receiver {
        Receiver::start_on(std::net::Ipv4Addr::LOCALHOST.into(), behaviour)
    }

    /// As [`Receiver::start`], on another loopback address (e.g. `::1`).
    pub fn start_on(
        ip: std::net::IpAddr,
        behaviour: impl Fn(&Received) -> Reply + Send + Sync + 'static,
    ) -> Receiver {
        assert!(ip.is_loopback(), "test receivers listen on loopback only");
        let listener = TcpListener::bind((ip, 0)).expect("bind loopback");
        let port = listener.local_addr().unwrap().port();
        let shared = Arc::new(Shared {
            received: Mutex::new(Vec::new()),
            active: Mutex::new(HashSet::new()),
            overlaps: AtomicUsize::new(0),
            behaviour: Box::new(behaviour),
            stop: AtomicBool::new(false),
        });
        let s = Arc::clone(&shared);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if s.stop.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let s = Arc::clone(&s);
                std::thread::spawn(move || serve(stream, &s));
            }
        });
        Receiver { port, ip, shared }
    }

    /// A receiver that answers 200 to everything.
    pub fn ok() -> Receiver {
        Receiver::start(|_| Reply::ok())
    }

    /// A receiver that answers `failing` (e.g. 500) until the test flips the [`Switch`] to
    /// healthy, then 200 (and back, as the test says).
    pub fn switchable(failing: u16) -> (Receiver, Switch) {
        let switch = Switch(Arc::new(AtomicBool::new(false)));
        let healthy = Arc::clone(&switch.0);
        let rx = Receiver::start(move |_| {
            if healthy.load(Ordering::SeqCst) {
                Reply::ok()
            } else {
                Reply::status(failing)
            }
        });
        (rx, switch)
    }

    pub fn url(&self, path: &str) -> String {
        format!(
            "http://{}{path}",
            std::net::SocketAddr::new(self.ip, self.port)
        )
    }

    pub fn requests(&self) -> Vec<Received> {
        self.shared.received.lock().unwrap().clone()
    }

    pub fn count(&self) -> usize {
        self.shared.received.lock().unwrap().len()
    }

    /// Times a request arrived for a delivery already being received (sent twice at once).
    pub fn overlaps(&self) -> usize {
        self.shared.overlaps.load(Ordering::SeqCst)
    }

    /// Waits (bounded) until at least `n` requests arrived.
    pub fn wait_for(&self, n: usize, timeout: Duration) -> Vec<Received> {
        let end = Instant::now() + timeout;
        while self.count() < n && Instant::now() < end {
            std::thread::sleep(Duration::from_millis(20));
        }
        self.requests()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect((self.ip, self.port));
    }
}

trait LingerZero {
    fn set_linger_zero(&self) -> std::io::Result<()>;
}

impl LingerZero for TcpStream {
    /// std has no SO_LINGER; shutting down both ways after unread input gives the same RST in
    /// practice on Linux.
    fn set_linger_zero(&self) -> std::io::Result<()> {
        self.shutdown(std::net::Shutdown::Both)
    }
}

fn serve(stream: TcpStream, s: &Shared) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
    let mut writer = match stream.try_clone() {
        Ok(w) => w,
        Err(_) => return,
    };
    let mut reader = BufReader::new(stream);
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let path = line.split_whitespace().nth(1).unwrap_or("/").to_string();
        let mut headers = HashMap::new();
        loop {
            let mut h = String::new();
            if reader.read_line(&mut h).unwrap_or(0) == 0 {
                return;
            }
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            if let Some((k, v)) = h.split_once(':') {
                headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
            }
        }
        let len: usize = headers
            .get("content-length")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let mut body = vec![0; len];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let req = {
            let mut all = s.received.lock().unwrap();
            let r = Received {
                path,
                headers,
                body,
                at: Instant::now(),
                index: all.len(),
            };
            all.push(r.clone());
            r
        };
        let id = req.delivery();
        if !s.active.lock().unwrap().insert(id) {
            s.overlaps.fetch_add(1, Ordering::SeqCst);
        }
        let reply = (s.behaviour)(&req);
        if !reply.delay.is_zero() {
            std::thread::sleep(reply.delay);
        }
        s.active.lock().unwrap().remove(&id);
        if reply.close {
            // Reset rather than a clean close: unread data makes the kernel send RST.
            let _ = writer.set_linger_zero();
            return;
        }
        if reply.endless {
            let _ = writer.write_all(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n");
            let chunk = vec![b'z'; 64 * 1024];
            let end = Instant::now() + Duration::from_secs(20);
            // At most about 1 GiB, 20 s, or until the client hangs up.
            for _ in 0..16_384 {
                if Instant::now() > end || writer.write_all(&chunk).is_err() {
                    break;
                }
            }
            return;
        }
        let mut out = format!(
            "HTTP/1.1 {} X\r\nContent-Length: {}\r\n",
            reply.status,
            reply.body.len()
        );
        for (k, v) in &reply.headers {
            out.push_str(&format!("{k}: {v}\r\n"));
        }
        out.push_str("\r\n");
        let mut bytes = out.into_bytes();
        if reply.trickle_body_only {
            if writer.write_all(&bytes).is_err() {
                return;
            }
            bytes.clear();
        }
        bytes.extend_from_slice(&reply.body);
        if let Some(every) = reply.trickle {
            for b in &bytes {
                if writer.write_all(std::slice::from_ref(b)).is_err() {
                    return;
                }
                std::thread::sleep(every);
            }
            continue;
        }
        if writer.write_all(&bytes).is_err() {
            return;
        }
    }
}
