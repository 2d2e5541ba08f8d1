//! The egress proxy: deliveries go through a real proxy on loopback (a small CONNECT proxy
//! written here, which records what it was asked for), `--proxy` > `WEBNET_PROXY` > the usual
//! variables, `no_proxy` bypasses it, a refused destination never reaches it, a proxy that
//! fails is retried without blaming the receiver, and its credentials are never shown.

use crate::common;

use std::io::{BufRead, BufReader, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use common::receiver::Receiver;
use common::Env;
use serde_json::Value;

/// One request the proxy got: the request line's method and target, and its
/// `Proxy-Authorization` header.
#[derive(Debug, Clone, PartialEq)]
struct Asked {
    method: String,
    target: String,
    auth: Option<String>,
}

/// What the proxy does with a CONNECT.
#[derive(Clone, Copy)]
enum Mode {
    /// Opens the tunnel (to loopback only; anything else is answered 403 and not connected).
    Tunnel,
    /// Answers with this status and closes (407: wants credentials).
    Answer(u16),
}

struct Proxy {
    port: u16,
    asked: Arc<Mutex<Vec<Asked>>>,
    stop: Arc<AtomicBool>,
}

impl Proxy {
    fn start(mode: Mode) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let port = listener.local_addr().unwrap().port();
        let asked = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (a, s) = (Arc::clone(&asked), Arc::clone(&stop));
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if s.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let a = Arc::clone(&a);
                std::thread::spawn(move || serve(stream, mode, &a));
            }
        });
        Proxy { port, asked, stop }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn asked(&self) -> Vec<Asked> {
        self.asked.lock().unwrap().clone()
    }

    /// The targets of the CONNECTs it got.
    fn tunnels(&self) -> Vec<String> {
        self.asked()
            .into_iter()
            .map(|a| {
                assert_eq!(a.method, "CONNECT", "webnet tunnels every request: {a:?}");
                a.target
            })
            .collect()
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

fn serve(stream: TcpStream, mode: Mode, asked: &Mutex<Vec<Asked>>) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
    let mut reader = BufReader::new(stream.try_clone().expect("clone stream"));
    let mut line = String::new();
    if reader.read_line(&mut line).unwrap_or(0) == 0 {
        return;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or_default().to_string();
    let target = parts.next().unwrap_or_default().to_string();
    let mut auth = None;
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).unwrap_or(0) == 0 || h.trim().is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            if k.trim().eq_ignore_ascii_case("proxy-authorization") {
                auth = Some(v.trim().to_string());
            }
        }
    }
    asked.lock().unwrap().push(Asked {
        method: method.clone(),
        target: target.clone(),
        auth,
    });
    let mut client = stream;
    let answer = |client: &mut TcpStream, status: &str| {
        let _ = write!(
            client,
            "HTTP/1.1 {status}\r\nProxy-Authenticate: Basic realm=\"test\"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        );
    };
    if method != "CONNECT" {
        return answer(&mut client, "501 Not Implemented");
    }
    if let Mode::Answer(code) = mode {
        return answer(&mut client, &format!("{code} Refused"));
    }
    // Tests send to loopback only, whatever they are asked.
    let host = target.rsplit_once(':').map_or("", |(h, _)| h);
    if !matches!(host, "127.0.0.1" | "localhost") {
        return answer(&mut client, "403 Forbidden");
    }
    let Ok(upstream) = TcpStream::connect(&target) else {
        return answer(&mut client, "502 Bad Gateway");
    };
    let _ = write!(client, "HTTP/1.1 200 Connection established\r\n\r\n");
    let mut up_write = upstream.try_clone().expect("clone upstream");
    let mut up_read = upstream;
    let mut down_write = client.try_clone().expect("clone client");
    let forward = std::thread::spawn(move || {
        // What the reader holds already, then the rest.
        let _ = up_write.write_all(reader.buffer());
        let _ = std::io::copy(reader.get_mut(), &mut up_write);
        let _ = up_write.shutdown(Shutdown::Write);
    });
    let _ = std::io::copy(&mut up_read, &mut down_write);
    let _ = down_write.shutdown(Shutdown::Write);
    let _ = forward.join();
}

