//! Triad census and feed-forward-loop significance of an edge list.
//!
//! `cargo run -p kiln-motifs --no-default-features --example ffl -- [EDGES] [NULL] [SAMPLES]`
//! (default: the mfinder example network, switching null, 200 samples).

use kiln_core::experiment::NoProgress;
use kiln_motifs::{
    FFL_ID, NullModel, SignificanceParams, read_edge_list, significance, triad_census,
};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let path = args.next().unwrap_or_else(|| {
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/data/mfinder_example_16.edges.txt"
        )
        .to_string()
    });
    let model: NullModel = args.next().as_deref().unwrap_or("switching").parse()?;
    let samples: usize = args.next().as_deref().unwrap_or("200").parse()?;
    let g = read_edge_list(&path)?;
    println!("{path}: {} nodes, {} edges", g.node_count(), g.edge_count());
    for (man, count) in triad_census(&g).by_man() {
        println!("{man:>5} {count}");
    }
    let params = SignificanceParams::new()
        .model(model)
        .samples(samples)
        .check()?;
    let sig = significance(&g, &params, 0, &NoProgress)?;
    if let Some(ffl) = sig.get(FFL_ID) {
        println!(
            "FFL (030T, mfinder 38): {} vs {:.2} +- {:.2} in {samples} {} nulls, z = {}",
            ffl.count,
            ffl.null_mean,
            ffl.null_std,
            model.name(),
            ffl.z.map_or("undefined".into(), |z| format!("{z:.2}"))
        );
    }
    Ok(())
}
