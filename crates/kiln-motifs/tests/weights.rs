//! Graphs from Burn modules: the RNN's recurrent matrix and a linear layer, by parameter path.

use kiln_core::burn::module::Param;
use kiln_core::burn::nn::{LinearConfig, RnnConfig};
use kiln_core::{Autodiff, BackendKind, Precision, convert, device};
use kiln_motifs::weights::{module_graph, module_weights};
use kiln_motifs::{MotifsError, WeightGraphParams};

#[test]
fn rnn_hidden_matrix_is_the_recurrent_graph() {
    let dev = device(BackendKind::Flex, Autodiff::Off, Precision::F32).unwrap();
    let mut rnn = RnnConfig::new(2, 3, true).init(&dev);
    // W[i][j] = edge i -> j; Burn's [in, out] layout.
    let w = [0.0f32, 0.9, -0.1, 0.0, 0.0, -0.8, 0.7, 0.0, 0.0];
    rnn.gate.hidden_transform.weight =
        Param::from_tensor(convert::tensor_f32(&w, [3, 3], &dev).unwrap());
    let paths: Vec<String> = module_weights(&rnn)
        .unwrap()
        .into_iter()
        .map(|w| w.path)
        .collect();
    assert!(
        paths.contains(&"gate.hidden_transform.weight".to_string()),
        "{paths:?}"
    );
    let rule = WeightGraphParams::new().absolute(0.5).check().unwrap();
    let g = module_graph(&rnn, "gate.hidden_transform.weight", &rule).unwrap();
    assert_eq!(g.node_count(), 3);
    let edges: Vec<(usize, usize, bool)> =
        g.edges().iter().map(|e| (e.0, e.1, e.2 > 0.0)).collect();
    assert_eq!(edges, vec![(0, 1, true), (1, 2, false), (2, 0, true)]);
}

#[test]
fn linear_layer_is_bipartite_and_missing_names_are_errors() {
    let dev = device(BackendKind::Flex, Autodiff::Off, Precision::F32).unwrap();
    let lin = LinearConfig::new(4, 2).init(&dev);
    let all = WeightGraphParams::new().keep_top(1.0).check().unwrap();
    let g = module_graph(&lin, "weight", &all).unwrap();
    assert_eq!(g.node_count(), 6);
    assert!(g.edges().iter().all(|e| e.0 < 4 && e.1 >= 4));
    assert_eq!(g.in_degrees()[..4], [0, 0, 0, 0]);
    let err = module_graph(&lin, "no.such.weight", &all).unwrap_err();
    assert!(matches!(err, MotifsError::MissingWeight { .. }), "{err}");
    assert!(err.to_string().contains("weight"), "{err}");
}