/// A port nothing listens on.
fn closed_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// An env whose stored allow list admits loopback receivers (not the development flag: the
/// policy at work is the one a deployment has).
fn env_allowing_loopback() -> Env {
    let env = Env::new();
    env.run(&["targets", "allow", "127.0.0.1/32"]).ok();
    env
}

fn delivery_ids(out: &common::Out) -> Vec<i64> {
    out.json()["deliveries"]
        .as_array()
        .expect("deliveries")
        .iter()
        .map(|d| d["id"].as_i64().expect("id"))
        .collect()
}

fn emit(env: &Env, vars: &[(&str, &str)], extra: &[&str]) -> (common::Out, Vec<i64>) {
    let mut args = vec!["emit", "job.completed", "--customer", "1"];
    args.extend(extra);
    let out = env.run_env(vars, &args).ok();
    let ids = delivery_ids(&out);
    (out, ids)
}

#[test]
fn an_http_delivery_goes_through_the_proxy_tunnel() {
    let env = env_allowing_loopback();
    let proxy = Proxy::start(Mode::Tunnel);
    let rx = Receiver::ok();
    let c = env.customer("acme");
    env.webhook(c, "plain", &rx.url("/hook"), &[]);
    let (_, ids) = emit(&env, &[], &["--proxy", &proxy.url()]);
    let d = env.delivery(ids[0]);
    assert_eq!(d["status"], "success", "{d}");
    assert_eq!(proxy.tunnels(), vec![format!("127.0.0.1:{}", rx.port)]);
    let got = rx.requests();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].path, "/hook");
    assert_eq!(got[0].json()["event_type"], "job.completed");
    // What went to the proxy stays with the proxy.
    assert_eq!(got[0].header("proxy-authorization"), None);
}

#[test]
fn an_https_delivery_is_tunnelled_with_tls_end_to_end() {
    let env = env_allowing_loopback();
    let Some(mut server) = HttpsReceiver::start(&env) else {
        return;
    };
    let proxy = Proxy::start(Mode::Tunnel);
    let result = std::panic::catch_unwind(|| {
        let c = env.customer("acme");
        let url = format!("https://127.0.0.1:{}/hook", server.port);
        env.webhook(c, "tls", &url, &["--no-verify-ssl"]);
        let (_, ids) = emit(&env, &[], &["--proxy", &proxy.url()]);
        let d = env.delivery(ids[0]);
        assert_eq!(d["status"], "success", "{d}");
        assert_eq!(d["response_body"], "secure ok", "{d}");
        assert_eq!(proxy.tunnels(), vec![format!("127.0.0.1:{}", server.port)]);
    });
    server.stop();
    if let Err(e) = result {
        std::panic::resume_unwind(e);
    }
}

#[test]
fn proxy_option_over_webnet_proxy_over_the_usual_variables_and_none_sends_directly() {
    let env = env_allowing_loopback();
    let rx = Receiver::ok();
    let c = env.customer("acme");
    env.webhook(c, "plain", &rx.url("/"), &[]);
    let (option, webnet, usual, https_only) = (
        Proxy::start(Mode::Tunnel),
        Proxy::start(Mode::Tunnel),
        Proxy::start(Mode::Tunnel),
        Proxy::start(Mode::Answer(407)),
    );
    let usual_url = usual.url();
    let webnet_url = webnet.url();
    let https_url = https_only.url();
    let base = [
        ("http_proxy", usual_url.as_str()),
        ("https_proxy", https_url.as_str()),
    ];
    let with_webnet = [base[0], base[1], ("WEBNET_PROXY", webnet_url.as_str())];
    let counts = |expected: [usize; 3], step: &str| {
        let got = [
            option.asked().len(),
            webnet.asked().len(),
            usual.asked().len(),
        ];
        assert_eq!(
            got, expected,
            "{step}: proxies asked (option, WEBNET_PROXY, http_proxy)"
        );
    };
    emit(&env, &with_webnet, &["--proxy", &option.url()]);
    counts([1, 0, 0], "--proxy given");
    emit(&env, &with_webnet, &[]);
    counts([1, 1, 0], "WEBNET_PROXY set");
    emit(&env, &base, &[]);
    counts([1, 1, 1], "http_proxy only (an http receiver)");
    emit(&env, &with_webnet, &["--proxy", "none"]);
    counts([1, 1, 1], "--proxy none");
    emit(&env, &[base[0], base[1], ("WEBNET_PROXY", "none")], &[]);
    counts([1, 1, 1], "WEBNET_PROXY=none");
    assert_eq!(rx.count(), 5, "every event was delivered");
    assert!(
        https_only.asked().is_empty(),
        "https_proxy is for https receivers"
    );
}

