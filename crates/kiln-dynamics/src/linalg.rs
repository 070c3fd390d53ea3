//! Small dense linear algebra in plain Rust: singular values (for the numerical rank of a
//! layer's neuron matrix) and eigenvalues of small real matrices (for the Jacobian of a game's
//! vector field). Burn 0.22 has no eigenvalue routine and its `linalg` feature is off in this
//! workspace; the matrices here are tiny, so f64 host code is the right tool.

use serde::{Deserialize, Serialize};

use crate::errors::{DynamicsError, Result};

/// Largest matrix order [`eigenvalues`] accepts (meant for small games).
pub const MAX_EIGEN_ORDER: usize = 64;

/// A complex eigenvalue `re + i im`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Eigenvalue {
    /// Real part: negative means the flow contracts along this mode.
    pub re: f64,
    /// Imaginary part: non-zero means rotation.
    pub im: f64,
}

impl Eigenvalue {
    /// Modulus `sqrt(re^2 + im^2)`.
    pub fn abs(&self) -> f64 {
        self.re.hypot(self.im)
    }
}

/// A dense row-major square matrix, checked once.
#[derive(Debug, Clone, PartialEq)]
pub struct SquareMatrix {
    n: usize,
    values: Vec<f64>,
}

impl SquareMatrix {
    /// Builds an `order x order` matrix from row-major `values` (finite, `order^2` of them).
    pub fn from_rows(values: Vec<f64>, order: usize) -> Result<Self> {
        let expected = order
            .checked_mul(order)
            .ok_or_else(|| DynamicsError::invalid("order", order, "order^2 overflows usize"))?;
        if order == 0 {
            return Err(kiln_core::KilnError::Empty("square matrix".into()).into());
        }
        if values.len() != expected {
            return Err(kiln_core::KilnError::shape(
                "square matrix",
                format!("{expected} values for order {order}"),
                format!("{} values", values.len()),
            )
            .into());
        }
        kiln_core::errors::ensure_finite(&values, "square matrix")?;
        Ok(Self { n: order, values })
    }

    /// Order of the matrix.
    pub fn order(&self) -> usize {
        self.n
    }

    /// Entry `(row, col)`, `None` outside the matrix.
    pub fn get(&self, row: usize, col: usize) -> Option<f64> {
        (row < self.n && col < self.n).then(|| self.values[row * self.n + col])
    }

