use super::*;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn policy(targets: &[&str]) -> TargetPolicy {
    TargetPolicy::allowing(targets.iter().map(|t| AllowedTarget::parse(t).unwrap()))
}

#[test]
fn parses_and_normalises_targets() {
    for (given, canonical, kind) in [
        ("10.20.0.0/16", "10.20.0.0/16", "range"),
        ("127.0.0.1", "127.0.0.1/32", "range"),
        ("127.0.0.1/32", "127.0.0.1/32", "range"),
        ("::1", "::1/128", "range"),
        ("[::1]", "::1/128", "range"),
        ("::1/128", "::1/128", "range"),
        ("fd00::/8", "fd00::/8", "range"),
        ("FD00:0:0::/8", "fd00::/8", "range"),
        ("0.0.0.0/0", "0.0.0.0/0", "range"),
        (" 192.168.1.0/24 ", "192.168.1.0/24", "range"),
        ("monitor.corp.lan", "monitor.corp.lan", "host"),
        ("Monitor.Corp.LAN.", "monitor.corp.lan", "host"),
        ("localhost", "localhost", "host"),
        ("bücher.example", "xn--bcher-kva.example", "host"),
        ("svc_a.internal", "svc_a.internal", "host"),
    ] {
        let t = AllowedTarget::parse(given).unwrap_or_else(|e| panic!("{given}: {e}"));
        assert_eq!(t.to_string(), canonical, "{given}");
        assert_eq!(t.kind(), kind, "{given}");
    }
}

#[test]
fn refuses_garbage_and_host_bits() {
    let e = AllowedTarget::parse("10.20.1.0/16").unwrap_err();
    assert!(
        e.contains("10.20.0.0/16") && e.contains("10.20.1.0/24"),
        "{e}"
    );
    let e = AllowedTarget::parse("10.20.1.5/16").unwrap_err();
    assert!(e.contains("10.20.1.5/32"), "{e}");
    for bad in [
        "",
        "10.0.0.0/33",
        "::/129",
        "10.0.0.0/",
        "10.0.0.0/+8",
        "10.0.0.0/-1",
        "10.0.0/8",
        "300.1.1.1",
        "foo/8",
        "not a host",
        "a..b",
        "-a.example",
        "*.corp.lan",
        "http://monitor.corp.lan/",
        "localhost:8080",
        "0x7f.1",
        "10.1",
        &"a".repeat(64),
        &format!("{}.example", "a.".repeat(125)),
    ] {
        assert!(
            AllowedTarget::parse(bad).is_err(),
            "{bad:?} should be refused"
        );
    }
    assert!(AllowedTarget::parse("http://monitor.corp.lan/")
        .unwrap_err()
        .contains("monitor.corp.lan"));
}

#[test]
fn wide_ranges_over_metadata_are_noticed() {
    let spans = |t: &str| AllowedTarget::parse(t).unwrap().spans_metadata();
    assert!(spans("169.254.0.0/16"));
    assert!(spans("0.0.0.0/0"));
    assert!(spans("fd00::/8"));
    assert!(!spans("169.254.169.254/32"), "explicit");
    assert!(!spans("10.0.0.0/8"));
    assert!(!spans("localhost"));
}

#[test]
fn a_policy_allows_its_ranges_and_names_and_refuses_the_rest() {
    let p = policy(&["10.20.0.0/16", "127.0.0.1/32", "monitor.corp.lan"]);
    assert!(p.check_address("10.20.3.4", ip("10.20.3.4")).is_ok());
    assert!(p.check_address("x.corp.lan", ip("10.20.3.4")).is_ok());
    assert!(
        p.check_address("", ip("::ffff:10.20.3.4")).is_ok(),
        "mapped"
    );
    assert!(p.check_address("127.0.0.1", ip("127.0.0.1")).is_ok());
    assert!(p.check_address("8.8.8.8", ip("8.8.8.8")).is_ok(), "public");
    let r = p.check_address("10.1.2.3", ip("10.1.2.3")).unwrap_err();
    assert_eq!(
        r.to_string(),
        "refused: 10.1.2.3 is a private address (allow it with \"webnet targets allow 10.1.2.3/32\")"
    );
    assert!(p.check_address("127.0.0.2", ip("127.0.0.2")).is_err());
    // An allowed name reaches whatever it resolves to, but not metadata.
    assert!(p
        .check_address("Monitor.Corp.Lan.", ip("192.168.9.9"))
        .is_ok());
    assert!(p.check_address("monitor.corp.lan", ip("::1")).is_ok());
    let r = p
        .check_address("monitor.corp.lan", ip("169.254.169.254"))
        .unwrap_err();
    assert!(r.to_string().contains("169.254.169.254/32"), "{r}");
    assert!(p
        .check_address("monitor.corp.lan", ip("fd00:ec2::254"))
        .is_err());
    // Another name resolving to a refused address names both ways out.
    let r = p.check_address("db.corp.lan", ip("10.9.0.1")).unwrap_err();
    assert!(r.to_string().contains("10.9.0.1/32"), "{r}");
    assert!(
        r.to_string().contains("webnet targets allow db.corp.lan"),
        "{r}"
    );
    // A name never matches an IP literal.
    let p = policy(&["localhost"]);
    assert!(p.check_address("localhost", ip("127.0.0.1")).is_ok());
    assert!(p.check_address("127.0.0.1", ip("127.0.0.1")).is_err());
    assert!(p.check_address("[::1]", ip("::1")).is_err());
    // Metadata through a range is the operator's explicit choice.
    let p = policy(&["169.254.169.254/32"]);
    assert!(p.check_address("meta", ip("169.254.169.254")).is_ok());
    assert!(TargetPolicy::any()
        .check_address("x", ip("169.254.169.254"))
        .is_ok());
    assert!(TargetPolicy::default()
        .check_address("localhost", ip("127.0.0.1"))
        .is_err());
}

#[test]
fn loopback_names_at_creation() {
    let localhost = url::Host::Domain("localhost");
    assert!(TargetPolicy::default().check_url_host(&localhost).is_err());
    assert!(policy(&["localhost"]).check_url_host(&localhost).is_ok());
    assert!(policy(&["127.0.0.0/8"]).check_url_host(&localhost).is_ok());
    assert!(policy(&["::1/128"]).check_url_host(&localhost).is_ok());
    assert!(policy(&["localhost"])
        .check_url_host(&url::Host::Domain("api.localhost"))
        .is_err());
    assert!(TargetPolicy::default()
        .check_url_host(&url::Host::Domain("hooks.example.com"))
        .is_ok());
    let r = TargetPolicy::default()
        .check_url_host(&localhost)
        .unwrap_err();
    assert!(r.at_creation().contains("webnet targets allow localhost"));
    assert!(r.at_creation().contains("--allow-private-targets"));
}
