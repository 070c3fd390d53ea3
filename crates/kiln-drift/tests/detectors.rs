//! Invariants and bad input for every detector: constant streams never fire, `reset` returns
//! to the initial behaviour, a serialized detector resumes exactly, ADWIN's false-alarm rate
//! stays under its delta bound, and every bad input is a typed error that leaves the state
//! unchanged.

use kiln_core::KilnError;
use kiln_drift::*;
use proptest::prelude::*;
use rand::RngExt;
use rand_distr::{Distribution, StandardNormal};

fn build(kind: DetectorKind) -> AnyDetector {
    AnyDetector::build(kind, &[]).unwrap()
}

fn is_binary(kind: DetectorKind) -> bool {
    matches!(
        kind,
        DetectorKind::Ddm | DetectorKind::Eddm | DetectorKind::HddmA | DetectorKind::HddmW
    )
}

/// A stream with a change in the middle, valid for `kind`.
fn stream(kind: DetectorKind, seed: u64, n: usize) -> Vec<f64> {
    let mut rng = kiln_core::seed::rng(seed);
    (0..n)
        .map(|i| {
            let after = i >= n / 2;
            if is_binary(kind) {
                let p = if after { 0.5 } else { 0.1 };
                f64::from(u8::from(rng.random::<f64>() < p))
            } else {
                let z: f64 = StandardNormal.sample(&mut rng);
                z + if after { 5.0 } else { 0.0 }
            }
        })
        .collect()
}

fn state(d: &AnyDetector) -> String {
    serde_json::to_string(d).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn no_detector_fires_on_a_constant_stream(c in -1e6f64..1e6, bit in 0u8..2, n in 200usize..1500) {
        for kind in DetectorKind::ALL {
            let x = if is_binary(kind) { f64::from(bit) } else { c };
            let got = build(kind).update_many(&vec![x; n]).unwrap();
            prop_assert!(got.drifts.is_empty(), "{} fired on constant {}: {:?}", kind.name(), x, got.drifts);
            prop_assert!(got.warnings.is_empty(), "{} warned on constant {}", kind.name(), x);
        }
    }

    #[test]
    fn reset_returns_to_the_initial_behaviour(seed in 0u64..1000, cut in 1usize..600) {
        for kind in DetectorKind::ALL {
            let xs = stream(kind, seed, 1200);
            let mut fresh = build(kind);
            let want = fresh.update_many(&xs).unwrap();
            let mut used = build(kind);
            used.update_many(&stream(kind, seed + 1, cut)).unwrap();
            used.reset();
            prop_assert_eq!(state(&used), state(&build(kind)), "{} state after reset", kind.name());
            prop_assert_eq!(used.update_many(&xs).unwrap(), want, "{} after reset", kind.name());
        }
    }

    #[test]
    fn a_serialized_detector_resumes_exactly(seed in 0u64..1000, cut in 1usize..1199) {
        for kind in DetectorKind::ALL {
            let xs = stream(kind, seed, 1200);
            let mut a = build(kind);
            a.update_many(&xs[..cut]).unwrap();
            let mut b: AnyDetector = serde_json::from_str(&state(&a)).unwrap();
            prop_assert_eq!(a.update_many(&xs[cut..]).unwrap(), b.update_many(&xs[cut..]).unwrap(), "{}", kind.name());
        }
    }
}

/// ADWIN's bound: a false cut has probability at most delta per check, so on a stationary
/// stream the false alarms per sample stay under delta (0.002 by default). Two seeds of 10^6
/// N(0,1) samples.
#[test]
fn adwin_false_alarm_rate_under_delta() {
    for seed in [1u64, 2] {
        let mut rng = kiln_core::seed::rng(seed);
        let xs: Vec<f64> = (0..1_000_000)
            .map(|_| StandardNormal.sample(&mut rng))
            .collect();
        for clock in ["32", "1"] {
            let n = xs.len() as f64;
            let mut d =
                AnyDetector::build(DetectorKind::Adwin, &[("clock".into(), clock.into())]).unwrap();
            let alarms = d.update_many(&xs).unwrap().drifts.len() as f64;
            assert!(
                alarms / n < 0.002,
                "seed {seed} clock {clock}: {alarms} alarms"
            );
        }
    }
}

#[test]
fn detectors_fire_after_a_change() {
    for kind in DetectorKind::ALL {
        let xs = stream(kind, 7, 4000);
        let got = build(kind).update_many(&xs).unwrap();
        assert!(
            got.drifts.iter().any(|&i| (2000..2400).contains(&i)),
            "{} missed the change: {:?}",
            kind.name(),
            got.drifts
        );
    }
}

