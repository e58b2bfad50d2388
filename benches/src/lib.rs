//! Shared helpers of the benchmarks: running the implementations of one case side by side and printing their
//! medians with ratios at the end of the run.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use criterion::Criterion;

/// One implementation of a case: its label and the work of one iteration.
pub type Column<'a> = (&'a str, Box<dyn FnMut() + 'a>);

/// A column's label and its seconds-per-iteration samples.
type Samples = (String, Vec<f64>);

/// Medians of every (case, implementation) over criterion's samples, printed as one table.
#[derive(Default)]
pub struct RatioTable {
    /// Per (order, case): per column position, its samples.
    samples: Mutex<BTreeMap<(usize, String), BTreeMap<usize, Samples>>>,
}

impl RatioTable {
    /// Records `total` for `iters` iterations of column `col` of case `row`.
    pub fn add(&self, row: (usize, &str), col: (usize, &str), total: Duration, iters: u64) {
        let mut s = self.samples.lock().unwrap_or_else(|e| e.into_inner());
        s.entry((row.0, row.1.to_owned()))
            .or_default()
            .entry(col.0)
            .or_insert_with(|| (col.1.to_owned(), Vec::new()))
            .1
            .push(total.as_secs_f64() / iters.max(1) as f64);
    }

    /// Prints one line per (case, implementation): the median, and its ratio to the case's first implementation.
    pub fn print(&self) {
        let mut s = self.samples.lock().unwrap_or_else(|e| e.into_inner());
        println!(
            "\n{:<40} | {:<44} | {:>10} | {:>7}",
            "case", "implementation", "median", "ratio"
        );
        println!("{}", "-".repeat(111));
        for ((_, row), cols) in s.iter_mut() {
            let mut first = None;
            for (name, v) in cols.values_mut() {
                v.sort_by(f64::total_cmp);
                let Some(&median) = v.get(v.len() / 2) else {
                    continue;
                };
                let reference = *first.get_or_insert(median);
                println!(
                    "{row:<40} | {name:<44} | {:>10} | {:>7.3}",
                    human(median),
                    median / reference
                );
            }
        }
        println!("(ratio = implementation / first implementation of the case)\n");
    }
}

/// Seconds as ns, µs or ms.
#[must_use]
pub fn human(secs: f64) -> String {
    if secs >= 1e-3 {
        format!("{:.3} ms", secs * 1e3)
    } else if secs >= 1e-6 {
        format!("{:.2} µs", secs * 1e6)
    } else {
        format!("{:.0} ns", secs * 1e9)
    }
}

/// Benchmarks the columns of one case as one criterion group (`sample_size` when given) and records every
/// sample in `table`; `order` sorts the case in the printed table.
pub fn run_case(
    c: &mut Criterion,
    table: &RatioTable,
    order: usize,
    name: &str,
    sample_size: Option<usize>,
    columns: Vec<Column<'_>>,
) {
    let mut group = c.benchmark_group(name);
    if let Some(n) = sample_size {
        group.sample_size(n);
    }
    for (i, (col, mut op)) in columns.into_iter().enumerate() {
        group.bench_function(col, |b| {
            b.iter_custom(|iters| {
                let start = Instant::now();
                for _ in 0..iters {
                    op();
                }
                let elapsed = start.elapsed();
                table.add((order, name), (i, col), elapsed, iters);
                elapsed
            });
        });
    }
    group.finish();
}
