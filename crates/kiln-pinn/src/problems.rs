//! The built-in problems: 1D Poisson, viscous Burgers, 1D heat, 2D Helmholtz, Allen–Cahn,
//! Kovasznay flow and 2D linear elasticity.

use std::f64::consts::PI;
use std::sync::Arc;

use rand::RngExt;

use crate::dual::Dual2;
use crate::errors::{PinnError, Result};
use crate::jet::Needs;
use crate::problem::{
    Condition, Domain, Face, Observations, OutputTransform, PointFn, Problem, Solution,
};
use crate::reference::{BURGERS_NU, allen_cahn_fd, burgers_grid};
use crate::sampling::normal;

/// The built-in problems.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProblemKind {
    /// `-u'' = pi^2 sin(pi x)` on `[-1, 1]`, `u(±1) = 0`; `u = sin(pi x)`.
    Poisson1d,
    /// `u_t + u u_x = (0.01/pi) u_xx` on `[-1,1] x [0,1]`, `u(x,0) = -sin(pi x)`, `u(±1,t) = 0`.
    Burgers,
    /// `u_t = 0.4 u_xx` on `[0,1]^2`, `u(x,0) = sin(pi x)`, `u(0,t) = u(1,t) = 0`.
    Heat,
    /// `-Δu - k^2 u = k^2 sin(kx) sin(ky)` on `[0,1]^2`, `k = 2 pi`, zero boundary values.
    Helmholtz2d,
    /// `u_t = 0.001 u_xx + 5 (u - u^3)`, `u(x,0) = x^2 cos(pi x)`, `u(±1,t) = -1`.
    AllenCahn,
    /// Kovasznay flow: steady incompressible Navier–Stokes at Re = 20, closed form.
    Kovasznay,
    /// 2D linear elasticity (lambda = 1, mu = 0.5) with a manufactured closed-form solution.
    Elasticity,
}

/// Options shared by the built-in problems.
#[derive(Debug, Clone, PartialEq)]
pub struct ProblemOptions {
    /// Impose boundary/initial conditions exactly through an output transform (where the
    /// problem has one) instead of as penalties.
    pub hard_constraints: bool,
    /// Number of observed solution values (0: none).
    pub observations: usize,
    /// Standard deviation of Gaussian noise added to the observations.
    pub noise: f64,
    /// Weight of the data misfit.
    pub data_weight: f64,
}

impl Default for ProblemOptions {
    fn default() -> Self {
        Self {
            hard_constraints: true,
            observations: 0,
            noise: 0.0,
            data_weight: 1.0,
        }
    }
}

fn point_fn(f: impl Fn(&[f64]) -> Vec<f64> + Send + Sync + 'static) -> PointFn {
    Arc::new(f)
}

/// Soft conditions of a 1D space-time problem on x in [a, b], t >= 0: u = `wall` on both
/// spatial faces and u(x, 0) = `initial(x)`; none when the output transform imposes them.
fn wall_and_initial(
    hard: bool,
    wall: f64,
    initial: impl Fn(f64) -> f64 + Send + Sync + 'static,
) -> Vec<Condition> {
    if hard {
        return vec![];
    }
    vec![
        dirichlet(
            "bc",
            Face::both(0).to_vec(),
            point_fn(move |_| vec![wall]),
            vec![0],
        ),
        dirichlet(
            "ic",
            vec![Face::lower(1)],
            point_fn(move |x| vec![initial(x[0])]),
            vec![0],
        ),
    ]
}

fn dirichlet(name: &str, faces: Vec<Face>, target: PointFn, components: Vec<usize>) -> Condition {
    Condition {
        name: name.into(),
        faces,
        target,
        components,
        weight: 1.0,
    }
}

impl ProblemKind {
    /// Command-line names, in order.
    pub const NAMES: [&'static str; 7] = [
        "poisson1d",
        "burgers",
        "heat",
        "helmholtz2d",
        "allen-cahn",
        "kovasznay",
        "elasticity",
    ];

