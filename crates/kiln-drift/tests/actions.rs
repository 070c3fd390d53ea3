//! The training-loop hooks on a tiny Burn model: each action does what it says and is logged.

use kiln_core::burn::nn::{Linear, LinearConfig};
use kiln_core::burn::optim::{AdamConfig, GradientsParams};
use kiln_core::burn::tensor::Tensor;
use kiln_core::{Autodiff, BackendKind, Precision, convert, device};
use kiln_drift::actions::{Action, Adapter, LrSchedule, LrScheduleParams, ReactionPolicy};
use kiln_drift::{DriftError, Signal};

fn weights(m: &Linear) -> Vec<f32> {
    convert::to_vec_f32(&m.weight.val()).unwrap()
}

fn train_step(m: Linear, a: &mut Adapter<Linear>, dev: &kiln_core::burn::tensor::Device) -> Linear {
    let x = convert::tensor_f32(&[1.0, 2.0, 3.0, 4.0], [2, 2], dev).unwrap();
    let loss: Tensor<1> = m.forward(x).powf_scalar(2.0).mean();
    let grads = GradientsParams::from_grads(loss.backward(), &m);
    a.step(m, grads)
}

#[test]
fn reactions_act_and_are_logged() {
    let dev = device(BackendKind::default(), Autodiff::On, Precision::F32).unwrap();
    kiln_core::seed::seed(&dev, 3);
    let mut model = LinearConfig::new(2, 1).init(&dev);
    let policy = ReactionPolicy::none()
        .on_warning(vec![Action::RestartSchedule])
        .on_drift(vec![
            Action::ResetOptimizer,
            Action::RollBack,
            Action::RetrainRecent { epochs: 3 },
        ]);
    let schedule = LrScheduleParams::new(0.1)
        .decay(0.5)
        .floor(0.01)
        .check()
        .unwrap();
    let mut a = Adapter::new(policy, AdamConfig::new(), schedule).unwrap();
    a.checkpoint(&model);
    let saved = weights(&model);
    for _ in 0..4 {
        model = train_step(model, &mut a, &dev);
    }
    assert_eq!(a.schedule().steps(), 4);
    assert!((a.schedule().lr() - 0.01f64.max(0.1 * 0.5f64.powi(4))).abs() < 1e-12);
    assert_ne!(weights(&model), saved);

    // Nothing happens on None; a warning restarts the schedule.
    let mut never = |_: Linear, _: &mut Adapter<Linear>, _: usize| -> kiln_core::Result<Linear> {
        panic!("no retrain expected")
    };
    model = a.react(4, Signal::None, None, model, &mut never).unwrap();
    assert!(a.log().is_empty());
    model = a
        .react(5, Signal::Warning, None, model, &mut never)
        .unwrap();
    assert_eq!(a.schedule().steps(), 0);

    // A drift rolls back to the checkpoint, then retrains (through the loop's callback).
    let mut calls = Vec::new();
    let mut retrain = |m: Linear, ad: &mut Adapter<Linear>, epochs: usize| {
        calls.push(epochs);
        // The roll-back already happened: the model handed over is the checkpoint.
        assert_eq!(weights(&m), saved);
        let mut m = m;
        for _ in 0..epochs {
            m = train_step(m, ad, &dev);
        }
        Ok(m)
    };
    let before = a.optimizer_steps();
    model = a
        .react(6, Signal::Drift, Some(2), model, &mut retrain)
        .unwrap();
    assert_eq!(calls, [3]);
    assert_eq!(a.optimizer_steps(), before + 3);
    let log = a.log();
    assert_eq!(log.len(), 2);
    assert_eq!(log[0].actions, [Action::RestartSchedule]);
    assert_eq!(log[1].signal, Signal::Drift);
    assert_eq!(log[1].change_point, Some(2));
    assert_eq!(log[1].actions.len(), 3);
    assert_eq!(log[1].optimizer_steps, 3);
    assert_ne!(weights(&model), saved);
    assert_eq!(
        serde_json::to_value(log[1].actions[2]).unwrap()["action"],
        "retrain_recent"
    );
}

#[test]
fn roll_back_without_a_checkpoint_is_skipped_and_logged() {
    let dev = device(BackendKind::default(), Autodiff::On, Precision::F32).unwrap();
    let model = LinearConfig::new(2, 1).init(&dev);
    let policy = ReactionPolicy::none().on_drift(vec![Action::RollBack]);
    let mut a = Adapter::new(
        policy,
        AdamConfig::new(),
        LrScheduleParams::new(0.1).check().unwrap(),
    )
    .unwrap();
    let mut never = |m: Linear, _: &mut Adapter<Linear>, _: usize| Ok(m);
    a.react(0, Signal::Drift, None, model, &mut never).unwrap();
    assert_eq!(a.log()[0].skipped, [Action::RollBack]);
    assert!(a.log()[0].actions.is_empty());
}

#[test]
fn bad_settings_are_errors() {
    let bad = |r: Result<LrSchedule, DriftError>| r.is_err();
    assert!(bad(LrScheduleParams::new(0.0).check()));
    assert!(bad(LrScheduleParams::new(0.1).decay(1.5).check()));
    assert!(bad(LrScheduleParams::new(0.1).floor(0.2).check()));
    assert!(
        ReactionPolicy::none()
            .on_drift(vec![Action::RetrainRecent { epochs: 0 }])
            .check()
            .is_err()
    );
    assert!(ReactionPolicy::default().check().is_ok());
}
