//! A PDE problem as data: domain, residual, boundary/initial conditions, observations and the
//! solution it is measured against.

use std::sync::Arc;

use kiln_core::KilnError;
use kiln_core::burn::tensor::Tensor;
use rand::{Rng, RngExt};

use crate::dual::{Dual2, MAX_DIM};
use crate::errors::{PinnError, Result};
use crate::jet::Needs;
use crate::operators::Fields;

/// An axis-aligned box, optionally with one axis being time.
#[derive(Debug, Clone, PartialEq)]
pub struct Domain {
    lo: Vec<f64>,
    hi: Vec<f64>,
    time_axis: Option<usize>,
}

impl Domain {
    /// A box `[lo, hi]`; rejects non-finite or empty intervals and unsupported dimensions.
    pub fn new(lo: &[f64], hi: &[f64], time_axis: Option<usize>) -> Result<Domain> {
        if lo.len() != hi.len() || lo.is_empty() || lo.len() > MAX_DIM {
            return Err(KilnError::shape(
                "domain bounds",
                format!("1..={MAX_DIM} lower and as many upper bounds"),
                format!("{} lower, {} upper", lo.len(), hi.len()),
            )
            .into());
        }
        for (axis, (&l, &h)) in lo.iter().zip(hi).enumerate() {
            if !(l.is_finite() && h.is_finite() && l < h) {
                return Err(PinnError::InvalidDomain { axis, lo: l, hi: h });
            }
        }
        if let Some(t) = time_axis
            && t >= lo.len()
        {
            return Err(KilnError::invalid("time_axis", t, "outside the domain's axes").into());
        }
        Ok(Domain {
            lo: lo.to_vec(),
            hi: hi.to_vec(),
            time_axis,
        })
    }

    /// Lower corner.
    pub fn lo(&self) -> &[f64] {
        &self.lo
    }

    /// Upper corner.
    pub fn hi(&self) -> &[f64] {
        &self.hi
    }

    /// Dimension.
    pub fn dim(&self) -> usize {
        self.lo.len()
    }

    /// The time axis, if the problem is time-dependent.
    pub fn time_axis(&self) -> Option<usize> {
        self.time_axis
    }
}

/// One side of the box along one axis.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Face {
    /// Axis held fixed.
    pub axis: usize,
    /// `false`: the lower bound, `true`: the upper bound.
    pub upper: bool,
}

impl Face {
    /// The lower face of `axis`.
    pub fn lower(axis: usize) -> Face {
        Face { axis, upper: false }
    }

    /// The upper face of `axis`.
    pub fn upper(axis: usize) -> Face {
        Face { axis, upper: true }
    }

    /// Both faces of `axis`.
    pub fn both(axis: usize) -> [Face; 2] {
        [Face::lower(axis), Face::upper(axis)]
    }
}

/// A pointwise function of the coordinates returning one value per output component.
pub type PointFn = Arc<dyn Fn(&[f64]) -> Vec<f64> + Send + Sync>;
/// A function of host jets (for hard constraints): one jet per output component.
pub type JetFn = Arc<dyn Fn(&[Dual2]) -> Vec<Dual2> + Send + Sync>;
/// A PDE residual: zero where the network solves the equation; one tensor per equation.
pub type ResidualFn = Arc<dyn Fn(&Fields) -> Result<Vec<Tensor<2>>> + Send + Sync>;

/// The same residual pointwise on the host, for the fused engine (see [`PointFields`](crate::PointFields)).
pub type PointResidualFn =
    Arc<dyn Fn(&crate::pointwise::PointFields) -> Result<Vec<crate::pointwise::Lin>> + Send + Sync>;

/// A soft Dirichlet condition: `u_k(x) = target_k(x)` on some faces, as a penalty.
#[derive(Clone)]
pub struct Condition {
    /// Name in loss reports (`bc`, `ic`).
    pub name: String,
    /// Faces it holds on.
    pub faces: Vec<Face>,
    /// Target values (one per output component).
    pub target: PointFn,
    /// Which output components it constrains.
    pub components: Vec<usize>,
    /// Penalty weight.
    pub weight: f64,
}

impl Condition {
    /// `n` points spread over the condition's faces.
    pub fn sample(&self, domain: &Domain, n: usize, rng: &mut impl Rng) -> Vec<f64> {
        let dim = domain.dim();
        let mut out = Vec::with_capacity(n * dim);
        for p in 0..n {
            let face = self.faces[p % self.faces.len()];
            for d in 0..dim {
                out.push(if d == face.axis {
                    if face.upper {
                        domain.hi[d]
                    } else {
                        domain.lo[d]
                    }
                } else {
                    domain.lo[d] + rng.random::<f64>() * (domain.hi[d] - domain.lo[d])
                });
            }
        }
        out
    }
}

