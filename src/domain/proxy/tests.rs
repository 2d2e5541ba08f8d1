use std::collections::HashMap;

use super::*;

fn url(s: &str) -> ProxyUrl {
    ProxyUrl::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
}

fn env(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let map: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    move |k| map.get(k).cloned()
}

#[test]
fn proxy_urls_with_and_without_scheme_port_and_credentials() {
    let p = url("http://proxy.corp:3128");
    assert_eq!(
        (p.host(), p.port(), p.user(), p.password()),
        ("proxy.corp", 3128, None, None)
    );
    assert_eq!(url("proxy.corp:3128"), p);
    assert_eq!(url("HTTP://Proxy.Corp:3128/"), p);
    assert_eq!(url("  http://proxy.corp:3128  "), p);
    assert_eq!(url("http://proxy.corp").port(), 80);
    let v6 = url("http://[::1]:8080");
    assert_eq!((v6.host(), v6.port()), ("[::1]", 8080));
    assert_eq!(v6.to_string(), "[::1]:8080");
    let auth = url("http://us%40er:p%3Ass@w0rd@10.0.0.1:3128");
    assert_eq!(auth.user(), Some("us@er"));
    assert_eq!(auth.password(), Some("p:ss@w0rd"));
    assert_eq!(auth.to_string(), "10.0.0.1:3128");
    let token = url("http://token@proxy:1");
    assert_eq!((token.user(), token.password()), (Some("token"), None));
}

#[test]
fn the_whole_url_reads_back_as_the_same_proxy() {
    for given in [
        "http://proxy.corp:3128",
        "http://[::1]:8080",
        "http://token@proxy:1",
        "http://:only-password@proxy:1",
        "http://us%40er:p%3Ass@w0rd%20%C3%A9@10.0.0.1:3128",
        "http://a:b%2Fc%3Fd%23e%25@proxy:1",
    ] {
        let p = url(given);
        assert_eq!(url(&p.to_url()), p, "{given} -> {}", p.to_url());
    }
    assert_eq!(url("proxy:3128").to_url(), "http://proxy:3128");
}

#[test]
fn unusable_proxy_urls_are_refused_saying_why_and_never_showing_credentials() {
    for (given, says) in [
        ("https://u:secret1@proxy:443", "HTTPS proxy"),
        ("socks5://u:secret1@proxy:1080", "SOCKS proxy"),
        ("socks5h://proxy:1080", "SOCKS proxy"),
        ("ftp://secret1@proxy", "not an http:// proxy URL"),
        (
            "http://u:secret1@proxy:3128/path",
            "path, query or fragment",
        ),
        ("http://u:secret1@proxy:3128?x=1", "path, query or fragment"),
        ("http://u:secret1@proxy:99999", "not a proxy URL"),
        ("http://u:secret1@", "not a proxy URL"),
        ("http://u:%ff%fe@proxy:1", "percent-encoding"),
    ] {
        let e = ProxyUrl::parse(given).expect_err(given);
        assert!(e.contains(says), "{given}: {e}");
        assert!(!e.contains("secret1"), "{given}: {e}");
        assert!(!e.contains("%ff"), "{given}: {e}");
    }
}

#[test]
fn debug_and_display_never_show_credentials() {
    let p = url("http://alice:hunter2@proxy:3128");
    assert_eq!(p.to_string(), "proxy:3128");
    let debug = format!("{p:?} {:?}", ProxyChoice::Via(p.clone()));
    assert!(
        !debug.contains("hunter2") && !debug.contains("alice"),
        "{debug}"
    );
    assert!(debug.contains("redacted"), "{debug}");
}

#[test]
fn none_or_empty_means_directly() {
    for off in ["none", "NONE", "", "  "] {
        assert_eq!(ProxyChoice::parse(off), Ok(ProxyChoice::Direct), "{off:?}");
    }
    assert_eq!(
        ProxyChoice::parse("proxy:3128"),
        Ok(ProxyChoice::Via(url("http://proxy:3128")))
    );
}

