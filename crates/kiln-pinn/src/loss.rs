//! The PINN loss: PDE residual + soft conditions + data misfit, and its parameter gradient.

use std::sync::Arc;

use kiln_core::burn::tensor::{Device, Tensor};
use kiln_core::{KilnError, Precision, convert};

use crate::dual::Dual2;
use crate::errors::Result;
use crate::fused::{FusedNet, FusedSet, Layout, Workspaces, host_blocks};
use crate::hyperparams::{CausalParams, Engine};
use crate::jet::{Channels, Jet, host_tensor};
use crate::network::Network;
use crate::operators::Fields;
use crate::pointwise::{LIN_MAX, PointFields};
use crate::problem::{PointResidualFn, Problem};

/// A point set with its constant tensors built once: input jet, transform jets, targets.
#[derive(Debug, Clone)]
struct PointSet {
    points: Vec<f64>,
    input: Jet,
    transform: Option<(Jet, Jet)>,
    target: Option<Tensor<2>>,
    components: Vec<usize>,
}

/// Multipliers on the loss terms (on top of the problem's own weights); loss balancing
/// updates them.
#[derive(Debug, Clone, PartialEq)]
pub struct TermWeights {
    /// Residual multiplier.
    pub residual: f64,
    /// One multiplier per soft condition.
    pub conditions: Vec<f64>,
    /// Data multiplier.
    pub data: f64,
}

/// Loss values by term (unweighted means of squares).
#[derive(Debug, Clone, PartialEq)]
pub struct LossParts {
    /// Weighted total.
    pub total: f64,
    /// `(name, mean square)` of each term.
    pub terms: Vec<(String, f64)>,
}

/// The fused engine's copy of the point sets (host arrays) and its reusable buffers.
#[derive(Clone)]
struct Fused {
    net: FusedNet,
    residual: PointResidualFn,
    collocation: FusedSet,
    /// Condition sets with targets `[n][components]`.
    conditions: Vec<(FusedSet, Vec<f64>)>,
    data: Option<(FusedSet, Vec<f64>)>,
    work: Workspaces,
}

/// The loss of one problem on fixed point sets, for one network and precision.
#[derive(Clone)]
pub struct PinnLoss {
    problem: Problem,
    network: Network,
    precision: Precision,
    device: Device,
    collocation: PointSet,
    conditions: Vec<PointSet>,
    data: Option<PointSet>,
    fused: Option<Fused>,
    engine: Engine,
    causal: Option<CausalParams>,
    /// Current term multipliers.
    pub weights: TermWeights,
}

/// A point set for the fused engine.
fn fused_set(problem: &Problem, network: &Network, ch: &Channels, points: &[f64]) -> FusedSet {
    let dim = problem.domain.dim();
    let (input, embed) = network.embed_host(ch, points);
    let transform = problem.transform.as_ref().map(|t| {
        let vars: Vec<Vec<Dual2>> = points.chunks(dim).map(Dual2::vars).collect();
        let g: Vec<Vec<Dual2>> = vars.iter().map(|x| (t.g)(x)).collect();
        let phi: Vec<Vec<Dual2>> = vars.iter().map(|x| (t.phi)(x)).collect();
        (host_blocks(&g, ch), host_blocks(&phi, ch))
    });
    FusedSet {
        n: points.len() / dim,
        layout: Layout::new(ch),
        embed,
        input,
        transform,
    }
}

/// Per-point coefficients of the squared residual in the residual term, and the term's value.
///
/// Without causal weighting every point counts `1/n` (the mean). With it, slab `k` (by time)
/// has mean `L_k` and weight `w_k = exp(-epsilon * sum_{j<k} L_j)`; the term is
/// `sum_k w_k L_k / slabs`, so a point of slab `k` counts `w_k / (slabs * n_k)`. The weights are
/// constants of the gradient (computed from the current values, not differentiated).
fn residual_coefficients(
    sq: &[f64],
    points: &[f64],
    problem: &Problem,
    causal: Option<CausalParams>,
) -> (Vec<f64>, f64) {
    let n = sq.len();
    let (Some(c), Some(axis)) = (causal, problem.domain.time_axis()) else {
        let coef = 1.0 / n.max(1) as f64;
        return (vec![coef; n], sq.iter().sum::<f64>() * coef);
    };
    let dim = problem.domain.dim();
    let (lo, hi) = (problem.domain.lo()[axis], problem.domain.hi()[axis]);
    let slab: Vec<usize> = points
        .chunks(dim)
        .map(|x| {
            (((x[axis] - lo) / (hi - lo) * c.slabs as f64)
                .floor()
                .max(0.0) as usize)
                .min(c.slabs - 1)
        })
        .collect();
    let mut sums = vec![0.0; c.slabs];
    let mut counts = vec![0usize; c.slabs];
    for (&k, &v) in slab.iter().zip(sq) {
        sums[k] += v;
        counts[k] += 1;
    }
    let mut weights = vec![0.0; c.slabs];
    let mut cumulative = 0.0;
    let mut term = 0.0;
    for k in 0..c.slabs {
        let mean = if counts[k] > 0 {
            sums[k] / counts[k] as f64
        } else {
            0.0
        };
        weights[k] = (-c.epsilon * cumulative).exp();
        term += weights[k] * mean / c.slabs as f64;
        cumulative += mean;
    }
    let coef = slab
        .iter()
        .map(|&k| weights[k] / (c.slabs * counts[k]) as f64)
        .collect();
    (coef, term)
}

