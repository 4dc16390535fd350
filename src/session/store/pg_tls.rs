//! PostgreSQL over TLS with libpq's `sslmode` meanings, on rustls:
//!
//! | `sslmode` | TLS | certificate checked |
//! | --- | --- | --- |
//! | `disable` | never | - |
//! | `prefer` (libpq's default) | when the server offers it | no |
//! | `require` | always | no; with `sslrootcert`, as `verify-ca` (libpq does the same) |
//! | `verify-ca` | always | chain to `sslrootcert` (or the system's roots) |
//! | `verify-full` | always | chain, and the host name |
//!
//! libpq's default root file (`~/.postgresql/root.crt`) is not read: without
//! `sslrootcert`, `verify-*` use the system's roots.

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, Error, RootCertStore, SignatureScheme,
};
use tokio_postgres_rustls::MakeRustlsConnect;

pub use crate::session::settings::SslMode;

/// The TLS connector for `mode`, trusting `root_pem` (PEM certificates) or
/// else the system's roots where the chain is checked.
pub fn connector(mode: SslMode, root_pem: Option<&[u8]>) -> Result<MakeRustlsConnect, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("DATABASE_URL: TLS: {e}"))?;
    let checks = match (mode, root_pem) {
        (SslMode::Disable | SslMode::Prefer, _) | (SslMode::Require, None) => Checks::Nothing,
        (SslMode::Require | SslMode::VerifyCa, _) => Checks::Chain,
        (SslMode::VerifyFull, _) => Checks::ChainAndName,
    };
    let verifier: Arc<dyn ServerCertVerifier> = match checks {
        Checks::Nothing => Arc::new(Relaxed {
            chain: None,
            provider,
        }),
        checks => {
            let roots = Arc::new(roots(root_pem)?);
            let webpki = WebPkiServerVerifier::builder_with_provider(roots, provider.clone())
                .build()
                .map_err(|e| format!("DATABASE_URL: sslrootcert: {e}"))?;
            match checks {
                Checks::Chain => Arc::new(Relaxed {
                    chain: Some(webpki),
                    provider,
                }),
                _ => webpki,
            }
        }
    };
    let config = builder
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    Ok(MakeRustlsConnect::new(config))
}

enum Checks {
    Nothing,
    Chain,
    ChainAndName,
}

fn roots(root_pem: Option<&[u8]>) -> Result<RootCertStore, String> {
    let mut roots = RootCertStore::empty();
    match root_pem {
        Some(pem) => {
            for cert in CertificateDer::pem_slice_iter(pem) {
                let cert = cert.map_err(|e| format!("DATABASE_URL: sslrootcert: {e}"))?;
                roots
                    .add(cert)
                    .map_err(|e| format!("DATABASE_URL: sslrootcert: {e}"))?;
            }
        }
        None => {
            roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
        }
    }
    if roots.is_empty() {
        return Err(
            "DATABASE_URL: no CA certificate to verify the server with; set sslrootcert".into(),
        );
    }
    Ok(roots)
}

/// The two checks libpq relaxes: with `chain`, `verify-ca` (the chain must
/// reach a trusted root, the name is not checked; webpki checks the chain
/// before the name, so a name error means the chain was good); without,
/// `prefer` and `require` (encrypted, any certificate taken). The
/// handshake's signatures are checked either way.
#[derive(Debug)]
struct Relaxed {
    chain: Option<Arc<WebPkiServerVerifier>>,
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for Relaxed {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, Error> {
        let Some(chain) = &self.chain else {
            return Ok(ServerCertVerified::assertion());
        };
        match chain.verify_server_cert(end_entity, intermediates, server_name, ocsp, now) {
            Err(Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}
