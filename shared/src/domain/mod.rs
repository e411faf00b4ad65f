//! Domain types: parsed once at the edge, valid everywhere after (no I/O in here).

mod code;
mod ids;
mod msisdn;
mod network;
mod public_key;

pub use code::{CodeKind, VerificationCode};
pub use ids::{HawkId, SessionToken};
pub use msisdn::{Msisdn, MsisdnError};
pub use network::{Mcc, Mnc};
pub use public_key::{ClientPublicKey, PublicKeyError};