#[test]
fn no_proxy_matches_names_subdomains_addresses_ranges_and_ports() {
    let np = NoProxy::parse(
        "example.com, .corp.lan,*.svc.local 10.0.0.0/8,192.168.1.7/24 ,127.0.0.1,[::1]:8443,api.test:8080",
    );
    let yes = [
        ("example.com", 443),
        ("EXAMPLE.com.", 443),
        ("hooks.example.com", 80),
        ("corp.lan", 80),
        ("a.b.corp.lan", 80),
        ("x.svc.local", 80),
        ("10.1.2.3", 80),
        ("192.168.1.200", 80),
        ("127.0.0.1", 9),
        ("[::1]", 8443),
        ("api.test", 8080),
    ];
    let no = [
        ("notexample.com", 443),
        ("example.com.evil", 443),
        ("11.0.0.1", 80),
        ("192.168.2.1", 80),
        ("127.0.0.2", 80),
        ("[::1]", 443),
        ("api.test", 443),
        // Addresses match IP literals only, never a name that happens to resolve to them.
        ("localhost", 80),
    ];
    for (host, port) in yes {
        assert!(np.matches(host, port), "{host}:{port} should bypass");
    }
    for (host, port) in no {
        assert!(!np.matches(host, port), "{host}:{port} should not bypass");
    }
    assert!(NoProxy::parse("*").matches("anything.example", 1));
    assert_eq!(NoProxy::parse(" , "), NoProxy::default());
    assert!(!NoProxy::default().matches("example.com", 443));
    // Broken entries are ignored (the proxy is used), not taken for something wider.
    let broken = NoProxy::parse("10.0.0.0/99,:80,.");
    assert!(!broken.matches("10.0.0.1", 80) && !broken.matches("x", 80));
}

#[test]
fn the_usual_variables_by_scheme_lower_case_first() {
    let p = Proxies::from_env(env(&[
        ("HTTPS_PROXY", "http://upper-s:1"),
        ("https_proxy", "http://lower-s:1"),
        ("HTTP_PROXY", "http://upper:1"),
        ("ALL_PROXY", "http://all:1"),
        ("NO_PROXY", "internal.lan"),
    ]))
    .unwrap();
    assert_eq!(
        p.for_target(true, "example.com", 443),
        Some(&url("lower-s:1"))
    );
    assert_eq!(
        p.for_target(false, "example.com", 80),
        Some(&url("upper:1"))
    );
    assert_eq!(p.for_target(true, "x.internal.lan", 443), None);

    let all = Proxies::from_env(env(&[("all_proxy", "all:1"), ("https_proxy", "")])).unwrap();
    assert_eq!(
        all.for_target(true, "example.com", 443),
        Some(&url("all:1"))
    );
    assert_eq!(
        all.for_target(false, "example.com", 80),
        Some(&url("all:1"))
    );

    let none = Proxies::from_env(env(&[("no_proxy", "*")])).unwrap();
    assert!(none.is_direct());
    assert!(Proxies::direct().is_direct());

    let lower_no = Proxies::from_env(env(&[
        ("all_proxy", "all:1"),
        ("no_proxy", "a.test"),
        ("NO_PROXY", "b.test"),
    ]))
    .unwrap();
    assert_eq!(lower_no.for_target(true, "a.test", 443), None);
    assert!(lower_no.for_target(true, "b.test", 443).is_some());
}

#[test]
fn http_proxy_in_upper_case_is_ignored_under_cgi() {
    let vars = [("HTTP_PROXY", "http://from-a-request-header:1")];
    let plain = Proxies::from_env(env(&vars)).unwrap();
    assert!(plain.for_target(false, "example.com", 80).is_some());
    let cgi = Proxies::from_env(env(&[vars[0], ("REQUEST_METHOD", "GET")])).unwrap();
    assert_eq!(cgi.for_target(false, "example.com", 80), None);
    let lower = Proxies::from_env(env(&[("http_proxy", "ok:1"), ("REQUEST_METHOD", "GET")]));
    assert!(lower
        .unwrap()
        .for_target(false, "example.com", 80)
        .is_some());
}

#[test]
fn a_deciding_variable_that_cannot_be_used_is_an_error_naming_it() {
    let e = Proxies::from_env(env(&[("ALL_PROXY", "socks5://u:pw@tor:9050")])).unwrap_err();
    assert_eq!(e.var, "ALL_PROXY");
    assert!(
        e.message.contains("SOCKS") && !e.message.contains("pw"),
        "{e:?}"
    );
    // Not deciding (a scheme-specific one comes first for both schemes): not read.
    let fine = Proxies::from_env(env(&[
        ("ALL_PROXY", "socks5://tor:9050"),
        ("https_proxy", "p:1"),
        ("http_proxy", "p:1"),
    ]));
    assert!(fine.is_ok());
}

#[test]
fn every_uses_one_proxy_for_both_schemes_with_no_proxy() {
    let p = Proxies::every(url("p:1"), NoProxy::parse("skip.test"));
    assert_eq!(p.for_target(true, "a.test", 443), Some(&url("p:1")));
    assert_eq!(p.for_target(false, "a.test", 80), Some(&url("p:1")));
    assert_eq!(p.for_target(false, "skip.test", 80), None);
    assert!(!p.is_direct());
}
