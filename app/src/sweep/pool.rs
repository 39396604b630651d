//! Runs a sweep's runs on `jobs` threads and hands their results back in run order, as they come.
//!
//! Each run is single-threaded and deterministic, so the results do not depend on `jobs`; only
//! their arrival does, and this puts them back in order. Workers take the next run index from a
//! shared counter; the caller's thread receives `(index, result)` and releases results in index
//! order from a small reorder buffer. A worker that runs ahead by more than [`AHEAD`] runs per
//! job waits, so memory stays bounded by `jobs`, not by the number of runs. (rayon's ordered
//! collect would hold every result until the end; this streams them.)

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex};

/// How many runs per job a worker may finish ahead of the first unreleased one.
const AHEAD: usize = 4;

/// Runs `work(i)` for every `i` in `0..runs` on `jobs` threads and calls `sink(i, result)` on the
/// caller's thread in increasing `i`. `sink` returning `false` stops the sweep: no run starts
/// after that, and the ones under way are discarded.
pub(crate) fn run_ordered<R: Send>(
    jobs: usize,
    runs: usize,
    work: impl Fn(usize) -> R + Sync,
    mut sink: impl FnMut(usize, R) -> bool,
) {
    let jobs = jobs.clamp(1, runs.max(1));
    let next = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    // The first run not yet released to `sink`; workers wait while they are too far ahead of it.
    let released = (Mutex::new(0_usize), Condvar::new());
    let window = jobs * AHEAD;
    std::thread::scope(|scope| {
        let (sender, receiver) = std::sync::mpsc::channel::<(usize, R)>();
        for _ in 0..jobs {
            let sender = sender.clone();
            let (next, stop, released, work) = (&next, &stop, &released, &work);
            scope.spawn(move || {
                loop {
                    let run = next.fetch_add(1, Ordering::Relaxed);
                    if run >= runs || stop.load(Ordering::Relaxed) {
                        return;
                    }
                    {
                        let (lock, wake) = released;
                        let mut first = lock.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                        while run >= *first + window && !stop.load(Ordering::Relaxed) {
                            first = wake.wait(first).unwrap_or_else(std::sync::PoisonError::into_inner);
                        }
                    }
                    if stop.load(Ordering::Relaxed) || sender.send((run, work(run))).is_err() {
                        return;
                    }
                }
            });
        }
        drop(sender);
        let mut waiting = BTreeMap::new();
        let mut first = 0;
        for (run, result) in receiver {
            waiting.insert(run, result);
            while let Some(result) = waiting.remove(&first) {
                let go_on = sink(first, result);
                first += 1;
                if !go_on {
                    stop.store(true, Ordering::Relaxed);
                }
                let (lock, wake) = &released;
                *lock.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = first;
                wake.notify_all();
                if !go_on {
                    return;
                }
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_come_in_run_order_whatever_the_jobs() {
        for jobs in [1, 2, 3, 8] {
            let mut seen = Vec::new();
            // Later runs finish sooner: the reorder buffer must put them back.
            run_ordered(
                jobs,
                40,
                |run| {
                    std::thread::sleep(std::time::Duration::from_micros(((40 - run) * 50) as u64));
                    run * 10
                },
                |run, result| {
                    seen.push((run, result));
                    true
                },
            );
            let expected: Vec<(usize, usize)> = (0..40).map(|run| (run, run * 10)).collect();
            assert_eq!(seen, expected, "jobs = {jobs}");
        }
    }

    #[test]
    fn a_sink_that_says_stop_gets_nothing_more() {
        let started = AtomicUsize::new(0);
        let mut seen = Vec::new();
        run_ordered(
            2,
            1000,
            |run| {
                started.fetch_add(1, Ordering::Relaxed);
                run
            },
            |run, _| {
                seen.push(run);
                run < 3
            },
        );
        assert_eq!(seen, [0, 1, 2, 3]);
        assert!(started.load(Ordering::Relaxed) < 1000, "no run starts after the stop");
    }

    #[test]
    fn no_runs_and_more_jobs_than_runs_are_fine() {
        run_ordered(4, 0, |run| run, |_, _| panic!("no run"));
        let mut seen = Vec::new();
        run_ordered(
            16,
            2,
            |run| run,
            |run, _| {
                seen.push(run);
                true
            },
        );
        assert_eq!(seen, [0, 1]);
    }
}