fn transform_jets(
    problem: &Problem,
    channels: &Arc<Channels>,
    points: &[f64],
    precision: Precision,
    device: &Device,
) -> Result<Option<(Jet, Jet)>> {
    let Some(t) = &problem.transform else {
        return Ok(None);
    };
    let dim = problem.domain.dim();
    let vars: Vec<Vec<Dual2>> = points.chunks(dim).map(Dual2::vars).collect();
    let g: Vec<Vec<Dual2>> = vars.iter().map(|x| (t.g)(x)).collect();
    let phi: Vec<Vec<Dual2>> = vars.iter().map(|x| (t.phi)(x)).collect();
    Ok(Some((
        Jet::from_duals(channels.clone(), &g, precision, device)?,
        Jet::from_duals(channels.clone(), &phi, precision, device)?,
    )))
}

/// `theta` as a flat tensor of `precision` on `device`.
pub fn theta_on(theta: &[f64], precision: Precision, device: &Device) -> Result<Tensor<1>> {
    Ok(match precision {
        Precision::F64 => convert::tensor_f64(theta, [theta.len()], device)?,
        Precision::F32 => {
            let v: Vec<f32> = theta.iter().map(|&x| x as f32).collect();
            convert::tensor_f32(&v, [theta.len()], device)?
        }
    })
}

impl PinnLoss {
    /// Builds the loss on `collocation` points and per-condition `condition_points`
    /// (row-major). `device` must be an autodiff device for training.
    pub fn new(
        problem: Problem,
        network: Network,
        precision: Precision,
        device: Device,
        collocation: Vec<f64>,
        condition_points: Vec<Vec<f64>>,
    ) -> Result<PinnLoss> {
        problem.validate()?;
        if condition_points.len() != problem.conditions.len() {
            return Err(KilnError::shape(
                "condition point sets",
                problem.conditions.len(),
                condition_points.len(),
            )
            .into());
        }
        let dim = problem.domain.dim();
        let needs = Arc::new(problem.needs.channels(dim)?);
        let values = Arc::new(Channels::values(dim));
        let set = |points: Vec<f64>, ch: &Arc<Channels>| -> Result<PointSet> {
            Ok(PointSet {
                input: network.input_jet(ch.clone(), &points, precision, &device)?,
                transform: transform_jets(&problem, ch, &points, precision, &device)?,
                points,
                target: None,
                components: Vec::new(),
            })
        };
        let collocation = set(collocation, &needs)?;
        let mut conditions = Vec::new();
        for (c, pts) in problem.conditions.iter().zip(condition_points) {
            let targets: Vec<f64> = pts
                .chunks(dim)
                .flat_map(|x| {
                    let t = (c.target)(x);
                    c.components.iter().map(move |&k| t[k]).collect::<Vec<_>>()
                })
                .collect();
            let n = pts.len() / dim;
            let mut s = set(pts, &values)?;
            s.target = Some(host_tensor(
                &targets,
                n,
                c.components.len(),
                precision,
                &device,
            )?);
            s.components = c.components.clone();
            conditions.push(s);
        }
        let data = match &problem.observations {
            None => None,
            Some(obs) => {
                let n = obs.points.len() / dim;
                let mut s = set(obs.points.clone(), &values)?;
                s.target = Some(host_tensor(
                    &obs.values,
                    n,
                    problem.outputs,
                    precision,
                    &device,
                )?);
                s.components = (0..problem.outputs).collect();
                Some(s)
            }
        };
        let weights = TermWeights {
            residual: 1.0,
            conditions: vec![1.0; conditions.len()],
            data: 1.0,
        };
        let mut loss = PinnLoss {
            problem,
            network,
            precision,
            device,
            collocation,
            conditions,
            data,
            fused: None,
            engine: Engine::Burn,
            causal: None,
            weights,
        };
        loss.fused = loss.build_fused();
        loss.engine = Engine::Auto;
        Ok(loss)
    }