#[test]
fn no_proxy_sends_those_hosts_directly() {
    let env = env_allowing_loopback();
    let proxy = Proxy::start(Mode::Tunnel);
    let rx = Receiver::ok();
    let c = env.customer("acme");
    env.webhook(c, "plain", &rx.url("/"), &[]);
    let proxy_url = proxy.url();
    for no_proxy in [
        ("NO_PROXY", "127.0.0.1".to_string()),
        ("no_proxy", "example.com, 127.0.0.0/8".to_string()),
        ("no_proxy", format!(".example.com 127.0.0.1:{}", rx.port)),
    ] {
        let (_, ids) = emit(
            &env,
            &[(no_proxy.0, no_proxy.1.as_str())],
            &["--proxy", &proxy_url],
        );
        assert_eq!(env.delivery(ids[0])["status"], "success");
    }
    assert_eq!(rx.count(), 3);
    assert!(proxy.asked().is_empty(), "{:?}", proxy.asked());
    // Another port is not bypassed.
    let other = format!("127.0.0.1:{}", closed_port());
    emit(
        &env,
        &[("NO_PROXY", other.as_str())],
        &["--proxy", &proxy_url],
    );
    assert_eq!(proxy.tunnels().len(), 1);
    assert_eq!(rx.count(), 4);
}

#[test]
fn a_refused_destination_never_reaches_the_proxy() {
    let env = env_allowing_loopback();
    let proxy = Proxy::start(Mode::Tunnel);
    let rx = Receiver::ok();
    env.customer("acme");
    // Registered while developing; the stored list (127.0.0.1/32) does not admit them.
    let private = env.run(&[
        "--allow-private-targets",
        "webhooks",
        "create",
        "--customer",
        "1",
        "--name",
        "private",
        "--url",
        "http://10.255.255.1/hook",
        "--event",
        "job.completed",
    ]);
    private.ok();
    let (_, ids) = emit(&env, &[], &["--proxy", &proxy.url()]);
    let d = env.delivery(ids[0]);
    assert_eq!(d["status"], "failed", "a refusal is not retried: {d}");
    assert_eq!(d["attempts"], 1);
    let error = d["error_message"].as_str().unwrap();
    assert!(
        error.starts_with("refused: 10.255.255.1 is a private address"),
        "{d}"
    );
    assert!(proxy.asked().is_empty(), "{:?}", proxy.asked());

    // An allowed host name passes, and reaches its receiver through the proxy.
    let named = format!("http://localhost:{}/hook", rx.port);
    let fresh = Env::new();
    fresh.run(&["targets", "allow", "localhost"]).ok();
    let c = fresh.customer("acme");
    fresh.webhook(c, "named", &named, &[]);
    let before = proxy.asked().len();
    let (_, ids) = emit(&fresh, &[], &["--proxy", &proxy.url()]);
    assert_eq!(fresh.delivery(ids[0])["status"], "success");
    assert_eq!(
        proxy.tunnels()[before..],
        [format!("localhost:{}", rx.port)]
    );

    // Nothing allowed: the name's loopback addresses are refused before the proxy is asked.
    let strict = Env::new();
    let c = strict.customer("acme");
    strict
        .run(&[
            "--allow-private-targets",
            "webhooks",
            "create",
            "--customer",
            &c.to_string(),
            "--name",
            "named",
            "--url",
            &named,
            "--event",
            "job.completed",
        ])
        .ok();
    let before = (proxy.asked().len(), rx.count());
    let (_, ids) = emit(&strict, &[], &["--proxy", &proxy.url()]);
    let d = strict.delivery(ids[0]);
    assert_eq!(d["status"], "failed", "{d}");
    let error = d["error_message"].as_str().unwrap();
    assert!(
        error.starts_with("refused: ")
            && error.contains("loopback address (localhost resolves to it"),
        "{d}"
    );
    assert_eq!((proxy.asked().len(), rx.count()), before, "no request left");
}

