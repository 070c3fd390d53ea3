//! Reference solutions without closed forms: viscous Burgers (Cole–Hopf) and Allen–Cahn
//! (fine finite differences).

use std::f64::consts::PI;

/// Viscosity of the Burgers benchmark, `0.01 / pi`.
pub const BURGERS_NU: f64 = 0.01 / PI;

/// Exact viscous Burgers `u(x, t)` for `u0 = -sin(pi x)` on `[-1, 1]` with zero boundary
/// values, by the Cole–Hopf transform.
///
/// `u = -∫ sin(pi (x - eta)) F(x - eta) G(eta) / ∫ F(x - eta) G(eta)` with
/// `F(y) = exp(-cos(pi y) / (2 pi nu))` and `G` the heat kernel; after `eta = sqrt(4 nu t) z`
/// the weight is `exp(-z^2)`. The exponent spans ±1/(2 pi nu) = ±50, so the sums are
/// stabilised by subtracting the largest exponent (log-sum-exp). The trapezoid rule on
/// `[-13, 13]` converges exponentially for this smooth, rapidly decaying integrand.
pub fn burgers_exact(x: f64, t: f64, nu: f64) -> f64 {
    if t <= 0.0 {
        return -(PI * x).sin();
    }
    let c = (4.0 * nu * t).sqrt();
    let k = 1.0 / (2.0 * PI * nu);
    let nodes = 2601;
    let half = 13.0;
    let h = 2.0 * half / (nodes - 1) as f64;
    let exponent = |z: f64| -z * z - k * (PI * (x - c * z)).cos();
    let max = (0..nodes)
        .map(|i| exponent(-half + i as f64 * h))
        .fold(f64::NEG_INFINITY, f64::max);
    let (mut num, mut den) = (0.0, 0.0);
    for i in 0..nodes {
        let z = -half + i as f64 * h;
        let w = (exponent(z) - max).exp();
        num += (PI * (x - c * z)).sin() * w;
        den += w;
    }
    -num / den
}

/// The Burgers reference grid: 256 x-points in `[-1, 1]` by 100 t-points in `[0, 0.99]`
/// (Raissi et al.'s grid), as row-major `(x, t)` points and values.
pub fn burgers_grid(nx: usize, nt: usize) -> (Vec<f64>, Vec<f64>) {
    let mut points = Vec::with_capacity(nx * nt * 2);
    let mut values = Vec::with_capacity(nx * nt);
    for i in 0..nx {
        let x = -1.0 + 2.0 * i as f64 / (nx - 1) as f64;
        for j in 0..nt {
            let t = 0.99 * j as f64 / (nt - 1) as f64;
            points.extend([x, t]);
            values.push(burgers_exact(x, t, BURGERS_NU));
        }
    }
    (points, values)
}

/// Allen–Cahn `u_t = d u_xx + 5 (u - u^3)` on `[-1, 1]`, `u(x, 0) = x^2 cos(pi x)`,
/// `u(±1, t) = -1`, solved by second-order finite differences on `intervals` cells and
/// classical RK4 in time (step `dt`), sampled at `nt` equally spaced times in `[0, t_end]`.
/// Returns `u[i_x * nt + j_t]` on the grid `x_i = -1 + 2 i / intervals`.
pub fn allen_cahn_fd(d: f64, intervals: usize, dt: f64, t_end: f64, nt: usize) -> Vec<f64> {
    let n = intervals + 1;
    let dx = 2.0 / intervals as f64;
    let xs: Vec<f64> = (0..n).map(|i| -1.0 + i as f64 * dx).collect();
    let mut u: Vec<f64> = xs.iter().map(|x| x * x * (PI * x).cos()).collect();
    let rhs = |u: &[f64], out: &mut [f64]| {
        out[0] = 0.0;
        out[n - 1] = 0.0;
        for i in 1..n - 1 {
            let lap = (u[i - 1] - 2.0 * u[i] + u[i + 1]) / (dx * dx);
            out[i] = d * lap + 5.0 * (u[i] - u[i].powi(3));
        }
    };
    let steps = (t_end / dt).round() as usize;
    let sample_every = steps / (nt - 1).max(1);
    let mut out = vec![0.0; n * nt];
    let mut record = |u: &[f64], j: usize| {
        for i in 0..n {
            out[i * nt + j] = u[i];
        }
    };
    record(&u, 0);
    let (mut k1, mut k2, mut k3, mut k4) = (vec![0.0; n], vec![0.0; n], vec![0.0; n], vec![0.0; n]);
    let mut tmp = vec![0.0; n];
    for s in 1..=steps {
        rhs(&u, &mut k1);
        for i in 0..n {
            tmp[i] = u[i] + 0.5 * dt * k1[i];
        }
        rhs(&tmp, &mut k2);
        for i in 0..n {
            tmp[i] = u[i] + 0.5 * dt * k2[i];
        }
        rhs(&tmp, &mut k3);
        for i in 0..n {
            tmp[i] = u[i] + dt * k3[i];
        }
        rhs(&tmp, &mut k4);
        for i in 0..n {
            u[i] += dt / 6.0 * (k1[i] + 2.0 * k2[i] + 2.0 * k3[i] + k4[i]);
        }
        if s.is_multiple_of(sample_every) && s / sample_every < nt {
            record(&u, s / sample_every);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burgers_initial_and_boundary_values() {
        assert!((burgers_exact(0.3, 0.0, BURGERS_NU) + (0.3 * PI).sin()).abs() < 1e-15);
        assert!(burgers_exact(1.0, 0.5, BURGERS_NU).abs() < 1e-12);
        assert!(burgers_exact(0.0, 0.7, BURGERS_NU).abs() < 1e-12);
        // Short times: the solution is still close to the initial condition.
        assert!((burgers_exact(-0.5, 1e-4, BURGERS_NU) - 1.0).abs() < 1e-3);
    }

    #[test]
    fn allen_cahn_fd_converges_under_refinement() {
        let coarse = allen_cahn_fd(0.001, 256, 2e-4, 1.0, 11);
        let fine = allen_cahn_fd(0.001, 512, 1e-4, 1.0, 11);
        let mut worst: f64 = 0.0;
        for i in 0..=256 {
            for j in 0..11 {
                worst = worst.max((coarse[i * 11 + j] - fine[2 * i * 11 + j]).abs());
            }
        }
        assert!(worst < 2e-2, "coarse vs fine max difference {worst}");
        assert!((fine[0] + 1.0).abs() < 1e-12);
    }
}
