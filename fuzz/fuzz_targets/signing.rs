//! Signing and sealing: any secret and body sign to `sha256=<64 hex>`, deterministically; a
//! sealed secret opens to itself and to nothing else under another key.
#![no_main]

use libfuzzer_sys::fuzz_target;
use webnet::domain::secret::SecretKey;
use webnet::domain::signature::sign;
use webnet::domain::Secret;

fuzz_target!(|data: &[u8]| {
    let split = data.first().map_or(0, |b| *b as usize).min(data.len());
    let (secret, body) = data.split_at(split);
    let Ok(secret) = Secret::new(&String::from_utf8_lossy(secret)) else {
        return;
    };
    let sig = sign(&secret, body);
    assert_eq!(sig.len(), "sha256=".len() + 64);
    assert!(sig.starts_with("sha256=") && sig[7..].bytes().all(|b| b.is_ascii_hexdigit()));
    assert_eq!(sig, sign(&secret, body));
    let key = SecretKey::from_passphrase("fuzz");
    let sealed = key.seal_secret(&secret);
    assert_eq!(key.open_secret(&sealed).ok().as_ref(), Some(&secret));
    assert!(SecretKey::from_passphrase("other")
        .open_secret(&sealed)
        .is_err());
    let _ = key.open(body);
});