    /// Every kind, in the order of [`Self::NAMES`].
    pub const ALL: [ProblemKind; 7] = [
        ProblemKind::Poisson1d,
        ProblemKind::Burgers,
        ProblemKind::Heat,
        ProblemKind::Helmholtz2d,
        ProblemKind::AllenCahn,
        ProblemKind::Kovasznay,
        ProblemKind::Elasticity,
    ];

    /// Command-line name.
    pub fn name(self) -> &'static str {
        let i = Self::ALL.iter().position(|&k| k == self).expect("listed");
        Self::NAMES[i]
    }

    /// Parses a command-line name.
    pub fn parse(s: &str) -> Result<ProblemKind> {
        Self::NAMES
            .iter()
            .position(|n| *n == s.trim().to_ascii_lowercase())
            .map(|i| Self::ALL[i])
            .ok_or_else(|| PinnError::UnknownProblem(s.to_string()))
    }

    /// Whether the problem has an output transform for hard constraints.
    pub fn has_hard_constraints(self) -> bool {
        !matches!(self, ProblemKind::Kovasznay | ProblemKind::Elasticity)
    }

    /// Builds the problem; `seed` (the run's seed, [`PinnValidParams::seed`] in
    /// [`crate::solve`]) draws the observation locations and noise.
    ///
    /// [`PinnValidParams::seed`]: crate::PinnValidParams::seed
    pub fn build(self, options: &ProblemOptions, seed: u64) -> Result<Problem> {
        if !(options.noise.is_finite() && options.noise >= 0.0) {
            return Err(
                kiln_core::KilnError::invalid("noise", options.noise, "must be >= 0").into(),
            );
        }
        if !(options.data_weight.is_finite() && options.data_weight >= 0.0) {
            return Err(kiln_core::KilnError::invalid(
                "data_weight",
                options.data_weight,
                "must be >= 0",
            )
            .into());
        }
        let hard = options.hard_constraints && self.has_hard_constraints();
        let mut p = match self {
            ProblemKind::Poisson1d => poisson1d(hard)?,
            ProblemKind::Burgers => burgers(hard)?,
            ProblemKind::Heat => heat(hard)?,
            ProblemKind::Helmholtz2d => helmholtz2d(hard)?,
            ProblemKind::AllenCahn => allen_cahn(hard)?,
            ProblemKind::Kovasznay => kovasznay()?,
            ProblemKind::Elasticity => elasticity()?,
        };
        if options.observations > 0 {
            p.observations = Some(observe(&p, options, seed)?);
        }
        Ok(p)
    }
}

/// Samples observations of the reference solution: nearest evaluation-grid values at random
/// grid points, plus noise.
fn observe(p: &Problem, options: &ProblemOptions, seed: u64) -> Result<Observations> {
    let (points, values) = p.evaluation_set();
    let dim = p.domain.dim();
    let n_ref = points.len() / dim;
    let mut rng = kiln_core::seed::rng_stream(seed, 11);
    let mut obs_points = Vec::with_capacity(options.observations * dim);
    let mut obs_values = Vec::with_capacity(options.observations * p.outputs);
    for _ in 0..options.observations {
        let i = rng.random_range(0..n_ref);
        obs_points.extend_from_slice(&points[i * dim..(i + 1) * dim]);
        for k in 0..p.outputs {
            obs_values.push(values[i * p.outputs + k] + options.noise * normal(&mut rng));
        }
    }
    Ok(Observations {
        points: obs_points,
        values: obs_values,
        weight: options.data_weight,
    })
}

fn poisson1d(hard: bool) -> Result<Problem> {
    let residual: crate::problem::ResidualFn = Arc::new(|f| {
        let src = f.known(|x| PI * PI * (PI * x[0]).sin())?;
        Ok(vec![f.d2(0, 0, 0)? + src])
    });
    Ok(Problem {
        name: "poisson1d".into(),
        domain: Domain::new(&[-1.0], &[1.0], None)?,
        outputs: 1,
        needs: Needs::values().d2(0, 0),
        residual,
        point_residual: Some(Arc::new(|f| {
            Ok(vec![
                f.d2(0, 0, 0)? + f.known(|x| PI * PI * (PI * x[0]).sin()),
            ])
        })),
        conditions: if hard {
            vec![]
        } else {
            vec![dirichlet(
                "bc",
                Face::both(0).to_vec(),
                point_fn(|_| vec![0.0]),
                vec![0],
            )]
        },
        transform: hard.then(|| OutputTransform {
            g: Arc::new(|_| vec![Dual2::constant(0.0)]),
            phi: Arc::new(|x| vec![1.0 - x[0] * x[0]]),
        }),
        observations: None,
        solution: Solution::Exact {
            f: point_fn(|x| vec![(PI * x[0]).sin()]),
            points_per_axis: 1001,
        },
    })
}

