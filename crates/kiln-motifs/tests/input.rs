//! Graph input: edge lists (indices, names, comments, header), weight matrices and every
//! bad-input error variant.

use std::path::Path;

use kiln_motifs::{
    EdgeRule, MotifGraph, MotifsError, NullModel, RandEsuParams, SignificanceParams,
    WeightGraphParams, graph_from_weights, parse_edge_list, read_edge_list, read_weight_matrix,
    significance,
};

fn parse(text: &str) -> Result<MotifGraph, MotifsError> {
    parse_edge_list(text, Path::new("g.txt"))
}

#[test]
fn indices_comments_header_and_weights() {
    let g = parse("# n=5 m=3\n0 1\n1 2 -0.5  # inhibitory\n\n2 0 2.0\n").unwrap();
    assert_eq!(g.node_count(), 5);
    assert_eq!(g.edge_count(), 3);
    assert!(!g.is_named());
    assert_eq!(g.edges(), vec![(0, 1, 1.0), (1, 2, -0.5), (2, 0, 2.0)]);
}

#[test]
fn named_nodes_in_order_of_first_appearance() {
    let g = parse("AVAL AVAR\nAVAR PVCL\n").unwrap();
    assert!(g.is_named());
    assert_eq!(g.node_count(), 3);
    assert_eq!(g.name(2), Some("PVCL"));
    assert_eq!(g.edges(), vec![(0, 1, 1.0), (1, 2, 1.0)]);
}

#[test]
fn self_loops_are_dropped_and_counted() {
    let g = parse("0 0\n0 1\n1 1\n").unwrap();
    assert_eq!(g.edge_count(), 1);
    assert_eq!(g.self_loops_dropped(), 2);
}

#[test]
fn malformed_lines_name_file_and_line() {
    for (text, line) in [
        ("0 1\n0\n", 2),
        ("0 1 x\n", 1),
        ("0 1 2 3\n", 1),
        ("0 1 inf\n", 1),
        ("# n=x\n", 1),
    ] {
        match parse(text) {
            Err(e @ MotifsError::MalformedEdge { .. }) => {
                assert!(e.to_string().starts_with(&format!("g.txt:{line}:")), "{e}");
            }
            other => panic!("{text:?}: {other:?}"),
        }
    }
    assert!(matches!(
        parse("# n=2\n0 5\n"),
        Err(MotifsError::MalformedEdge { .. })
    ));
}

