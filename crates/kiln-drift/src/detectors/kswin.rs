//! KSWIN (Raab, Heusinger & Schleif 2020) with river's semantics and kiln's own RNG.

use std::collections::VecDeque;

use kiln_core::seed::{KilnRng, rng};
use serde::{Deserialize, Serialize};
use statrs::stats_tests::NaNPolicy;
use statrs::stats_tests::ks_test::{KSTwoSampleAlternativeMethod, ks_twosample};

use crate::errors::Result;
use crate::hyperparams::KswinValidParams;
use crate::signal::{Detector, Signal, check_finite};

/// Kolmogorov–Smirnov windowing: once the sliding window is full, compares its newest
/// `stat_size` samples with `stat_size` samples drawn without replacement from the older part
/// (two-sample KS test, exact p-value, statrs); drift when `p <= alpha` and the statistic is
/// above 0.1. After a drift the detector restarts (window emptied, RNG re-seeded), as river's
/// does on the next update.
///
/// River draws the random sample with CPython's `random.Random(seed)`, which kiln does not
/// reproduce (it uses ChaCha8 from `kiln_core::seed`), so detection indices differ from
/// river's by the luck of the draw. The documented tolerance, checked by
/// `tests/parity_river.rs`: on every stream of the reference file whose change river's KSWIN
/// found, kiln's first detection after the change lies within 40 samples of river's.
#[derive(Debug, Serialize, Deserialize)]
pub struct Kswin {
    params: KswinValidParams,
    window: VecDeque<f64>,
    #[serde(with = "rng_state")]
    rng: KilnRng,
    p_value: f64,
    drift: bool,
    seen: u64,
}

impl Kswin {
    /// A detector with these settings.
    pub fn new(params: KswinValidParams) -> Self {
        let cap = params.window_size() as usize;
        let rng = rng(params.seed());
        Self {
            params,
            window: VecDeque::with_capacity(cap),
            rng,
            p_value: 1.0,
            drift: false,
            seen: 0,
        }
    }
    /// p-value of the last test (1 before the window first fills).
    pub fn p_value(&self) -> f64 {
        self.p_value
    }
}

impl Detector for Kswin {
    fn update(&mut self, x: f64) -> Result<Signal> {
        check_finite("kswin", self.seen, x)?;
        if self.drift {
            let seen = self.seen;
            *self = Self::new(self.params.clone());
            self.seen = seen;
        }
        self.seen += 1;
        let w = self.params.window_size() as usize;
        let s = self.params.stat_size() as usize;
        if self.window.len() == w {
            self.window.pop_front();
        }
        self.window.push_back(x);
        if self.window.len() < w {
            return Ok(Signal::None);
        }
        let older: Vec<f64> = rand::seq::index::sample(&mut self.rng, w - s, s)
            .into_iter()
            .map(|i| self.window[i])
            .collect();
        let recent: Vec<f64> = self.window.range(w - s..).copied().collect();
        // Both samples are finite and non-empty, so the test cannot fail; treat a failure as
        // "no evidence".
        let (stat, p) = ks_twosample(
            older,
            recent,
            KSTwoSampleAlternativeMethod::TwoSidedExact,
            NaNPolicy::Error,
        )
        .unwrap_or((0.0, 1.0));
        self.p_value = p;
        self.drift = p <= self.params.alpha() && stat > 0.1;
        Ok(if self.drift {
            Signal::Drift
        } else {
            Signal::None
        })
    }
    fn reset(&mut self) {
        *self = Self::new(self.params.clone());
    }
    fn name(&self) -> &'static str {
        "kswin"
    }
}

/// The RNG as (seed, stream, word position): ChaCha8 resumes exactly from these.
mod rng_state {
    use kiln_core::seed::KilnRng;
    use rand::SeedableRng;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    #[derive(Serialize, Deserialize)]
    struct State {
        seed: [u8; 32],
        stream: u64,
        /// The 128-bit word position as (high, low) halves (serde_json has no u128 in tagged
        /// enums).
        word_pos: (u64, u64),
    }

    pub(super) fn serialize<S: Serializer>(rng: &KilnRng, s: S) -> Result<S::Ok, S::Error> {
        State {
            seed: rng.get_seed(),
            stream: rng.get_stream(),
            word_pos: split(rng.get_word_pos()),
        }
        .serialize(s)
    }

    fn split(w: u128) -> (u64, u64) {
        ((w >> 64) as u64, w as u64)
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<KilnRng, D::Error> {
        let st = State::deserialize(d)?;
        let mut rng = KilnRng::from_seed(st.seed);
        rng.set_stream(st.stream);
        rng.set_word_pos((u128::from(st.word_pos.0) << 64) | u128::from(st.word_pos.1));
        Ok(rng)
    }
}

impl Clone for Kswin {
    /// A copy that goes on drawing the same samples (the RNG is duplicated on purpose).
    fn clone(&self) -> Self {
        Self {
            params: self.params.clone(),
            window: self.window.clone(),
            rng: kiln_core::seed::duplicate(&self.rng),
            p_value: self.p_value,
            drift: self.drift,
            seen: self.seen,
        }
    }
}

impl PartialEq for Kswin {
    fn eq(&self, other: &Self) -> bool {
        self.params == other.params
            && self.window == other.window
            && self.seen == other.seen
            && self.drift == other.drift
    }
}