#[test]
fn a_proxy_that_refuses_fails_the_attempt_plainly_and_it_is_retried() {
    let env = env_allowing_loopback();
    let rx = Receiver::ok();
    let c = env.customer("acme");
    env.webhook(c, "plain", &rx.url("/"), &[]);
    let wants_auth = Proxy::start(Mode::Answer(407));
    let down = format!("http://127.0.0.1:{}", closed_port());
    let (_, first) = emit(&env, &[], &["--proxy", &wants_auth.url()]);
    let (_, second) = emit(&env, &[], &["--proxy", &down]);
    let d = env.delivery(first[0]);
    assert_eq!(d["status"], "retrying", "{d}");
    let error = d["error_message"].as_str().unwrap();
    assert!(
        error
            == format!(
                "the proxy 127.0.0.1:{} did not open a tunnel to the receiver (it answered 407 \
                 Proxy Authentication Required: give them in the proxy URL, \
                 http://USER:PASSWORD@HOST:PORT)",
                wants_auth.port
            ),
        "{d}"
    );
    assert_eq!(
        d["http_status"],
        Value::Null,
        "the receiver did not answer: {d}"
    );
    let d = env.delivery(second[0]);
    assert_eq!(d["status"], "retrying", "{d}");
    assert_eq!(
        d["error_message"],
        format!(
            "the proxy {} refused the connection",
            &down["http://".len()..]
        )
    );
    assert_eq!(rx.count(), 0);
    assert_eq!(wants_auth.tunnels().len(), 1);
    // The receiver is not blamed for the proxy.
    let w = env.run(&["webhooks", "show", "1"]).ok().json();
    assert_eq!(w["failing_since"], Value::Null, "{w}");
    // The retry goes out once the proxy works.
    let good = Proxy::start(Mode::Tunnel);
    let out = env
        .run(&[
            "--proxy",
            &good.url(),
            "deliveries",
            "retry",
            &first[0].to_string(),
        ])
        .ok();
    assert!(out.stdout.contains("success"), "{}", out.stdout);
    assert_eq!(env.delivery(first[0])["status"], "success");
    assert_eq!(rx.count(), 1);
    assert_eq!(good.tunnels().len(), 1);
}

#[test]
fn proxy_credentials_go_to_the_proxy_only_and_are_never_shown() {
    let env = env_allowing_loopback();
    let rx = Receiver::ok();
    let c = env.customer("acme");
    env.webhook(c, "plain", &rx.url("/"), &[]);
    let tunnel = Proxy::start(Mode::Tunnel);
    let refusing = Proxy::start(Mode::Answer(407));
    let secret = "s3cret-Pw";
    let with_creds = |p: &Proxy| format!("http://alice:{secret}@127.0.0.1:{}", p.port);
    let mut shown = String::new();
    let (out, ok_ids) = emit(&env, &[], &["--proxy", &with_creds(&tunnel)]);
    shown += &out.stdout;
    shown += &out.stderr;
    let refusing_url = with_creds(&refusing);
    let (out, failed_ids) = emit(&env, &[("WEBNET_PROXY", refusing_url.as_str())], &[]);
    shown += &out.stdout;
    shown += &out.stderr;
    let expected = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("alice:{secret}"))
    );
    assert_eq!(tunnel.asked()[0].auth.as_deref(), Some(expected.as_str()));
    assert_eq!(refusing.asked()[0].auth.as_deref(), Some(expected.as_str()));
    assert_eq!(rx.requests()[0].header("proxy-authorization"), None);
    assert_eq!(env.delivery(ok_ids[0])["status"], "success");
    let failed = env.delivery(failed_ids[0]);
    assert!(
        failed["error_message"]
            .as_str()
            .unwrap()
            .contains(&format!("127.0.0.1:{}", refusing.port)),
        "{failed}"
    );
    // With credentials in the URL, a 407 points at them (without, it says how to give them).
    assert!(
        failed["error_message"]
            .as_str()
            .unwrap()
            .ends_with("check the user and password in the proxy URL)"),
        "{failed}"
    );
    for args in [
        vec!["deliveries", "show", "1"],
        vec!["deliveries", "show", "2"],
        vec!["deliveries", "list"],
        vec!["--output", "table", "deliveries", "show", "2"],
    ] {
        let out = env.run(&args).ok();
        shown += &out.stdout;
        shown += &out.stderr;
    }
    let drain = env.run_env(&[("WEBNET_PROXY", refusing_url.as_str())], &["drain"]);
    shown += &drain.stdout;
    shown += &drain.stderr;
    // Refused values are quoted without their user info.
    for (vars, args, names) in [
        (
            vec![],
            vec![
                "--proxy",
                "socks5://alice:s3cret-Pw@127.0.0.1:1080",
                "drain",
            ],
            "--proxy",
        ),
        (
            vec![("WEBNET_PROXY", "https://alice:s3cret-Pw@proxy:443")],
            vec!["drain"],
            "WEBNET_PROXY",
        ),
        (
            vec![("HTTPS_PROXY", "socks5h://alice:s3cret-Pw@proxy:1080")],
            vec!["drain"],
            "HTTPS_PROXY",
        ),
    ] {
        let out = env
            .run_env(&vars, &args)
            .fails(2, &format!("error: {names}: "));
        shown += &out.stderr;
    }
    assert!(!shown.contains(secret), "a credential was shown:\n{shown}");
    assert!(!shown.contains("alice"), "a user name was shown:\n{shown}");
}

