//! `cargo bench -p mobileid`: what each endpoint costs in-process, and the floor under it.
//!
//! - `handlers`: every API route through the whole router (extractors, Hawk, store, outbox,
//!   JSON), in one process with the in-memory store: no network, no DynamoDB.
//! - `floor`: per endpoint, only the cryptography (and number parsing) that endpoint cannot do
//!   without; a handler within a small factor of its floor has little left to optimise.
//! - `crypto`: the primitives the floors are made of.
//! - with `MOBILEID_INSTRUCTIONS=handler:NAME` (or `floor:NAME`) set, one endpoint is run a fixed
//!   number of times for callgrind instead (`infra/bench/instructions.sh`).
//!
//! Filter with a name: `cargo bench -p mobileid -- floor`. BENCHMARKS.md has the figures.

mod crypto;
mod floor;
mod handlers;
mod instructions;

fn main() {
    if instructions::run_if_selected() {
        return;
    }
    divan::main();
}