fn burgers(hard: bool) -> Result<Problem> {
    let nu = BURGERS_NU;
    let residual: crate::problem::ResidualFn = Arc::new(move |f| {
        let u = f.u(0);
        Ok(vec![
            f.dt(0)? + u * f.d(0, 0)? - f.d2(0, 0, 0)?.mul_scalar(nu),
        ])
    });
    // The Cole-Hopf quadrature costs about a second; every Burgers problem shares one table.
    static REFERENCE: std::sync::OnceLock<(Vec<f64>, Vec<f64>)> = std::sync::OnceLock::new();
    let (points, values) = REFERENCE.get_or_init(|| burgers_grid(256, 100)).clone();
    Ok(Problem {
        name: "burgers".into(),
        domain: Domain::new(&[-1.0, 0.0], &[1.0, 1.0], Some(1))?,
        outputs: 1,
        needs: Needs::values().d(1).d2(0, 0),
        residual,
        point_residual: Some(Arc::new(move |f| {
            Ok(vec![
                f.dt(0)? + f.u(0) * f.d(0, 0)? - f.d2(0, 0, 0)?.scale(nu),
            ])
        })),
        conditions: wall_and_initial(hard, 0.0, |x| -(PI * x).sin()),
        transform: hard.then(|| OutputTransform {
            g: Arc::new(|x| vec![-(x[0] * PI).sin()]),
            phi: Arc::new(|x| vec![x[1] * (1.0 - x[0] * x[0])]),
        }),
        observations: None,
        solution: Solution::Table { points, values },
    })
}

fn heat(hard: bool) -> Result<Problem> {
    let a = 0.4;
    let residual: crate::problem::ResidualFn =
        Arc::new(move |f| Ok(vec![f.dt(0)? - f.d2(0, 0, 0)?.mul_scalar(a)]));
    Ok(Problem {
        name: "heat".into(),
        domain: Domain::new(&[0.0, 0.0], &[1.0, 1.0], Some(1))?,
        outputs: 1,
        needs: Needs::values().d(1).d2(0, 0),
        residual,
        point_residual: Some(Arc::new(move |f| {
            Ok(vec![f.dt(0)? - f.d2(0, 0, 0)?.scale(a)])
        })),
        conditions: wall_and_initial(hard, 0.0, |x| (PI * x).sin()),
        transform: hard.then(|| OutputTransform {
            g: Arc::new(|x| vec![(x[0] * PI).sin()]),
            phi: Arc::new(|x| vec![x[1] * x[0] * (1.0 - x[0]) * 4.0]),
        }),
        observations: None,
        solution: Solution::Exact {
            f: point_fn(move |x| vec![(-a * PI * PI * x[1]).exp() * (PI * x[0]).sin()]),
            points_per_axis: 101,
        },
    })
}