/// Boundary/initial conditions imposed exactly: `u = g(x) + phi(x) * N(x)`, with `phi = 0`
/// where the conditions hold.
#[derive(Clone)]
pub struct OutputTransform {
    /// `g`: satisfies the conditions.
    pub g: JetFn,
    /// `phi`: vanishes where the conditions hold.
    pub phi: JetFn,
}

/// Observed values of the solution.
#[derive(Debug, Clone, PartialEq)]
pub struct Observations {
    /// Row-major points.
    pub points: Vec<f64>,
    /// Row-major values (`n x outputs`).
    pub values: Vec<f64>,
    /// Weight of the data misfit in the loss.
    pub weight: f64,
}

/// What a trained network is measured against.
#[derive(Clone)]
pub enum Solution {
    /// A closed form, evaluated on a grid of `points_per_axis` points per axis.
    Exact {
        /// The solution.
        f: PointFn,
        /// Evaluation grid resolution per axis.
        points_per_axis: usize,
    },
    /// Tabulated reference values at given points.
    Table {
        /// Row-major points.
        points: Vec<f64>,
        /// Row-major values (`n x outputs`).
        values: Vec<f64>,
    },
}

/// A PDE problem, complete enough to train and to judge a PINN.
#[derive(Clone)]
pub struct Problem {
    /// Identifier.
    pub name: String,
    /// Where the PDE holds.
    pub domain: Domain,
    /// Number of solution components.
    pub outputs: usize,
    /// Derivatives the residual reads.
    pub needs: Needs,
    /// The PDE residual.
    pub residual: ResidualFn,
    /// The residual pointwise on the host (enables the fused engine); must agree with
    /// `residual`.
    pub point_residual: Option<PointResidualFn>,
    /// Soft conditions (penalties).
    pub conditions: Vec<Condition>,
    /// Hard conditions (output transform), if any.
    pub transform: Option<OutputTransform>,
    /// Observations, if any.
    pub observations: Option<Observations>,
    /// What the result is measured against.
    pub solution: Solution,
}

impl std::fmt::Debug for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Problem")
            .field("name", &self.name)
            .field("domain", &self.domain)
            .field("outputs", &self.outputs)
            .field("conditions", &self.conditions.len())
            .field("hard", &self.transform.is_some())
            .finish_non_exhaustive()
    }
}

impl Problem {
    /// The evaluation points and reference values (row-major).
    pub fn evaluation_set(&self) -> (Vec<f64>, Vec<f64>) {
        match &self.solution {
            Solution::Table { points, values } => (points.clone(), values.clone()),
            Solution::Exact { f, points_per_axis } => {
                let dim = self.domain.dim();
                let m = *points_per_axis;
                let total = m.pow(dim as u32);
                let mut points = Vec::with_capacity(total * dim);
                let mut values = Vec::with_capacity(total * self.outputs);
                for idx in 0..total {
                    let mut rem = idx;
                    let start = points.len();
                    for d in 0..dim {
                        let k = rem % m;
                        rem /= m;
                        let u = k as f64 / (m - 1).max(1) as f64;
                        points
                            .push(self.domain.lo[d] + u * (self.domain.hi[d] - self.domain.lo[d]));
                    }
                    values.extend(f(&points[start..]));
                }
                (points, values)
            }
        }
    }

    /// Checks that the problem is internally consistent (dimensions, weights).
    pub fn validate(&self) -> Result<()> {
        if self.outputs == 0 {
            return Err(KilnError::invalid("outputs", 0, "a problem needs an output").into());
        }
        self.needs.channels(self.domain.dim())?;
        for c in &self.conditions {
            if c.faces.iter().any(|f| f.axis >= self.domain.dim())
                || c.faces.is_empty()
                || c.components.iter().any(|&k| k >= self.outputs)
            {
                return Err(KilnError::invalid(
                    "condition",
                    &c.name,
                    "faces must be non-empty, on the domain's axes, and components in range",
                )
                .into());
            }
            if !(c.weight.is_finite() && c.weight >= 0.0) {
                return Err(
                    KilnError::invalid("condition weight", c.weight, "must be >= 0").into(),
                );
            }
        }
        if let Some(obs) = &self.observations {
            let dim = self.domain.dim();
            if !obs.points.len().is_multiple_of(dim)
                || obs.values.len() != obs.points.len() / dim * self.outputs
            {
                return Err(KilnError::shape(
                    "observations",
                    format!("{} values per point", self.outputs),
                    format!(
                        "{} points, {} values",
                        obs.points.len() / dim,
                        obs.values.len()
                    ),
                )
                .into());
            }
            kiln_core::errors::ensure_finite(&obs.points, "observation points")?;
            kiln_core::errors::ensure_finite(&obs.values, "observation values")?;
        }
        Ok(())
    }
}
