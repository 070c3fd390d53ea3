//! The case-file parsers behind the CLI (`ctc loss --input`, `ctc decode --log-probs`,
//! `privacy audit --plan`) on random and truncated input: always exit 2 with one line on
//! stderr, never 1, never a panic.

use kiln_cli::testing::{run_json, write_file};
use proptest::prelude::*;

const CTC_CASE: &str = r#"{"logits": [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7], "T": 2, "N": 2, "C": 2,
 "blank": 0, "targets": [[1, 0], [1, 1]], "input_lengths": [2, 2], "target_lengths": [1, 2],
 "reduction": "none"}"#;

const PLAN: &str = r#"{"dataset_size": 60000, "batch_size": 600, "epochs": 60,
 "noise_multiplier": 1.1, "sampling": "poisson", "delta": 1e-5, "claimed_epsilon": 1.0,
 "accounted_with": "rdp"}"#;

/// A valid `.npy` file of shape [2, 3] (float64), for truncation.
fn npy() -> Vec<u8> {
    let header = "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }";
    let mut h = header.to_string();
    while !(10 + h.len() + 1).is_multiple_of(64) {
        h.push(' ');
    }
    h.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&(h.len() as u16).to_le_bytes());
    out.extend_from_slice(h.as_bytes());
    for v in [-0.1f64, -2.0, -3.0, -2.5, -0.2, -1.9] {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out
}

/// Runs one subcommand on `bytes` written to a file; returns (exit code, stderr).
fn run_on(kind: usize, bytes: &[u8]) -> (i32, String) {
    let dir = tempfile::tempdir().unwrap();
    let r = match kind {
        0 => {
            let p = write_file(dir.path(), "case.json", bytes);
            run_json(&["ctc", "loss", "--input", &p, "--grad"])
        }
        1 => {
            let p = write_file(dir.path(), "lp.npy", bytes);
            run_json(&["ctc", "decode", "--log-probs", &p, "--alphabet", "_ab"])
        }
        _ => {
            let p = write_file(dir.path(), "plan.json", bytes);
            run_json(&["privacy", "audit", "--plan", &p])
        }
    };
    (r.code, r.stderr)
}

fn valid(kind: usize) -> Vec<u8> {
    match kind {
        0 => CTC_CASE.as_bytes().to_vec(),
        1 => npy(),
        _ => PLAN.as_bytes().to_vec(),
    }
}

#[test]
fn the_untruncated_files_are_accepted() {
    for kind in 0..3 {
        let (code, err) = run_on(kind, &valid(kind));
        assert_eq!(code, 0, "kind {kind}: {err}");
    }
}

#[test]
fn sizes_that_overflow_are_bad_input() {
    // T * N * C overflows usize: a typed error, not a wrapped product.
    let case = CTC_CASE.replace("\"T\": 2", "\"T\": 18446744073709551615");
    let (code, err) = run_on(0, case.as_bytes());
    assert_eq!(code, 2, "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn truncated_files_exit_2_with_one_line(kind in 0usize..3, cut in 0.0f64..1.0) {
        let full = valid(kind);
        let at = ((full.len() as f64) * cut) as usize;
        let (code, err) = run_on(kind, &full[..at.min(full.len() - 1)]);
        prop_assert_eq!(code, 2, "kind {} cut at {}: {}", kind, at, err);
        prop_assert_eq!(err.trim().lines().count(), 1, "{}", err);
    }

    #[test]
    fn random_bytes_exit_2_with_one_line(
        kind in 0usize..3,
        bytes in proptest::collection::vec(any::<u8>(), 0..200),
    ) {
        let (code, err) = run_on(kind, &bytes);
        prop_assert_eq!(code, 2, "kind {}: {}", kind, err);
        prop_assert_eq!(err.trim().lines().count(), 1, "{}", err);
    }

    #[test]
    fn random_numbers_in_a_valid_shape_never_exit_1(
        t in 0usize..5, n in 0usize..4, c in 0usize..4, blank in 0usize..4,
        len in proptest::collection::vec(-2i64..6, 0..4),
        logits in proptest::collection::vec(-1e3f64..1e3, 0..40),
        label in -1i64..5,
    ) {
        let case = serde_json::json!({
            "logits": logits, "T": t, "N": n, "C": c, "blank": blank,
            "targets": vec![vec![label; 2]; n], "input_lengths": len.clone(),
            "target_lengths": len,
        });
        let (code, err) = run_on(0, case.to_string().as_bytes());
        prop_assert!(code == 0 || code == 2, "exit {}: {}", code, err);
        if code == 2 {
            prop_assert_eq!(err.trim().lines().count(), 1, "{}", err);
        }
    }
}
