//! The sender's own checks: Retry-After, excerpts, refusals before any connection.

use super::*;

#[test]
fn retry_after_in_seconds_or_dates() {
    let now = std::time::SystemTime::now();
    assert_eq!(parse_retry_after("120", now), Some(120));
    assert_eq!(
        parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now),
        Some(0)
    );
    assert_eq!(parse_retry_after("soon", now), None);
    assert_eq!(
        parse_retry_after("18446744073709551616", now),
        Some(u64::MAX),
        "one past u64: as long as can be, not ignored"
    );
    assert_eq!(parse_retry_after("+5", now), None);
}

#[test]
fn a_retry_after_date_a_fraction_of_a_second_ahead_rounds_up() {
    let date = "Wed, 21 Oct 2015 07:28:00 GMT";
    let at = httpdate::parse_http_date(date).unwrap();
    for (before, secs) in [(20, 1), (980, 1), (1000, 1), (1020, 2), (59_999, 60)] {
        let now = at - Duration::from_millis(before);
        assert_eq!(
            parse_retry_after(date, now),
            Some(secs),
            "{before} ms before"
        );
    }
    assert_eq!(parse_retry_after(date, at), Some(0));
}

#[test]
fn excerpts_are_bounded_and_valid_text() {
    let long = "é".repeat(BODY_LIMIT);
    let e = excerpt(long.as_bytes());
    assert!(e.len() <= BODY_LIMIT);
    assert!(e.chars().all(|c| c == 'é' || c == '\u{fffd}'));
}

#[test]
fn refuses_private_names_in_the_resolver_without_sending() {
    let s = Sender::with_policy(TargetPolicy::default(), 1);
    let req = Request {
        url: "http://localhost:9/never".into(),
        body: Arc::from(&b"{}"[..]),
        headers: vec![],
        timeout: Duration::from_secs(2),
        verify_ssl: true,
        rendered: false,
    };
    match s.send(&req).reply {
        Reply::Refused(m) => assert!(m.contains("loopback"), "{m}"),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[test]
fn through_a_proxy_the_receiver_is_judged_first_and_the_proxy_is_not() {
    use crate::domain::proxy::NoProxy;
    // Nothing listens on port 9 of loopback: a request that reached the proxy would fail
    // as the proxy's failure, not as a refusal.
    let proxy = ProxyUrl::parse("http://127.0.0.1:9").unwrap();
    let s = Sender::with_policy(TargetPolicy::default(), 1);
    s.set_proxies(Proxies::every(proxy, NoProxy::default()));
    let req = |url: &str| Request {
        url: url.into(),
        body: Arc::from(&b"{}"[..]),
        headers: vec![],
        timeout: Duration::from_secs(2),
        verify_ssl: true,
        rendered: false,
    };
    for refused in [
        "http://localhost:8/x",
        "https://10.1.2.3/x",
        "http://[::1]:8/",
    ] {
        match s.send(&req(refused)).reply {
            Reply::Refused(m) => assert!(m.starts_with("refused: "), "{refused}: {m}"),
            other => panic!("{refused}: expected a refusal, got {other:?}"),
        }
    }
    // A public address is handed to the proxy (the only connection opened is to it, on
    // loopback), which is not refused for being loopback: it fails as the proxy.
    match s.send(&req("http://1.1.1.1/x")).reply {
        Reply::ProxyFailed(m) => {
            assert_eq!(m, "the proxy 127.0.0.1:9 refused the connection")
        }
        other => panic!("expected the proxy's failure, got {other:?}"),
    }
}
