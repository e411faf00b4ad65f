//! SMS out: the providers against servers speaking their wire format (a local HTTP server for
//! Nexmo, the SNS sender's are in mobileid-aws), failover through the router, the sender chosen per
//! network, the localised texts as they go out, the fake gateway's read side, and the start-up
//! rules of a Lambda.

#[path = "../sms_support/mod.rs"]
mod support;

mod config;
mod failover;
mod fake_gateway;
mod nexmo;
mod senders;
mod texts;
