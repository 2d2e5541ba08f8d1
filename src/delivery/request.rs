//! Building one attempt's request from a claimed delivery: the stored payload bytes, the
//! contract's headers, the webhook's custom headers (credentials unsealed), and the signature.

use std::sync::Arc;
use std::time::Duration;

use super::error::{DeliveryError, Sealed};
use super::send::{Request, USER_AGENT};
use crate::domain::format::{PayloadFormat, Render};
use crate::domain::secret::SecretKey;
use crate::domain::signature::{sign, sign_standard};
use crate::store::{Job, Target, SEALED_PREFIX};

impl Target {
    /// Whether sending to this webhook needs the secret key (a secret, a sealed header, or
    /// the routing key of a `pagerduty` body).
    pub fn needs_key(&self) -> bool {
        self.sealed_secret.is_some()
            || self.headers.values().any(|v| v.starts_with(SEALED_PREFIX))
            || (self.payload_format.needs_routing_key() && self.sealed_routing_key.is_some())
    }

    /// PagerDuty's routing key, opened, when the format needs one; an error (the attempt fails
    /// without a request, and is retried) when none is stored — `key reset` clears it.
    fn routing_key(&self, key: Option<&SecretKey>) -> Result<Option<String>, DeliveryError> {
        if !self.payload_format.needs_routing_key() {
            return Ok(None);
        }
        let sealed = self
            .sealed_routing_key
            .as_ref()
            .ok_or(DeliveryError::NoRoutingKey { webhook: self.id })?;
        let plain = key
            .ok_or(DeliveryError::NoKey)?
            .open(sealed)
            .map_err(|source| DeliveryError::DoesNotOpen {
                what: Sealed::RoutingKey,
                source,
            })?;
        String::from_utf8(plain)
            .map(Some)
            .map_err(|_| DeliveryError::Damaged {
                what: Sealed::RoutingKey,
            })
    }
}

/// The request for `job`; `key` must be given when the target [`Target::needs_key`]. `now` (ms)
/// is the Standard Webhooks timestamp.
pub fn build(job: &Job, key: Option<&SecretKey>, now: i64) -> Result<Request, DeliveryError> {
    let target = job.target.as_ref().ok_or(DeliveryError::WebhookDeleted)?;
    let key = || key.ok_or(DeliveryError::NoKey);
    // The body this webhook gets (the spec's JSON, or a Slack or Teams message), signed as sent.
    let format = target.payload_format;
    let routing_key = target.routing_key(key().ok())?;
    let body = format.render(
        &job.payload,
        &Render {
            customer: Some(job.customer),
            event_id: job.event_id,
            routing_key: routing_key.as_deref(),
        },
    );
    let mut headers: Vec<(String, String)> = vec![
        ("Content-Type".into(), "application/json".into()),
        ("User-Agent".into(), USER_AGENT.into()),
    ];
    for (k, v) in &target.headers {
        let value = match v.strip_prefix(SEALED_PREFIX) {
            Some(sealed) => {
                let damaged = || DeliveryError::Damaged {
                    what: Sealed::Header(k.clone()),
                };
                let bytes = hex::decode(sealed).map_err(|_| damaged())?;
                let plain = key()?
                    .open(&bytes)
                    .map_err(|source| DeliveryError::DoesNotOpen {
                        what: Sealed::Header(k.clone()),
                        source,
                    })?;
                String::from_utf8(plain).map_err(|_| damaged())?
            }
            None => v.clone(),
        };
        headers.push((k.clone(), value));
    }
    headers.push(("X-Webhook-Event".into(), job.event_type.as_str().into()));
    headers.push(("X-Webhook-Delivery".into(), job.delivery_id.to_string()));
    if let Some(sealed) = &target.sealed_secret {
        let open = |sealed: &[u8]| {
            key()?
                .open_secret(sealed)
                .map_err(|source| DeliveryError::DoesNotOpen {
                    what: Sealed::Secret,
                    source,
                })
        };
        let secret = open(sealed)?;
        // During a rotation's grace period the old secret still signs X-Webhook-Signature,
        // so receivers not yet updated keep working; the new one signs -Next.
        let previous = match (&target.previous_secret, target.previous_until) {
            (Some(old), Some(until)) if until > now => Some(open(old)?),
            _ => None,
        };
        let id = job.delivery_id.to_string();
        let timestamp = now.div_euclid(1000);
        let mut standard = Vec::new();
        match &previous {
            Some(old) => {
                headers.push(("X-Webhook-Signature".into(), sign(old, &body)));
                headers.push(("X-Webhook-Signature-Next".into(), sign(&secret, &body)));
                standard.push(sign_standard(old, &id, timestamp, &body));
            }
            None => headers.push(("X-Webhook-Signature".into(), sign(&secret, &body))),
        }
        standard.push(sign_standard(&secret, &id, timestamp, &body));
        // Standard Webhooks (standardwebhooks.com): the same delivery id on every attempt, a
        // fresh timestamp, so receivers can refuse replays older than a few minutes; every
        // valid signature, space-separated, each keyed with `Secret::standard_key` (a whsec_
        // secret's decoded bytes, as the libraries read it; X-Webhook-Signature above keys
        // with the string as given).
        headers.push(("webhook-id".into(), id));
        headers.push(("webhook-timestamp".into(), timestamp.to_string()));
        headers.push(("webhook-signature".into(), standard.join(" ")));
    }
    Ok(Request {
        url: target.url.clone(),
        body: Arc::from(body.as_slice()),
        headers,
        timeout: Duration::from_secs(target.timeout_seconds.into()),
        verify_ssl: target.verify_ssl,
        rendered: format != PayloadFormat::Json,
    })
}
