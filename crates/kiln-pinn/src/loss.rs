//! The PINN loss: PDE residual + soft conditions + data misfit, and its parameter gradient.

use std::sync::Arc;

use kiln_core::burn::tensor::{Device, Tensor};
use kiln_core::{KilnError, Precision, convert};

use crate::dual::Dual2;
use crate::errors::Result;
use crate::jet::{Channels, Jet, host_tensor};
use crate::network::Network;
use crate::operators::Fields;
use crate::problem::Problem;

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
    /// Current term multipliers.
    pub weights: TermWeights,
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
        Ok(PinnLoss {
            problem,
            network,
            precision,
            device,
            collocation,
            conditions,
            data,
            weights,
        })
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
        let mut res: Option<Tensor<1>> = None;
        for r in residuals {
            let m = r.square().mean();
            res = Some(match res {
                None => m,
                Some(a) => a + m,
            });
        }
        let res = res.ok_or_else(|| KilnError::Empty("residual equations".into()))?;
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

    /// Loss value and flat parameter gradient at `theta`.
    pub fn value_and_grad(&self, theta: &[f64]) -> Result<(f64, Vec<f64>)> {
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

    /// Loss parts at `theta` (no gradient).
    pub fn parts(&self, theta: &[f64]) -> Result<LossParts> {
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

    /// The network's prediction (with the output transform) at `points`, row-major.
    pub fn predict(&self, theta: &[f64], points: &[f64]) -> Result<Vec<f64>> {
        let dim = self.problem.domain.dim();
        let ch = Arc::new(Channels::values(dim));
        let plain = self.device.clone().without_autodiff();
        let set = PointSet {
            input: self
                .network
                .input_jet(ch.clone(), points, self.precision, &plain)?,
            transform: transform_jets(&self.problem, &ch, points, self.precision, &plain)?,
            points: points.to_vec(),
            target: None,
            components: Vec::new(),
        };
        let t = theta_on(theta, self.precision, &plain)?;
        Ok(convert::to_vec_f64(&self.output(&t, &set).value())?)
    }

    /// Residual mean square at each of `points` (for residual-based adaptive resampling).
    pub fn residual_at(&self, theta: &[f64], points: &[f64]) -> Result<Vec<f64>> {
        let dim = self.problem.domain.dim();
        let ch = Arc::new(self.problem.needs.channels(dim)?);
        let plain = self.device.clone().without_autodiff();
        let set = PointSet {
            input: self
                .network
                .input_jet(ch.clone(), points, self.precision, &plain)?,
            transform: transform_jets(&self.problem, &ch, points, self.precision, &plain)?,
            points: points.to_vec(),
            target: None,
            components: Vec::new(),
        };
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
        Ok(())
    }
}
