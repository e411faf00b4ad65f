//! Randomness, behind a trait so that tests can pin codes and tokens.

use rand::RngCore;

/// A source of cryptographically secure random bytes.
pub trait Randomness: Send + Sync {
    fn fill(&self, buf: &mut [u8]);

    fn bytes<const N: usize>(&self) -> [u8; N]
    where
        Self: Sized,
    {
        let mut out = [0u8; N];
        self.fill(&mut out);
        out
    }
}

/// The operating system's CSPRNG.
#[derive(Debug, Default, Clone, Copy)]
pub struct OsRandomness;

impl Randomness for OsRandomness {
    fn fill(&self, buf: &mut [u8]) {
        rand::rngs::OsRng.fill_bytes(buf);
    }
}

/// Fills `N` bytes from any (possibly unsized) source.
pub fn random_array<const N: usize>(rng: &dyn Randomness) -> [u8; N] {
    let mut out = [0u8; N];
    rng.fill(&mut out);
    out
}

/// A uniform integer in `0..bound`, by rejection sampling (no modulo bias).
pub fn uniform_below(rng: &dyn Randomness, bound: u32) -> u32 {
    assert!(bound > 0, "bound must be positive");
    // The largest multiple of `bound` that fits in u32: values at or above it are redrawn.
    let zone = u32::MAX - (u32::MAX % bound);
    loop {
        let v = u32::from_be_bytes(random_array::<4>(rng));
        if v < zone {
            return v % bound;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    /// Replays a fixed byte script, to pin what the sampler does with each draw.
    struct Script(Mutex<Vec<u8>>);
    impl Randomness for Script {
        fn fill(&self, buf: &mut [u8]) {
            let mut bytes = self.0.lock().unwrap();
            for b in buf.iter_mut() {
                *b = bytes.remove(0);
            }
        }
    }

    #[test]
    fn values_in_the_biased_zone_are_redrawn() {
        // 0xFFFFFFFF is above the last whole multiple of 1_000_000, so it must be rejected.
        let rng = Script(Mutex::new(vec![0xff, 0xff, 0xff, 0xff, 0, 0, 0, 123]));
        assert_eq!(uniform_below(&rng, 1_000_000), 123);
    }
}