#[test]
fn duplicate_edges_are_rejected_with_both_lines() {
    let err = parse("0 1\n1 0\n# c\n0 1\n").unwrap_err();
    assert!(
        matches!(
            err,
            MotifsError::DuplicateEdge {
                line: 4,
                first_line: 1,
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("g.txt:4"), "{err}");
}

#[test]
fn missing_file_is_an_io_error() {
    let err = read_edge_list("/no/such/file.txt").unwrap_err();
    assert!(matches!(
        err,
        MotifsError::Core(kiln_core::KilnError::Io { .. })
    ));
}

#[test]
fn programmatic_graph_errors() {
    assert!(matches!(
        MotifGraph::from_edges(2, &[(0, 2)]),
        Err(MotifsError::NodeOutOfRange { node: 2, nodes: 2 })
    ));
    assert!(matches!(
        MotifGraph::from_weighted_edges(2, &[(0, 1, f64::NAN)]),
        Err(MotifsError::NonFiniteWeight { .. })
    ));
}

#[test]
fn weight_matrix_rules_keep_sign_and_skip_diagonal() {
    let w = [9.0, 0.5, -0.2, -0.9, 9.0, 0.0, 0.1, 0.3, 9.0];
    let abs = WeightGraphParams::new().absolute(0.25).check().unwrap();
    let g = graph_from_weights(&w, &[3, 3], &abs).unwrap();
    assert_eq!(g.edges(), vec![(0, 1, 0.5), (1, 0, -0.9), (2, 1, 0.3)]);
    // Top 1/3 of the 6 off-diagonal entries: the 2 largest magnitudes.
    let top = WeightGraphParams::new()
        .keep_top(1.0 / 3.0)
        .check()
        .unwrap();
    assert_eq!(top.rule(), EdgeRule::TopFraction(1.0 / 3.0));
    let g = graph_from_weights(&w, &[3, 3], &top).unwrap();
    assert_eq!(g.edges(), vec![(0, 1, 0.5), (1, 0, -0.9)]);
    // Zero entries never become edges, even at threshold 0.
    let zero = WeightGraphParams::new().absolute(0.0).check().unwrap();
    assert_eq!(
        graph_from_weights(&w, &[3, 3], &zero).unwrap().edge_count(),
        5
    );
}

#[test]
fn weight_matrix_errors() {
    let p = WeightGraphParams::new().check().unwrap();
    assert!(matches!(
        graph_from_weights(&[1.0; 6], &[2, 3], &p),
        Err(MotifsError::NotSquare { .. })
    ));
    assert!(matches!(
        graph_from_weights(&[1.0; 3], &[2, 2], &p),
        Err(MotifsError::NotSquare { .. })
    ));
    assert!(matches!(
        graph_from_weights(&[], &[0, 0], &p),
        Err(MotifsError::GraphTooSmall { .. })
    ));
    assert!(matches!(
        graph_from_weights(&[0.0, f64::INFINITY, 1.0, 0.0], &[2, 2], &p),
        Err(MotifsError::NonFiniteWeight { src: 0, dst: 1, .. })
    ));
}

#[test]
fn npy_weight_matrix_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w.npy");
    kiln_core::io::write_npy_f64(&path, &[0.0, 1.0, -2.0, 0.0], &[2, 2]).unwrap();
    let p = WeightGraphParams::new().absolute(0.5).check().unwrap();
    let g = read_weight_matrix(&path, &p).unwrap();
    assert_eq!(g.edges(), vec![(0, 1, 1.0), (1, 0, -2.0)]);
    assert_eq!(g.mutual_dyads(), 1);
}

#[test]
fn invalid_parameters_are_rejected_by_check() {
    let bad = |r: Result<(), MotifsError>, name: &str| match r {
        Err(MotifsError::InvalidParameter { name: n, .. }) => assert_eq!(n, name),
        other => panic!("{name}: {other:?}"),
    };
    bad(
        WeightGraphParams::new().absolute(-1.0).check().map(drop),
        "threshold",
    );
    bad(
        WeightGraphParams::new()
            .absolute(f64::NAN)
            .check()
            .map(drop),
        "threshold",
    );
    bad(
        WeightGraphParams::new().keep_top(0.0).check().map(drop),
        "keep_top",
    );
    bad(
        WeightGraphParams::new().keep_top(1.5).check().map(drop),
        "keep_top",
    );
    bad(SignificanceParams::new().size(5).check().map(drop), "size");
    bad(
        SignificanceParams::new().samples(1).check().map(drop),
        "samples",
    );
    bad(
        SignificanceParams::new()
            .switches_per_edge(0.0)
            .check()
            .map(drop),
        "switches_per_edge",
    );
    bad(RandEsuParams::new().size(6).check().map(drop), "size");
    bad(
        RandEsuParams::new()
            .probabilities(vec![1.0, 1.0])
            .check()
            .map(drop),
        "probabilities",
    );
    bad(
        RandEsuParams::new()
            .probabilities(vec![1.0, 1.0, 0.0, 1.0])
            .check()
            .map(drop),
        "probabilities",
    );
    bad("nope".parse::<NullModel>().map(drop), "null");
}

#[test]
fn empty_graph_has_no_significance() {
    let g = MotifGraph::from_edges(5, &[]).unwrap();
    let p = SignificanceParams::new().check().unwrap();
    let err = significance(&g, &p, 0, &kiln_core::experiment::NoProgress).unwrap_err();
    assert!(matches!(err, MotifsError::GraphTooSmall { .. }));
    // Converting keeps the message for the CLI (exit code 2).
    let k: kiln_core::KilnError = err.into();
    assert!(k.is_user_error());
}
