//! Signed-in browsers: a session is a random id in the `webnet_session` cookie, kept in this
//! process's memory only (a restart signs everyone out), with the token it was opened with —
//! checked again on every request, so revoking the token ends the session — and a CSRF token
//! that every form carries back. Sessions end after [`IDLE`] without a request.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::http::header::COOKIE;
use axum::http::HeaderMap;
use base64::Engine as _;
use chacha20poly1305::aead::rand_core::RngCore;
use chacha20poly1305::aead::OsRng;

/// The cookie's name.
pub const COOKIE_NAME: &str = "webnet_session";

/// How long a session lives without a request.
pub const IDLE: Duration = Duration::from_secs(12 * 3600);

/// At most this many sessions are kept (a few MiB): signing in once more beyond it ends the one
/// idle longest, so a script signing in in a loop cannot grow the server's memory without end.
pub const MAX_SESSIONS: usize = 10_000;

/// At most this many sessions per token: beyond it, signing in with that token ends its own
/// session idle longest, so one token signing in in a loop ends nobody else's.
pub const MAX_SESSIONS_PER_TOKEN: usize = 100;

/// One signed-in browser. No `Debug`: it holds a token.
#[derive(Clone)]
pub struct Session {
    /// The API token signed in with, checked again on every request.
    pub token: String,
    /// What every form of this session must send back as `csrf`.
    pub csrf: String,
    /// A message for the next page shown, once ("Test delivery 4: success, …").
    flash: Option<String>,
    seen: Instant,
}

/// Every open session, by id.
#[derive(Default)]
pub struct Sessions(Mutex<HashMap<String, Session>>);

impl Sessions {
    pub fn new() -> Sessions {
        Sessions::default()
    }

    /// Opens a session for `token`: its id, for the cookie.
    pub fn open(&self, token: String) -> String {
        self.open_within(token, MAX_SESSIONS, MAX_SESSIONS_PER_TOKEN)
    }

    /// [`Sessions::open`] keeping at most `max` sessions, `per_token` of any one token.
    fn open_within(&self, token: String, max: usize, per_token: usize) -> String {
        let id = random();
        let session = Session {
            token,
            csrf: random(),
            flash: None,
            seen: Instant::now(),
        };
        if let Ok(mut map) = self.0.lock() {
            // Sweep the expired now and then: sign-ins are rare, pages are not.
            map.retain(|_, s| s.seen.elapsed() < IDLE);
            // The token's own idlest first, then anyone's: the limits hold after the insert.
            let mine = |s: &Session| s.token == session.token;
            while map.values().filter(|s| mine(s)).count() >= per_token.max(1) {
                end_idlest(&mut map, mine);
            }
            while map.len() >= max.max(1) {
                end_idlest(&mut map, |_| true);
            }
            map.insert(id.clone(), session);
        }
        id
    }

    /// The live session `id`, its idle time restarted; an expired one is removed.
    pub fn get(&self, id: &str) -> Option<Session> {
        let mut map = self.0.lock().ok()?;
        let live = map.get(id).is_some_and(|s| s.seen.elapsed() < IDLE);
        if !live {
            map.remove(id);
            return None;
        }
        let s = map.get_mut(id)?;
        s.seen = Instant::now();
        Some(s.clone())
    }

    pub fn end(&self, id: &str) {
        if let Ok(mut map) = self.0.lock() {
            map.remove(id);
        }
    }

    /// Keeps `message` for the next page of session `id`.
    pub fn flash(&self, id: &str, message: String) {
        if let Ok(mut map) = self.0.lock() {
            if let Some(s) = map.get_mut(id) {
                s.flash = Some(message);
            }
        }
    }

    /// The message kept for session `id`, taken (shown once).
    pub fn take_flash(&self, id: &str) -> Option<String> {
        self.0.lock().ok()?.get_mut(id)?.flash.take()
    }
}

