//! Two-player differentiable games `min_x max_y f(x, y)` and the dynamics of gradient play.
//!
//! The objective is any function of two flat parameter vectors written with Burn tensors
//! ([`Objective`]); gradients come from Burn's autodiff in f64. The iterates live on the host in
//! f64 ([`Point`]) and are updated by one of the rules of
//! [`GameAlgorithm`] with optional [`Clip`]ping ([`GameRunner`]), which
//! records a [`Trajectory`]. Diagnostics: distance to a known equilibrium, the winding number
//! of a trajectory around it ([`winding_turns`]), and the Jacobian of the descent-ascent vector
//! field at a point with its eigenvalues and rotation share ([`Game::jacobian`]).

use kiln_core::burn::tensor::{Device, Tensor};
use kiln_core::{Autodiff, BackendKind, KilnError, Precision, convert};
use serde::Serialize;

use crate::errors::{DynamicsError, Result};
use crate::hyperparams::{Clip, GameAlgorithm, GameValidParams};
use crate::linalg::{Eigenvalue, MAX_EIGEN_ORDER, SquareMatrix, eigenvalues};

/// A differentiable objective `f(x, y)` (Burn tensors, f64): the minimizing player holds `x`,
/// the maximizing player `y`; the result must have exactly one element.
pub trait Objective {
    /// Evaluates `f(x, y)`.
    fn value(&self, x: Tensor<1>, y: Tensor<1>) -> Tensor<1>;
}

impl<F> Objective for F
where
    F: Fn(Tensor<1>, Tensor<1>) -> Tensor<1>,
{
    fn value(&self, x: Tensor<1>, y: Tensor<1>) -> Tensor<1> {
        self(x, y)
    }
}

/// The bilinear game `f(x, y) = sum_i x_i y_i` (equilibrium at the origin).
pub fn bilinear(x: Tensor<1>, y: Tensor<1>) -> Tensor<1> {
    (x * y).sum()
}

/// A joint position of both players.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Point {
    /// The minimizing player's parameters.
    pub x: Vec<f64>,
    /// The maximizing player's parameters.
    pub y: Vec<f64>,
}

impl Point {
    /// A point from both players' vectors.
    pub fn new(x: Vec<f64>, y: Vec<f64>) -> Self {
        Self { x, y }
    }

    /// Euclidean distance to `other` over both players' coordinates.
    pub fn distance(&self, other: &Point) -> f64 {
        self.x
            .iter()
            .zip(&other.x)
            .chain(self.y.iter().zip(&other.y))
            .map(|(a, b)| (a - b) * (a - b))
            .sum::<f64>()
            .sqrt()
    }

    fn is_finite(&self) -> bool {
        self.x.iter().chain(&self.y).all(|v| v.is_finite())
    }
}

/// Both players' gradients at a point.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Gradients {
    /// `df/dx`.
    pub x: Vec<f64>,
    /// `df/dy`.
    pub y: Vec<f64>,
}

/// A game: an objective, the players' sizes, an optional known equilibrium, and the device
/// (autodiff, f64 tensors) that differentiates it.
pub struct Game<O> {
    objective: O,
    dims: [usize; 2],
    equilibrium: Option<Point>,
    device: Device,
}

impl<O: Objective> Game<O> {
    /// A game whose minimizing player has `min_dim` parameters and maximizing player
    /// `max_dim`, differentiated on `backend` (with autodiff).
    pub fn new(objective: O, min_dim: usize, max_dim: usize, backend: BackendKind) -> Result<Self> {
        if min_dim == 0 || max_dim == 0 {
            return Err(DynamicsError::invalid(
                "player dimensions",
                format!("({min_dim}, {max_dim})"),
                "each player needs at least one parameter",
            ));
        }
        let device = kiln_core::device(backend, Autodiff::On, Precision::F32)?;
        Ok(Self {
            objective,
            dims: [min_dim, max_dim],
            equilibrium: None,
            device,
        })
    }

    /// Declares a known equilibrium (for distances in trajectories).
    pub fn with_equilibrium(mut self, eq: Point) -> Result<Self> {
        self.check_point(&eq)?;
        self.equilibrium = Some(eq);
        Ok(self)
    }

    /// The declared equilibrium.
    pub fn equilibrium(&self) -> Option<&Point> {
        self.equilibrium.as_ref()
    }

    /// The device the objective runs on (to build constant tensors an objective captures).
    pub fn device(&self) -> &Device {
        &self.device
    }

