//! Part 2's synthetic task: noisy 1-channel images with one small and one large disc, and the
//! per-object IoU of a predicted foreground mask.

use rand::{Rng, RngExt};

/// Image and object sizes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ShapeTask {
    pub(crate) size: usize,
    pub(crate) small_radius: f64,
    pub(crate) large_radius: f64,
    pub(crate) noise: f64,
}

/// A batch: images `[B, 1, S, S]`, labels `[B, S, S]` (1 = object), and per image the
/// object masks (`0` none, `1` small, `2` large) and the pixel -> nearest-object map.
pub(crate) struct ShapeBatch {
    pub(crate) images: Vec<f32>,
    pub(crate) labels: Vec<i64>,
    pub(crate) object: Vec<u8>,
    pub(crate) nearest: Vec<u8>,
    pub(crate) n: usize,
}

impl ShapeTask {
    /// Draws `n` images: the large disc in one half, the small disc in the other (sides random).
    pub(crate) fn batch(&self, n: usize, rng: &mut impl Rng) -> ShapeBatch {
        let s = self.size;
        let mut b = ShapeBatch {
            images: Vec::with_capacity(n * s * s),
            labels: Vec::with_capacity(n * s * s),
            object: Vec::with_capacity(n * s * s),
            nearest: Vec::with_capacity(n * s * s),
            n,
        };
        let half = s as f64 / 2.0;
        for _ in 0..n {
            let large_left = rng.random_bool(0.5);
            let place = |rng: &mut dyn rand::Rng, r: f64, left: bool| {
                let lo = if left { r } else { half + r };
                let hi = if left { half - r } else { s as f64 - r };
                let cx = lo + (hi - lo).max(0.0) * rng.random::<f64>();
                let cy = r + (s as f64 - 2.0 * r) * rng.random::<f64>();
                (cx, cy)
            };
            let large = place(rng, self.large_radius, large_left);
            let small = place(rng, self.small_radius, !large_left);
            for yy in 0..s {
                for xx in 0..s {
                    let (px, py) = (xx as f64 + 0.5, yy as f64 + 0.5);
                    let d2 = |c: (f64, f64)| (px - c.0).powi(2) + (py - c.1).powi(2);
                    let obj = if d2(large) <= self.large_radius.powi(2) {
                        2
                    } else if d2(small) <= self.small_radius.powi(2) {
                        1
                    } else {
                        0
                    };
                    let nearest = if d2(large).sqrt() - self.large_radius
                        <= d2(small).sqrt() - self.small_radius
                    {
                        2
                    } else {
                        1
                    };
                    let noise = self.noise * (2.0 * rng.random::<f64>() - 1.0);
                    b.images.push((f64::from(u8::from(obj > 0)) + noise) as f32);
                    b.labels.push(i64::from(obj > 0));
                    b.object.push(obj);
                    b.nearest.push(nearest);
                }
            }
        }
        b
    }
}

/// Mean IoU of the small and the large object over the batch: object `k`'s IoU is
/// `|pred ∩ O_k| / |(pred ∩ R_k) ∪ O_k|`, where `R_k` are the pixels nearer to object `k` (so
/// a false positive counts against the object it is closest to).
pub(crate) fn object_iou(batch: &ShapeBatch, pred: &[bool]) -> (f64, f64) {
    let px = batch.object.len() / batch.n.max(1);
    let mut sums = [0.0; 2];
    for i in 0..batch.n {
        let mut inter = [0usize; 2];
        let mut union = [0usize; 2];
        let range = i * px..(i + 1) * px;
        let pixels = batch.object[range.clone()]
            .iter()
            .zip(&batch.nearest[range.clone()])
            .zip(&pred[range]);
        for ((&object, &nearest), &predicted) in pixels {
            if object > 0 {
                let k = usize::from(object) - 1;
                union[k] += 1;
                inter[k] += usize::from(predicted);
            } else if predicted {
                union[usize::from(nearest) - 1] += 1;
            }
        }
        for k in 0..2 {
            sums[k] += if union[k] > 0 {
                inter[k] as f64 / union[k] as f64
            } else {
                1.0
            };
        }
    }
    let n = batch.n.max(1) as f64;
    (sums[0] / n, sums[1] / n)
}