    /// The fused engine's sets, where it applies: f64, an MLP or Fourier network, a pointwise
    /// residual, and few enough output channels for [`crate::pointwise::Lin`].
    fn build_fused(&self) -> Option<Fused> {
        let net = self.network.fused()?;
        let residual = self.problem.point_residual.clone()?;
        let dim = self.problem.domain.dim();
        let needs = self.problem.needs.channels(dim).ok()?;
        if self.precision != Precision::F64 || needs.count() * self.problem.outputs > LIN_MAX {
            return None;
        }
        let values = Channels::values(dim);
        let conditions = self
            .conditions
            .iter()
            .zip(&self.problem.conditions)
            .map(|(set, cond)| {
                let targets = set
                    .points
                    .chunks(dim)
                    .flat_map(|x| {
                        let t = (cond.target)(x);
                        cond.components
                            .iter()
                            .map(move |&k| t[k])
                            .collect::<Vec<_>>()
                    })
                    .collect();
                (
                    fused_set(&self.problem, &self.network, &values, &set.points),
                    targets,
                )
            })
            .collect();
        let data = match (&self.data, &self.problem.observations) {
            (Some(set), Some(obs)) => Some((
                fused_set(&self.problem, &self.network, &values, &set.points),
                obs.values.clone(),
            )),
            _ => None,
        };
        Some(Fused {
            collocation: fused_set(
                &self.problem,
                &self.network,
                &needs,
                &self.collocation.points,
            ),
            net,
            residual,
            conditions,
            data,
            work: Workspaces::default(),
        })
    }

    /// Chooses the engine of [`Self::value_and_grad`], [`Self::parts`] and
    /// [`Self::term_gradients`]. [`Engine::Fused`] is an error where it does not apply.
    pub fn set_engine(&mut self, engine: Engine) -> Result<()> {
        if engine == Engine::Fused && self.fused.is_none() {
            return Err(KilnError::invalid(
                "engine",
                "fused",
                "needs f64, an MLP or Fourier-feature network and a problem with a pointwise residual",
            )
            .into());
        }
        self.engine = engine;
        Ok(())
    }

    /// Whether the fused engine computes the loss.
    pub fn uses_fused(&self) -> bool {
        self.engine != Engine::Burn && self.fused.is_some()
    }

    /// Turns causal weighting of the residual on or off; an error for a stationary problem.
    pub fn set_causal(&mut self, causal: Option<CausalParams>) -> Result<()> {
        if causal.is_some() && self.problem.domain.time_axis().is_none() {
            return Err(KilnError::invalid(
                "causal",
                &self.problem.name,
                "causal weighting needs a time-dependent problem",
            )
            .into());
        }
        self.causal = causal;
        Ok(())
    }

    /// The network.
    pub fn network(&self) -> &Network {
        &self.network
    }

    /// The problem.
    pub fn problem(&self) -> &Problem {
        &self.problem
    }

    /// Arithmetic precision.
    pub fn precision(&self) -> Precision {
        self.precision
    }

    /// The collocation points (row-major).
    pub fn collocation_points(&self) -> &[f64] {
        &self.collocation.points
    }

    fn output(&self, theta: &Tensor<1>, set: &PointSet) -> Jet {
        let out = self.network.forward(theta, &set.input);
        match &set.transform {
            None => out,
            Some((g, phi)) => g.add(&phi.mul(&out)),
        }
    }