fn helmholtz2d(hard: bool) -> Result<Problem> {
    let k = 2.0 * PI;
    let exact = move |x: &[f64]| (k * x[0]).sin() * (k * x[1]).sin();
    let residual: crate::problem::ResidualFn = Arc::new(move |f| {
        let src = f.known(move |x| k * k * exact(x))?;
        let lap = f.laplacian(0, &[0, 1])?;
        Ok(vec![lap.neg() - f.u(0).mul_scalar(k * k) - src])
    });
    Ok(Problem {
        name: "helmholtz2d".into(),
        domain: Domain::new(&[0.0, 0.0], &[1.0, 1.0], None)?,
        outputs: 1,
        needs: Needs::values().laplacian(&[0, 1]),
        residual,
        point_residual: Some(Arc::new(move |f| {
            let src = f.known(move |x| k * k * exact(x));
            Ok(vec![-f.laplacian(0, &[0, 1])? - f.u(0).scale(k * k) - src])
        })),
        conditions: if hard {
            vec![]
        } else {
            let faces = [Face::both(0), Face::both(1)].concat();
            vec![dirichlet("bc", faces, point_fn(|_| vec![0.0]), vec![0])]
        },
        transform: hard.then(|| OutputTransform {
            g: Arc::new(|_| vec![Dual2::constant(0.0)]),
            phi: Arc::new(|x| vec![16.0 * x[0] * (1.0 - x[0]) * x[1] * (1.0 - x[1])]),
        }),
        observations: None,
        solution: Solution::Exact {
            f: point_fn(move |x| vec![exact(x)]),
            points_per_axis: 101,
        },
    })
}

fn allen_cahn(hard: bool) -> Result<Problem> {
    let d = 0.001;
    let residual: crate::problem::ResidualFn = Arc::new(move |f| {
        let u = f.u(0);
        let reaction = (u.clone() - u.powi_scalar(3)).mul_scalar(5.0);
        Ok(vec![f.dt(0)? - f.d2(0, 0, 0)?.mul_scalar(d) - reaction])
    });
    // Reference: finite differences on 512 cells, every 2nd point kept (257 x 101 grid).
    let nt = 101;
    static REFERENCE: std::sync::OnceLock<Vec<f64>> = std::sync::OnceLock::new();
    let fd = REFERENCE.get_or_init(|| allen_cahn_fd(d, 512, 1e-4, 1.0, nt));
    let mut points = Vec::new();
    let mut values = Vec::new();
    for i in (0..=512).step_by(2) {
        let x = -1.0 + 2.0 * i as f64 / 512.0;
        for j in 0..nt {
            points.extend([x, j as f64 / (nt - 1) as f64]);
            values.push(fd[i * nt + j]);
        }
    }
    let ic = |x: f64| x * x * (PI * x).cos();
    Ok(Problem {
        name: "allen-cahn".into(),
        domain: Domain::new(&[-1.0, 0.0], &[1.0, 1.0], Some(1))?,
        outputs: 1,
        needs: Needs::values().d(1).d2(0, 0),
        residual,
        point_residual: Some(Arc::new(move |f| {
            let u = f.u(0);
            let reaction = (u - u * u * u).scale(5.0);
            Ok(vec![f.dt(0)? - f.d2(0, 0, 0)?.scale(d) - reaction])
        })),
        conditions: wall_and_initial(hard, -1.0, ic),
        transform: hard.then(|| OutputTransform {
            g: Arc::new(|x| vec![x[0] * x[0] * (x[0] * PI).cos()]),
            phi: Arc::new(|x| vec![x[1] * (1.0 - x[0] * x[0])]),
        }),
        observations: None,
        solution: Solution::Table { points, values },
    })
}

/// Kovasznay flow at Re = 20: `(u, v, p)`.
pub fn kovasznay_exact(x: &[f64]) -> Vec<f64> {
    let nu = 1.0 / 20.0;
    let l = 1.0 / (2.0 * nu) - (1.0 / (4.0 * nu * nu) + 4.0 * PI * PI).sqrt();
    let e = (l * x[0]).exp();
    vec![
        1.0 - e * (2.0 * PI * x[1]).cos(),
        l / (2.0 * PI) * e * (2.0 * PI * x[1]).sin(),
        0.5 * (1.0 - (2.0 * l * x[0]).exp()),
    ]
}

