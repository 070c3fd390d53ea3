//! `kiln motifs`: `census`, `significance` and `weights` (kiln-motifs' census, null models and
//! signed FFLs). These subcommands use no tensors: `--backend` / `KILN_BACKEND` are ignored.

use std::path::PathBuf;

use kiln_core::KilnError;
use kiln_motifs::signed::{FflType, signed_ffls};
use kiln_motifs::{
    MotifGraph, MotifsError, NullModel, RandEsuParams, Significance, SignificanceParams,
    WeightGraphParams, motif_census4, rand_esu, read_edge_list, read_weight_matrix, significance,
    triad_census,
};
use serde_json::{Value, json};

use crate::Globals;
use crate::output::{CliError, CmdResult, Output};
use crate::progress::Bar;

/// Arguments of `kiln motifs` (plain Rust, no tensors: `--backend` is ignored).
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: MotifsCommand,
}

#[derive(Debug, clap::Subcommand)]
enum MotifsCommand {
    /// Exact census: the 16 triad classes (size 3) or the 199 connected 4-node classes.
    Census(CensusArgs),
    /// Motif z-scores, p-values and significance profile against a null ensemble (--seed).
    Significance(SignificanceArgs),
    /// Significance and signed feed-forward loops of a thresholded `.npy` weight matrix.
    Weights(WeightsArgs),
    /// RAND-ESU estimates of the connected 3-, 4- or 5-node class counts (--seed).
    Sample(SampleArgs),
}

#[derive(Debug, clap::Args)]
struct SampleArgs {
    /// Edge list (see `census`).
    #[arg(long)]
    edges: PathBuf,
    /// Subgraph size: 3, 4 or 5.
    #[arg(long, default_value_t = 4)]
    size: usize,
    /// One keep-probability per ESU depth, comma separated (default: 1 at the first two
    /// depths, 0.5 below).
    #[arg(long, value_delimiter = ',')]
    probabilities: Option<Vec<f64>>,
}

/// `--size`.
#[derive(Debug, clap::Args)]
struct SizeFlag {
    /// Motif size: 3 (triad census) or 4.
    #[arg(long, default_value_t = 3)]
    size: usize,
}

#[derive(Debug, clap::Args)]
struct CensusArgs {
    /// Edge list: `src dst [weight]` per line, `#` comments, 0-based indices or names.
    #[arg(long)]
    edges: PathBuf,
    #[command(flatten)]
    size: SizeFlag,
}

/// The null-ensemble flags shared by `significance` and `weights`.
#[derive(Debug, clap::Args)]
struct NullFlags {
    /// Null model: switching (mfinder), degree (igraph rewire), configuration, gnm.
    #[arg(long, default_value = "switching")]
    null: String,
    /// Number of null graphs.
    #[arg(long, default_value_t = 100)]
    samples: usize,
    /// Q: switch trials per edge for switching/degree nulls.
    #[arg(long, default_value_t = 10.0)]
    switches_per_edge: f64,
    #[command(flatten)]
    size: SizeFlag,
}

#[derive(Debug, clap::Args)]
struct SignificanceArgs {
    /// Edge list (see `census`).
    #[arg(long)]
    edges: PathBuf,
    #[command(flatten)]
    null: NullFlags,
}

#[derive(Debug, clap::Args)]
struct WeightsArgs {
    /// Square `.npy` matrix, `W[i][j]` = weight of the edge i -> j (Burn's `[in, out]`).
    #[arg(long)]
    weights: PathBuf,
    /// Keep the top fraction of off-diagonal entries by |w| (default 0.1).
    #[arg(long, conflicts_with = "threshold")]
    keep_top: Option<f64>,
    /// Keep entries with |w| >= this threshold instead.
    #[arg(long)]
    threshold: Option<f64>,
    #[command(flatten)]
    null: NullFlags,
}

