//! kiln-norm in a few lines: a PyTorch-convention BatchNorm, a GroupNorm, the train/inference
//! gap of BatchNorm at batch size 2, and swapping BatchNorm for GroupNorm.
//!
//! ```sh
//! cargo run -p kiln-norm --example norm_basics
//! ```

use kiln_core::burn::module::Module;
use kiln_core::burn::tensor::{Distribution, Tensor};
use kiln_core::{Autodiff, BackendKind, Precision, convert, device};
use kiln_norm::norm::swap_batch_for_group;
use kiln_norm::{
    BatchNorm, BatchNormParams, GroupNorm, GroupNormParams, Norm, NormKind, NormOptions, NormSites,
};

struct Block {
    norm: Norm,
}

impl NormSites for Block {
    fn for_each_norm(&mut self, f: &mut dyn FnMut(&mut Norm)) {
        f(&mut self.norm);
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dev = device(BackendKind::Flex, Autodiff::On, Precision::F32)?;
    dev.seed(0);

    // BatchNorm keeping PyTorch's unbiased running variance.
    let bn = BatchNorm::new(&BatchNormParams::new(8).check()?, &dev);
    for _ in 0..20 {
        let x = Tensor::<4>::random([2, 8, 4, 4], Distribution::Normal(1.0, 2.0), &dev);
        bn.forward(x)?; // training mode: autodiff device, flag on
    }
    println!(
        "BatchNorm running mean  {:?}",
        &convert::to_vec_f32(&bn.running_mean())?[..3]
    );
    println!(
        "BatchNorm running var   {:?} (unbiased convention)",
        &convert::to_vec_f32(&bn.running_var())?[..3]
    );

    // Same batch of 2 in training mode (batch statistics) and inference mode (running ones).
    let x = Tensor::<4>::random([2, 8, 4, 4], Distribution::Normal(1.0, 2.0), &dev);
    let train = convert::to_vec_f32(&bn.valid().train().forward(x.clone())?)?;
    let eval = convert::to_vec_f32(&bn.valid().forward(x.clone().inner())?)?;
    let gap: f32 = train
        .iter()
        .zip(&eval)
        .map(|(a, b)| (a - b).abs())
        .sum::<f32>()
        / train.len() as f32;
    println!("BatchNorm mean |train - inference| output at batch 2: {gap:.3}");

    // GroupNorm does not look at the batch: the two modes agree.
    let gn = GroupNorm::new(&GroupNormParams::new(4, 8).check()?, &dev);
    let a = convert::to_vec_f32(&gn.forward(x.clone())?)?;
    let b = convert::to_vec_f32(&gn.valid().forward(x.inner())?)?;
    println!(
        "GroupNorm max |train - inference|: {:.1e}",
        a.iter()
            .zip(&b)
            .map(|(p, q)| (p - q).abs())
            .fold(0.0, f32::max)
    );

    // Swap every BatchNorm site of a model for GroupNorm(4).
    let mut block = Block {
        norm: Norm::build(NormKind::Batch, 8, &NormOptions::default(), &dev)?,
    };
    let swapped = swap_batch_for_group(&mut block, 4)?;
    println!("swapped {swapped} BatchNorm site(s) for GroupNorm");
    Ok(())
}
