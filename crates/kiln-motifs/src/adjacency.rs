//! Compact undirected adjacency with dyad directions: what the counting loops read.

/// `dir` bit: the edge from the list's owner to the neighbour.
pub(crate) const OUT: u8 = 1;
/// `dir` bit: the edge from the neighbour to the owner.
pub(crate) const IN: u8 = 2;

/// CSR adjacency of the underlying undirected simple graph; each neighbour carries the
/// directions present (`OUT`, `IN` or both = mutual dyad). Neighbour lists are sorted.
#[derive(Debug, Clone)]
pub(crate) struct Adjacency {
    n: usize,
    offsets: Vec<usize>,
    nbrs: Vec<u32>,
    dirs: Vec<u8>,
}

impl Adjacency {
    /// From directed edges on `0..n` (no self-loops, no duplicates: the caller guarantees it).
    pub(crate) fn new(n: usize, edges: &[(u32, u32)]) -> Self {
        let mut deg = vec![0usize; n + 1];
        for &(s, d) in edges {
            deg[s as usize] += 1;
            deg[d as usize] += 1;
        }
        let mut offsets = vec![0usize; n + 1];
        for v in 0..n {
            offsets[v + 1] = offsets[v] + deg[v];
        }
        let mut fill = offsets.clone();
        let mut raw = vec![(0u32, 0u8); offsets[n]];
        for &(s, d) in edges {
            raw[fill[s as usize]] = (d, OUT);
            fill[s as usize] += 1;
            raw[fill[d as usize]] = (s, IN);
            fill[d as usize] += 1;
        }
        let mut new_offsets = vec![0usize; n + 1];
        let mut nbrs = Vec::with_capacity(raw.len());
        let mut dirs = Vec::with_capacity(raw.len());
        for v in 0..n {
            let seg = &mut raw[offsets[v]..offsets[v + 1]];
            seg.sort_unstable_by_key(|p| p.0);
            for &(u, dir) in seg.iter() {
                if nbrs.len() > new_offsets[v] && nbrs.last() == Some(&u) {
                    *dirs.last_mut().expect("nonempty") |= dir;
                } else {
                    nbrs.push(u);
                    dirs.push(dir);
                }
            }
            new_offsets[v + 1] = nbrs.len();
        }
        Self {
            n,
            offsets: new_offsets,
            nbrs,
            dirs,
        }
    }

    pub(crate) fn n(&self) -> usize {
        self.n
    }

    /// Sorted undirected neighbours of `v` and the direction bits of each dyad.
    #[inline]
    pub(crate) fn neighbors(&self, v: usize) -> (&[u32], &[u8]) {
        let (a, b) = (self.offsets[v], self.offsets[v + 1]);
        (&self.nbrs[a..b], &self.dirs[a..b])
    }

    /// Direction bits of the dyad `(v, u)` seen from `v` (0 when not adjacent).
    #[inline]
    pub(crate) fn dyad(&self, v: usize, u: u32) -> u8 {
        let (nb, dr) = self.neighbors(v);
        match nb.binary_search(&u) {
            Ok(i) => dr[i],
            Err(_) => 0,
        }
    }

    pub(crate) fn mutual_dyads(&self) -> usize {
        let mut count = 0;
        for v in 0..self.n {
            let (nb, dr) = self.neighbors(v);
            count += nb
                .iter()
                .zip(dr)
                .filter(|(u, d)| (**u as usize) > v && **d == OUT | IN)
                .count();
        }
        count
    }
}