#[test]
fn an_unusable_proxy_variable_is_refused_before_anything_is_recorded() {
    let env = env_allowing_loopback();
    let rx = Receiver::ok();
    let c = env.customer("acme");
    env.webhook(c, "plain", &rx.url("/"), &[]);
    let before = env.dump();
    env.run_env(
        &[("all_proxy", "socks5://127.0.0.1:1080")],
        &["emit", "job.completed", "--customer", "1"],
    )
    .fails(2, "error: all_proxy: ")
    .fails(2, "SOCKS proxy");
    assert_eq!(env.dump(), before, "nothing recorded");
    // Commands that do not send do not read it.
    env.run_env(
        &[("all_proxy", "socks5://127.0.0.1:1080")],
        &["webhooks", "list"],
    )
    .ok();
    // `--proxy none` sends directly whatever the variables say.
    emit(
        &env,
        &[("all_proxy", "socks5://127.0.0.1:1080")],
        &["--proxy", "none"],
    );
    assert_eq!(rx.count(), 1);
}

/// The environment file `schedule install` wrote under `config`, if any.
fn env_file(config: &Path) -> Option<std::path::PathBuf> {
    std::fs::read_dir(config.join("webnet"))
        .ok()?
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|x| x == "env"))
}

/// Runs a printed crontab line as cron would: `\%` is `%`, and none of the caller's WEBNET_*
/// or proxy variables.
fn run_as_cron(line: &str) {
    let command = line
        .trim()
        .trim_start_matches("* * * * * ")
        .replace(r"\%", "%");
    let mut sh = Command::new("sh");
    sh.arg("-c").arg(&command);
    for (k, _) in std::env::vars() {
        if k.starts_with("WEBNET_") || k.to_ascii_lowercase().ends_with("_proxy") {
            sh.env_remove(k);
        }
    }
    let ran = sh.output().unwrap();
    assert!(
        ran.status.success(),
        "{command}: {}",
        String::from_utf8_lossy(&ran.stderr)
    );
}

