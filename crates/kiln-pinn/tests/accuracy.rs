//! Accuracy goals in CI (each well under a minute): Poisson 1D relative L2 <= 1e-3 after Adam
//! in f32 and <= 1e-4 after L-BFGS in f64; every run ends with a typed stop reason.

use kiln_core::experiment::NoProgress;
use kiln_core::{BackendKind, Precision};
use kiln_pinn::{PinnParams, ProblemKind, ProblemOptions, StopReason, solve};

fn poisson(params: PinnParams) -> kiln_pinn::SolveReport {
    let params = params.check().unwrap();
    solve(
        ProblemKind::Poisson1d,
        &ProblemOptions::default(),
        &params,
        BackendKind::Flex,
        &NoProgress,
    )
    .unwrap()
    .0
}

#[test]
fn poisson_1d_adam_f32_reaches_1e_3() {
    let r = poisson(
        PinnParams::new()
            .hidden(vec![16, 16])
            .n_collocation(64)
            .adam_steps(ADAM_STEPS)
            .adam_lr(5e-3)
            .adam_decay_per_1000(0.5)
            .lbfgs_steps(0)
            .precision(Precision::F32),
    );
    assert!(
        r.l2_relative_error <= 1e-3,
        "L2 {:.3e}",
        r.l2_relative_error
    );
    assert_eq!(r.train.stop_reason, StopReason::MaxIterations);
    assert_eq!(r.train.lbfgs.stop_reason, StopReason::Skipped);
}

const ADAM_STEPS: usize = 1500;

#[test]
fn poisson_1d_lbfgs_f64_reaches_1e_4() {
    let r = poisson(
        PinnParams::new()
            .hidden(vec![16, 16])
            .n_collocation(64)
            .adam_steps(200)
            .adam_lr(5e-3)
            .lbfgs_steps(400)
            .precision(Precision::F64),
    );
    assert!(
        r.l2_relative_error <= 1e-4,
        "L2 {:.3e}",
        r.l2_relative_error
    );
    assert_ne!(r.train.stop_reason, StopReason::Skipped);
    assert!(r.train.lbfgs.steps > 0);
    assert!(r.train.final_loss < r.train.adam.final_loss);
}

#[test]
fn soft_constraints_and_data_also_train() {
    // Soft boundary penalty plus noisy observations, balancing on: the loss must fall.
    let params = PinnParams::new()
        .hidden(vec![8, 8])
        .n_collocation(32)
        .n_boundary(8)
        .adam_steps(60)
        .lbfgs_steps(20)
        .balance_every(20)
        .rar(Some(kiln_pinn::RarParams {
            every: 30,
            candidates: 64,
            add: 8,
        }))
        .check()
        .unwrap();
    let opts = ProblemOptions {
        hard_constraints: false,
        observations: 10,
        noise: 0.05,
        ..ProblemOptions::default()
    };
    let (r, pinn) = solve(
        ProblemKind::Poisson1d,
        &opts,
        &params,
        BackendKind::Flex,
        &NoProgress,
    )
    .unwrap();
    assert!(r.train.final_loss < r.train.adam.history[0]);
    assert_eq!(r.train.n_collocation, 32 + 8);
    let parts = pinn.loss_parts().unwrap();
    let names: Vec<&str> = parts.terms.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["residual", "bc", "data"]);
    assert!(
        pinn.loss().weights.conditions[0] != 1.0,
        "balancing changed the weight"
    );
}

#[test]
fn target_l2_stops_at_the_first_check_that_meets_it() {
    let r = poisson(
        PinnParams::new()
            .hidden(vec![16, 16])
            .n_collocation(64)
            .adam_steps(ADAM_STEPS)
            .adam_lr(5e-3)
            .lbfgs_steps(200)
            .target_l2(Some(kiln_pinn::TargetL2 {
                l2: 1e-2,
                every: 50,
            })),
    );
    assert_eq!(r.train.stop_reason, StopReason::TargetReached);
    // Stopped at a check (a multiple of 50 steps) with the target met; no L-BFGS after it.
    assert!(r.train.adam.steps > 0 && r.train.adam.steps.is_multiple_of(50));
    assert!(r.train.adam.steps < ADAM_STEPS);
    assert!(
        r.l2_relative_error <= 1e-2,
        "L2 {:.3e}",
        r.l2_relative_error
    );
    assert_eq!(r.train.lbfgs.stop_reason, StopReason::Skipped);
}
