//! Parity with dp_accounting 0.6.0 on the reference vectors in tests/data/.

use kiln_privacy::hyperparams::{Conversion, PldParams, RdpParams};
use kiln_privacy::pld::PldAccountant;
use kiln_privacy::rdp::{RdpAccountant, rdp_event};
use kiln_privacy::{BatchSampling, DpEvent, Ledger};
use rayon::prelude::*;
use serde_json::Value;

fn load(name: &str) -> Value {
    let path = format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn f(v: &Value, k: &str) -> f64 {
    v[k].as_f64()
        .unwrap_or_else(|| panic!("{k} missing in {v}"))
}

fn rel(a: f64, b: f64) -> f64 {
    (a - b).abs() / b.abs().max(1e-300)
}

fn meta_orders(v: &Value) -> Vec<f64> {
    v["meta"]["rdp_orders_default"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

/// The orders dp_accounting kept for (q, sigma) (it drops the ones whose series failed).
fn kept_orders(extra: &Value, orders: &[f64], q: f64, sigma: f64) -> Vec<f64> {
    let row = extra["dropped_orders"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| f(r, "q") == q && f(r, "sigma") == sigma)
        .expect("dropped-orders row");
    let dropped: Vec<f64> = row["dropped_orders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect();
    orders
        .iter()
        .copied()
        .filter(|o| !dropped.contains(o))
        .collect()
}

#[test]
fn default_orders_are_dp_accountings() {
    let v = load("privacy_dp_accounting.json");
    assert_eq!(kiln_privacy::rdp::default_orders(), meta_orders(&v));
}

#[test]
fn rdp_single_step_curves_match() {
    let v = load("privacy_dp_accounting.json");
    for c in v["rdp_curves_single_step"].as_array().unwrap() {
        let (q, s) = (f(c, "q"), f(c, "sigma"));
        let ev = BatchSampling::poisson(q).event(s).unwrap();
        assert_eq!(
            c["orders"].as_array().unwrap().len(),
            c["rdp_single_step"].as_array().unwrap().len()
        );
        for (o, r) in c["orders"]
            .as_array()
            .unwrap()
            .iter()
            .zip(c["rdp_single_step"].as_array().unwrap())
        {
            let o = o.as_f64().unwrap();
            let (ours, _) = rdp_event(&ev, o);
            match r.as_f64() {
                Some(r) => assert!(rel(ours, r) < 1e-9, "q {q} s {s} order {o}: {ours} vs {r}"),
                // dp_accounting dropped this order; kiln must still give a finite value that
                // fits between its neighbours (RDP is non-decreasing in the order).
                None => assert!(ours.is_finite() && ours > 0.0, "order {o} not evaluated"),
            }
        }
    }
}

#[test]
fn rdp_epsilon_grid_matches_at_1e6() {
    let v = load("privacy_dp_accounting.json");
    let extra = load("dp_accounting_extra.json");
    let orders = meta_orders(&v);
    let full = RdpAccountant::new(RdpParams::new().check().unwrap());
    let classic = RdpAccountant::new(
        RdpParams::new()
            .conversion(Conversion::Classic)
            .check()
            .unwrap(),
    );
    let mut rows: Vec<&Value> = v["grid_delta_1e_5"].as_array().unwrap().iter().collect();
    rows.extend(v["exact_gaussian_q1"].as_array().unwrap());
    for r in rows {
        let (q, s, n, d) = (
            f(r, "q"),
            f(r, "sigma"),
            f(r, "steps") as u64,
            f(r, "delta"),
        );
        let ledger = Ledger::steps(&BatchSampling::poisson(q), s, n).unwrap();
        let want = f(r, "rdp_eps");
        let kept = if q < 1.0 {
            kept_orders(&extra, &orders, q, s)
        } else {
            orders.clone()
        };
        let same = RdpAccountant::new(RdpParams::new().orders(kept.clone()).check().unwrap());
        let got = same.epsilon(&ledger, d).unwrap().epsilon;
        assert!(rel(got, want) < 1e-6, "q {q} s {s} n {n}: {got} vs {want}");
        // With every order evaluated kiln can only be tighter, never looser.
        let all = full.epsilon(&ledger, d).unwrap();
        assert!(all.epsilon <= want * (1.0 + 1e-9), "q {q} s {s} n {n}");
        if kept.len() == orders.len() {
            assert!(rel(all.epsilon, want) < 1e-6);
            assert!(all.quadrature_orders.is_empty());
        } else {
            assert!(
                !all.quadrature_orders.is_empty(),
                "fallback orders are reported"
            );
        }
        let want_c = f(r, "rdp_eps_classic_conversion");
        let classic_same = RdpAccountant::new(
            RdpParams::new()
                .orders(kept)
                .conversion(Conversion::Classic)
                .check()
                .unwrap(),
        );
        let got_c = classic_same.epsilon(&ledger, d).unwrap().epsilon;
        assert!(
            rel(got_c, want_c) < 1e-6,
            "classic q {q} s {s} n {n}: {got_c} vs {want_c}"
        );
        assert!(classic.epsilon(&ledger, d).unwrap().epsilon <= want_c * (1.0 + 1e-9));
    }
}

#[test]
fn rdp_delta_laplace_and_ledger_cases_match() {
    let extra = load("dp_accounting_extra.json");
    let acc = RdpAccountant::new(RdpParams::new().check().unwrap());
    for c in extra["cases"].as_array().unwrap() {
        match c["kind"].as_str().unwrap() {
            "rdp_delta" => {
                let l = Ledger::steps(
                    &BatchSampling::poisson(f(c, "q")),
                    f(c, "sigma"),
                    f(c, "steps") as u64,
                )
                .unwrap();
                let got = acc.delta(&l, f(c, "epsilon")).unwrap().delta;
                assert!(rel(got, f(c, "delta")) < 1e-6, "{c}: {got}");
            }
            "rdp_laplace" => {
                let l = Ledger::single(
                    DpEvent::laplace(f(c, "scale")).unwrap(),
                    f(c, "count") as u64,
                )
                .unwrap();
                let got = acc.epsilon(&l, f(c, "delta")).unwrap().epsilon;
                assert!(rel(got, f(c, "epsilon")) < 1e-6, "{c}: {got}");
            }
            "ledger" => {
                let mut l = Ledger::new();
                for p in c["phases"].as_array().unwrap() {
                    let p: Vec<f64> = p
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|x| x.as_f64().unwrap())
                        .collect();
                    l.record(
                        BatchSampling::poisson(p[0]).event(p[1]).unwrap(),
                        p[2] as u64,
                    )
                    .unwrap();
                }
                let d = f(c, "delta");
                let got = acc.epsilon(&l, d).unwrap().epsilon;
                assert!(rel(got, f(c, "rdp_epsilon")) < 1e-6, "{c}: {got}");
                let pld = PldAccountant::new(PldParams::new().check().unwrap());
                let got = pld.epsilon(&l, d).unwrap();
                assert!(rel(got, f(c, "pld_epsilon")) < 1e-3, "{c}: pld {got}");
            }
            "pld_delta" => {
                let l = Ledger::steps(
                    &BatchSampling::poisson(f(c, "q")),
                    f(c, "sigma"),
                    f(c, "steps") as u64,
                )
                .unwrap();
                let pld = PldAccountant::new(PldParams::new().check().unwrap());
                let got = pld.delta(&l, f(c, "epsilon")).unwrap();
                assert!(rel(got, f(c, "delta")) < 1e-3, "{c}: {got}");
            }
            other => panic!("unknown case {other}"),
        }
    }
}

#[test]
fn pld_epsilon_grid_matches_at_1e3() {
    let v = load("privacy_dp_accounting.json");
    let mut rows: Vec<&Value> = v["grid_delta_1e_5"].as_array().unwrap().iter().collect();
    rows.extend(
        v["exact_gaussian_q1"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r.get("pld_eps").is_some()),
    );
    let acc = PldAccountant::new(PldParams::new().check().unwrap());
    let optimistic = PldAccountant::new(
        PldParams::new()
            .estimate(kiln_privacy::Estimate::Optimistic)
            .check()
            .unwrap(),
    );
    let fails: Vec<String> = rows
        .par_iter()
        .filter_map(|r| {
            let (q, s, n, d) = (
                f(r, "q"),
                f(r, "sigma"),
                f(r, "steps") as u64,
                f(r, "delta"),
            );
            let want = f(r, "pld_eps");
            let got = acc
                .epsilon(&Ledger::steps(&BatchSampling::poisson(q), s, n).unwrap(), d)
                .unwrap();
            let ok = rel(got, want) < 1e-3;
            // Where the ground truth is known (q = 1), the pessimistic answer is above it and
            // the optimistic one below it.
            let exact = r.get("exact_eps").map(|e| e.as_f64().unwrap());
            let above = exact.is_none_or(|e| got >= e * (1.0 - 1e-12));
            let lo = exact.map(|_| {
                optimistic
                    .epsilon(&Ledger::steps(&BatchSampling::poisson(q), s, n).unwrap(), d)
                    .unwrap()
            });
            let below = exact.zip(lo).is_none_or(|(e, lo)| lo <= e * (1.0 + 1e-12));
            (!(ok && above && below))
                .then(|| format!("q {q} s {s} n {n} d {d}: {got} vs {want}, optimistic {lo:?}"))
        })
        .collect();
    assert!(fails.is_empty(), "{fails:#?}");
}