/// Runs `kiln motifs`.
pub fn run(args: &Args, globals: &Globals) -> CmdResult {
    match &args.command {
        MotifsCommand::Census(a) => census(a),
        MotifsCommand::Significance(a) => {
            let graph = read_edge_list(&a.edges).map_err(into_cli)?;
            let (json, human) = significance_output(&graph, &a.null, globals)?;
            Ok(Output::new(json, human))
        }
        MotifsCommand::Weights(a) => weights(a, globals),
        MotifsCommand::Sample(a) => sample(a, globals),
    }
}

fn into_cli(e: MotifsError) -> CliError {
    KilnError::from(e).into()
}

fn census(a: &CensusArgs) -> CmdResult {
    let graph = read_edge_list(&a.edges).map_err(into_cli)?;
    let (n, m) = (graph.node_count(), graph.edge_count());
    let mut human = format!("{n} nodes, {m} edges\n");
    let json = match a.size.size {
        3 => {
            let census = triad_census(&graph);
            let mut triads = serde_json::Map::new();
            for (man, count) in census.by_man() {
                triads.insert(man.to_string(), json!(count));
                human.push_str(&format!("{man:>5} {count}\n"));
            }
            json!({"nodes": n, "edges": m, "triads": triads})
        }
        4 => {
            let census = motif_census4(&graph);
            let motifs: Vec<Value> = census
                .ids()
                .iter()
                .zip(census.counts())
                .map(|(id, c)| json!({"mfinder_id": id, "count": c}))
                .collect();
            human.push_str("mfinder_id count (non-zero classes)\n");
            for (id, c) in census
                .ids()
                .iter()
                .zip(census.counts())
                .filter(|p| *p.1 > 0)
            {
                human.push_str(&format!("{id:>10} {c}\n"));
            }
            json!({"nodes": n, "edges": m, "motifs": motifs})
        }
        s => {
            return Err(CliError::BadInput(format!(
                "invalid parameter `size` = {s}: must be 3 or 4"
            )));
        }
    };
    Ok(Output::new(json, human))
}

fn significance_output(
    graph: &MotifGraph,
    flags: &NullFlags,
    globals: &Globals,
) -> Result<(Value, String), CliError> {
    let model: NullModel = flags.null.parse().map_err(into_cli)?;
    let params = SignificanceParams::new()
        .size(flags.size.size)
        .model(model)
        .samples(flags.samples)
        .switches_per_edge(flags.switches_per_edge)
        .check()
        .map_err(into_cli)?;
    let bar = Bar::new("null graphs", globals.json || globals.quiet);
    let sig = significance(graph, &params, globals.seed, &bar).map_err(into_cli)?;
    bar.finish();
    Ok(render(graph, &sig, globals.seed))
}

fn render(graph: &MotifGraph, sig: &Significance, seed: u64) -> (Value, String) {
    let motifs: Vec<Value> = sig
        .motifs
        .iter()
        .map(|m| {
            json!({
                "man": m.man, "mfinder_id": m.mfinder_id, "count": m.count,
                "null_mean": m.null_mean, "null_std": m.null_std, "z": m.z,
                "p_over": m.p_over, "p_under": m.p_under,
            })
        })
        .collect();
    let json = json!({
        "nodes": graph.node_count(), "edges": graph.edge_count(),
        "size": sig.size, "null": sig.model.name(), "samples": sig.samples, "seed": seed,
        "acceptance": sig.acceptance, "null_mean_edges": sig.null_mean_edges,
        "motifs": motifs, "profile": sig.profile,
    });
    let mut human = format!(
        "{} nodes, {} edges; {} null graphs ({}), seed {seed}\n{:>6} {:>10} {:>8} {:>10} {:>9} {:>8} {:>7}\n",
        graph.node_count(),
        graph.edge_count(),
        sig.samples,
        sig.model.name(),
        "man",
        "mfinder_id",
        "count",
        "null_mean",
        "null_std",
        "z",
        "SP"
    );
    for (m, sp) in sig.motifs.iter().zip(&sig.profile) {
        if sig.size == 4 && m.count == 0 && m.null_mean == 0.0 {
            continue;
        }
        let z = m.z.map_or("-".to_string(), |z| format!("{z:.2}"));
        human.push_str(&format!(
            "{:>6} {:>10} {:>8} {:>10.2} {:>9.2} {:>8} {:>7.3}\n",
            m.man.as_deref().unwrap_or("-"),
            m.mfinder_id,
            m.count,
            m.null_mean,
            m.null_std,
            z,
            sp
        ));
    }
    (json, human)
}

