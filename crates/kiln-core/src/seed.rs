//! Reproducible randomness: one seed drives Burn's RNG (with the `burn` feature) and every
//! `rand` RNG kiln hands out.

#[cfg(feature = "burn")]
use burn::tensor::Device;
use rand::SeedableRng;

/// The RNG kiln uses on the host: ChaCha8, fast and identical on every platform.
pub type KilnRng = chacha20::ChaCha8Rng;

#[cfg(feature = "burn")]
/// Seeds Burn's RNG on `device` and returns a host RNG from the same seed.
pub fn seed(device: &Device, seed: u64) -> KilnRng {
    device.seed(seed);
    rng(seed)
}

/// A host RNG from `seed` alone.
pub fn rng(seed: u64) -> KilnRng {
    KilnRng::seed_from_u64(seed)
}

/// An RNG for stream `stream` of `seed`: independent streams for parallel workers or for the
/// separate random choices of one experiment (data, init, noise), so that changing how much one
/// of them draws does not shift the others.
pub fn rng_stream(seed: u64, stream: u64) -> KilnRng {
    let mut r = KilnRng::seed_from_u64(seed);
    r.set_stream(stream);
    r
}

/// A copy of `rng` at the same position in the same stream. ChaCha's generators are not
/// `Clone` (rand 0.10): a copy of a key stream has to be asked for, as here, for state that is
/// cloned on purpose (a detector checkpoint), never for noise that protects someone.
pub fn duplicate(rng: &KilnRng) -> KilnRng {
    let mut copy = KilnRng::from_seed(rng.get_seed());
    copy.set_stream(rng.get_stream());
    copy.set_word_pos(rng.get_word_pos());
    copy
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::RngExt;

    #[test]
    fn a_duplicate_continues_the_same_stream() {
        let mut a = rng_stream(3, 5);
        let _: [u64; 3] = [a.random(), a.random(), a.random()];
        let mut b = duplicate(&a);
        let next_a: Vec<u32> = (0..5).map(|_| a.random()).collect();
        let next_b: Vec<u32> = (0..5).map(|_| b.random()).collect();
        assert_eq!(next_a, next_b);
    }

    #[test]
    fn same_seed_same_numbers_and_streams_differ() {
        let a: Vec<u32> = (0..4)
            .map({
                let mut r = rng(7);
                move |_| r.random()
            })
            .collect();
        let b: Vec<u32> = (0..4)
            .map({
                let mut r = rng(7);
                move |_| r.random()
            })
            .collect();
        assert_eq!(a, b);
        let mut s0 = rng_stream(7, 0);
        let mut s1 = rng_stream(7, 1);
        assert_ne!(s0.random::<u64>(), s1.random::<u64>());
    }
}