#[test]
fn a_scheduled_drain_goes_through_the_callers_proxy() {
    use std::os::unix::fs::PermissionsExt;

    let env = env_allowing_loopback();
    let rx = Receiver::ok();
    let c = env.customer("acme");
    env.webhook(c, "plain", &rx.url("/"), &[]);
    let proxy = Proxy::start(Mode::Tunnel);
    let config = env.dir.path().join("config");
    let config_var = ("XDG_CONFIG_HOME", config.to_str().unwrap());
    let secret = "pw$`\"x";
    let proxy_url = format!(
        "http://alice:{}@127.0.0.1:{}",
        "pw%24%60%22x", // the secret, percent-encoded
        proxy.port
    );
    for (vars, args) in [
        (vec![config_var], vec!["--proxy", proxy_url.as_str()]),
        (
            vec![
                config_var,
                ("http_proxy", proxy_url.as_str()),
                ("NO_PROXY", "example.com"),
            ],
            vec![],
        ),
    ] {
        env.run(&["emit", "job.completed", "--customer", "1", "--queue"])
            .ok();
        let mut all = args.clone();
        all.extend(["schedule", "install", "--cron", "--print"]);
        let out = env.run_env(&vars, &all).ok();
        let shown = format!("{}{}", out.stdout, out.stderr);
        // The secret, as typed or percent-encoded (not a bare "pw": the temporary
        // directory's random name in the printed line may contain that).
        assert!(
            !shown.contains("alice") && !shown.contains("pw$") && !shown.contains("pw%24"),
            "{shown}"
        );
        let file = env_file(&config).expect("the environment file");
        assert_eq!(
            std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
            0o600
        );
        let text = std::fs::read_to_string(&file).unwrap();
        // On PostgreSQL the drain's database password is in the same file.
        let header = match &env.pg {
            Some(_) => "# The proxy settings and the database password for",
            None => "# The proxy settings for",
        };
        assert!(text.starts_with(header), "{text}");
        assert!(
            out.stderr.contains(&format!(
                "wrote {} (mode 0600) with the proxy settings (",
                file.display()
            )),
            "{}",
            out.stderr
        );
        let before = proxy.asked().len();
        run_as_cron(&out.stdout);
        assert_eq!(proxy.asked().len(), before + 1, "{text}");
        let expected = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("alice:{secret}"))
        );
        assert_eq!(
            proxy.asked()[before].auth.as_deref(),
            Some(expected.as_str())
        );
        std::fs::remove_file(&file).unwrap();
    }
    assert_eq!(
        rx.count(),
        2,
        "both queued deliveries were sent by the scheduled drains"
    );
    // `--proxy none` is passed on too; without any proxy setting there is no file.
    let out = env
        .run_env(
            &[config_var],
            &[
                "--proxy", "none", "schedule", "install", "--cron", "--print",
            ],
        )
        .ok();
    let text = std::fs::read_to_string(env_file(&config).expect("the file")).unwrap();
    assert!(
        text.contains("\nWEBNET_PROXY=\"none\"\n")
            && text.lines().filter(|l| l.contains("PROXY")).count() == 1,
        "{text}{}",
        out.stderr
    );
    std::fs::remove_file(env_file(&config).unwrap()).unwrap();
    env.run_env(&[config_var], &["schedule", "install", "--cron", "--print"])
        .ok();
    match &env.pg {
        None => assert_eq!(env_file(&config), None),
        // The file holds the database password only.
        Some(_) => {
            let text = std::fs::read_to_string(env_file(&config).expect("the file")).unwrap();
            assert!(
                text.starts_with("# The database password for")
                    && !text.to_ascii_lowercase().contains("proxy="),
                "{text}"
            );
        }
    }
    // A proxy variable the drain would refuse is refused here, not every minute by cron.
    env.run_env(
        &[config_var, ("HTTPS_PROXY", "socks5://tor:9050")],
        &["schedule", "install", "--cron", "--print"],
    )
    .fails(2, "error: HTTPS_PROXY: ");
}

/// A loopback HTTPS receiver with a self-signed certificate (python3 and openssl), as
/// tests/it/tls.rs makes one; `None` (after saying SKIPPED) where they are missing.
struct HttpsReceiver {
    child: Child,
    port: u16,
}

impl HttpsReceiver {
    fn start(env: &Env) -> Option<HttpsReceiver> {
        let dir = env.dir.path();
        let made = Command::new("openssl")
            .args([
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            ])
            .args([
                "-subj",
                "/CN=127.0.0.1",
                "-addext",
                "subjectAltName=IP:127.0.0.1",
            ])
            .arg("-keyout")
            .arg(dir.join("key.pem"))
            .arg("-out")
            .arg(dir.join("cert.pem"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        if !made.is_ok_and(|s| s.success())
            || Command::new("python3").arg("--version").output().is_err()
        {
            crate::skipped!(
                "SKIPPED: openssl or python3 is not available here; .ci/run installs them"
            );
            return None;
        }
        let port = closed_port();
        let child = Command::new("python3")
            .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/snippets/https_receiver.py"))
            .arg(dir.join("cert.pem"))
            .arg(dir.join("key.pem"))
            .arg(port.to_string())
            .spawn()
            .expect("start python3");
        let mut r = HttpsReceiver { child, port };
        if !common::wait_for_port(port) {
            r.stop();
            panic!("HTTPS receiver did not start");
        }
        Some(r)
    }

    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for HttpsReceiver {
    fn drop(&mut self) {
        self.stop();
    }
}