    /// Per-term mean squares as tensors, in order: residual equations (summed), conditions,
    /// data. Names come along.
    pub fn terms(&self, theta: &Tensor<1>) -> Result<Vec<(String, Tensor<1>, f64)>> {
        let jet = self.output(theta, &self.collocation);
        let fields = Fields::new(
            &jet,
            &self.collocation.points,
            self.problem.domain.time_axis(),
            self.precision,
            &self.device,
        );
        let residuals = (self.problem.residual)(&fields)?;
        let mut sq: Option<Tensor<2>> = None;
        for r in residuals {
            let r2 = r.square();
            sq = Some(match sq {
                None => r2,
                Some(a) => a + r2,
            });
        }
        let sq = sq.ok_or_else(|| KilnError::Empty("residual equations".into()))?;
        let res = if self.causal.is_some() {
            let host = convert::to_vec_f64(&sq)?;
            let (coef, _) =
                residual_coefficients(&host, &self.collocation.points, &self.problem, self.causal);
            let n = coef.len();
            (sq * host_tensor(&coef, n, 1, self.precision, &self.device)?).sum()
        } else {
            sq.mean()
        };
        let mut out = vec![("residual".to_string(), res, self.weights.residual)];
        for ((set, cond), w) in self
            .conditions
            .iter()
            .zip(&self.problem.conditions)
            .zip(&self.weights.conditions)
        {
            out.push((cond.name.clone(), self.misfit(theta, set), w * cond.weight));
        }
        if let (Some(set), Some(obs)) = (&self.data, &self.problem.observations) {
            out.push((
                "data".into(),
                self.misfit(theta, set),
                self.weights.data * obs.weight,
            ));
        }
        Ok(out)
    }

    fn misfit(&self, theta: &Tensor<1>, set: &PointSet) -> Tensor<1> {
        let u = self.output(theta, set).value();
        let picked = if set.components.len() == self.problem.outputs {
            u
        } else {
            Tensor::cat(
                set.components
                    .iter()
                    .map(|&k| u.clone().narrow(1, k, 1))
                    .collect(),
                1,
            )
        };
        let target = set.target.clone().expect("condition sets carry targets");
        (picked - target).square().mean()
    }

    /// The weighted total loss as a tensor (differentiable in `theta`).
    pub fn loss(&self, theta: &Tensor<1>) -> Result<Tensor<1>> {
        let mut total: Option<Tensor<1>> = None;
        for (_, t, w) in self.terms(theta)? {
            let wt = t.mul_scalar(w);
            total = Some(match total {
                None => wt,
                Some(a) => a + wt,
            });
        }
        total.ok_or_else(|| KilnError::Empty("loss terms".into()).into())
    }

    /// `theta` as a tensor of this loss's precision on its device.
    pub fn theta_tensor(&self, theta: &[f64]) -> Result<Tensor<1>> {
        theta_on(theta, self.precision, &self.device)
    }

    /// Loss value and flat parameter gradient at `theta` (by the chosen engine).
    pub fn value_and_grad(&self, theta: &[f64]) -> Result<(f64, Vec<f64>)> {
        if self.uses_fused() {
            let (parts, grad) = self.fused_eval(theta, None)?;
            return Ok((parts.total, grad));
        }
        self.value_and_grad_burn(theta)
    }

    /// Loss value and gradient by the fused engine (an error where it does not apply).
    pub fn value_and_grad_fused(&self, theta: &[f64]) -> Result<(f64, Vec<f64>)> {
        let (parts, grad) = self.fused_eval(theta, None)?;
        Ok((parts.total, grad))
    }

    /// Loss value and gradient by jets on Burn tensors and Burn's autodiff.
    pub fn value_and_grad_burn(&self, theta: &[f64]) -> Result<(f64, Vec<f64>)> {
        let t = self.theta_tensor(theta)?.require_grad();
        let loss = self.loss(&t)?;
        let value = convert::scalar_f64(&loss)?;
        let grads = loss.backward();
        let grad = match t.grad(&grads) {
            Some(g) => convert::to_vec_f64(&g)?,
            None => vec![0.0; theta.len()],
        };
        Ok((value, grad))
    }

    /// Loss parts at `theta`.
    pub fn parts(&self, theta: &[f64]) -> Result<LossParts> {
        if self.uses_fused() {
            return Ok(self.fused_eval(theta, None)?.0);
        }
        let t = self.theta_tensor(theta)?;
        let mut total = 0.0;
        let mut terms = Vec::new();
        for (name, v, w) in self.terms(&t)? {
            let v = convert::scalar_f64(&v)?;
            total += w * v;
            terms.push((name, v));
        }
        Ok(LossParts { total, terms })
    }

    /// Gradient of each term separately (for loss balancing).
    pub fn term_gradients(&self, theta: &[f64]) -> Result<Vec<Vec<f64>>> {
        if self.uses_fused() {
            let n = 1 + self.conditions.len() + usize::from(self.data.is_some());
            return (0..n)
                .map(|i| Ok(self.fused_eval(theta, Some(i))?.1))
                .collect();
        }
        let n = self.terms(&self.theta_tensor(theta)?)?.len();
        let mut out = Vec::with_capacity(n);
        for i in 0..n {
            let t = self.theta_tensor(theta)?.require_grad();
            let terms = self.terms(&t)?;
            let (_, term, _) = terms.into_iter().nth(i).expect("term index in range");
            let grads = term.backward();
            out.push(match t.grad(&grads) {
                Some(g) => convert::to_vec_f64(&g)?,
                None => vec![0.0; theta.len()],
            });
        }
        Ok(out)
    }

