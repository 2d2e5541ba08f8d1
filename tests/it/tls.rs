//! `verify_ssl`: a self-signed certificate fails the attempt unless verification is off.

use crate::common;

use std::path::Path;
use std::process::{Command, Stdio};

use common::Env;

#[test]
fn self_signed_certificates_are_refused_unless_verify_ssl_is_off() {
    let env = Env::local();
    let dir = env.dir.path();
    let made = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
        ])
        .args(["-addext", "subjectAltName=IP:127.0.0.1"])
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
        crate::skipped!("SKIPPED: openssl or python3 is not available here; .ci/run installs them");
        return;
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut server = Command::new("python3")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/snippets/https_receiver.py"))
        .arg(dir.join("cert.pem"))
        .arg(dir.join("key.pem"))
        .arg(port.to_string())
        .spawn()
        .unwrap();
    let up = common::wait_for_port(port);
    let result = std::panic::catch_unwind(|| {
        assert!(up, "HTTPS receiver did not start");
        let c = env.customer("acme");
        let url = format!("https://127.0.0.1:{port}/hook");
        env.local_webhook(c, "verified", &url, &[]);
        env.local_webhook(c, "unverified", &url, &["--no-verify-ssl"]);
        let out = env
            .run(&["emit", "job.completed", "--customer", "1"])
            .ok()
            .json();
        let ids: Vec<i64> = out["deliveries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["id"].as_i64().unwrap())
            .collect();
        let verified = env.delivery(ids[0]);
        assert_eq!(verified["status"], "retrying", "{verified}");
        // In plain words, with what to do; not rustls's debug text.
        let error = verified["error_message"].as_str().unwrap();
        assert!(
            error.starts_with("TLS error: the receiver's certificate is not trusted"),
            "{verified}"
        );
        assert!(error.contains("--no-verify-ssl"), "{verified}");
        assert!(!error.contains("Other"), "{verified}");
        let unverified = env.delivery(ids[1]);
        assert_eq!(unverified["status"], "success", "{unverified}");
        assert_eq!(unverified["response_body"], "secure ok");
    });
    let _ = server.kill();
    let _ = server.wait();
    if let Err(e) = result {
        std::panic::resume_unwind(e);
    }
}
