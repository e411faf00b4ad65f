//! The local server's parts that tests drive directly: the HTTP loop with its read timeouts
//! and header cap ([`serve`]), the demo client's files ([`demo`]), and its command line.

pub mod demo;
pub mod serve;

pub use serve::{ServeOptions, serve};

use std::net::SocketAddr;

use clap::Parser;
use mobileid::config::OtpDomain;

/// Runs the whole Mobile-ID service locally (all four functions in one process).
///
/// Every setting can also come from the environment: MOBILEID_STAGE, MOBILEID_PUBLIC_URL,
/// MOBILEID_ISSUER, MOBILEID_STORE, MOBILEID_SECRET_JSON, … (see the README).
// infra/run-local.sh prints a copy of this help without compiling (tests/cli.rs keeps them in step).
#[derive(Parser, Debug)]
#[command(name = "mobileid-local", version)]
pub struct Args {
    /// Address to listen on.
    #[arg(long, env = "MOBILEID_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// The client web app's domain: every code SMS then ends with "@<domain> #<code>", the line
    /// Safari and Chrome fill codes in from.
    #[arg(long, env = "MOBILEID_OTP_DOMAIN", value_parser = OtpDomain::parse)]
    pub otp_domain: Option<OtpDomain>,
    /// Records the in-memory store holds at most, per table (sessions, counters, mailboxes,
    /// limits); past that, requests that need a new record get 503/201 until old ones expire.
    #[arg(long, env = "MOBILEID_MEMORY_CAPACITY", default_value_t = mobileid::store::DEFAULT_CAPACITY)]
    pub memory_capacity: usize,
}