    fn check_point(&self, p: &Point) -> Result<()> {
        if p.x.len() != self.dims[0] || p.y.len() != self.dims[1] {
            return Err(KilnError::shape(
                "game point",
                format!("({}, {}) parameters", self.dims[0], self.dims[1]),
                format!("({}, {})", p.x.len(), p.y.len()),
            )
            .into());
        }
        kiln_core::errors::ensure_finite(&p.x, "game point x")?;
        kiln_core::errors::ensure_finite(&p.y, "game point y")?;
        Ok(())
    }

    /// `f` at `p`.
    pub fn value(&self, p: &Point) -> Result<f64> {
        self.check_point(p)?;
        let x = convert::tensor_f64(&p.x, [p.x.len()], &self.device)?;
        let y = convert::tensor_f64(&p.y, [p.y.len()], &self.device)?;
        let f = self.objective.value(x, y);
        Ok(convert::scalar_f64(&f)?)
    }

    /// Both players' gradients at `p` (autodiff; a player that does not reach `f` gets zeros).
    pub fn gradients(&self, p: &Point) -> Result<Gradients> {
        self.check_point(p)?;
        let x = convert::tensor_f64(&p.x, [p.x.len()], &self.device)?.require_grad();
        let y = convert::tensor_f64(&p.y, [p.y.len()], &self.device)?.require_grad();
        let f = self.objective.value(x.clone(), y.clone());
        if f.dims() != [1] {
            return Err(
                KilnError::shape("objective value", "[1]", format!("{:?}", f.dims())).into(),
            );
        }
        let grads = f.backward();
        let read = |g: Option<Tensor<1>>, n: usize| -> Result<Vec<f64>> {
            match g {
                Some(g) => Ok(convert::to_vec_f64(&g)?),
                None => Ok(vec![0.0; n]),
            }
        };
        let gx = read(x.grad(&grads), p.x.len())?;
        let gy = read(y.grad(&grads), p.y.len())?;
        kiln_core::errors::ensure_finite(&gx, "gradient of x")?;
        kiln_core::errors::ensure_finite(&gy, "gradient of y")?;
        Ok(Gradients { x: gx, y: gy })
    }

    /// The descent-ascent vector field `v = (-df/dx, +df/dy)` at `p`, flattened `[x.., y..]`.
    pub fn vector_field(&self, p: &Point) -> Result<Vec<f64>> {
        let g = self.gradients(p)?;
        Ok(g.x.iter().map(|v| -v).chain(g.y).collect())
    }

    /// Jacobian of [`vector_field`](Self::vector_field) at `p` by central differences of the
    /// autodiff gradients with step `h` (exact for bilinear games), its eigenvalues, and its
    /// rotation share. Eigenvalues with positive real part repel, negative attract; an
    /// imaginary part means rotation (pure imaginary on `x y`: simultaneous GDA spirals out).
    pub fn jacobian(&self, p: &Point, h: f64) -> Result<JacobianSummary> {
        if !(h.is_finite() && h > 0.0) {
            return Err(DynamicsError::invalid("h", h, "must be finite and > 0"));
        }
        let n = self.dims[0] + self.dims[1];
        if n > MAX_EIGEN_ORDER {
            return Err(DynamicsError::TooLarge {
                order: n,
                max: MAX_EIGEN_ORDER,
            });
        }
        let mut j = vec![0.0; n * n];
        for col in 0..n {
            let shifted = |s: f64| {
                let mut q = p.clone();
                if col < self.dims[0] {
                    q.x[col] += s;
                } else {
                    q.y[col - self.dims[0]] += s;
                }
                self.vector_field(&q)
            };
            let (plus, minus) = (shifted(h)?, shifted(-h)?);
            for row in 0..n {
                j[row * n + col] = (plus[row] - minus[row]) / (2.0 * h);
            }
        }
        let m = SquareMatrix::from_rows(j, n)?;
        let eig = eigenvalues(&m)?;
        Ok(JacobianSummary {
            rotation: rotation_share(&m),
            eigenvalues: eig,
            matrix: m.values().to_vec(),
            order: n,
        })
    }
}

