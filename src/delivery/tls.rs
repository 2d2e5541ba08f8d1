//! TLS failures in plain words. rustls reports certificate problems as typed errors (webpki's
//! own inside `Other`); they are matched by type, never by message text, and said the way an
//! operator can act on: what is wrong with the receiver's certificate, and what to do.

use rustls::{CertificateError, Error};

/// The hint for a certificate webnet cannot trust.
const UNTRUSTED: &str = "the receiver's certificate is not trusted (self-signed or unknown \
    issuer); if this is intended, turn verify_ssl off for the webhook (--no-verify-ssl)";

/// `TLS error: …` for a TLS failure.
pub fn message(e: &Error) -> String {
    format!("TLS error: {}", describe(e))
}

fn describe(e: &Error) -> String {
    match e {
        Error::InvalidCertificate(c) => certificate(c),
        Error::NoCertificatesPresented => "the receiver presented no certificate".into(),
        Error::AlertReceived(alert) => {
            format!("the receiver ended the handshake ({alert:?})")
        }
        Error::PeerIncompatible(_) => {
            "the receiver's TLS settings are incompatible with ours (TLS 1.2 or newer with \
             modern ciphers is needed)"
                .into()
        }
        Error::PeerMisbehaved(_) | Error::InvalidMessage(_) => {
            "the receiver broke the TLS protocol (is it really speaking TLS on this port?)".into()
        }
        other => other.to_string(),
    }
}

fn certificate(c: &CertificateError) -> String {
    match c {
        CertificateError::UnknownIssuer => UNTRUSTED.into(),
        CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
            "the receiver's certificate has expired".into()
        }
        CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
            "the receiver's certificate is not valid yet (or this machine's clock is wrong)".into()
        }
        CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
            "the receiver's certificate is not valid for this host name".into()
        }
        CertificateError::BadSignature => {
            "the receiver's certificate has an invalid signature".into()
        }
        CertificateError::Revoked => "the receiver's certificate has been revoked".into(),
        CertificateError::BadEncoding => "the receiver's certificate is malformed".into(),
        CertificateError::InvalidPurpose | CertificateError::InvalidPurposeContext { .. } => {
            "the receiver's certificate is not meant for a TLS server".into()
        }
        CertificateError::UnsupportedSignatureAlgorithmContext { .. }
        | CertificateError::UnsupportedSignatureAlgorithmForPublicKeyContext { .. } => {
            "the receiver's certificate uses an unsupported signature algorithm".into()
        }
        CertificateError::Other(other) => match other.0.downcast_ref::<webpki::Error>() {
            // A self-signed certificate is its own CA: webpki refuses it as an end entity.
            Some(webpki::Error::CaUsedAsEndEntity | webpki::Error::UnknownIssuer) => {
                UNTRUSTED.into()
            }
            Some(webpki::Error::EndEntityUsedAsCa | webpki::Error::PathLenConstraintViolated) => {
                "the receiver's certificate chain is invalid".into()
            }
            Some(webpki::Error::NameConstraintViolation) => {
                "the receiver's certificate is not allowed for this name by its issuer".into()
            }
            _ => format!("the receiver's certificate was refused ({other})"),
        },
        other => format!("the receiver's certificate was refused ({other})"),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use rustls::OtherError;

    use super::*;

    #[test]
    fn certificate_errors_in_plain_words() {
        let cert = |c| message(&Error::InvalidCertificate(c));
        let self_signed = cert(CertificateError::Other(OtherError(Arc::new(
            webpki::Error::CaUsedAsEndEntity,
        ))));
        assert_eq!(
            self_signed,
            "TLS error: the receiver's certificate is not trusted (self-signed or unknown \
             issuer); if this is intended, turn verify_ssl off for the webhook (--no-verify-ssl)"
        );
        assert_eq!(cert(CertificateError::UnknownIssuer), self_signed);
        for (c, says) in [
            (CertificateError::Expired, "has expired"),
            (CertificateError::NotValidYet, "not valid yet"),
            (
                CertificateError::NotValidForName,
                "not valid for this host name",
            ),
            (CertificateError::BadSignature, "invalid signature"),
            (CertificateError::Revoked, "revoked"),
        ] {
            let m = cert(c);
            assert!(
                m.starts_with("TLS error: the receiver's certificate "),
                "{m}"
            );
            assert!(m.contains(says), "{m}");
        }
        for m in [self_signed, message(&Error::NoCertificatesPresented)] {
            assert!(!m.contains("Other") && !m.contains("Error"), "{m}");
        }
    }
}
