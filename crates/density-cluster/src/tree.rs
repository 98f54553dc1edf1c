//! The single-linkage hierarchy and the condensed cluster tree.

use serde::{Deserialize, Serialize};

use crate::boruvka::MstEdge;

/// One merge of the single-linkage hierarchy, in `scipy.cluster.hierarchy` form.
///
/// Nodes `0..n` are the points; merge `i` creates node `n + i`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Merge {
    /// First merged node.
    pub left: usize,
    /// Second merged node.
    pub right: usize,
    /// Mutual-reachability distance of the merge.
    pub distance: f64,
    /// Points under the new node.
    pub size: usize,
}

/// The single-linkage hierarchy of the mutual-reachability graph: `n - 1`
/// merges in increasing distance (Python `hdbscan`'s `single_linkage_tree_`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SingleLinkage {
    n_points: usize,
    merges: Vec<Merge>,
}

impl SingleLinkage {
    /// Builds the hierarchy from the edges of a spanning tree of `n_points` points.
    ///
    /// Edges are sorted by weight (stable, so equal weights keep their order).
    ///
    /// ```
    /// use density_cluster::{MstEdge, SingleLinkage};
    /// let mst = [MstEdge { a: 0, b: 1, weight: 1.0 }, MstEdge { a: 1, b: 2, weight: 0.5 }];
    /// let sl = SingleLinkage::from_mst(3, &mst);
    /// assert_eq!(sl.merges()[0].distance, 0.5);
    /// assert_eq!(sl.merges()[1].size, 3);
    /// ```
    pub fn from_mst(n_points: usize, mst: &[MstEdge]) -> Self {
        let mut edges = mst.to_vec();
        edges.sort_by(|x, y| x.weight.total_cmp(&y.weight));
        let total = 2 * n_points.max(1) - 1;
        let mut parent: Vec<usize> = (0..total).collect();
        let mut size = vec![1usize; total];
        let mut merges = Vec::with_capacity(edges.len());
        let mut next = n_points;
        let find = |parent: &mut Vec<usize>, mut x: usize| {
            let mut root = x;
            while parent[root] != root {
                root = parent[root];
            }
            while parent[x] != root {
                let up = parent[x];
                parent[x] = root;
                x = up;
            }
            root
        };
        for e in edges {
            let a = find(&mut parent, e.a);
            let b = find(&mut parent, e.b);
            if a == b || next >= total {
                continue;
            }
            parent[a] = next;
            parent[b] = next;
            size[next] = size[a] + size[b];
            merges.push(Merge {
                left: a,
                right: b,
                distance: e.weight,
                size: size[next],
            });
            next += 1;
        }
        Self { n_points, merges }
    }

    /// Number of points (leaves).
    pub fn n_points(&self) -> usize {
        self.n_points
    }

    /// The merges, in increasing distance.
    pub fn merges(&self) -> &[Merge] {
        &self.merges
    }

    fn size_of(&self, node: usize) -> usize {
        if node < self.n_points {
            1
        } else {
            self.merges[node - self.n_points].size
        }
    }
}

/// One edge of the condensed tree (Python `hdbscan`'s `condensed_tree_` row).
///
/// Cluster nodes are numbered from `n_points` (the root) upwards; children with
/// `child < n_points` are points that leave `parent` at `lambda`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CondensedEdge {
    /// Parent cluster.
    pub parent: usize,
    /// Child cluster or point.
    pub child: usize,
    /// `1 / distance` at which the child leaves the parent (infinite at distance 0).
    pub lambda: f64,
    /// Points under the child.
    pub child_size: usize,
}

/// The condensed tree: the single-linkage hierarchy with clusters smaller
/// than `min_cluster_size` pruned away (points "fall out" of their cluster).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CondensedTree {
    n_points: usize,
    n_clusters: usize,
    edges: Vec<CondensedEdge>,
    /// Parent of each cluster node (index `c - n_points`), `usize::MAX` for the root.
    cluster_parent: Vec<usize>,
    /// Lambda at which each cluster was born (0 for the root).
    birth: Vec<f64>,
    /// Largest lambda among the direct children of each cluster.
    death: Vec<f64>,
    /// Child clusters of each cluster.
    cluster_children: Vec<Vec<usize>>,
    /// Stability (excess of mass) of each cluster.
    stability: Vec<f64>,
    /// For each point, the index of its edge in `edges`.
    point_edge: Vec<usize>,
}

