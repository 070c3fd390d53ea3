//! The seed experiment in quick mode: it runs, and its numbers tell the documented story.

use kiln_core::ExperimentConfig;

#[test]
fn quick_experiment_reports_the_story() {
    let r = kiln_privacy::experiment::run(&ExperimentConfig::default()).unwrap();
    let get = |n: &str| r.get(n).unwrap_or_else(|| panic!("metric {n}"));
    let (rdp, pld, basic, adv) = (
        get("abadi_epsilon_rdp"),
        get("abadi_epsilon_pld"),
        get("abadi_epsilon_basic"),
        get("abadi_epsilon_advanced"),
    );
    assert!(
        pld < rdp && rdp < adv && adv < basic,
        "{pld} {rdp} {adv} {basic}"
    );
    assert!(get("audit_factor") > 2.0);
    assert_eq!(r.figures.len(), 2);
    // The least noisy model beats chance (1/3) clearly.
    let best = r
        .metrics
        .iter()
        .filter(|m| m.name.starts_with("dpsgd_accuracy"))
        .map(|m| m.value)
        .fold(0.0, f64::max);
    assert!(best > 0.6, "best accuracy {best}");
}
