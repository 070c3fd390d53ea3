//! Loss, gradient through Burn's autodiff, and beam-search decoding in a few lines.
//!
//! `cargo run -p kiln-ctc --example ctc_basics`

use kiln_core::burn::tensor::activation::log_softmax;
use kiln_core::{Autodiff, BackendKind, Precision, convert, device};
use kiln_ctc::{Alphabet, BeamSearch, BeamSearchParams, CtcLoss, CtcLossParams, Targets};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dev = device(BackendKind::Flex, Autodiff::On, Precision::F32)?;
    // T = 4 frames, N = 1 sample, C = 3 classes (blank 0, 'a', 'b').
    let logits: Vec<f32> = vec![0.1, 2.0, 0.3, 2.0, 0.1, 0.2, 0.1, 0.2, 2.0, 1.5, 0.1, 0.3];
    let x = convert::tensor_f32(&logits, [4, 1, 3], &dev)?.require_grad();
    let loss = CtcLoss::new(CtcLossParams::new().check()?);
    let targets = Targets::from_sequences(&[vec![1, 2]]);
    let l = loss.forward(log_softmax(x.clone(), 2), &targets, &[4])?;
    let g = x.grad(&l.backward()).expect("logits reach the loss");
    println!("loss = {:.4}", convert::scalar_f64(&l)?);
    println!("d loss / d logits = {:?}", convert::to_vec_f32(&g)?);

    let lp = convert::to_vec_f64(&log_softmax(x.detach(), 2))?;
    let alphabet = Alphabet::from_chars("_ab", 0)?;
    let search = BeamSearch::new(
        BeamSearchParams::new(alphabet.clone())
            .beam_width(8)
            .nbest(2)
            .check()?,
    );
    for h in search.decode(&lp, 4)? {
        println!(
            "{:>4}  ln P = {:.4}  frames {:?}",
            h.text(&alphabet)?,
            h.log_prob,
            h.frames
        );
    }
    Ok(())
}
