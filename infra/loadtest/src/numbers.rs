//! Random-looking French mobile numbers (`+336` + 8 digits) that never repeat within a run.
//!
//! Purely random numbers collide by the birthday effect (about 70 pairs in 120,000 flows out
//! of 10^8 numbers), and a collision makes two flows read each other's SMS — an "unexpected"
//! answer that is the load test's fault, not the server's. So the i-th number of a run is
//! `offset + i × STRIDE (mod 10^8)`: a permutation of the 10^8 suffixes, since STRIDE is
//! coprime with 10^8, starting at a random offset so that runs differ.

use std::sync::atomic::{AtomicU64, Ordering};

use mobileid::domain::Msisdn;

const SPACE: u64 = 100_000_000;
/// Odd and not a multiple of 5, so coprime with 10^8 = 2^8 × 5^8.
const STRIDE: u64 = 61_803_399;

pub struct Numbers {
    offset: u64,
    next: AtomicU64,
}

impl Numbers {
    pub fn new(offset: u64) -> Self {
        Numbers {
            offset: offset % SPACE,
            next: AtomicU64::new(0),
        }
    }

    /// The next unused number, skipping suffixes libphonenumber does not accept as mobiles
    /// (not every `+336…` is allocated).
    pub fn next(&self) -> Msisdn {
        loop {
            let i = self.next.fetch_add(1, Ordering::Relaxed);
            let suffix = (self.offset + (i % SPACE) * STRIDE) % SPACE;
            if let Ok(msisdn) = Msisdn::parse(&format!("+336{suffix:08}")) {
                return msisdn;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn numbers_are_valid_french_mobiles_and_distinct() {
        let numbers = Numbers::new(12_345);
        let mut seen = HashSet::new();
        for _ in 0..5_000 {
            let n = numbers.next();
            assert!(n.e164().starts_with("+336"), "{}", n.e164());
            assert_eq!(n.e164().len(), 12);
            assert!(seen.insert(n.e164().to_owned()), "repeated {}", n.e164());
        }
    }
}
