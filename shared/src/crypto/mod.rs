//! Cryptography: HKDF credentials, keyed identifiers, sealing at rest, Hawk, ES256 signing.

mod credentials;
pub mod hawk_auth;
mod keyed;
mod seal;
mod signing;

pub use credentials::{AuthKey, derive_credentials};
pub use keyed::{HmacSecret, KeyedIds, SessionKey};
pub use seal::{SealError, Sealed, open, seal};
pub use signing::{CertificateSigner, JwsError, verify_es256};
