//! The synthetic image task: noisy oriented bars, with a random contrast and brightness per
//! image so that batch statistics over two images are far from the population's.

use rand::{Rng, RngExt};
use rand_distr::{Distribution, Normal};

/// Image side in pixels.
pub const SIDE: usize = 12;
/// Number of classes: horizontal, vertical, diagonal and anti-diagonal bars.
pub const CLASSES: usize = 4;
/// Standard deviation of the per-image brightness offset.
const OFFSET_SD: f64 = 1.0;
/// Bar length in pixels.
const BAR: usize = 6;

/// A set of labelled images, `[n, 1, SIDE, SIDE]` row-major.
#[derive(Debug, Clone)]
pub struct Images {
    /// Pixels.
    pub pixels: Vec<f32>,
    /// Labels in `0..CLASSES`.
    pub labels: Vec<usize>,
}

impl Images {
    /// Number of images.
    pub fn len(&self) -> usize {
        self.labels.len()
    }
    /// Whether there is no image.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }
    /// Pixels of the images `idx`, concatenated.
    pub fn gather(&self, idx: &[usize]) -> Vec<f32> {
        let px = SIDE * SIDE;
        idx.iter()
            .flat_map(|&i| self.pixels[i * px..(i + 1) * px].iter().copied())
            .collect()
    }
}

/// `n` images: a bar of the class's orientation at a random place, times a contrast drawn
/// uniformly in [0.5, 2], plus a brightness offset drawn from N(0, 1), plus N(0, noise^2)
/// pixel noise.
pub fn make(n: usize, noise: f64, rng: &mut impl Rng) -> Images {
    let normal = Normal::new(0.0, 1.0).expect("unit normal");
    let mut pixels = Vec::with_capacity(n * SIDE * SIDE);
    let mut labels = Vec::with_capacity(n);
    for _ in 0..n {
        let class = rng.random_range(0..CLASSES);
        let contrast = rng.random_range(0.5..2.0);
        let offset: f64 = OFFSET_SD * normal.sample(rng);
        let mut img = vec![0.0f64; SIDE * SIDE];
        let (r0, c0) = (
            rng.random_range(0..=SIDE - BAR),
            rng.random_range(0..=SIDE - BAR),
        );
        let (rr, cc) = (rng.random_range(0..SIDE), rng.random_range(0..SIDE));
        for t in 0..BAR {
            let (r, c) = match class {
                0 => (rr, c0 + t),
                1 => (r0 + t, cc),
                2 => (r0 + t, c0 + t),
                _ => (r0 + t, c0 + BAR - 1 - t),
            };
            img[r * SIDE + c] = 1.0;
        }
        pixels.extend(
            img.iter()
                .map(|&v| (contrast * v + offset + noise * normal.sample(rng)) as f32),
        );
        labels.push(class);
    }
    Images { pixels, labels }
}
