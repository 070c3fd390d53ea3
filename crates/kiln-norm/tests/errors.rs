//! Every bad-input rule gives its typed error, never a panic.

use kiln_core::burn::tensor::{DType, Device, Tensor};
use kiln_core::{Autodiff, BackendKind, KilnError, Precision, device};
use kiln_norm::convention::convert_running_var;
use kiln_norm::{
    BatchNorm, BatchNormParams, BatchRenorm, BatchRenormParams, ClipSchedule, EvoNormS0Params, Frn,
    FrnParams, GhostBatchNorm, GhostBatchNormParams, GroupNorm, GroupNormParams, NormError,
    NormKind, PreciseBnParams, RunningVarParams, VarianceConvention, WsConv2dParams,
};

fn ad() -> Device {
    device(BackendKind::Flex, Autodiff::On, Precision::F32).unwrap()
}

fn is_invalid(e: NormError, name: &str) {
    match e {
        NormError::Core(KilnError::InvalidParameter { name: n, .. }) => assert_eq!(n, name),
        other => panic!("expected invalid {name}, got {other}"),
    }
}

#[test]
fn configs_are_validated_once() {
    let e = GroupNormParams::new(3, 4).check().unwrap_err();
    assert!(
        matches!(
            e,
            NormError::ChannelsNotDivisible {
                channels: 4,
                groups: 3,
                ..
            }
        ),
        "{e}"
    );
    assert!(matches!(
        EvoNormS0Params::new(3, 8).check(),
        Err(NormError::ChannelsNotDivisible { .. })
    ));
    is_invalid(GroupNormParams::new(0, 4).check().unwrap_err(), "groups");
    is_invalid(
        GroupNormParams::new(2, 4).epsilon(0.0).check().unwrap_err(),
        "epsilon",
    );
    is_invalid(BatchNormParams::new(0).check().unwrap_err(), "channels");
    is_invalid(
        BatchNormParams::new(3).momentum(1.5).check().unwrap_err(),
        "momentum",
    );
    is_invalid(
        BatchNormParams::new(3)
            .epsilon(f64::NAN)
            .check()
            .unwrap_err(),
        "epsilon",
    );
    is_invalid(
        BatchRenormParams::new(3)
            .r_max(ClipSchedule::constant(0.5))
            .check()
            .unwrap_err(),
        "r_max",
    );
    is_invalid(
        BatchRenormParams::new(3)
            .d_max(ClipSchedule::constant(-1.0))
            .check()
            .unwrap_err(),
        "d_max",
    );
    is_invalid(
        GhostBatchNormParams::new(3)
            .virtual_batch(0)
            .check()
            .unwrap_err(),
        "virtual_batch",
    );
    is_invalid(
        FrnParams::new(3).epsilon(-1.0).check().unwrap_err(),
        "epsilon",
    );
    is_invalid(
        WsConv2dParams::new(3, 4)
            .kernel([0, 3])
            .check()
            .unwrap_err(),
        "kernel",
    );
    is_invalid(
        WsConv2dParams::new(3, 4)
            .stride([1, 0])
            .check()
            .unwrap_err(),
        "stride",
    );
    is_invalid(
        PreciseBnParams::new().num_batches(0).check().unwrap_err(),
        "num_batches",
    );
    is_invalid(
        RunningVarParams::new(1).check().unwrap_err(),
        "samples_per_channel",
    );
    is_invalid(
        RunningVarParams::new(4)
            .initial_var(-1.0)
            .check()
            .unwrap_err(),
        "initial_var",
    );
    assert!("batchnorm".parse::<NormKind>().is_err());
    assert_eq!(
        "batch-renorm".parse::<NormKind>().unwrap(),
        NormKind::BatchRenorm
    );
}

#[test]
fn inputs_are_checked() {
    let dev = ad();
    let gn = GroupNorm::new(&GroupNormParams::new(2, 4).check().unwrap(), &dev);
    // Burn's GroupNorm checks the element count instead of the rank; kiln checks the rank.
    let e = gn.forward(Tensor::<2>::ones([3, 4], &dev)).unwrap_err();
    assert!(
        matches!(
            e,
            NormError::RankTooLow {
                rank: 2,
                min: 3,
                ..
            }
        ),
        "{e}"
    );
    let e = gn.forward(Tensor::<3>::ones([2, 5, 3], &dev)).unwrap_err();
    assert!(
        matches!(
            e,
            NormError::ChannelMismatch {
                expected: 4,
                actual: 5,
                ..
            }
        ),
        "{e}"
    );
    assert!(matches!(
        KilnError::from(e),
        KilnError::ShapeMismatch { .. }
    ));
    let e = gn.forward(Tensor::<3>::ones([0, 4, 3], &dev)).unwrap_err();
    assert!(matches!(e, NormError::Core(KilnError::Empty(_))), "{e}");
    let e = gn
        .forward(Tensor::<3>::ones([2, 4, 3], (&dev, DType::F64)))
        .unwrap_err();
    assert!(matches!(e, NormError::DtypeMismatch { .. }), "{e}");

    let frn = Frn::new(&FrnParams::new(4).check().unwrap(), &dev);
    assert!(matches!(
        frn.forward(Tensor::<2>::ones([3, 4], &dev)),
        Err(NormError::RankTooLow { .. })
    ));

    let bn = BatchNorm::new(&BatchNormParams::new(4).check().unwrap(), &dev);
    assert!(matches!(
        bn.forward(Tensor::<1>::ones([4], &dev)),
        Err(NormError::RankTooLow { .. })
    ));
    let e = bn
        .forward(Tensor::<4>::ones([1, 4, 1, 1], &dev))
        .unwrap_err();
    assert!(matches!(e, NormError::SingleValuePerChannel { .. }), "{e}");
    let k = KilnError::from(e);
    assert!(matches!(k, KilnError::Input { area: "norm", .. }) && k.is_user_error());

    let brn = BatchRenorm::new(&BatchRenormParams::new(4).check().unwrap(), &dev);
    assert!(matches!(
        brn.forward(Tensor::<2>::ones([1, 4], &dev)),
        Err(NormError::SingleValuePerChannel { .. })
    ));

    let ghost = GhostBatchNorm::new(
        &GhostBatchNormParams::new(4)
            .virtual_batch(2)
            .check()
            .unwrap(),
        &dev,
    );
    let e = ghost.forward(Tensor::<2>::ones([3, 4], &dev)).unwrap_err();
    assert!(
        matches!(
            e,
            NormError::GhostBatchTooSmall {
                batch: 3,
                virtual_batch: 2,
                per_sample: 1
            }
        ),
        "{e}"
    );
    assert!(ghost.forward(Tensor::<2>::ones([4, 4], &dev)).is_ok());
}

#[test]
fn running_variance_conversion_refuses_non_finite_values() {
    let p = RunningVarParams::new(8).check().unwrap();
    let e = convert_running_var(
        &[1.0, f64::NAN],
        VarianceConvention::Unbiased,
        VarianceConvention::Biased,
        &p,
    )
    .unwrap_err();
    assert!(
        matches!(
            e,
            NormError::Core(KilnError::NonFinite { index: Some(1), .. })
        ),
        "{e}"
    );
    // Long-training limit: biased = unbiased (n-1)/n.
    let v = convert_running_var(
        &[8.0],
        VarianceConvention::Unbiased,
        VarianceConvention::Biased,
        &p,
    )
    .unwrap();
    assert!((v[0] - 7.0).abs() < 1e-12);
}
