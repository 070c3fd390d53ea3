//! `kiln losses eval`: JSON output, MONAI defaults, target formats, exit codes.

use kiln_cli::testing::run_json;
use kiln_core::io;
use serde_json::Value;

fn reference() -> Value {
    let text = include_str!("../../kiln-losses/tests/data/seg_losses_monai_smp.json");
    serde_json::from_str(text).unwrap()
}

fn f64s(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

struct Files {
    _dir: tempfile::TempDir,
    pred: String,
    labels: String,
    onehot: String,
}

fn files() -> Files {
    let r = reference();
    let s = &r["seg_losses"]["inputs"];
    let dir = tempfile::tempdir().unwrap();
    let path = |n: &str| dir.path().join(n).to_string_lossy().into_owned();
    let (pred, labels, onehot) = (path("p.npy"), path("t.npy"), path("y.npy"));
    io::write_npy_f64(&pred, &f64s(&s["logits"]), &[2, 3, 8, 8]).unwrap();
    let l: Vec<i64> = f64s(&s["labels_BHW"]).iter().map(|&v| v as i64).collect();
    io::write_npy_i64(&labels, &l, &[2, 8, 8]).unwrap();
    let mut y = vec![0.0; 2 * 3 * 64];
    for (i, &c) in l.iter().enumerate() {
        y[((i / 64) * 3 + c as usize) * 64 + i % 64] = 1.0;
    }
    io::write_npy_f64(&onehot, &y, &[2, 3, 8, 8]).unwrap();
    Files {
        _dir: dir,
        pred,
        labels,
        onehot,
    }
}

fn case_loss(name: &str) -> f64 {
    let r = reference();
    r["seg_losses"]["cases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap()["loss"]
        .as_f64()
        .unwrap()
}

#[test]
fn defaults_equal_monai_dice_loss() {
    let f = files();
    let r = run_json(&["losses", "eval", "--pred", &f.pred, "--target", &f.labels]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let loss = r.json["loss"].as_f64().unwrap();
    assert!(
        (loss - case_loss("monai_dice_softmax")).abs() < 1e-12,
        "{loss}"
    );
    let per_class = r.json["per_class"].as_array().unwrap();
    assert_eq!(per_class.len(), 3);
    for (i, c) in per_class.iter().enumerate() {
        assert_eq!(c["class"], i);
        let (d, j) = (c["dice"].as_f64().unwrap(), c["iou"].as_f64().unwrap());
        assert!((0.0..=1.0).contains(&j) && j <= d && d <= 1.0);
    }
    // The same with a one-hot target.
    let r = run_json(&["losses", "eval", "--pred", &f.pred, "--target", &f.onehot]);
    assert!((r.json["loss"].as_f64().unwrap() - case_loss("monai_dice_softmax")).abs() < 1e-12);
}

#[test]
fn loss_options_map_to_the_anchor_cases() {
    let f = files();
    let cases: [(&[&str], &str); 4] = [
        (&["--loss", "jaccard"], "monai_dice_softmax_jaccard"),
        (
            &["--loss", "tversky", "--alpha", "0.3", "--beta", "0.7"],
            "monai_tversky_softmax_a03_b07",
        ),
        (&["--reduction", "batch"], "monai_dice_softmax_batch"),
        (
            &[
                "--reduction",
                "batch",
                "--smooth-nr",
                "0",
                "--smooth-dr",
                "0",
                "--empty",
                "count-as-one",
            ],
            "smp_dice_multiclass",
        ),
    ];
    for (extra, name) in cases {
        let mut args = vec!["losses", "eval", "--pred", &f.pred, "--target", &f.labels];
        args.extend_from_slice(extra);
        let r = run_json(&args);
        assert_eq!(r.code, 0, "{name}: {}", r.stderr);
        let loss = r.json["loss"].as_f64().unwrap();
        assert!(
            (loss - case_loss(name)).abs() < 1e-9 * case_loss(name),
            "{name}: {loss}"
        );
    }
    for loss in [
        "focal-tversky",
        "log-dice",
        "generalized-dice",
        "lovasz",
        "focal",
        "dice-ce",
    ] {
        let r = run_json(&[
            "losses", "eval", "--pred", &f.pred, "--target", &f.labels, "--loss", loss,
        ]);
        assert_eq!(r.code, 0, "{loss}: {}", r.stderr);
        assert!(r.json["loss"].as_f64().unwrap().is_finite());
    }
}

/// A volume [B, C, D, H, W] with its class map [B, D, H, W] or its one-hot labels: MONAI's
/// DiceLoss on the volume itself (kiln-losses/tests/data/volume_monai.json).
#[test]
fn volumes_equal_monai_on_the_volume() {
    let data: Value = serde_json::from_str(include_str!(
        "../../kiln-losses/tests/data/volume_monai.json"
    ))
    .unwrap();
    let [b, c, d, h, w] = [2, 3, 3, 4, 5];
    assert_eq!(data["shape"], serde_json::json!([b, c, d, h, w]));
    let dir = tempfile::tempdir().unwrap();
    let path = |n: &str| dir.path().join(n).to_string_lossy().into_owned();
    let (pred, labels, onehot) = (path("p.npy"), path("t.npy"), path("y.npy"));
    io::write_npy_f64(&pred, &f64s(&data["logits"]), &[b, c, d, h, w]).unwrap();
    let l: Vec<i64> = f64s(&data["labels"]).iter().map(|&v| v as i64).collect();
    io::write_npy_i64(&labels, &l, &[b, d, h, w]).unwrap();
    let n = d * h * w;
    let mut y = vec![0.0; b * c * n];
    for (i, &k) in l.iter().enumerate() {
        y[((i / n) * c + k as usize) * n + i % n] = 1.0;
    }
    io::write_npy_f64(&onehot, &y, &[b, c, d, h, w]).unwrap();
    let monai = data["cases"][0]["loss"].as_f64().unwrap();
    assert_eq!(data["cases"][0]["name"], "dice_softmax");
    for target in [&labels, &onehot] {
        let r = run_json(&["losses", "eval", "--pred", &pred, "--target", target]);
        assert_eq!(r.code, 0, "{}", r.stderr);
        let loss = r.json["loss"].as_f64().unwrap();
        assert!((loss - monai).abs() < 1e-12, "{loss} vs {monai}");
        assert_eq!(r.json["per_class"].as_array().unwrap().len(), c);
    }
    // An image-shaped class map does not fit a volume, nor do a class map or labels whose
    // depth and height trade places (the same flattened shape).
    let (flat, swapped, swapped_onehot) = (path("flat.npy"), path("s.npy"), path("so.npy"));
    io::write_npy_i64(&flat, &l, &[b, d * h, w]).unwrap();
    io::write_npy_i64(&swapped, &l, &[b, h, d, w]).unwrap();
    io::write_npy_f64(&swapped_onehot, &y, &[b, c, h, d, w]).unwrap();
    for target in [&flat, &swapped, &swapped_onehot] {
        let r = run_json(&["losses", "eval", "--pred", &pred, "--target", target]);
        assert_eq!(r.code, 2, "{target}: {}", r.stderr);
        assert!(r.json["error"].is_string());
    }
}

#[test]
fn bad_input_exits_2_with_one_line() {
    let f = files();
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.npy").to_string_lossy().into_owned();
    io::write_npy_i64(&bad, &vec![7; 128], &[2, 8, 8]).unwrap();
    let short = dir.path().join("short.npy").to_string_lossy().into_owned();
    io::write_npy_i64(&short, &vec![0; 64], &[1, 8, 8]).unwrap();
    let nan = dir.path().join("nan.npy").to_string_lossy().into_owned();
    let mut x = vec![0.0; 384];
    x[5] = f64::NAN;
    io::write_npy_f64(&nan, &x, &[2, 3, 8, 8]).unwrap();
    let runs: Vec<Vec<&str>> = vec![
        vec!["--pred", &f.pred, "--target", &bad],
        vec!["--pred", &f.pred, "--target", &short],
        vec!["--pred", &nan, "--target", &f.labels],
        vec![
            "--pred",
            &f.pred,
            "--target",
            &f.labels,
            "--loss",
            "hausdorff",
        ],
        vec![
            "--pred",
            &f.pred,
            "--target",
            &f.labels,
            "--smooth-nr",
            "-1",
        ],
        vec![
            "--pred",
            &f.pred,
            "--target",
            &f.labels,
            "--reduction",
            "median",
        ],
        vec!["--pred", &f.labels, "--target", &f.labels],
    ];
    for (i, extra) in runs.iter().enumerate() {
        let mut args = vec!["losses", "eval"];
        args.extend_from_slice(extra);
        let r = run_json(&args);
        assert_eq!(r.code, 2, "run {i}: {}", r.stderr);
        assert_eq!(r.stderr.lines().count(), 1, "run {i}: {}", r.stderr);
        assert!(r.json["error"].is_string());
    }
}