/// The Jacobian of a game's vector field at a point.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct JacobianSummary {
    /// Row-major `order x order` Jacobian.
    pub matrix: Vec<f64>,
    /// Its order (`dim x + dim y`).
    pub order: usize,
    /// Its eigenvalues, decreasing real part.
    pub eigenvalues: Vec<Eigenvalue>,
    /// `||A||_F / (||S||_F + ||A||_F)` with `S`, `A` the symmetric and antisymmetric parts
    /// (Balduzzi et al. 2018's potential/Hamiltonian split): 0 for a pure potential (gradient)
    /// flow, 1 for a pure rotation such as `x y`.
    pub rotation: f64,
}

fn rotation_share(m: &SquareMatrix) -> f64 {
    let n = m.order();
    let v = m.values();
    let (mut s, mut a) = (0.0, 0.0);
    for i in 0..n {
        for j in 0..n {
            let (x, y) = (v[i * n + j], v[j * n + i]);
            s += ((x + y) / 2.0).powi(2);
            a += ((x - y) / 2.0).powi(2);
        }
    }
    let (s, a) = (s.sqrt(), a.sqrt());
    if s + a == 0.0 { 0.0 } else { a / (s + a) }
}

/// Clips a gradient in place: by value, every component into `[-c, c]`; by norm, scaled to
/// L2 norm at most `c`. Returns the scale factor applied by norm clipping (1 otherwise).
pub fn clip_gradient(g: &mut [f64], clip: Clip) -> f64 {
    match clip {
        Clip::None => 1.0,
        Clip::Value(c) => {
            for v in g.iter_mut() {
                *v = v.clamp(-c, c);
            }
            1.0
        }
        Clip::Norm(c) => {
            let norm = g.iter().map(|v| v * v).sum::<f64>().sqrt();
            let scale = if norm > c { c / norm } else { 1.0 };
            for v in g.iter_mut() {
                *v *= scale;
            }
            scale
        }
    }
}

/// What a run of gradient play recorded.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Trajectory {
    /// The rule that produced it.
    pub algorithm: GameAlgorithm,
    /// Step index of each recorded point (0 = start).
    pub steps: Vec<usize>,
    /// The recorded points.
    pub points: Vec<Point>,
    /// Distance of each recorded point to the game's equilibrium (empty if none declared).
    pub distances: Vec<f64>,
    /// Per step: L2 norm of the minimizing player's displacement.
    pub step_norm_x: Vec<f64>,
    /// Per step: L2 norm of the maximizing player's displacement.
    pub step_norm_y: Vec<f64>,
    /// Per step: L2 norm of the joint raw (unclipped) gradient at the start of the step.
    pub grad_norm: Vec<f64>,
    /// Per step: whether clipping changed either player's gradient.
    pub clipped: Vec<bool>,
}

impl Trajectory {
    /// The last point.
    pub fn last(&self) -> Option<&Point> {
        self.points.last()
    }
    /// The last recorded distance to the equilibrium.
    pub fn final_distance(&self) -> Option<f64> {
        self.distances.last().copied()
    }
}

/// Runs gradient play with checked [`GameValidParams`].
#[derive(Debug, Clone, Copy)]
pub struct GameRunner {
    params: GameValidParams,
}

fn norm(v: &[f64]) -> f64 {
    v.iter().map(|a| a * a).sum::<f64>().sqrt()
}

impl GameRunner {
    /// A runner for these settings.
    pub fn new(params: GameValidParams) -> Self {
        Self { params }
    }

    /// The settings.
    pub fn params(&self) -> &GameValidParams {
        &self.params
    }

    /// Plays `params.steps()` updates from `start`, recording every `record_every`-th point.
    /// Fails with [`DynamicsError::Diverged`] at the first non-finite iterate.
    pub fn run<O: Objective>(&self, game: &Game<O>, start: Point) -> Result<Trajectory> {
        game.check_point(&start)?;
        let p = &self.params;
        let mut t = Trajectory {
            algorithm: p.algorithm(),
            steps: Vec::new(),
            points: Vec::new(),
            distances: Vec::new(),
            step_norm_x: Vec::with_capacity(p.steps()),
            step_norm_y: Vec::with_capacity(p.steps()),
            grad_norm: Vec::with_capacity(p.steps()),
            clipped: Vec::with_capacity(p.steps()),
        };
        let record = |t: &mut Trajectory, step: usize, q: &Point| {
            t.steps.push(step);
            if let Some(eq) = game.equilibrium() {
                t.distances.push(q.distance(eq));
            }
            t.points.push(q.clone());
        };
        record(&mut t, 0, &start);
        let mut cur = start;
        let mut previous: Option<Gradients> = None;
        for step in 1..=p.steps() {
            let (next, info) = self.step(game, &cur, &mut previous)?;
            if !next.is_finite() {
                return Err(DynamicsError::Diverged {
                    algorithm: p.algorithm().name().to_string(),
                    step,
                });
            }
            let dx: Vec<f64> = next.x.iter().zip(&cur.x).map(|(a, b)| a - b).collect();
            let dy: Vec<f64> = next.y.iter().zip(&cur.y).map(|(a, b)| a - b).collect();
            t.step_norm_x.push(norm(&dx));
            t.step_norm_y.push(norm(&dy));
            t.grad_norm.push(info.0);
            t.clipped.push(info.1);
            cur = next;
            if step % p.record_every() == 0 || step == p.steps() {
                record(&mut t, step, &cur);
            }
        }
        Ok(t)
    }

