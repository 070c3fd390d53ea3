//! kiln-core's contract: device selection, gradient checks, readers.

use kiln_core::io::{self, NpyDType};
use kiln_core::{
    Autodiff, BackendKind, GradCheckConfig, KilnError, Precision, convert, device, grad_check,
};
use proptest::prelude::*;

#[test]
fn every_compiled_backend_gives_a_working_device() {
    for kind in BackendKind::compiled() {
        let dev = device(kind, Autodiff::On, Precision::F32).unwrap();
        assert!(dev.is_autodiff());
        let t = convert::tensor_f32(&[1.0, 2.0], [2], &dev).unwrap();
        assert_eq!(convert::to_vec_f32(&(t * 3.0)).unwrap(), vec![3.0, 6.0]);
        let plain = device(kind, Autodiff::Off, Precision::F32).unwrap();
        assert!(!plain.is_autodiff());
    }
}

#[test]
fn a_backend_compiled_out_is_an_error_not_a_panic() {
    let missing: Vec<_> = BackendKind::ALL
        .into_iter()
        .filter(|k| !k.is_compiled())
        .collect();
    for kind in missing {
        let err = device(kind, Autodiff::Off, Precision::F32).unwrap_err();
        assert!(matches!(err, KilnError::UnsupportedBackend { .. }), "{err}");
        assert!(err.to_string().contains(kind.feature()), "{err}");
    }
}

#[test]
fn f64_tensors_keep_f64_precision() {
    let dev = device(BackendKind::Flex, Autodiff::Off, Precision::F32).unwrap();
    let v = [1.0 + 1e-12, 2.0];
    let t = convert::tensor_f64(&v, [2], &dev).unwrap();
    assert_eq!(convert::to_vec_f64(&t).unwrap(), v.to_vec());
    assert!(convert::tensor_f64(&v, [3], &dev).is_err());
}

#[test]
fn grad_check_passes_a_right_gradient_and_catches_a_wrong_one() {
    let dev = device(BackendKind::Flex, Autodiff::Off, Precision::F32).unwrap();
    let x = [0.3, -1.2, 2.5, 0.7];
    let cfg = GradCheckConfig::default();
    let right = grad_check(
        |t| (t.clone().sin() * t.clone() * t).sum(),
        &x,
        [4],
        &dev,
        &cfg,
    )
    .unwrap();
    assert!(right.passed, "{right}");
    assert!(right.max_rel_error < 1e-7, "{right}");

    // A function whose backward is deliberately wrong: forward x^2, gradient of x^2 / 2
    // (detach hides one factor from autodiff).
    let wrong = grad_check(|t| (t.clone() * t.detach()).sum(), &x, [4], &dev, &cfg).unwrap();
    assert!(!wrong.passed, "{wrong}");
    assert!((wrong.max_rel_error - 0.5).abs() < 1e-6, "{wrong}");
}

#[test]
fn grad_check_rejects_bad_input() {
    let dev = device(BackendKind::Flex, Autodiff::Off, Precision::F32).unwrap();
    let cfg = GradCheckConfig::default();
    assert!(matches!(
        grad_check(|t| t.sum(), &[f64::NAN], [1], &dev, &cfg),
        Err(KilnError::NonFinite { .. })
    ));
    assert!(matches!(
        grad_check(|t| t.sum(), &[], [0], &dev, &cfg),
        Err(KilnError::Empty(_))
    ));
}

#[test]
fn npy_round_trips_f32_and_f64_any_rank() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("a.npy");
    let data: Vec<f64> = (0..24).map(|i| i as f64 * 0.5 - 3.0).collect();
    io::write_npy_f64(&p, &data, &[2, 3, 4]).unwrap();
    let a = io::read_npy(&p).unwrap();
    assert_eq!((a.shape.clone(), a.dtype), (vec![2, 3, 4], NpyDType::F64));
    assert_eq!(a.data, data);

    let f: Vec<f32> = data.iter().map(|&v| v as f32).collect();
    io::write_npy_f32(&p, &f, &[24]).unwrap();
    let a = io::read_npy(&p).unwrap();
    assert_eq!((a.shape.clone(), a.dtype), (vec![24], NpyDType::F32));
    assert_eq!(a.to_f32(), f);
}

#[test]
fn malformed_files_are_rejected_with_the_file_named() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("broken.npy");
    std::fs::write(&p, b"\x93NUMPY garbage").unwrap();
    let e = io::read_npy(&p).unwrap_err().to_string();
    assert!(e.contains("broken.npy"), "{e}");

    // A valid header whose data is cut short.
    let good = dir.path().join("good.npy");
    io::write_npy_f64(&good, &[1.0; 16], &[16]).unwrap();
    let bytes = std::fs::read(&good).unwrap();
    std::fs::write(&p, &bytes[..bytes.len() - 8]).unwrap();
    let e = io::read_npy(&p).unwrap_err().to_string();
    assert!(e.contains("broken.npy") && e.contains("data"), "{e}");

    let missing = dir.path().join("missing.npy");
    let e = io::read_npy(&missing).unwrap_err().to_string();
    assert!(e.contains("missing.npy"), "{e}");

    let csv = dir.path().join("stream.csv");
    std::fs::write(&csv, "loss\n0.5\n0.25\nabc\n").unwrap();
    let e = io::read_csv_column(&csv).unwrap_err().to_string();
    assert!(e.contains("stream.csv") && e.contains("line 4"), "{e}");

    let json = dir.path().join("case.json");
    std::fs::write(&json, "{\"a\": [1, 2,]}").unwrap();
    let e = io::read_json::<serde_json::Value>(&json)
        .unwrap_err()
        .to_string();
    assert!(e.contains("case.json") && e.contains("line 1"), "{e}");
}

#[test]
fn csv_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("s.csv");
    std::fs::write(&p, "value\n1\n-2.5\n1e-3\n").unwrap();
    assert_eq!(io::read_csv_column(&p).unwrap(), vec![1.0, -2.5, 1e-3]);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    #[test]
    fn npy_round_trip_is_exact(values in proptest::collection::vec(-1e6f64..1e6, 1..64)) {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("p.npy");
        io::write_npy_f64(&p, &values, &[values.len()]).unwrap();
        prop_assert_eq!(io::read_npy(&p).unwrap().data, values);
    }

    #[test]
    fn npy_parser_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        let _ = io::parse_npy(&bytes, std::path::Path::new("fuzz.npy"));
    }

    #[test]
    fn tensor_round_trip_is_exact(values in proptest::collection::vec(-1e3f32..1e3, 1..64)) {
        let dev = device(BackendKind::Flex, Autodiff::Off, Precision::F32).unwrap();
        let t = convert::tensor_f32(&values, [values.len()], &dev).unwrap();
        prop_assert_eq!(convert::to_vec_f32(&t).unwrap(), values);
    }
}

#[test]
fn npy_integer_labels_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("labels.npy");
    let data: Vec<i64> = vec![0, 1, 2, -1, 255, 3];
    io::write_npy_i64(&p, &data, &[2, 3]).unwrap();
    let a = io::read_npy_int(&p).unwrap();
    assert_eq!(a.shape, vec![2, 3]);
    assert_eq!(a.data, data);
    // A float file is refused by the integer reader, and the reverse.
    io::write_npy_f64(&p, &[1.0], &[1]).unwrap();
    assert!(
        io::read_npy_int(&p)
            .unwrap_err()
            .to_string()
            .contains("integer")
    );
    io::write_npy_i64(&p, &data, &[6]).unwrap();
    assert!(io::read_npy(&p).is_err());
}
