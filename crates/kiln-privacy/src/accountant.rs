//! One front for every accountant: pick one by [`AccountantKind`].

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::calibrate::{AtFailLimit, Space, search};
use crate::composition::{advanced_epsilon, basic_epsilon};
use crate::errors::{PrivacyError, Result};
use crate::event::{Ledger, check_delta, check_epsilon};
use crate::hyperparams::{Estimate, PldParams, RdpParams};
use crate::pld::PldAccountant;
use crate::prv::PrvParams;
use crate::rdp::RdpAccountant;

/// The accountants kiln offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccountantKind {
    /// Rényi DP, dp_accounting's default orders, improved conversion.
    Rdp,
    /// Privacy loss distributions, interval 1e-4, pessimistic.
    Pld,
    /// Basic composition of exact per-step guarantees.
    Basic,
    /// Advanced (Dwork-Rothblum-Vadhan) composition of exact per-step guarantees.
    Advanced,
    /// Privacy random variables (Gopi, Lee & Wutschitz 2021): the upper end of its certified
    /// bracket (see [`crate::prv`] for the bracket itself).
    Prv,
}

impl AccountantKind {
    /// Every kind.
    pub const ALL: [AccountantKind; 5] = [
        AccountantKind::Rdp,
        AccountantKind::Pld,
        AccountantKind::Basic,
        AccountantKind::Advanced,
        AccountantKind::Prv,
    ];

    /// Whether [`crate::calibrate`] calibrates against this accountant (RDP and PLD; the
    /// composition theorems are for comparison only).
    pub fn calibrates(self) -> bool {
        matches!(self, AccountantKind::Rdp | AccountantKind::Pld)
    }

    /// The name used on the command line and in JSON.
    pub fn name(self) -> &'static str {
        match self {
            AccountantKind::Rdp => "rdp",
            AccountantKind::Pld => "pld",
            AccountantKind::Basic => "basic",
            AccountantKind::Advanced => "advanced",
            AccountantKind::Prv => "prv",
        }
    }
}

impl fmt::Display for AccountantKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for AccountantKind {
    type Err = PrivacyError;
    fn from_str(s: &str) -> Result<Self> {
        AccountantKind::ALL
            .into_iter()
            .find(|k| k.name() == s.to_ascii_lowercase())
            .ok_or_else(|| {
                PrivacyError::invalid(
                    "accountant",
                    s,
                    "expected one of rdp, pld, basic, advanced, prv",
                )
            })
    }
}

/// Epsilon of `ledger` at `delta` with the default settings of `kind` (never under-reports).
///
/// A ledger with no release (empty, or zero steps) has epsilon exactly 0 in every accountant.
pub fn epsilon(kind: AccountantKind, ledger: &Ledger, delta: f64) -> Result<f64> {
    check_delta(delta)?;
    if ledger.total_count() == 0 {
        return Ok(0.0);
    }
    match kind {
        AccountantKind::Rdp => Ok(RdpAccountant::new(RdpParams::new().check()?)
            .epsilon(ledger, delta)?
            .epsilon),
        AccountantKind::Pld => PldAccountant::new(PldParams::new().check()?).epsilon(ledger, delta),
        AccountantKind::Basic => basic_epsilon(ledger, delta),
        AccountantKind::Advanced => advanced_epsilon(ledger, delta),
        AccountantKind::Prv => Ok(PrvParams::new().check()?.epsilon(ledger, delta)?.upper),
    }
}

/// Like [`epsilon`], but an infinite epsilon is a [`PrivacyError::NoFiniteEpsilon`] that says
/// why (JSON and most callers have no use for infinity).
///
/// PLD already returns that error itself below its floor (the mass its pessimistic
/// discretisation places at infinite loss); RDP and the composition theorems stay finite down
/// to any delta, so this is a guard for whatever else gives an infinite answer.
pub fn finite_epsilon(kind: AccountantKind, ledger: &Ledger, delta: f64) -> Result<f64> {
    let eps = epsilon(kind, ledger, delta)?;
    if eps.is_finite() {
        return Ok(eps);
    }
    Err(PrivacyError::NoFiniteEpsilon {
        accountant: kind.name().into(),
        reason: format!(
            "delta {delta:e} is too small for this ledger; use a larger delta or the rdp \
             accountant"
        ),
    })
}

/// Delta of `ledger` at `epsilon` with the default settings of `kind`. For the composition
/// theorems delta is found by the crate's one monotone search (geometric bisection to 1e-6
/// relative, upper end).
pub fn delta(kind: AccountantKind, ledger: &Ledger, eps: f64) -> Result<f64> {
    check_epsilon(eps)?;
    if ledger.total_count() == 0 {
        return Ok(0.0);
    }
    match kind {
        AccountantKind::Rdp => Ok(RdpAccountant::new(RdpParams::new().check()?)
            .delta(ledger, eps)?
            .delta),
        AccountantKind::Pld => PldAccountant::new(PldParams::new().check()?).delta(ledger, eps),
        AccountantKind::Prv => Err(PrivacyError::Unsupported {
            event: "delta for a given epsilon".into(),
            accountant: "prv".into(),
            reason: "kiln's PRV accountant answers epsilon for a delta; use pld for delta".into(),
        }),
        AccountantKind::Basic | AccountantKind::Advanced => {
            // Epsilon decreases in delta: the smallest delta in [1e-300, 1 - 1e-12] meeting it.
            let space = Space {
                start: 1.0 - 1e-12,
                min: 1e-300,
                max: 1.0 - 1e-12,
                integer: false,
                decreasing: true,
                at_fail_limit: AtFailLimit::Accept,
                unreachable: "no delta below 1 reaches the epsilon",
            };
            match search(&space, eps, 1e-6, |d| epsilon(kind, ledger, d)) {
                Ok(found) => Ok(found.ok),
                Err(PrivacyError::Unreachable(_)) => Ok(1.0),
                Err(e) => Err(e),
            }
        }
    }
}

/// A certified bracket on the true epsilon: PLD optimistic (lower) and pessimistic (upper).
pub fn pld_bracket(ledger: &Ledger, delta: f64) -> Result<(f64, f64)> {
    let lo = PldAccountant::new(PldParams::new().estimate(Estimate::Optimistic).check()?);
    let hi = PldAccountant::new(PldParams::new().check()?);
    let (a, b) = rayon::join(|| lo.epsilon(ledger, delta), || hi.epsilon(ledger, delta));
    Ok((a?, b?))
}