fn weights(a: &WeightsArgs, globals: &Globals) -> CmdResult {
    let params = match (a.keep_top, a.threshold) {
        (_, Some(t)) => WeightGraphParams::new().absolute(t),
        (Some(f), None) => WeightGraphParams::new().keep_top(f),
        (None, None) => WeightGraphParams::new(),
    }
    .check()
    .map_err(into_cli)?;
    let graph = read_weight_matrix(&a.weights, &params).map_err(into_cli)?;
    let (mut json, mut human) = significance_output(&graph, &a.null, globals)?;
    let signed = signed_ffls(&graph).map_err(into_cli)?;
    let by_type = |c: &kiln_motifs::signed::FflCounts| {
        FflType::ALL
            .iter()
            .map(|t| (t.name().to_string(), json!(c.get(*t))))
            .collect::<serde_json::Map<_, _>>()
    };
    json["signed_ffl"] = json!({
        "induced": by_type(&signed.induced),
        "induced_coherent": signed.induced.coherent(),
        "noninduced": by_type(&signed.noninduced),
        "noninduced_coherent": signed.noninduced.coherent(),
        "mean_intensity": signed.mean_intensity,
        "mean_coherence": signed.mean_coherence,
    });
    json["rule"] = json!(params.rule());
    human.push_str(&format!(
        "induced FFLs by sign type: {}\ncoherent {} of {}; Onnela mean intensity {:.4}, coherence {:.4}\n",
        FflType::ALL
            .iter()
            .map(|t| format!("{}={}", t.name(), signed.induced.get(*t)))
            .collect::<Vec<_>>()
            .join(" "),
        signed.induced.coherent(),
        signed.induced.total(),
        signed.mean_intensity,
        signed.mean_coherence
    ));
    Ok(Output::new(json, human))
}

fn sample(a: &SampleArgs, globals: &Globals) -> CmdResult {
    let graph = read_edge_list(&a.edges).map_err(into_cli)?;
    let probabilities = a
        .probabilities
        .clone()
        .unwrap_or_else(|| (0..a.size).map(|d| if d < 2 { 1.0 } else { 0.5 }).collect());
    let params = RandEsuParams::new()
        .size(a.size)
        .probabilities(probabilities)
        .check()
        .map_err(into_cli)?;
    let s = rand_esu(&graph, &params, globals.seed);
    let motifs: Vec<Value> = s
        .estimates
        .iter()
        .map(|(id, est)| json!({"mfinder_id": id, "sampled": s.sampled.get(id), "estimate": est}))
        .collect();
    let mut human = format!(
        "{} nodes, {} edges; RAND-ESU size {}, probabilities {:?}, seed {}\nmfinder_id  sampled  estimate\n",
        graph.node_count(),
        graph.edge_count(),
        s.size,
        s.probabilities,
        globals.seed
    );
    for (id, est) in &s.estimates {
        let n = s.sampled.get(id).copied().unwrap_or(0);
        human.push_str(&format!("{id:>10} {n:>8} {est:>9.1}\n"));
    }
    let json = json!({
        "nodes": graph.node_count(), "edges": graph.edge_count(), "size": s.size,
        "probabilities": s.probabilities, "seed": globals.seed, "motifs": motifs,
    });
    Ok(Output::new(json, human))
}
