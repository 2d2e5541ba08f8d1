//! Connecting to PostgreSQL (TLS through rustls, as libpq's `sslmode` means it) and the
//! driver's errors classified into [`StoreError`] once.

use std::sync::Arc;

use postgres::error::SqlState;
use postgres::Client;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};

use super::url::{PgUrl, TlsMode};
use crate::store::StoreError;

/// Opens a connection to `url`'s database, or fails naming host, port and database (never the
/// password) with the server's or the network's reason.
///
/// The connect timeout bounds the whole of it, as libpq's does: the driver's bounds only the
/// socket's connection, and a server (or a proxy in front of it) that accepts connections but
/// never answers would hold the command for ever. The attempt runs on a thread of its own; one
/// that gets no answer in time is left to end when its socket does.
pub fn connect(url: &PgUrl) -> Result<Client, StoreError> {
    let tls = tls_connector(url)?;
    let failed = |why: String| StoreError::Connect {
        db: url.shown.clone(),
        host: url.host.clone(),
        port: url.port,
        dbname: url.dbname.clone(),
        why,
    };
    let config = url.config.clone();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name("pg-connect".into())
        .spawn(move || {
            let _ = tx.send(config.connect(tls));
        })
        .map_err(|e| failed(format!("cannot start a thread to connect: {e}")))?;
    let answer = match url.config.get_connect_timeout() {
        Some(&limit) => rx.recv_timeout(limit).map_err(|e| match e {
            std::sync::mpsc::RecvTimeoutError::Timeout => failed(format!(
                "no answer within {} (the server, or something in front of it, took the connection but did not reply)",
                humantime::format_duration(limit)
            )),
            std::sync::mpsc::RecvTimeoutError::Disconnected => {
                failed("the connection attempt ended without a result".into())
            }
        })?,
        None => rx
            .recv()
            .map_err(|_| failed("the connection attempt ended without a result".into()))?,
    };
    answer.map_err(|e| failed(connect_reason(&e)))
}

/// The reason a connection failed, in one line: the server's message when it sent one
/// (wrong password, no such database), else the network's.
fn connect_reason(e: &postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        return db.message().to_string();
    }
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        let more = s.to_string();
        if !text.contains(&more) {
            text = format!("{text}: {more}");
        }
        source = s.source();
    }
    let text = text.replace('\n', " ");
    // The server asked for a password and none was given (rust-postgres says only this).
    if text.ends_with("password missing") {
        return format!("{text}: the server wants a password; put it in the URL or set PGPASSWORD");
    }
    text
}

fn tls_connector(url: &PgUrl) -> Result<tokio_postgres_rustls::MakeRustlsConnect, StoreError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| StoreError::BadUrl {
            url: url.shown.clone(),
            why: format!("TLS: {e}"),
        })?;
    let config = match url.tls {
        TlsMode::Verify => {
            let mut roots = rustls::RootCertStore::empty();
            match &url.root_cert {
                Some(path) => {
                    let pem = std::fs::read(path).map_err(|source| StoreError::Io {
                        path: path.clone(),
                        source,
                    })?;
                    let mut reader = std::io::BufReader::new(&pem[..]);
                    for cert in rustls_pemfile_certs(&mut reader) {
                        let _ = roots.add(cert);
                    }
                    if roots.is_empty() {
                        return Err(StoreError::BadUrl {
                            url: url.shown.clone(),
                            why: format!(
                                "sslrootcert {}: no PEM certificate in it",
                                path.display()
                            ),
                        });
                    }
                }
                None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
            }
            builder.with_root_certificates(roots).with_no_client_auth()
        }
        // libpq's `prefer` and `require` encrypt without checking who answers.
        TlsMode::Disable | TlsMode::Prefer | TlsMode::Require => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(EncryptOnly(provider)))
            .with_no_client_auth(),
    };
    Ok(tokio_postgres_rustls::MakeRustlsConnect::new(config))
}

/// PEM certificates in `reader` (the `sslrootcert` file), skipping anything else.
fn rustls_pemfile_certs(reader: &mut dyn std::io::BufRead) -> Vec<CertificateDer<'static>> {
    use rustls::pki_types::pem::PemObject;
    let mut all = Vec::new();
    let _ = reader.read_to_end(&mut all);
    CertificateDer::pem_slice_iter(&all)
        .filter_map(|c| c.ok())
        .collect()
}

/// Accepts any certificate (libpq's `sslmode=require`), still checking the handshake's
/// signatures so the session is encrypted to whoever holds the certificate's key.
#[derive(Debug)]
struct EncryptOnly(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for EncryptOnly {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// The driver's errors, classified once: the layers above see only [`StoreError`].
impl From<postgres::Error> for StoreError {
    fn from(e: postgres::Error) -> Self {
        let message = match e.as_db_error() {
            Some(db) => db.message().to_string(),
            None => e.to_string(),
        };
        let code = e.code().cloned();
        let closed = e.is_closed() || (code.is_none() && e.as_db_error().is_none());
        let source = Box::new(e);
        match code {
            Some(c)
                if c == SqlState::T_R_SERIALIZATION_FAILURE
                    || c == SqlState::T_R_DEADLOCK_DETECTED
                    || c == SqlState::LOCK_NOT_AVAILABLE =>
            {
                StoreError::Busy { message, source }
            }
            Some(c) if c == SqlState::DISK_FULL => StoreError::DiskFull { source },
            Some(c) if c == SqlState::READ_ONLY_SQL_TRANSACTION => {
                StoreError::ReadOnly { path: None }
            }
            Some(c) if c == SqlState::DATA_CORRUPTED || c == SqlState::INDEX_CORRUPTED => {
                StoreError::Damaged { message, source }
            }
            Some(c)
                if c == SqlState::ADMIN_SHUTDOWN
                    || c == SqlState::CRASH_SHUTDOWN
                    || c == SqlState::CANNOT_CONNECT_NOW
                    || c.code().starts_with("08") =>
            {
                StoreError::Unavailable { message, source }
            }
            None if closed => StoreError::Unavailable { message, source },
            _ => StoreError::Database { message, source },
        }
    }
}

/// Whether `e` is a unique-constraint violation (a name taken).
pub fn is_unique_violation(e: &postgres::Error) -> bool {
    e.code() == Some(&SqlState::UNIQUE_VIOLATION)
}
