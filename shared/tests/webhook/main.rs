//! SMS in: Nexmo's inbound-SMS callback through the router — its signature (reference test
//! vectors, every method, forged, missing, stale), its three encodings, the provider's retries,
//! the whole SMS-MO+MT flow, and how fast the webhook answers.

#[path = "../sms_support/mod.rs"]
mod support;

mod callback;
mod callbacks;
mod flow;
mod strict;
mod timing;
mod vectors;