    /// Row-major values.
    pub fn values(&self) -> &[f64] {
        &self.values
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
struct C(f64, f64);

impl C {
    fn add(self, o: C) -> C {
        C(self.0 + o.0, self.1 + o.1)
    }
    fn sub(self, o: C) -> C {
        C(self.0 - o.0, self.1 - o.1)
    }
    fn mul(self, o: C) -> C {
        C(self.0 * o.0 - self.1 * o.1, self.0 * o.1 + self.1 * o.0)
    }
    fn scale(self, s: f64) -> C {
        C(self.0 * s, self.1 * s)
    }
    fn conj(self) -> C {
        C(self.0, -self.1)
    }
    fn abs(self) -> f64 {
        self.0.hypot(self.1)
    }
    fn sqrt(self) -> C {
        let r = self.abs();
        let re = ((r + self.0) / 2.0).max(0.0).sqrt();
        let im = ((r - self.0) / 2.0).max(0.0).sqrt();
        C(re, if self.1 < 0.0 { -im } else { im })
    }
}

/// Eigenvalues of the 2x2 block `[[a, b], [c, d]]`.
fn eig2(a: C, b: C, c: C, d: C) -> (C, C) {
    let half_tr = a.add(d).scale(0.5);
    let half_diff = a.sub(d).scale(0.5);
    let disc = half_diff.mul(half_diff).add(b.mul(c)).sqrt();
    (half_tr.add(disc), half_tr.sub(disc))
}

fn clean(z: C, scale: f64) -> Eigenvalue {
    let tiny = 1e-12 * scale.max(f64::MIN_POSITIVE);
    Eigenvalue {
        re: if z.0.abs() < tiny { 0.0 } else { z.0 },
        im: if z.1.abs() < tiny { 0.0 } else { z.1 },
    }
}

/// Eigenvalues of a small real square matrix, sorted by decreasing real part (then imaginary).
///
/// Orders 1 and 2 use the closed form; larger ones a Householder reduction to Hessenberg form
/// followed by complex single-shift QR iterations with Wilkinson shifts and deflation (Golub &
/// Van Loan, *Matrix Computations*, 4th ed., Sec. 7.5). Accurate to ~1e-12 relative for
/// well-conditioned matrices; refuses orders above [`MAX_EIGEN_ORDER`].
pub fn eigenvalues(m: &SquareMatrix) -> Result<Vec<Eigenvalue>> {
    let n = m.n;
    if n > MAX_EIGEN_ORDER {
        return Err(DynamicsError::TooLarge {
            order: n,
            max: MAX_EIGEN_ORDER,
        });
    }
    let scale = m.values.iter().fold(0.0f64, |s, v| s.max(v.abs()));
    let mut out: Vec<C> = match n {
        1 => vec![C(m.values[0], 0.0)],
        2 => {
            let v = &m.values;
            let (l1, l2) = eig2(C(v[0], 0.0), C(v[1], 0.0), C(v[2], 0.0), C(v[3], 0.0));
            vec![l1, l2]
        }
        _ => qr_eigenvalues(hessenberg(m), scale)?,
    };
    out.sort_by(|a, b| b.0.total_cmp(&a.0).then(b.1.total_cmp(&a.1)));
    Ok(out.into_iter().map(|z| clean(z, scale)).collect())
}

/// Householder reduction of a real matrix to upper Hessenberg form (same eigenvalues).
#[allow(clippy::needless_range_loop)] // index-heavy dense linear algebra reads clearer with indices
fn hessenberg(m: &SquareMatrix) -> Vec<Vec<f64>> {
    let n = m.n;
    let mut a: Vec<Vec<f64>> = (0..n)
        .map(|i| m.values[i * n..(i + 1) * n].to_vec())
        .collect();
    for k in 0..n.saturating_sub(2) {
        let norm = (k + 1..n).map(|i| a[i][k] * a[i][k]).sum::<f64>().sqrt();
        if norm == 0.0 {
            continue;
        }
        let alpha = if a[k + 1][k] > 0.0 { -norm } else { norm };
        let mut v = vec![0.0; n];
        v[k + 1] = a[k + 1][k] - alpha;
        for i in k + 2..n {
            v[i] = a[i][k];
        }
        let vv: f64 = v.iter().map(|x| x * x).sum();
        if vv == 0.0 {
            continue;
        }
        // A <- P A with P = I - 2 v v^T / v^T v.
        for j in 0..n {
            let s: f64 = (k + 1..n).map(|i| v[i] * a[i][j]).sum::<f64>() * 2.0 / vv;
            for i in k + 1..n {
                a[i][j] -= s * v[i];
            }
        }
        // A <- A P.
        for row in a.iter_mut() {
            let s: f64 = (k + 1..n).map(|j| row[j] * v[j]).sum::<f64>() * 2.0 / vv;
            for j in k + 1..n {
                row[j] -= s * v[j];
            }
        }
    }
    a
}

fn qr_eigenvalues(h: Vec<Vec<f64>>, scale: f64) -> Result<Vec<C>> {
    let n = h.len();
    let mut h: Vec<Vec<C>> = h
        .into_iter()
        .map(|r| r.into_iter().map(|x| C(x, 0.0)).collect())
        .collect();
    let mut found = Vec::with_capacity(n);
    let mut m = n;
    let mut since_deflation = 0usize;
    let max_iterations = 200 * n;
    let mut total = 0usize;
    while m > 0 {
        if m == 1 {
            found.push(h[0][0]);
            break;
        }
        let sub = h[m - 1][m - 2].abs();
        let diag = h[m - 1][m - 1].abs() + h[m - 2][m - 2].abs();
        if sub <= f64::EPSILON * diag.max(scale * f64::EPSILON) {
            found.push(h[m - 1][m - 1]);
            m -= 1;
            since_deflation = 0;
            continue;
        }
        total += 1;
        since_deflation += 1;
        if total > max_iterations {
            return Err(kiln_core::KilnError::Numerical {
                context: "eigenvalues".into(),
                message: format!("QR iterations did not converge in {max_iterations} sweeps"),
            }
            .into());
        }
        // Wilkinson shift: the eigenvalue of the trailing 2x2 block closer to its last entry;
        // an exceptional shift every 10 stalled sweeps breaks cycles.
        let (l1, l2) = eig2(
            h[m - 2][m - 2],
            h[m - 2][m - 1],
            h[m - 1][m - 2],
            h[m - 1][m - 1],
        );
        let last = h[m - 1][m - 1];
        let mut mu = if l1.sub(last).abs() < l2.sub(last).abs() {
            l1
        } else {
            l2
        };
        if since_deflation.is_multiple_of(10) {
            mu = mu.add(C(sub, 0.0));
        }
        qr_step(&mut h, m, mu);
    }
    Ok(found)
}

/// One shifted QR sweep on the leading `m x m` block of the Hessenberg matrix `h`:
/// `H - mu I = Q R`, `H <- R Q + mu I`, with Givens rotations.
#[allow(clippy::needless_range_loop)] // index-heavy dense linear algebra reads clearer with indices
fn qr_step(h: &mut [Vec<C>], m: usize, mu: C) {
    for (i, row) in h.iter_mut().enumerate().take(m) {
        row[i] = row[i].sub(mu);
    }
    let mut rotations = Vec::with_capacity(m - 1);
    for k in 0..m - 1 {
        let (a, b) = (h[k][k], h[k + 1][k]);
        let r = a.abs().hypot(b.abs());
        let (c, s) = if r == 0.0 {
            (C(1.0, 0.0), C(0.0, 0.0))
        } else {
            (a.scale(1.0 / r), b.scale(1.0 / r))
        };
        for j in k..m {
            let (x, y) = (h[k][j], h[k + 1][j]);
            h[k][j] = c.conj().mul(x).add(s.conj().mul(y));
            h[k + 1][j] = c.mul(y).sub(s.mul(x));
        }
        rotations.push((c, s));
    }
    for (k, (c, s)) in rotations.into_iter().enumerate() {
        for row in h.iter_mut().take((k + 2).min(m)) {
            let (x, y) = (row[k], row[k + 1]);
            row[k] = x.mul(c).add(y.mul(s));
            row[k + 1] = y.mul(c.conj()).sub(x.mul(s.conj()));
        }
    }
    for (i, row) in h.iter_mut().enumerate().take(m) {
        row[i] = row[i].add(mu);
    }
}

/// Singular values (decreasing) of a row-major `rows x cols` matrix by one-sided Jacobi
/// rotations (Hestenes 1958; Demmel & Veselić 1992): accurate to a few ulps relative to the
/// largest singular value.
#[allow(clippy::needless_range_loop)] // index-heavy dense linear algebra reads clearer with indices
pub(crate) fn singular_values(values: &[f64], rows: usize, cols: usize) -> Vec<f64> {
    // Orthogonalize the k = min(rows, cols) vectors of the shorter side.
    let (k, len, vecs): (usize, usize, Vec<Vec<f64>>) = if cols <= rows {
        (
            cols,
            rows,
            (0..cols)
                .map(|j| (0..rows).map(|i| values[i * cols + j]).collect())
                .collect(),
        )
    } else {
        (
            rows,
            cols,
            (0..rows)
                .map(|i| values[i * cols..(i + 1) * cols].to_vec())
                .collect(),
        )
    };
    let mut u = vecs;
    for _sweep in 0..60 {
        let mut rotated = false;
        for p in 0..k {
            for q in p + 1..k {
                let alpha: f64 = u[p].iter().map(|x| x * x).sum();
                let beta: f64 = u[q].iter().map(|x| x * x).sum();
                let gamma: f64 = u[p].iter().zip(&u[q]).map(|(x, y)| x * y).sum();
                if gamma == 0.0 || gamma.abs() <= 1e-15 * (alpha * beta).sqrt() {
                    continue;
                }
                rotated = true;
                let zeta = (beta - alpha) / (2.0 * gamma);
                let t = zeta.signum() / (zeta.abs() + (1.0 + zeta * zeta).sqrt());
                let t = if zeta == 0.0 { 1.0 } else { t };
                let c = 1.0 / (1.0 + t * t).sqrt();
                let s = c * t;
                for i in 0..len {
                    let (x, y) = (u[p][i], u[q][i]);
                    u[p][i] = c * x - s * y;
                    u[q][i] = s * x + c * y;
                }
            }
        }
        if !rotated {
            break;
        }
    }
    let mut sv: Vec<f64> = u
        .iter()
        .map(|v| v.iter().map(|x| x * x).sum::<f64>().sqrt())
        .collect();
    sv.sort_by(|a, b| b.total_cmp(a));
    sv
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol * (1.0 + b.abs())
    }

    #[test]
    fn rotation_has_imaginary_pair() {
        let m = SquareMatrix::from_rows(vec![0.0, -1.0, 1.0, 0.0], 2).unwrap();
        let e = eigenvalues(&m).unwrap();
        assert_eq!(e[0], Eigenvalue { re: 0.0, im: 1.0 });
        assert_eq!(e[1], Eigenvalue { re: 0.0, im: -1.0 });
    }

    #[test]
    fn block_diagonal_3x3_and_4x4() {
        // diag(rotation(a=1, b=2), 3): eigenvalues 1 +- 2i, 3.
        let m =
            SquareMatrix::from_rows(vec![1.0, -2.0, 0.0, 2.0, 1.0, 0.0, 0.0, 0.0, 3.0], 3).unwrap();
        let e = eigenvalues(&m).unwrap();
        assert!(close(e[0].re, 3.0, 1e-12) && e[0].im == 0.0, "{e:?}");
        assert!(
            close(e[1].re, 1.0, 1e-12) && close(e[1].im, 2.0, 1e-12),
            "{e:?}"
        );
        assert!(
            close(e[2].re, 1.0, 1e-12) && close(e[2].im, -2.0, 1e-12),
            "{e:?}"
        );
        // Upper triangular: the diagonal.
        let m = SquareMatrix::from_rows(
            vec![
                4.0, 1.0, 2.0, 3.0, 0.0, -1.0, 5.0, 6.0, 0.0, 0.0, 2.0, 7.0, 0.0, 0.0, 0.0, 0.5,
            ],
            4,
        )
        .unwrap();
        let e = eigenvalues(&m).unwrap();
        let re: Vec<f64> = e.iter().map(|z| z.re).collect();
        for (got, want) in re.iter().zip([4.0, 2.0, 0.5, -1.0]) {
            assert!(close(*got, want, 1e-10), "{re:?}");
        }
    }

    #[test]
    fn singular_values_of_rank_one_and_diagonal() {
        let sv = singular_values(&[1.0, 2.0, 2.0, 4.0, 3.0, 6.0], 3, 2);
        assert!(close(sv[0], (70.0f64).sqrt(), 1e-14));
        assert!(sv[1] < 1e-14);
        let sv = singular_values(&[3.0, 0.0, 0.0, 0.0, -5.0, 0.0], 2, 3);
        assert_eq!(sv, vec![5.0, 3.0]);
    }

    #[test]
    fn bad_matrices_are_refused() {
        assert!(SquareMatrix::from_rows(vec![1.0, 2.0], 2).is_err());
        assert!(SquareMatrix::from_rows(vec![], 0).is_err());
        assert!(SquareMatrix::from_rows(vec![f64::NAN], 1).is_err());
        let big = SquareMatrix::from_rows(vec![0.0; 65 * 65], 65).unwrap();
        assert!(matches!(
            eigenvalues(&big),
            Err(DynamicsError::TooLarge { order: 65, .. })
        ));
    }
}
