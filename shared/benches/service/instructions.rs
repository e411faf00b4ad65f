//! Instruction counts for callgrind (`infra/bench/instructions.sh`): one endpoint's handler, or
//! its floor, called ITERATIONS times inside `callgrind_measured`, the only function whose
//! instructions callgrind collects (`--collect-atstart=no --toggle-collect=*callgrind_measured*`).
//! Inputs are prepared outside it, and a few unmeasured calls first pay every one-time cost
//! (the stage table, the number metadata, the signer's tables), so the count divided by
//! ITERATIONS is the steady cost of one call. Instruction counts do not depend on what else
//! the machine runs, so the ratios are repeatable where timings are not.

use crate::floor;
use crate::handlers::{BENCH, ENDPOINTS, send};

/// The variable that selects this mode instead of divan's: `handler:NAME` or `floor:NAME`.
pub const SELECT: &str = "MOBILEID_INSTRUCTIONS";
const WARM_UP: usize = 5;
const ITERATIONS: usize = 200;

/// Every endpoint with a floor: the floor bench that holds its unavoidable work.
pub const FLOORS: &[(&str, fn())] = &[
    ("register", floor::register),
    ("mt_verify", floor::mt_verify),
    ("webhook", floor::webhook),
    ("verify_code_right", floor::verify_code),
    ("verify_code_wrong", floor::verify_code),
    ("certificate_sign", floor::certificate_sign),
    ("unregister", floor::unregister),
];

/// Runs the case named by `MOBILEID_INSTRUCTIONS` and returns true, or returns false when the
/// variable is unset (divan runs instead).
pub fn run_if_selected() -> bool {
    let Ok(selected) = std::env::var(SELECT) else {
        return false;
    };
    match selected.split_once(':') {
        Some(("handler", name)) => handler(name),
        Some(("floor", name)) => floor_of(name),
        _ => unknown(&selected),
    }
    println!("iterations {ITERATIONS}");
    true
}

fn handler(name: &str) {
    let Some((_, input)) = ENDPOINTS.iter().find(|(n, _)| *n == name) else {
        unknown(name)
    };
    let b = &*BENCH;
    for _ in 0..WARM_UP {
        send(b, input(b));
    }
    for _ in 0..ITERATIONS {
        let case = input(b);
        callgrind_measured(|| send(b, case));
    }
}

fn floor_of(name: &str) {
    let Some((_, floor)) = FLOORS.iter().find(|(n, _)| *n == name) else {
        unknown(name)
    };
    for _ in 0..WARM_UP {
        floor();
    }
    for _ in 0..ITERATIONS {
        callgrind_measured(floor);
    }
}

fn unknown(name: &str) -> ! {
    let handlers: Vec<&str> = ENDPOINTS.iter().map(|(n, _)| *n).collect();
    let floors: Vec<&str> = FLOORS.iter().map(|(n, _)| *n).collect();
    eprintln!(
        "{SELECT}={name}: expected handler:NAME ({}) or floor:NAME ({})",
        handlers.join(", "),
        floors.join(", ")
    );
    std::process::exit(2);
}

/// The measured region. Never inlined, so callgrind sees it by name.
#[inline(never)]
fn callgrind_measured(work: impl FnOnce()) {
    work();
    std::hint::black_box(());
}
