//! Mobile-ID: proves that a device controls a phone number and signs a certificate that says so.
//!
//! All behaviour lives in this crate, which links no AWS SDK: the Lambda functions add the AWS
//! adapters (`mobileid-aws`: DynamoDB, SNS, Secrets Manager, the Lambda runtime), the local
//! server adds nothing. Both build [`api::Services`] (see [`runtime`]) and hand requests to a
//! router from [`api`].

pub mod api;
pub mod clock;
pub mod config;
pub mod crypto;
pub mod domain;
pub mod error;
pub mod metrics;
pub mod random;
pub mod runtime;
pub mod sms;
pub mod store;
/// In-process test support (integration tests, benches, fuzz targets); not in production builds.
#[cfg(feature = "testkit")]
pub mod testkit;

pub use error::{ApiError, Errno};