    /// One update; returns the new point, the raw joint gradient norm and whether clipping
    /// changed anything.
    fn step<O: Objective>(
        &self,
        game: &Game<O>,
        cur: &Point,
        previous: &mut Option<Gradients>,
    ) -> Result<(Point, (f64, bool))> {
        let p = &self.params;
        let (lx, ly) = (p.lr_min_player(), p.lr_max_player());
        let clip = p.clip();
        let mut changed = false;
        let mut clipped = |v: &[f64]| -> Vec<f64> {
            let mut c = v.to_vec();
            clip_gradient(&mut c, clip);
            changed |= c != v;
            c
        };
        let move_x = |x: &[f64], g: &[f64]| -> Vec<f64> {
            x.iter().zip(g).map(|(a, b)| a - lx * b).collect()
        };
        let move_y = |y: &[f64], g: &[f64]| -> Vec<f64> {
            y.iter().zip(g).map(|(a, b)| a + ly * b).collect()
        };
        let g = game.gradients(cur)?;
        let raw = norm(&g.x).hypot(norm(&g.y));
        let next = match p.algorithm() {
            GameAlgorithm::Simultaneous => Point::new(
                move_x(&cur.x, &clipped(&g.x)),
                move_y(&cur.y, &clipped(&g.y)),
            ),
            GameAlgorithm::Alternating => {
                let x = move_x(&cur.x, &clipped(&g.x));
                let gy = game.gradients(&Point::new(x.clone(), cur.y.clone()))?.y;
                Point::new(x, move_y(&cur.y, &clipped(&gy)))
            }
            GameAlgorithm::Extragradient => {
                let look = Point::new(
                    move_x(&cur.x, &clipped(&g.x)),
                    move_y(&cur.y, &clipped(&g.y)),
                );
                let g2 = game.gradients(&look)?;
                Point::new(
                    move_x(&cur.x, &clipped(&g2.x)),
                    move_y(&cur.y, &clipped(&g2.y)),
                )
            }
            GameAlgorithm::Optimistic => {
                let (dx, dy): (Vec<f64>, Vec<f64>) = match previous.as_ref() {
                    Some(prev) => (
                        g.x.iter().zip(&prev.x).map(|(a, b)| 2.0 * a - b).collect(),
                        g.y.iter().zip(&prev.y).map(|(a, b)| 2.0 * a - b).collect(),
                    ),
                    None => (g.x.clone(), g.y.clone()),
                };
                Point::new(move_x(&cur.x, &clipped(&dx)), move_y(&cur.y, &clipped(&dy)))
            }
        };
        *previous = Some(g);
        Ok((next, (raw, changed)))
    }
}

/// Signed number of turns a planar path makes around `center` (counter-clockwise positive):
/// the sum of the angle increments between consecutive points, divided by `2 pi`. Points at
/// the center are skipped. A path spiralling around an equilibrium winds many times; a path
/// that goes straight in winds ~0.
pub fn winding_turns(path: &[(f64, f64)], center: (f64, f64)) -> f64 {
    let angles: Vec<f64> = path
        .iter()
        .filter(|(a, b)| (a - center.0) != 0.0 || (b - center.1) != 0.0)
        .map(|(a, b)| (b - center.1).atan2(a - center.0))
        .collect();
    let two_pi = std::f64::consts::TAU;
    let total: f64 = angles
        .windows(2)
        .map(|w| {
            let mut d = w[1] - w[0];
            while d > std::f64::consts::PI {
                d -= two_pi;
            }
            while d < -std::f64::consts::PI {
                d += two_pi;
            }
            d
        })
        .sum();
    total / two_pi
}
