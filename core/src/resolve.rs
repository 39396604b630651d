//! Dependency ordering: a pure function over an abstract graph, so it can be tested on random graphs.

/// Orders nodes `0..n` so that every node comes after all the nodes it depends on.
///
/// `deps[i]` lists the nodes `i` depends on. The order is deterministic: a depth-first post-order
/// visiting roots and dependencies in index order.
///
/// # Errors
/// A cycle, as the path of nodes that closes it, first node repeated at the end (`a -> b -> a`).
pub fn dependency_order(deps: &[Vec<usize>]) -> Result<Vec<usize>, Vec<usize>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        OnPath,
        Done,
    }
    let n = deps.len();
    let mut marks = vec![Mark::New; n];
    let mut order = Vec::with_capacity(n);
    // Iterative DFS: (node, next dependency index to look at).
    let mut stack: Vec<(usize, usize)> = Vec::new();
    for root in 0..n {
        if marks[root] != Mark::New {
            continue;
        }
        marks[root] = Mark::OnPath;
        stack.push((root, 0));
        while let Some(&mut (node, ref mut next)) = stack.last_mut() {
            if let Some(&dep) = deps[node].get(*next) {
                *next += 1;
                match marks[dep] {
                    Mark::Done => {}
                    Mark::OnPath => {
                        let start = stack.iter().position(|(n, _)| *n == dep).unwrap_or(0);
                        let mut cycle: Vec<usize> = stack[start..].iter().map(|(n, _)| *n).collect();
                        cycle.push(dep);
                        return Err(cycle);
                    }
                    Mark::New => {
                        marks[dep] = Mark::OnPath;
                        stack.push((dep, 0));
                    }
                }
            } else {
                marks[node] = Mark::Done;
                order.push(node);
                stack.pop();
            }
        }
    }
    Ok(order)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn dependencies_come_first_and_cycles_are_named() {
        assert_eq!(dependency_order(&[vec![1], vec![2], vec![]]), Ok(vec![2, 1, 0]));
        assert_eq!(dependency_order(&[vec![1], vec![0]]), Err(vec![0, 1, 0]));
        assert_eq!(dependency_order(&[vec![0]]), Err(vec![0, 0]));
        assert_eq!(dependency_order(&[vec![], vec![2], vec![3], vec![1]]), Err(vec![1, 2, 3, 1]));
    }

    /// Random DAGs: edges only go from a higher to a lower index under a random relabelling.
    fn dag() -> impl Strategy<Value = Vec<Vec<usize>>> {
        (1usize..40).prop_flat_map(|n| {
            (
                Just(n),
                proptest::collection::vec(proptest::collection::vec(any::<prop::sample::Index>(), 0..5), n),
                Just((0..n).collect::<Vec<usize>>()).prop_shuffle(),
            )
                .prop_map(|(n, raw, perm)| {
                    let mut deps = vec![Vec::new(); n];
                    for (rank, picks) in raw.iter().enumerate() {
                        for pick in picks {
                            if rank > 0 {
                                let lower = pick.index(rank);
                                deps[perm[rank]].push(perm[lower]);
                            }
                        }
                    }
                    deps
                })
        })
    }

    proptest! {
        #[test]
        fn order_respects_every_edge_of_a_dag(deps in dag()) {
            let order = dependency_order(&deps).unwrap();
            prop_assert_eq!(order.len(), deps.len());
            let mut position = vec![usize::MAX; deps.len()];
            for (at, node) in order.iter().enumerate() {
                prop_assert_eq!(position[*node], usize::MAX, "node listed twice");
                position[*node] = at;
            }
            for (node, node_deps) in deps.iter().enumerate() {
                for dep in node_deps {
                    prop_assert!(position[*dep] < position[node], "{} before its dependency {}", node, dep);
                }
            }
        }

        #[test]
        fn a_cycle_is_always_detected_and_named(deps in dag(), a in any::<prop::sample::Index>(), b in any::<prop::sample::Index>()) {
            // Close a cycle: find any path a ~> b in the DAG is hard, so add the back edge of an existing edge chain:
            // pick node x with a dependency y, then make y depend on x.
            let mut deps = deps;
            let n = deps.len();
            let with_deps: Vec<usize> = (0..n).filter(|i| !deps[*i].is_empty()).collect();
            let (x, y) = if with_deps.is_empty() {
                let x = a.index(n);
                (x, x)
            } else {
                let x = with_deps[a.index(with_deps.len())];
                (x, deps[x][b.index(deps[x].len())])
            };
            deps[y].push(x);
            let cycle = dependency_order(&deps).unwrap_err();
            prop_assert!(cycle.len() >= 2);
            prop_assert_eq!(cycle.first(), cycle.last());
            for pair in cycle.windows(2) {
                prop_assert!(deps[pair[0]].contains(&pair[1]), "{} -> {} is not an edge", pair[0], pair[1]);
            }
        }
    }
}