#[test]
fn non_finite_values_are_typed_errors_and_leave_the_state_alone() {
    for kind in DetectorKind::ALL {
        let mut d = build(kind);
        d.update_many(&stream(kind, 3, 50)).unwrap();
        let before = state(&d);
        for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            match d.update(bad) {
                Err(DriftError::NonFinite {
                    detector, index, ..
                }) => {
                    assert_eq!(detector, kind.name());
                    assert_eq!(index, 50);
                }
                other => panic!("{}: {other:?}", kind.name()),
            }
            assert_eq!(state(&d), before, "{}", kind.name());
        }
        let k: KilnError = d.update(f64::NAN).unwrap_err().into();
        assert!(
            matches!(
                k,
                KilnError::NonFinite {
                    index: Some(50),
                    ..
                }
            ),
            "{k}"
        );
    }
}

#[test]
fn update_many_stops_at_the_first_bad_value() {
    let mut d = build(DetectorKind::PageHinkley);
    let err = d.update_many(&[1.0, 2.0, f64::NAN, 3.0]).unwrap_err();
    assert!(
        matches!(err, DriftError::NonFinite { index: 2, .. }),
        "{err}"
    );
}

#[test]
fn empty_input_is_an_error() {
    for kind in DetectorKind::ALL {
        let err = build(kind).update_many(&[]).unwrap_err();
        assert!(
            matches!(err, DriftError::Core(KilnError::Empty(_))),
            "{}: {err}",
            kind.name()
        );
    }
}

#[test]
fn binary_detectors_reject_values_outside_their_domain() {
    for kind in [DetectorKind::Ddm, DetectorKind::HddmA, DetectorKind::HddmW] {
        let mut d = build(kind);
        d.update(0.25).unwrap(); // fractions are allowed (means of [0, 1] values)
        for bad in [-0.1, 1.5, 2.0] {
            let err = d.update(bad).unwrap_err();
            assert!(
                matches!(
                    err,
                    DriftError::NotBinary {
                        accepted: "in [0, 1]",
                        ..
                    }
                ),
                "{err}"
            );
        }
    }
    let mut eddm = build(DetectorKind::Eddm);
    for bad in [0.5, 2.0, -1.0] {
        let err = eddm.update(bad).unwrap_err();
        assert!(
            matches!(
                err,
                DriftError::NotBinary {
                    accepted: "0 or 1",
                    ..
                }
            ),
            "{err}"
        );
        let k: KilnError = err.into();
        assert!(matches!(k, KilnError::Input { area: "drift", .. }));
    }
}

fn invalid_name(e: DriftError) -> String {
    match e {
        DriftError::Core(KilnError::InvalidParameter { name, .. }) => name,
        other => panic!("expected an invalid parameter, got {other:?}"),
    }
}