    /// Jets of `points` without targets, for evaluation outside training.
    fn unlabelled_set(
        &self,
        ch: &Arc<Channels>,
        points: &[f64],
        plain: &Device,
    ) -> Result<PointSet> {
        Ok(PointSet {
            input: self
                .network
                .input_jet(ch.clone(), points, self.precision, plain)?,
            transform: transform_jets(&self.problem, ch, points, self.precision, plain)?,
            points: points.to_vec(),
            target: None,
            components: Vec::new(),
        })
    }

    /// The network's prediction (with the output transform) at `points`, row-major.
    pub fn predict(&self, theta: &[f64], points: &[f64]) -> Result<Vec<f64>> {
        let dim = self.problem.domain.dim();
        let ch = Arc::new(Channels::values(dim));
        let plain = self.device.clone().without_autodiff();
        let set = self.unlabelled_set(&ch, points, &plain)?;
        let t = theta_on(theta, self.precision, &plain)?;
        Ok(convert::to_vec_f64(&self.output(&t, &set).value())?)
    }

    /// Residual mean square at each of `points` (for residual-based adaptive resampling).
    pub fn residual_at(&self, theta: &[f64], points: &[f64]) -> Result<Vec<f64>> {
        let dim = self.problem.domain.dim();
        // The same checks for both engines, before either touches the data.
        if theta.len() != self.network.n_params() {
            return Err(KilnError::shape("theta", self.network.n_params(), theta.len()).into());
        }
        if !points.len().is_multiple_of(dim) {
            return Err(
                KilnError::shape("points", format!("a multiple of {dim}"), points.len()).into(),
            );
        }
        kiln_core::errors::ensure_finite(points, "points")?;
        if let (true, Some(f)) = (self.uses_fused(), &self.fused) {
            let ch = self.problem.needs.channels(dim)?;
            let set = fused_set(&self.problem, &self.network, &ch, points);
            let mut work = f.net.workspace(&set);
            f.net.forward(theta, &set, &mut work);
            let width = ch.count() * self.problem.outputs;
            let time_axis = self.problem.domain.time_axis();
            let mut out = Vec::with_capacity(set.n);
            for (x, u) in points
                .chunks(dim)
                .zip(work.chunks.iter().flat_map(|c| c.u.chunks_exact(width)))
            {
                let fields = PointFields::new(x, u, &ch, self.problem.outputs, time_axis);
                out.push((f.residual)(&fields)?.iter().map(|r| r.v * r.v).sum());
            }
            return Ok(out);
        }
        let ch = Arc::new(self.problem.needs.channels(dim)?);
        let plain = self.device.clone().without_autodiff();
        let set = self.unlabelled_set(&ch, points, &plain)?;
        let t = theta_on(theta, self.precision, &plain)?;
        let jet = self.output(&t, &set);
        let fields = Fields::new(
            &jet,
            points,
            self.problem.domain.time_axis(),
            self.precision,
            &plain,
        );
        let mut acc = vec![0.0; points.len() / dim];
        for r in (self.problem.residual)(&fields)? {
            for (a, v) in acc.iter_mut().zip(convert::to_vec_f64(&r)?) {
                *a += v * v;
            }
        }
        Ok(acc)
    }

    /// Replaces the collocation points (resampling, RAR).
    pub fn set_collocation(&mut self, points: Vec<f64>) -> Result<()> {
        let dim = self.problem.domain.dim();
        let ch = Arc::new(self.problem.needs.channels(dim)?);
        self.collocation = PointSet {
            input: self
                .network
                .input_jet(ch.clone(), &points, self.precision, &self.device)?,
            transform: transform_jets(&self.problem, &ch, &points, self.precision, &self.device)?,
            points,
            target: None,
            components: Vec::new(),
        };
        if let Some(f) = &mut self.fused {
            f.collocation = fused_set(&self.problem, &self.network, &ch, &self.collocation.points);
            f.work = Workspaces::default();
        }
        Ok(())
    }