fn kovasznay() -> Result<Problem> {
    let nu = 1.0 / 20.0;
    let residual: crate::problem::ResidualFn = Arc::new(move |f| {
        let (u, v) = (f.u(0), f.u(1));
        let mom_x = u.clone() * f.d(0, 0)? + v.clone() * f.d(0, 1)? + f.d(2, 0)?
            - f.laplacian(0, &[0, 1])?.mul_scalar(nu);
        let mom_y =
            u * f.d(1, 0)? + v * f.d(1, 1)? + f.d(2, 1)? - f.laplacian(1, &[0, 1])?.mul_scalar(nu);
        let div = f.d(0, 0)? + f.d(1, 1)?;
        Ok(vec![mom_x, mom_y, div])
    });
    let faces = [Face::both(0), Face::both(1)].concat();
    Ok(Problem {
        name: "kovasznay".into(),
        domain: Domain::new(&[-0.5, -0.5], &[1.0, 1.5], None)?,
        outputs: 3,
        needs: Needs::values().d(0).d(1).laplacian(&[0, 1]),
        residual,
        point_residual: None,
        conditions: vec![
            dirichlet("bc_velocity", faces, point_fn(kovasznay_exact), vec![0, 1]),
            dirichlet(
                "bc_pressure",
                vec![Face::upper(0)],
                point_fn(kovasznay_exact),
                vec![2],
            ),
        ],
        transform: None,
        observations: None,
        solution: Solution::Exact {
            f: point_fn(kovasznay_exact),
            points_per_axis: 101,
        },
    })
}

/// Lamé parameters of the elasticity problem.
const LAMBDA: f64 = 1.0;
const MU: f64 = 0.5;

/// Manufactured displacement (DeepXDE's linear elastostatic example):
/// `u_x = cos(2 pi x) sin(pi y)`, `u_y = sin(pi x) Q y^4 / 4`, `Q = 4`.
fn elasticity_exact_dual(x: &[Dual2]) -> [Dual2; 2] {
    let q = 4.0;
    [
        (x[0] * (2.0 * PI)).cos() * (x[1] * PI).sin(),
        (x[0] * PI).sin() * x[1].powi(4) * (q / 4.0),
    ]
}

/// Body force `f = -[(lambda + mu) grad(div u) + mu Δu]` of the manufactured solution.
fn elasticity_force(x: &[f64]) -> [f64; 2] {
    let [ux, uy] = elasticity_exact_dual(&Dual2::vars(x));
    let gdx = ux.h[0][0] + uy.h[1][0];
    let gdy = ux.h[0][1] + uy.h[1][1];
    [
        -((LAMBDA + MU) * gdx + MU * ux.laplacian(2)),
        -((LAMBDA + MU) * gdy + MU * uy.laplacian(2)),
    ]
}

fn elasticity() -> Result<Problem> {
    let exact = |x: &[f64]| {
        let [a, b] = elasticity_exact_dual(&[Dual2::constant(x[0]), Dual2::constant(x[1])]);
        vec![a.v, b.v]
    };
    // Navier–Cauchy equations in displacement form: (lambda + mu) grad(div u) + mu Δu + f = 0.
    let residual: crate::problem::ResidualFn = Arc::new(|f| {
        let fx = f.known(|x| elasticity_force(x)[0])?;
        let fy = f.known(|x| elasticity_force(x)[1])?;
        let gdx = f.d2(0, 0, 0)? + f.d2(1, 0, 1)?;
        let gdy = f.d2(0, 0, 1)? + f.d2(1, 1, 1)?;
        Ok(vec![
            gdx.mul_scalar(LAMBDA + MU) + f.laplacian(0, &[0, 1])?.mul_scalar(MU) + fx,
            gdy.mul_scalar(LAMBDA + MU) + f.laplacian(1, &[0, 1])?.mul_scalar(MU) + fy,
        ])
    });
    let faces = [Face::both(0), Face::both(1)].concat();
    Ok(Problem {
        name: "elasticity".into(),
        domain: Domain::new(&[0.0, 0.0], &[1.0, 1.0], None)?,
        outputs: 2,
        needs: Needs::values().laplacian(&[0, 1]).d2(0, 1),
        residual,
        point_residual: None,
        conditions: vec![dirichlet("bc", faces, point_fn(exact), vec![0, 1])],
        transform: None,
        observations: None,
        solution: Solution::Exact {
            f: point_fn(exact),
            points_per_axis: 101,
        },
    })
}
