//! The detectors: river's seven (exact semantics) and two control charts.

pub mod adwin;
pub mod cusum;
pub mod ddm;
pub mod eddm;
pub mod ewma;
pub mod hddm_a;
pub mod hddm_w;
pub mod kswin;
pub mod page_hinkley;
