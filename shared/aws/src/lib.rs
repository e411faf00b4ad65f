//! Mobile-ID's AWS adapters: what the Lambda functions add to the core crate (`mobileid`),
//! which links no AWS SDK. The DynamoDB store, the SNS sender (feature `sns`), the Secrets
//! Manager loader, and the Lambda runtime that builds them once per cold start and hands each
//! event to a function's router.
//!
//! Each function's `main` names the SMS providers it links ([`lambda::Function`]): the
//! functions that send no SMS link neither SNS nor Nexmo, so their binaries carry no SMS client.

pub mod dynamodb;
pub mod lambda;
mod sdk;
mod secrets;
#[cfg(feature = "sns")]
pub mod sns;

pub use dynamodb::DynamoStore;
pub use lambda::{Function, run};
pub use sdk::{sdk_config, service_endpoint};
pub use secrets::load_secrets;
