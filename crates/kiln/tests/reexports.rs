//! The umbrella only re-exports: each feature's module is the area crate itself (same types,
//! same answers), and `core` is always there.

use std::any::TypeId;

fn same<A: 'static, B: 'static>() -> bool {
    TypeId::of::<A>() == TypeId::of::<B>()
}

#[test]
fn core_is_kiln_core() {
    assert!(same::<kiln::core::KilnError, kiln_core::KilnError>());
    assert_eq!(
        kiln::core::BackendKind::default(),
        kiln_core::BackendKind::Flex
    );
    assert!(kiln::core::default_device().is_ok());
}

#[test]
fn every_area_feature_re_exports_its_crate() {
    assert!(same::<kiln::losses::LossError, kiln_losses::LossError>());
    assert!(same::<kiln::norm::NormError, kiln_norm::NormError>());
    assert!(same::<kiln::ctc::CtcError, kiln_ctc::CtcError>());
    assert!(same::<kiln::pinn::PinnError, kiln_pinn::PinnError>());
    assert!(same::<kiln::motifs::MotifsError, kiln_motifs::MotifsError>());
    assert!(same::<
        kiln::privacy::PrivacyError,
        kiln_privacy::PrivacyError,
    >());
    assert!(same::<kiln::drift::DriftError, kiln_drift::DriftError>());
    assert!(same::<
        kiln::dynamics::DynamicsError,
        kiln_dynamics::DynamicsError,
    >());
}

#[test]
fn an_area_answers_the_same_through_the_umbrella() {
    // Abadi et al. 2016 under RDP: the umbrella path and the crate path give one number.
    use kiln::privacy::{AccountantKind, BatchSampling, Ledger, epsilon};
    let ledger = Ledger::steps(&BatchSampling::poisson(0.01), 4.0, 10_000).unwrap();
    let via_umbrella = epsilon(AccountantKind::Rdp, &ledger, 1e-5).unwrap();
    let direct = kiln_privacy::epsilon(kiln_privacy::AccountantKind::Rdp, &ledger, 1e-5).unwrap();
    assert_eq!(via_umbrella, direct);
    assert!(via_umbrella > 1.0 && via_umbrella < 1.1, "{via_umbrella}");
}