#[test]
fn every_parameter_rule_has_its_error() {
    let n = |r: Result<_, DriftError>| invalid_name(r.map(|_: ()| ()).unwrap_err());
    assert_eq!(n(AdwinParams::new().delta(0.0).check().map(drop)), "delta");
    assert_eq!(n(AdwinParams::new().delta(1.0).check().map(drop)), "delta");
    assert_eq!(n(AdwinParams::new().clock(0).check().map(drop)), "clock");
    for mb in [0, 1] {
        assert_eq!(
            n(AdwinParams::new().max_buckets(mb).check().map(drop)),
            "max_buckets"
        );
    }
    assert_eq!(
        n(AdwinParams::new().min_window_length(0).check().map(drop)),
        "min_window_length"
    );
    assert_eq!(
        n(PageHinkleyParams::new().delta(-1.0).check().map(drop)),
        "delta"
    );
    assert_eq!(
        n(PageHinkleyParams::new().threshold(0.0).check().map(drop)),
        "threshold"
    );
    assert_eq!(
        n(PageHinkleyParams::new().alpha(1.5).check().map(drop)),
        "alpha"
    );
    assert_eq!(
        n(PageHinkleyParams::new().delta(f64::NAN).check().map(drop)),
        "delta"
    );
    assert_eq!(
        n(DdmParams::new().warning_threshold(0.0).check().map(drop)),
        "warning_threshold"
    );
    assert_eq!(
        n(DdmParams::new().drift_threshold(1.0).check().map(drop)),
        "drift_threshold"
    );
    assert_eq!(n(EddmParams::new().alpha(0.0).check().map(drop)), "alpha");
    assert_eq!(n(EddmParams::new().beta(0.99).check().map(drop)), "beta");
    assert_eq!(
        n(HddmAParams::new().drift_confidence(0.0).check().map(drop)),
        "drift_confidence"
    );
    assert_eq!(
        n(HddmAParams::new().warning_confidence(1.0).check().map(drop)),
        "warning_confidence"
    );
    assert_eq!(
        n(HddmAParams::new().drift_confidence(0.01).check().map(drop)),
        "drift_confidence"
    );
    assert_eq!(
        n(HddmWParams::new().lambda(0.0).check().map(drop)),
        "lambda"
    );
    assert_eq!(
        n(HddmWParams::new().warning_confidence(0.0).check().map(drop)),
        "warning_confidence"
    );
    assert_eq!(n(KswinParams::new().alpha(0.0).check().map(drop)), "alpha");
    assert_eq!(
        n(KswinParams::new().stat_size(0).check().map(drop)),
        "stat_size"
    );
    assert_eq!(
        n(KswinParams::new().window_size(50).check().map(drop)),
        "window_size"
    );
    assert_eq!(n(CusumParams::new().k(-1.0).check().map(drop)), "k");
    assert_eq!(n(CusumParams::new().arl0(1.0).check().map(drop)), "arl0");
    assert_eq!(
        n(CusumParams::new().threshold(Some(0.0)).check().map(drop)),
        "threshold"
    );
    assert_eq!(
        n(CusumParams::new().std(Some(0.0)).check().map(drop)),
        "std"
    );
    assert_eq!(
        n(CusumParams::new()
            .mean(Some(f64::INFINITY))
            .check()
            .map(drop)),
        "mean"
    );
    assert_eq!(n(CusumParams::new().warmup(1).check().map(drop)), "warmup");
    assert!(
        CusumParams::new()
            .warmup(0)
            .mean(Some(0.0))
            .std(Some(1.0))
            .check()
            .is_ok()
    );
    assert_eq!(
        n(EwmaChartParams::new().lambda(0.0).check().map(drop)),
        "lambda"
    );
    assert_eq!(
        n(EwmaChartParams::new().width(-1.0).check().map(drop)),
        "width"
    );
    assert_eq!(
        n(EwmaChartParams::new()
            .warning_fraction(2.0)
            .check()
            .map(drop)),
        "warning_fraction"
    );
    assert_eq!(
        n(EwmaChartParams::new().warmup(0).check().map(drop)),
        "warmup"
    );
    assert_eq!(
        n(LossMonitorParams::new().alpha(0.0).check().map(drop)),
        "alpha"
    );
    assert_eq!(
        n(LossMonitorParams::new().fit_window(2).check().map(drop)),
        "fit_window"
    );
    assert_eq!(
        n(LossMonitorParams::new().scale_window(4).check().map(drop)),
        "scale_window"
    );
    assert_eq!(
        n(LossMonitorParams::new().warmup(1).check().map(drop)),
        "warmup"
    );
    assert_eq!(n(LossMonitorParams::new().k(-0.5).check().map(drop)), "k");
    assert_eq!(
        n(LossMonitorParams::new().threshold(0.0).check().map(drop)),
        "threshold"
    );
    assert_eq!(
        n(LossMonitorParams::new().clip(0.5).check().map(drop)),
        "clip"
    );
}

