//! The Lambda emulator's parts: a Lambda-like sandbox for a bootstrap ([`bootstrap`]), the
//! Runtime API it polls ([`runtime_api`]), and the stack runner built on them ([`stack`]):
//! the template's functions as instance pools behind its HTTP API routes and function URL.

pub mod bootstrap;
pub mod dynamodb;
pub mod event;
pub mod faults;
pub mod pool;
pub mod runtime_api;
pub mod sms_fake;
pub mod stack;
pub mod template;
