//! Brute force on tiny inputs: enumerate every path, collapse it, and compare with the loss,
//! its gradient, greedy decoding, beam search (N-best) and Viterbi alignment.

use std::collections::BTreeMap;

use kiln_ctc::decode::align::{occupancy, viterbi};
use kiln_ctc::decode::greedy::{collapse, greedy};
use kiln_ctc::{
    Alphabet, BeamSearch, BeamSearchParams, CtcLoss, CtcLossParams, Reduction, Targets,
};
use proptest::prelude::*;

const BLANK: usize = 0;

/// Every path of `t` frames over `c` classes with its log-probability.
fn paths(lp: &[f64], t: usize, c: usize) -> Vec<(Vec<usize>, f64)> {
    let total = c.pow(t as u32);
    (0..total)
        .map(|mut code| {
            let mut path = vec![0; t];
            let mut score = 0.0;
            for (i, p) in path.iter_mut().enumerate() {
                *p = code % c;
                code /= c;
                score += lp[i * c + *p];
            }
            (path, score)
        })
        .collect()
}

/// Probability of every labelling (sum over its paths).
fn labellings(lp: &[f64], t: usize, c: usize) -> BTreeMap<Vec<usize>, f64> {
    let mut m = BTreeMap::new();
    for (path, s) in paths(lp, t, c) {
        *m.entry(collapse(&path, BLANK)).or_insert(0.0) += s.exp();
    }
    m
}

fn log_softmax_rows(raw: &[f64], c: usize) -> Vec<f64> {
    raw.chunks(c)
        .flat_map(|row| {
            let z = row.iter().map(|v| v.exp()).sum::<f64>().ln();
            row.iter().map(move |v| v - z).collect::<Vec<_>>()
        })
        .collect()
}

fn case() -> impl Strategy<Value = (usize, usize, Vec<f64>, Vec<usize>)> {
    (1usize..=5, 2usize..=3).prop_flat_map(|(t, c)| {
        (
            Just(t),
            Just(c),
            prop::collection::vec(-3.0f64..3.0, t * c),
            prop::collection::vec(1..c, 0..=3),
        )
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn loss_and_gradient_equal_path_enumeration((t, c, raw, target) in case()) {
        let lp = log_softmax_rows(&raw, c);
        let all = paths(&lp, t, c);
        let p: f64 = all.iter().filter(|(path, _)| collapse(path, BLANK) == target).map(|(_, s)| s.exp()).sum();
        let loss = CtcLoss::new(CtcLossParams::new().reduction(Reduction::None).check().unwrap());
        let out = loss.compute(&lp, [t, 1, c], &Targets::from_sequences(std::slice::from_ref(&target)), &[t as i64], true).unwrap();
        let got = out.per_sample[0];
        if p == 0.0 {
            prop_assert_eq!(got, f64::INFINITY);
            prop_assert!(!out.feasible[0]);
            prop_assert!(out.grad.unwrap().iter().all(|&g| g == 0.0));
        } else {
            prop_assert!((got + p.ln()).abs() < 1e-9 * (1.0 + got.abs()), "{} vs {}", got, -p.ln());
            // d(-ln P)/d lp[t, k] = -P(path[t] = k | target).
            let g = out.grad.unwrap();
            for ti in 0..t {
                for k in 0..c {
                    let q: f64 = all.iter()
                        .filter(|(path, _)| path[ti] == k && collapse(path, BLANK) == target)
                        .map(|(_, s)| s.exp()).sum::<f64>() / p;
                    prop_assert!((g[ti * c + k] + q).abs() < 1e-9, "t{} k{}: {} vs {}", ti, k, g[ti * c + k], -q);
                }
            }
            let (occ, ll) = occupancy(&lp, t, c, &target, BLANK).unwrap();
            prop_assert!((ll - p.ln()).abs() < 1e-9);
            for row in occ.chunks(c) {
                prop_assert!((row.iter().sum::<f64>() - 1.0).abs() < 1e-9);
            }
            // Viterbi: the best single path among those that collapse to the target.
            let best = all.iter().filter(|(path, _)| collapse(path, BLANK) == target)
                .map(|(_, s)| *s).fold(f64::NEG_INFINITY, f64::max);
            let al = viterbi(&lp, t, c, &target, BLANK).unwrap();
            prop_assert!((al.log_prob - best).abs() < 1e-9);
            prop_assert_eq!(collapse(&al.path, BLANK), target.clone());
        }
    }

    #[test]
    fn wide_beam_is_exact_and_greedy_is_best_path((t, c, raw, _t) in case()) {
        let lp = log_softmax_rows(&raw, c);
        let probs = labellings(&lp, t, c);
        let mut ranked: Vec<(Vec<usize>, f64)> = probs.into_iter().collect();
        ranked.sort_by(|a, b| b.1.total_cmp(&a.1));
        let alphabet = Alphabet::from_chars(&"_abc"[..c], BLANK).unwrap();
        let k = ranked.len().min(4);
        let search = BeamSearch::new(BeamSearchParams::new(alphabet)
            .beam_width(200)
            .min_log_prob(f64::NEG_INFINITY)
            .nbest(k)
            .check()
            .unwrap());
        let hyps = search.decode(&lp, t).unwrap();
        prop_assert_eq!(hyps.len(), k);
        for (h, (labels, p)) in hyps.iter().zip(&ranked) {
            prop_assert!((h.log_prob - p.ln()).abs() < 1e-9, "{} vs {}", h.log_prob, p.ln());
            // Labels must match unless the probabilities tie.
            let tied = ranked.iter().filter(|(_, q)| (q - p).abs() < 1e-12).count() > 1;
            if !tied {
                prop_assert_eq!(&h.labels, labels);
            }
        }
        // Greedy: the collapse of the most probable single path, with its probability.
        let all = paths(&lp, t, c);
        let best = all.iter().map(|(_, s)| *s).fold(f64::NEG_INFINITY, f64::max);
        let g = greedy(&lp, t, c, BLANK).unwrap();
        prop_assert!((g.log_prob - best).abs() < 1e-12);
        let winners: Vec<Vec<usize>> = all.iter().filter(|(_, s)| *s == best).map(|(p, _)| collapse(p, BLANK)).collect();
        prop_assert!(winners.contains(&g.labels));
    }
}
