//! Signed/weighted FFL parity with tests/data/motifs_signed.json (numpy reference): exact
//! counts by sign type and Onnela intensity/coherence to 1e-9; shuffle nulls within the
//! ensemble's spread.

use kiln_motifs::signed::{FflType, Shuffle, shuffle_null, signed_ffls};
use kiln_motifs::{MotifGraph, WeightGraphParams, graph_from_weights};
use serde_json::Value;

fn reference() -> Value {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/motifs_signed.json"
    ))
    .unwrap();
    serde_json::from_str(&text).unwrap()
}

fn rnn_graph(r: &Value) -> MotifGraph {
    let edges: Vec<(usize, usize, f64)> = r["edges_src_dst_weight"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e[0].as_u64().unwrap() as usize,
                e[1].as_u64().unwrap() as usize,
                e[2].as_f64().unwrap(),
            )
        })
        .collect();
    MotifGraph::from_weighted_edges(50, &edges).unwrap()
}

fn check_case(case: &Value, g: &MotifGraph) {
    let s = signed_ffls(g).unwrap();
    for t in FflType::ALL {
        assert_eq!(
            s.induced.get(t),
            case["induced_ffl_by_type"][t.name()].as_u64().unwrap(),
            "induced {}",
            t.name()
        );
        assert_eq!(
            s.noninduced.get(t),
            case["noninduced_ffl_by_type"][t.name()].as_u64().unwrap(),
            "noninduced {}",
            t.name()
        );
    }
    assert_eq!(
        s.induced.total(),
        case["induced_ffl_total"].as_u64().unwrap()
    );
    assert_eq!(
        s.induced.coherent(),
        case["induced_coherent"].as_u64().unwrap()
    );
    assert_eq!(
        s.noninduced.total(),
        case["noninduced_ffl_total"].as_u64().unwrap()
    );
    assert_eq!(
        s.noninduced.coherent(),
        case["noninduced_coherent"].as_u64().unwrap()
    );
    let close = |a: f64, key: &str| {
        let b = case[key].as_f64().unwrap();
        assert!(
            (a - b).abs() <= 1e-9 * b.abs().max(1.0),
            "{key}: {a} vs {b}"
        );
    };
    close(s.normalizer, "weight_normalizer_absmax");
    close(s.total_intensity, "onnela_total_intensity_induced_ffl");
    close(s.mean_intensity, "onnela_mean_intensity");
    close(s.mean_coherence, "onnela_mean_coherence");
}

#[test]
fn sign_types_follow_the_coherence_rule_and_the_reference_key() {
    let r = reference();
    for t in FflType::ALL {
        let key: Vec<i8> = r["ffl_type_key_(s_xy,s_yz,s_xz)"][t.name()]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_i64().unwrap() as i8)
            .collect();
        assert_eq!(t.signs().to_vec(), key);
        let [a, b, c] = t.signs();
        assert_eq!(t.is_coherent(), c == a * b);
        assert_eq!(t.is_coherent(), t.name().starts_with('C'));
        assert_eq!(FflType::from_signs(t.signs()), Some(t));
    }
}

#[test]
fn hand_case_closed_form() {
    let r = reference();
    let case = &r["hand_signed_5"];
    let w: Vec<f64> = case["W_dense"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|row| row.as_array().unwrap().iter().map(|v| v.as_f64().unwrap()))
        .collect();
    let g = graph_from_weights(
        &w,
        &[5, 5],
        &WeightGraphParams::new().absolute(0.0).check().unwrap(),
    )
    .unwrap();
    check_case(case, &g);
}

#[test]
fn thresholded_rnn_matrix_exact() {
    let r = reference();
    let g = rnn_graph(&r);
    assert_eq!(g.edge_count() as u64, r["n_edges"].as_u64().unwrap());
    let positive = g.edges().iter().filter(|e| e.2 > 0.0).count() as u64;
    assert_eq!(positive, r["n_positive"].as_u64().unwrap());
    check_case(&r, &g);
}

#[test]
fn shuffle_nulls_within_the_reference_spread() {
    let r = reference();
    let g = rnn_graph(&r);
    let sign = shuffle_null(&g, Shuffle::Sign, 400, 11).unwrap();
    let want = &r["null_sign_shuffle_1000_seed11"];
    let (m, s) = (
        want["induced_coherent_mean"].as_f64().unwrap(),
        want["induced_coherent_std"].as_f64().unwrap(),
    );
    assert_eq!(sign.induced_coherent.real, 29.0);
    assert!(
        (sign.induced_coherent.mean - m).abs() < 4.0 * s / 400f64.sqrt() + 0.1,
        "{sign:?}"
    );
    assert!((sign.induced_coherent.std - s).abs() < 0.15 * s, "{sign:?}");
    let nm = want["nonind_coherent_mean"].as_f64().unwrap();
    let ns = want["nonind_coherent_std"].as_f64().unwrap();
    assert!((sign.noninduced_coherent.mean - nm).abs() < 4.0 * ns / 400f64.sqrt() + 0.1);
    // Sign shuffles leave magnitudes, hence intensity, untouched.
    assert!(sign.total_intensity.std < 1e-9);

    let mag = shuffle_null(&g, Shuffle::Magnitude, 400, 12).unwrap();
    let want = &r["null_magnitude_shuffle_1000_seed12"];
    let (m, s) = (
        want["total_intensity_mean"].as_f64().unwrap(),
        want["total_intensity_std"].as_f64().unwrap(),
    );
    assert!(
        (mag.total_intensity.real - r["onnela_total_intensity_induced_ffl"].as_f64().unwrap())
            .abs()
            < 1e-9
    );
    assert!(
        (mag.total_intensity.mean - m).abs() < 4.0 * s / 400f64.sqrt(),
        "{mag:?}"
    );
    assert!((mag.total_intensity.std - s).abs() < 0.15 * s, "{mag:?}");
    assert_eq!(mag.induced_coherent.std, 0.0);
}

#[test]
fn signed_errors() {
    let g = MotifGraph::from_weighted_edges(3, &[(0, 1, 0.0)]).unwrap();
    assert!(signed_ffls(&g).is_err());
    let g = MotifGraph::from_weighted_edges(3, &[(0, 1, 1.0)]).unwrap();
    assert!(shuffle_null(&g, Shuffle::Sign, 1, 0).is_err());
}
