//! Motif speed: triad census, 100 null graphs + census, 4-node census on random directed
//! graphs (`random_gnm(n, m, 1)`).
//!
//! `cargo bench -p kiln-motifs --no-default-features -- --warm-up-time 1 --measurement-time 3`
//! The graphs are written to `$TMPDIR/kiln-motifs-bench/` as edge lists for
//! `benches/igraph_bench.py` (igraph / NetworkX on the same graphs). Set
//! `KILN_MOTIFS_BENCH_LARGE=1` to add the n = 1e5, m = 1e6 triad census.

use std::io::Write;
use std::path::PathBuf;

use criterion::{Criterion, criterion_group, criterion_main};
use kiln_core::experiment::NoProgress;
use kiln_motifs::{
    MotifGraph, NullModel, SignificanceParams, motif_census4, random_gnm, significance,
    triad_census,
};

fn random_graph(n: usize, m: usize) -> MotifGraph {
    random_gnm(n, m, 1).unwrap()
}

fn export(g: &MotifGraph, name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join("kiln-motifs-bench");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{name}.edges.txt"));
    let mut f = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    writeln!(f, "# n={} m={}", g.node_count(), g.edge_count()).unwrap();
    for (s, d, _) in g.edges() {
        writeln!(f, "{s} {d}").unwrap();
    }
    path
}

fn census(c: &mut Criterion) {
    let mut g = c.benchmark_group("triad_census");
    g.sample_size(10);
    let mut sizes = vec![(10_000, 100_000)];
    if std::env::var_os("KILN_MOTIFS_BENCH_LARGE").is_some() {
        sizes.push((100_000, 1_000_000));
    }
    for (n, m) in sizes {
        let graph = random_graph(n, m);
        export(&graph, &format!("gnm_n{n}_m{m}"));
        g.bench_function(format!("n{n}_m{m}"), |b| b.iter(|| triad_census(&graph)));
    }
    g.finish();
}

fn nulls(c: &mut Criterion) {
    let graph = random_graph(10_000, 100_000);
    let mut g = c.benchmark_group("significance_100_nulls_census_n1e4_m1e5");
    g.sample_size(10);
    for model in [NullModel::Switching, NullModel::Degree] {
        let params = SignificanceParams::new()
            .model(model)
            .samples(100)
            .check()
            .unwrap();
        g.bench_function(model.name(), |b| {
            b.iter(|| significance(&graph, &params, 0, &NoProgress).unwrap())
        });
    }
    g.finish();
}

fn quads(c: &mut Criterion) {
    let graph = random_graph(10_000, 100_000);
    let mut g = c.benchmark_group("census4_n1e4_m1e5");
    g.sample_size(10);
    g.bench_function("esu", |b| b.iter(|| motif_census4(&graph)));
    g.finish();
}

criterion_group!(benches, census, quads, nulls);
criterion_main!(benches);