#[test]
fn valid_params_deserialize_only_through_check() {
    let ok: AdwinValidParams = serde_json::from_str(r#"{"delta":0.01}"#).unwrap();
    assert_eq!(ok.delta(), 0.01);
    assert_eq!(ok.clock(), 32);
    assert!(serde_json::from_str::<AdwinValidParams>(r#"{"delta":2.0}"#).is_err());
    assert!(serde_json::from_str::<AdwinValidParams>(r#"{"nope":1}"#).is_err());
}

#[test]
fn detectors_by_name_with_settings() {
    let set = |k: &str, v: &str| vec![(k.to_string(), v.to_string())];
    assert!(AnyDetector::build(DetectorKind::PageHinkley, &set("mode", "up")).is_ok());
    assert!(AnyDetector::build(DetectorKind::HddmA, &set("two-sided-test", "true")).is_ok());
    assert!(AnyDetector::build(DetectorKind::Cusum, &set("threshold", "5")).is_ok());
    let e = AnyDetector::build(DetectorKind::Adwin, &set("deltaa", "0.1")).unwrap_err();
    assert!(
        matches!(&e, DriftError::Unknown { name, .. } if name == "deltaa"),
        "{e}"
    );
    let e = AnyDetector::build(DetectorKind::Adwin, &set("clock", "fast")).unwrap_err();
    assert_eq!(invalid_name(e), "clock");
    let e = AnyDetector::build(DetectorKind::PageHinkley, &set("mode", "sideways")).unwrap_err();
    assert_eq!(invalid_name(e), "mode");
    let e = AnyDetector::build(DetectorKind::Adwin, &set("delta", "5")).unwrap_err();
    assert_eq!(invalid_name(e), "delta");
    let e = "kswim".parse::<DetectorKind>().unwrap_err();
    assert!(matches!(e, DriftError::Unknown { .. }));
    assert_eq!(
        "HDDM_A".parse::<DetectorKind>().unwrap(),
        DetectorKind::HddmA
    );
}

#[test]
fn cusum_threshold_follows_the_target_arl() {
    let h = |arl: f64| {
        CusumParams::new()
            .arl0(arl)
            .check()
            .unwrap()
            .decision_interval()
    };
    assert!(h(1e3) < h(1e4) && h(1e4) < h(1e6));
    // Two-sided chart, k = 0.5, h = 5: in-control ARL 465 (Montgomery, Introduction to
    // Statistical Quality Control, Table 9.3); Siegmund's approximation gives 469.
    let p = CusumParams::new().arl0(465.0).check().unwrap();
    assert!(
        (p.decision_interval() - 5.0).abs() < 0.02,
        "{}",
        p.decision_interval()
    );
    // One-sided: the whole ARL on one side (938.7 at h = 5).
    let p = CusumParams::new()
        .mode(Mode::Up)
        .arl0(938.7)
        .check()
        .unwrap();
    assert!(
        (p.decision_interval() - 5.0).abs() < 0.01,
        "{}",
        p.decision_interval()
    );
}

#[test]
fn cusum_reports_a_change_point() {
    let mut rng = kiln_core::seed::rng(11);
    let xs: Vec<f64> = (0..3000)
        .map(|i| { let z: f64 = StandardNormal.sample(&mut rng); z } + if i >= 2000 { 1.5 } else { 0.0 })
        .collect::<Vec<f64>>();
    let mut c = Cusum::new(CusumParams::new().check().unwrap());
    let got = c.update_many(&xs).unwrap();
    let first = got.drifts.iter().copied().find(|&i| i >= 2000).unwrap();
    assert!(first < 2060, "{first}");
    let cp = c.change_point().unwrap();
    assert!((1985..=first as u64).contains(&cp), "change point {cp}");
}

#[test]
fn run_stream_pairs_each_drift_with_its_change_point() {
    let xs = stream(DetectorKind::Cusum, 5, 4000);
    let r = build(DetectorKind::Cusum).run_stream(&xs).unwrap();
    assert_eq!(r.change_points.len(), r.detections.drifts.len());
    let i = r.detections.drifts.iter().position(|&d| d >= 2000).unwrap();
    let cp = r.change_points[i].unwrap() as usize;
    assert!((1990..=r.detections.drifts[i]).contains(&cp), "{cp}");
    assert_eq!(
        r.detections,
        build(DetectorKind::Cusum).update_many(&xs).unwrap()
    );
    let r = build(DetectorKind::Adwin).run_stream(&xs).unwrap();
    assert!(r.change_points.iter().all(Option::is_none));
    assert!(build(DetectorKind::Adwin).run_stream(&[]).is_err());
}

#[test]
fn a_tampered_adwin_state_is_rejected() {
    let mut d = Adwin::new(AdwinParams::new().check().unwrap());
    d.update_many(&stream(DetectorKind::Adwin, 1, 300)).unwrap();
    let mut v = serde_json::to_value(&d).unwrap();
    assert!(serde_json::from_value::<Adwin>(v.clone()).is_ok());
    v["window"]["lens"][0] = serde_json::json!(99);
    assert!(serde_json::from_value::<Adwin>(v.clone()).is_err());
    // More samples waiting to be folded than arrived since the last check.
    let mut v = serde_json::to_value(&d).unwrap();
    v["window"]["pending"] = serde_json::json!(vec![0.5; 40]);
    assert!(serde_json::from_value::<Adwin>(v).is_err());
    let mut v = serde_json::to_value(&d).unwrap();
    v["params"]["max_buckets"] = serde_json::json!(7);
    assert!(serde_json::from_value::<Adwin>(v).is_err());
}
