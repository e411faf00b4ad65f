//! The contract (issue 8): `shared/openapi.json` describes every route, and these tests fail
//! when the description and the code drift apart — a route added or removed on one side only,
//! an alias that runs another handler, a function that serves a path the document gives to
//! another one — or when a response observed in a real flow does not match its schema.

#[path = "openapi/conformance.rs"]
mod conformance;
#[path = "openapi/contract.rs"]
mod contract;
#[path = "openapi/drift.rs"]
mod drift;
