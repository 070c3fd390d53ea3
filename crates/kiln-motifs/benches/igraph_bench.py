"""igraph (and optionally NetworkX) timings on the graphs kiln's criterion bench exports.

Run the Rust bench first (it writes $TMPDIR/kiln-motifs-bench/*.edges.txt), then:

    /work/venvs/graphs/bin/python crates/kiln-motifs/benches/igraph_bench.py [--networkx] [--nulls]

Same inputs and options as benches/motifs.rs: triad census; motifs_randesu(size=4) (ESU,
exact); 100 x (Graph.rewire() with its default 10*m trials, mode "simple" = kiln's `degree`
null) + triad census. igraph is single-threaded; each timing is the best of `--repeat` runs
(default 3; 1 for the null loop).
"""

import argparse
import os
import random
import tempfile
import time

import igraph as ig


def load(path):
    n = None
    edges = []
    with open(path) as f:
        for line in f:
            if line.startswith("#"):
                for tok in line[1:].split():
                    if tok.startswith("n="):
                        n = int(tok[2:])
                continue
            s, d = line.split()[:2]
            edges.append((int(s), int(d)))
    return ig.Graph(n=n, edges=edges, directed=True)


def best(fn, repeat):
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", default=os.path.join(tempfile.gettempdir(), "kiln-motifs-bench"))
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--networkx", action="store_true", help="also time NetworkX triadic_census")
    ap.add_argument("--nulls", action="store_true", help="time 100 x (rewire + triad census)")
    ap.add_argument("--quads", action="store_true", help="time motifs_randesu(size=4)")
    args = ap.parse_args()
    print(f"igraph {ig.__version__}")
    for name in sorted(os.listdir(args.dir)):
        g = load(os.path.join(args.dir, name))
        tag = f"{name} (n={g.vcount()}, m={g.ecount()})"
        print(f"triad_census {tag}: {best(g.triad_census, args.repeat):.4f} s")
        if args.networkx and g.ecount() <= 100_000:
            import networkx as nx

            h = nx.DiGraph(g.get_edgelist())
            h.add_nodes_from(range(g.vcount()))
            print(f"networkx triadic_census {tag}: {best(lambda: nx.triadic_census(h), 1):.4f} s")
        if args.quads and g.ecount() == 100_000:
            print(f"motifs_randesu(size=4) {tag}: {best(lambda: g.motifs_randesu(size=4), 1):.4f} s")
        if args.nulls and g.ecount() == 100_000:
            random.seed(1000)

            def loop():
                for _ in range(100):
                    r = g.copy()
                    r.rewire()
                    r.triad_census()

            print(f"100 x (rewire() + triad_census) {tag}: {best(loop, 1):.2f} s")


if __name__ == "__main__":
    main()
