//! Mobile-ID: proves that a device controls a phone number and signs a certificate that says so.
//!
//! All behaviour lives in this crate; the four Lambda binaries and the local server only build
//! [`api::Services`] (see [`runtime`]) and hand requests to a router from [`api`].

pub mod api;
pub mod clock;
pub mod config;
pub mod crypto;
pub mod domain;
pub mod error;
pub mod random;
pub mod runtime;
pub mod sms;
pub mod store;
pub mod testkit;

pub use error::{ApiError, Errno};