/// Ends the session idle longest among those `which` picks (none picked: nothing ends).
fn end_idlest(map: &mut HashMap<String, Session>, which: impl Fn(&Session) -> bool) {
    let idlest = map
        .iter()
        .filter(|(_, s)| which(s))
        .min_by_key(|(_, s)| s.seen)
        .map(|(id, _)| id.clone());
    if let Some(id) = idlest {
        map.remove(&id);
    }
}

/// 32 random bytes from the operating system, unpadded base64url (as tokens are made).
fn random() -> String {
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// The session id a request's `Cookie` headers carry, if any.
pub fn cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE_NAME)
        .map(|(_, value)| value.trim().to_string())
        .filter(|v| !v.is_empty())
}

/// The `Set-Cookie` value for session `id` (no `Secure`: `serve` speaks plain HTTP).
pub fn set_cookie(id: &str) -> String {
    format!("{COOKIE_NAME}={id}; Path=/settings; HttpOnly; SameSite=Strict")
}

/// The `Set-Cookie` value that removes the cookie.
pub fn clear_cookie() -> String {
    format!("{COOKIE_NAME}=; Path=/settings; HttpOnly; SameSite=Strict; Max-Age=0")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A session opened a moment after the last, so that which is idlest is never a tie.
    fn open_later(sessions: &Sessions, token: &str, max: usize, per_token: usize) -> String {
        std::thread::sleep(Duration::from_millis(2));
        sessions.open_within(token.into(), max, per_token)
    }

    #[test]
    fn sessions_beyond_the_cap_end_the_one_idle_longest() {
        let sessions = Sessions::new();
        let open = |token: &str| open_later(&sessions, token, 3, 3);
        let (first, second, third) = (open("wnt_1"), open("wnt_2"), open("wnt_3"));
        std::thread::sleep(Duration::from_millis(2));
        // Used again: no longer the one idle longest.
        assert!(sessions.get(&first).is_some());
        let fourth = open("wnt_4");
        assert!(sessions.get(&second).is_none(), "the idlest ended");
        for id in [&first, &third, &fourth] {
            assert!(sessions.get(id).is_some());
        }
        assert_eq!(sessions.0.lock().map(|m| m.len()).unwrap_or(0), 3);
    }

    #[test]
    fn one_token_signing_in_again_and_again_ends_only_its_own_sessions() {
        let sessions = Sessions::new();
        let open = |token: &str| open_later(&sessions, token, 10, 2);
        let admin = open("wnt_admin");
        let loop_ids: Vec<String> = (0..5).map(|_| open("wnt_loop")).collect();
        assert!(
            sessions.get(&admin).is_some(),
            "another token's session stays"
        );
        assert!(sessions.get(&loop_ids[4]).is_some());
        assert!(sessions.get(&loop_ids[3]).is_some());
        for id in &loop_ids[..3] {
            assert!(sessions.get(id).is_none(), "its own idlest ended");
        }
        assert_eq!(sessions.0.lock().map(|m| m.len()).unwrap_or(0), 3);
    }

    #[test]
    fn sessions_open_find_flash_and_end() {
        let sessions = Sessions::new();
        let id = sessions.open("wnt_x".into());
        assert_eq!(id.len(), 43);
        let s = sessions.get(&id).expect("open");
        assert_eq!(s.token, "wnt_x");
        assert_eq!(s.csrf.len(), 43);
        sessions.flash(&id, "done".into());
        assert_eq!(sessions.take_flash(&id).as_deref(), Some("done"));
        assert_eq!(sessions.take_flash(&id), None);
        sessions.end(&id);
        assert!(sessions.get(&id).is_none());
        assert!(sessions.get("nope").is_none());
    }

    #[test]
    fn the_cookie_is_found_among_others() {
        let mut h = HeaderMap::new();
        h.insert(COOKIE, "a=1; webnet_session=abc ; b=2".parse().unwrap());
        assert_eq!(cookie(&h).as_deref(), Some("abc"));
    }
}
