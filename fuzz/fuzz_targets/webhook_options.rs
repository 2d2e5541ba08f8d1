//! Webhook options as a user types them: never a panic, and what is accepted obeys the rules.
#![no_main]

use libfuzzer_sys::fuzz_target;
use webnet::domain::headers::{parse_header, parse_headers};
use webnet::domain::time::whole_seconds;
use webnet::domain::allowlist::TargetPolicy;
use webnet::domain::webhook::{parse_event_types, validate_max_retries, validate_name, WebhookUrl};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let parts: Vec<&str> = text.split('\u{0}').collect();
    for p in &parts {
        for policy in [TargetPolicy::default(), TargetPolicy::any()] {
            if let Ok(url) = WebhookUrl::parse_for(p, &policy) {
                assert!(
                    url.as_str().starts_with("http://") || url.as_str().starts_with("https://")
                );
            }
        }
        if let Ok(name) = validate_name(p) {
            assert!(!name.is_empty() && name.chars().count() <= 100);
        }
        if let Ok((name, value)) = parse_header(p) {
            assert!(!name.is_empty() && !value.contains('\n') && !value.contains('\r'));
        }
        if let Ok(t) = whole_seconds("timeout_seconds", p, 1..=120) {
            assert!((1..=120).contains(&t));
        }
        let _ = parse_event_types(&[*p]);
        if let Ok(n) = p.trim().parse::<i64>() {
            let _ = validate_max_retries(n);
        }
    }
    let owned: Vec<String> = parts.iter().map(|s| s.to_string()).collect();
    let _ = parse_headers(&owned);
});
