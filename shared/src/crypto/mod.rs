//! Cryptography: HKDF credentials, keyed identifiers, sealing at rest, Hawk, ES256 signing.

mod credentials;
pub mod hawk_auth;
mod keyed;
mod seal;
mod signing;

pub use credentials::{AuthKey, derive_credentials};
pub use keyed::{HmacSecret, KeyedIds, SessionKey, Versions};
pub use seal::{SealError, SealSecret, Sealed, Sealer};
pub use signing::{CertificateSigner, JwsError, SigningKeys, verify_es256};