    /// The fused engine: loss parts and the gradient of the weighted total, or (with
    /// `only = Some(i)`) of term `i` alone, unweighted, as [`Self::term_gradients`] wants.
    fn fused_eval(&self, theta: &[f64], only: Option<usize>) -> Result<(LossParts, Vec<f64>)> {
        let f = self.fused.as_ref().ok_or_else(|| {
            KilnError::invalid("engine", "fused", "the fused engine does not apply here")
        })?;
        if theta.len() != f.net.n_params {
            return Err(KilnError::shape("theta", f.net.n_params, theta.len()).into());
        }
        let mut work = f.work.0.lock().unwrap_or_else(|e| e.into_inner());
        let sets: Vec<&FusedSet> = std::iter::once(&f.collocation)
            .chain(f.conditions.iter().map(|c| &c.0))
            .chain(f.data.iter().map(|d| &d.0))
            .collect();
        if work.len() != sets.len() {
            *work = sets.iter().map(|s| f.net.workspace(s)).collect();
        }
        let mut multipliers = vec![self.weights.residual];
        for (w, c) in self.weights.conditions.iter().zip(&self.problem.conditions) {
            multipliers.push(w * c.weight);
        }
        if let Some(obs) = &self.problem.observations {
            multipliers.push(self.weights.data * obs.weight);
        }
        let scale = |i: usize| match only {
            None => multipliers[i],
            Some(j) => f64::from(u8::from(i == j)),
        };
        let mut grad = vec![0.0; theta.len()];
        let mut terms = Vec::with_capacity(sets.len());
        let mut total = 0.0;
        let o = self.problem.outputs;
        let dim = self.problem.domain.dim();

        // Residual term.
        let set = &f.collocation;
        let cb = set.layout.count;
        let ch = self.problem.needs.channels(dim)?;
        f.net.forward(theta, set, &mut work[0]);
        let mut sq = Vec::with_capacity(set.n);
        let mut adj = vec![0.0; set.n * cb * o];
        let mut p = 0;
        for chunk in &work[0].chunks {
            for (q, u) in chunk.u.chunks_exact(cb * o).enumerate() {
                let x = &self.collocation.points[(p + q) * dim..][..dim];
                let fields = PointFields::new(x, u, &ch, o, self.problem.domain.time_axis());
                let mut s = 0.0;
                let a = &mut adj[(p + q) * cb * o..][..cb * o];
                for r in (f.residual)(&fields)? {
                    s += r.v * r.v;
                    for (ai, di) in a.iter_mut().zip(r.d) {
                        *ai += 2.0 * r.v * di;
                    }
                }
                sq.push(s);
            }
            p += chunk.u.len() / (cb * o);
        }
        let (coef, value) =
            residual_coefficients(&sq, &self.collocation.points, &self.problem, self.causal);
        terms.push(("residual".to_string(), value));
        total += multipliers[0] * value;
        if scale(0) != 0.0 {
            for (a, c) in adj.chunks_exact_mut(cb * o).zip(&coef) {
                a.iter_mut().for_each(|v| *v *= scale(0) * c);
            }
            f.net.backward(theta, set, &mut work[0], &adj, &mut grad);
        }

        // Misfit terms: conditions, then data.
        let misfits = f
            .conditions
            .iter()
            .zip(&self.problem.conditions)
            .map(|((s, t), c)| (s, t, c.name.clone(), c.components.clone()))
            .chain(
                f.data
                    .iter()
                    .map(|(s, t)| (s, t, "data".to_string(), (0..o).collect())),
            );
        for (i, (set, targets, name, comps)) in misfits.enumerate() {
            let i = i + 1;
            f.net.forward(theta, set, &mut work[i]);
            let nc = comps.len();
            let denom = (set.n * nc).max(1) as f64;
            let mut sum = 0.0;
            let mut adj = vec![0.0; set.n * o];
            let mut p = 0;
            for chunk in &work[i].chunks {
                for (q, u) in chunk.u.chunks_exact(o).enumerate() {
                    for (j, &k) in comps.iter().enumerate() {
                        let d = u[k] - targets[(p + q) * nc + j];
                        sum += d * d;
                        adj[(p + q) * o + k] = scale(i) * 2.0 * d / denom;
                    }
                }
                p += chunk.u.len() / o;
            }
            let value = sum / denom;
            terms.push((name, value));
            total += multipliers[i] * value;
            if scale(i) != 0.0 {
                f.net.backward(theta, set, &mut work[i], &adj, &mut grad);
            }
        }
        Ok((LossParts { total, terms }, grad))
    }
}
