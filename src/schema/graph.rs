//! The dependency graph between variables: which derived value reads which others.
//!
//! It gives an evaluation order (every variable after those it reads), refuses cycles by
//! returning the cycle itself, and answers "what must be recomputed when these change".

/// Dependencies between variables, by index into the schema's variable list.
#[derive(Clone, Debug)]
pub struct Graph {
    deps: Edges,
    users: Edges,
    order: Box<[usize]>,
}

/// Each node's edges in one flat list (compressed rows): two allocations for the whole
/// graph, where a list per node cost 24 bytes a variable even for the many that read none.
#[derive(Clone, Debug)]
struct Edges {
    /// Node `v`'s edges are `to[start[v]..start[v + 1]]`.
    start: Box<[usize]>,
    to: Box<[usize]>,
}

impl Edges {
    fn new(lists: &[Vec<usize>]) -> Edges {
        let mut start = Vec::with_capacity(lists.len() + 1);
        let mut to = Vec::with_capacity(lists.iter().map(Vec::len).sum());
        start.push(0);
        for list in lists {
            to.extend_from_slice(list);
            start.push(to.len());
        }
        Edges {
            start: start.into_boxed_slice(),
            to: to.into_boxed_slice(),
        }
    }

    fn len(&self) -> usize {
        self.start.len() - 1
    }

    fn of(&self, node: usize) -> &[usize] {
        &self.to[self.start[node]..self.start[node + 1]]
    }
}

impl Graph {
    /// Builds the graph from each variable's direct dependencies.
    ///
    /// On a cycle, returns its path with the first variable repeated at the end
    /// (`[a, b, a]` for `a -> b -> a`).
    pub fn new(deps: Vec<Vec<usize>>) -> Result<Graph, Vec<usize>> {
        let n = deps.len();
        let mut users = vec![Vec::new(); n];
        for (user, ds) in deps.iter().enumerate() {
            for &d in ds {
                users[d].push(user);
            }
        }
        #[derive(Clone, Copy, PartialEq)]
        enum Mark {
            New,
            Open,
            Done,
        }
        let mut mark = vec![Mark::New; n];
        let mut order = Vec::with_capacity(n);
        for root in 0..n {
            if mark[root] != Mark::New {
                continue;
            }
            // Iterative depth-first search: (node, index of the next dependency to visit).
            let mut stack = vec![(root, 0usize)];
            mark[root] = Mark::Open;
            while let Some(&mut (node, ref mut next)) = stack.last_mut() {
                if let Some(&dep) = deps[node].get(*next) {
                    *next += 1;
                    match mark[dep] {
                        Mark::New => {
                            mark[dep] = Mark::Open;
                            stack.push((dep, 0));
                        }
                        Mark::Open => {
                            let start = stack.iter().position(|&(v, _)| v == dep).unwrap_or(0);
                            let mut cycle: Vec<usize> =
                                stack[start..].iter().map(|&(v, _)| v).collect();
                            cycle.push(dep);
                            return Err(cycle);
                        }
                        Mark::Done => {}
                    }
                } else {
                    mark[node] = Mark::Done;
                    order.push(node);
                    stack.pop();
                }
            }
        }
        Ok(Graph {
            deps: Edges::new(&deps),
            users: Edges::new(&users),
            order: order.into_boxed_slice(),
        })
    }

    /// Every variable, each after all the variables it reads.
    pub fn order(&self) -> &[usize] {
        &self.order
    }

    /// Every variable that reads, directly or through others, one of `roots`; sorted, without
    /// the roots themselves.
    pub fn dependents(&self, roots: &[usize]) -> Vec<usize> {
        reach(&self.users, roots)
    }

    /// `roots` and everything they depend on, directly or not, as a mask over the nodes.
    pub fn closure(&self, roots: &[usize]) -> Vec<bool> {
        closure(&self.deps, roots)
    }

    /// Every variable that `node` reads, directly or through others; sorted.
    pub fn dependencies(&self, node: usize) -> Vec<usize> {
        reach(&self.deps, &[node])
    }
}

/// The roots and every node they read, directly or not, as a mask: one traversal, however
/// many roots (a traversal per root was quadratic: half of a 10,000-variable render).
fn closure(edges: &Edges, roots: &[usize]) -> Vec<bool> {
    let mut seen = vec![false; edges.len()];
    let mut stack = Vec::new();
    for &root in roots {
        if !std::mem::replace(&mut seen[root], true) {
            stack.push(root);
        }
    }
    while let Some(v) = stack.pop() {
        for &w in edges.of(v) {
            if !std::mem::replace(&mut seen[w], true) {
                stack.push(w);
            }
        }
    }
    seen
}

fn reach(edges: &Edges, roots: &[usize]) -> Vec<usize> {
    let mut is_root = vec![false; edges.len()];
    for &r in roots {
        is_root[r] = true;
    }
    let mut seen = vec![false; edges.len()];
    let mut stack: Vec<usize> = roots.to_vec();
    while let Some(v) = stack.pop() {
        for &w in edges.of(v) {
            if !seen[w] {
                seen[w] = true;
                stack.push(w);
            }
        }
    }
    (0..edges.len())
        .filter(|&v| seen[v] && !is_root[v])
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_closure_holds_the_roots_and_all_they_read() {
        // 0 <- 2 <- 3, 1 <- 3, 4 alone
        let g = Graph::new(vec![vec![], vec![], vec![0], vec![2, 1], vec![]]).unwrap();
        assert_eq!(g.closure(&[3]), [true, true, true, true, false]);
        assert_eq!(g.closure(&[2, 4]), [true, false, true, false, true]);
        assert_eq!(g.closure(&[]), [false; 5]);
    }

    #[test]
    fn order_puts_dependencies_first() {
        // 0 <- 2 <- 3, 1 <- 3
        let g = Graph::new(vec![vec![], vec![], vec![0], vec![2, 1]]).unwrap();
        let pos = |v| g.order().iter().position(|&x| x == v).unwrap();
        assert!(pos(0) < pos(2) && pos(2) < pos(3) && pos(1) < pos(3));
        assert_eq!(g.order().len(), 4);
    }

    #[test]
    fn dependents_are_transitive() {
        let g = Graph::new(vec![vec![], vec![], vec![0], vec![2, 1]]).unwrap();
        assert_eq!(g.dependents(&[0]), vec![2, 3]);
        assert_eq!(g.dependents(&[1]), vec![3]);
        assert_eq!(g.dependents(&[3]), Vec::<usize>::new());
        assert_eq!(g.dependencies(3), vec![0, 1, 2]);
    }

    #[test]
    fn cycles_are_returned_as_a_path() {
        assert_eq!(
            Graph::new(vec![vec![1], vec![0]]).unwrap_err(),
            vec![0, 1, 0]
        );
        assert_eq!(Graph::new(vec![vec![0]]).unwrap_err(), vec![0, 0]);
        assert_eq!(
            Graph::new(vec![vec![], vec![2], vec![3], vec![1]]).unwrap_err(),
            vec![1, 2, 3, 1]
        );
    }
}