impl CondensedTree {
    /// Condenses `hierarchy` with `min_cluster_size`, exactly as Python `hdbscan`'s
    /// `condense_tree` (breadth-first from the root, same node numbering).
    ///
    /// ```
    /// use density_cluster::{CondensedTree, MstEdge, SingleLinkage};
    /// // two pairs far apart
    /// let mst = [
    ///     MstEdge { a: 0, b: 1, weight: 0.1 },
    ///     MstEdge { a: 2, b: 3, weight: 0.1 },
    ///     MstEdge { a: 1, b: 2, weight: 5.0 },
    /// ];
    /// let tree = CondensedTree::new(&SingleLinkage::from_mst(4, &mst), 2);
    /// assert_eq!(tree.n_clusters(), 3); // root + two pairs
    /// ```
    pub fn new(hierarchy: &SingleLinkage, min_cluster_size: usize) -> Self {
        let n = hierarchy.n_points();
        let merges = hierarchy.merges();
        let mut edges = Vec::with_capacity(n + 2 * n / min_cluster_size.max(1));
        let mut cluster_parent = vec![usize::MAX];
        let mut birth = vec![0.0];
        if merges.is_empty() || merges.len() + 1 != n {
            return Self::finish(n, edges, cluster_parent, birth);
        }
        let root = 2 * n - 2;
        let mut relabel = vec![0usize; root + 1];
        relabel[root] = n;
        let mut next_label = n + 1;
        let mut ignore = vec![false; root + 1];
        let mut stack = Vec::new();
        // Breadth-first order over the hierarchy, as hdbscan's bfs_from_hierarchy.
        let mut level = vec![root];
        while !level.is_empty() {
            let mut next_level = Vec::with_capacity(2 * level.len());
            for &node in &level {
                if node >= n {
                    let m = merges[node - n];
                    next_level.push(m.left);
                    next_level.push(m.right);
                }
            }
            for &node in &level {
                if ignore[node] || node < n {
                    continue;
                }
                let m = merges[node - n];
                let lambda = if m.distance > 0.0 {
                    1.0 / m.distance
                } else {
                    f64::INFINITY
                };
                let (left, right) = (m.left, m.right);
                let (lc, rc) = (hierarchy.size_of(left), hierarchy.size_of(right));
                let parent = relabel[node];
                let mut fall_out = |sub: usize, edges: &mut Vec<CondensedEdge>| {
                    stack.push(sub);
                    while let Some(x) = stack.pop() {
                        ignore[x] = true;
                        if x < n {
                            edges.push(CondensedEdge {
                                parent,
                                child: x,
                                lambda,
                                child_size: 1,
                            });
                        } else {
                            let mm = merges[x - n];
                            stack.push(mm.right);
                            stack.push(mm.left);
                        }
                    }
                };
                if lc >= min_cluster_size && rc >= min_cluster_size {
                    for (child, size) in [(left, lc), (right, rc)] {
                        relabel[child] = next_label;
                        cluster_parent.push(parent);
                        birth.push(lambda);
                        edges.push(CondensedEdge {
                            parent,
                            child: next_label,
                            lambda,
                            child_size: size,
                        });
                        next_label += 1;
                    }
                } else if lc < min_cluster_size && rc < min_cluster_size {
                    fall_out(left, &mut edges);
                    fall_out(right, &mut edges);
                } else if lc < min_cluster_size {
                    relabel[right] = parent;
                    fall_out(left, &mut edges);
                } else {
                    relabel[left] = parent;
                    fall_out(right, &mut edges);
                }
            }
            level = next_level;
        }
        Self::finish(n, edges, cluster_parent, birth)
    }

    fn finish(
        n: usize,
        edges: Vec<CondensedEdge>,
        cluster_parent: Vec<usize>,
        birth: Vec<f64>,
    ) -> Self {
        let n_clusters = cluster_parent.len();
        let mut death = vec![0.0f64; n_clusters];
        let mut cluster_children = vec![Vec::new(); n_clusters];
        let mut stability = vec![0.0f64; n_clusters];
        let mut point_edge = vec![usize::MAX; n];
        for (i, e) in edges.iter().enumerate() {
            let pi = e.parent - n;
            death[pi] = death[pi].max(e.lambda);
            stability[pi] += (e.lambda - birth[pi]) * e.child_size as f64;
            if e.child >= n {
                cluster_children[pi].push(e.child);
            } else {
                point_edge[e.child] = i;
            }
        }
        Self {
            n_points: n,
            n_clusters,
            edges,
            cluster_parent,
            birth,
            death,
            cluster_children,
            stability,
            point_edge,
        }
    }

    /// Number of points.
    pub fn n_points(&self) -> usize {
        self.n_points
    }

    /// Number of cluster nodes, the root included; they are numbered
    /// `n_points .. n_points + n_clusters`.
    pub fn n_clusters(&self) -> usize {
        self.n_clusters
    }

    /// All edges (Python `hdbscan`'s `condensed_tree_.to_numpy()`).
    pub fn edges(&self) -> &[CondensedEdge] {
        &self.edges
    }

    /// Parent of cluster node `c`, `None` for the root.
    pub fn parent(&self, c: usize) -> Option<usize> {
        self.cluster_parent
            .get(c.checked_sub(self.n_points)?)
            .copied()
            .filter(|&p| p != usize::MAX)
    }

    /// Child clusters of cluster node `c`.
    pub fn children(&self, c: usize) -> &[usize] {
        c.checked_sub(self.n_points)
            .and_then(|i| self.cluster_children.get(i))
            .map_or(&[], Vec::as_slice)
    }

    /// Lambda at which cluster node `c` is born (0 for the root).
    pub fn birth_lambda(&self, c: usize) -> f64 {
        self.birth[c - self.n_points]
    }

    /// Largest lambda at which a direct child (point or cluster) leaves `c`.
    pub fn death_lambda(&self, c: usize) -> f64 {
        self.death[c - self.n_points]
    }

    /// Stability (excess of mass) of cluster node `c`.
    pub fn stability(&self, c: usize) -> f64 {
        self.stability[c - self.n_points]
    }

    /// Lambda at which point `p` leaves its last cluster.
    pub fn point_lambda(&self, p: usize) -> f64 {
        self.edges.get(self.point_edge[p]).map_or(0.0, |e| e.lambda)
    }

    /// Cluster node that point `p` leaves at [`point_lambda`](Self::point_lambda).
    pub fn point_parent(&self, p: usize) -> usize {
        self.edges
            .get(self.point_edge[p])
            .map_or(self.n_points, |e| e.parent)
    }

    pub(crate) fn stabilities(&self) -> &[f64] {
        &self.stability
    }

    /// Largest lambda of the whole tree.
    pub(crate) fn max_lambda(&self) -> f64 {
        self.edges.iter().map(|e| e.lambda).fold(0.0, f64::max)
    }
}
