//! Shared helpers of the benchmarks: running the implementations of one case side by side and printing their
//! medians with ratios at the end of the run.
//!
//! Criterion measures one implementation after the other; on a shared machine the load changes between them and
//! skews their ratio. So after criterion's own measurement, [`run_case`] runs the implementations in interleaved
//! rounds (A B C A B C ...), each a short batch, and the table gives per implementation the median time per
//! iteration and the median of its per-round ratios to the case's first implementation: a load change hits all
//! implementations of a round alike.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use criterion::Criterion;

/// One implementation of a case: its label and the work of one iteration.
pub type Column<'a> = (&'a str, Box<dyn FnMut() + 'a>);

/// How long each case runs its implementations interleaved after criterion's measurement.
const INTERLEAVED: Duration = Duration::from_millis(1500);
/// Fewest interleaved rounds per case, however long they take (RSA signatures, durable writes).
const MIN_ROUNDS: usize = 30;
/// Target length of one implementation's batch in a round.
const BATCH: Duration = Duration::from_micros(300);

/// A column's label and its seconds-per-iteration, one per interleaved round.
type Rounds = (String, Vec<f64>);

/// Per-round times of every (case, implementation), printed as one table.
#[derive(Default)]
pub struct RatioTable {
    /// Per (order, case): per column position, its rounds.
    rounds: Mutex<BTreeMap<(usize, String), BTreeMap<usize, Rounds>>>,
    /// Per (case, implementation): the bytes one iteration handles, for a throughput column.
    bytes: Mutex<BTreeMap<(String, String), f64>>,
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

impl RatioTable {
    /// Records `total` for `iters` iterations of column `col` of case `row` in one round.
    pub fn add(&self, row: (usize, &str), col: (usize, &str), total: Duration, iters: u64) {
        let mut s = self.rounds.lock().unwrap_or_else(|e| e.into_inner());
        s.entry((row.0, row.1.to_owned()))
            .or_default()
            .entry(col.0)
            .or_insert_with(|| (col.1.to_owned(), Vec::new()))
            .1
            .push(total.as_secs_f64() / iters.max(1) as f64);
    }

    /// Records how many bytes one iteration of `column` in `case` handles on average (the mean size of the
    /// messages it goes round), so that [`RatioTable::print`] adds its throughput.
    pub fn set_bytes(&self, case: &str, column: &str, bytes_per_iteration: f64) {
        self.bytes
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert((case.to_owned(), column.to_owned()), bytes_per_iteration);
    }

    /// Prints one line per (case, implementation): the median time per iteration, the throughput where
    /// [`RatioTable::set_bytes`] gave a size, and the median of the per-round ratios to the case's first
    /// implementation.
    pub fn print(&self) {
        let s = self.rounds.lock().unwrap_or_else(|e| e.into_inner());
        let bytes = self.bytes.lock().unwrap_or_else(|e| e.into_inner());
        // The throughput column only where a bench gives sizes.
        let mbs = |row: &str, name: &str, time: f64| match bytes
            .get(&(row.to_owned(), name.to_owned()))
        {
            Some(b) => format!(" | {:>9.0}", b / time / 1e6),
            None if bytes.is_empty() => String::new(),
            None => format!(" | {:>9}", ""),
        };
        println!(
            "\n{:<40} | {:<44} | {:>10}{} | {:>7}",
            "case",
            "implementation",
            "median",
            if bytes.is_empty() { "" } else { " |      MB/s" },
            "ratio"
        );
        println!("{}", "-".repeat(if bytes.is_empty() { 111 } else { 123 }));
        for ((_, row), cols) in s.iter() {
            let reference = cols.values().next().map(|(_, v)| v.clone());
            for (name, v) in cols.values() {
                let time = median(&mut v.clone());
                let mut ratios: Vec<f64> = reference
                    .iter()
                    .flat_map(|r| v.iter().zip(r).map(|(x, y)| x / y))
                    .collect();
                println!(
                    "{row:<40} | {name:<44} | {:>10}{} | {:>7.3}",
                    human(time),
                    mbs(row, name, time),
                    median(&mut ratios)
                );
            }
        }
        println!(
            "(median time per iteration over interleaved rounds of {} ms batches, {} s and at least {MIN_ROUNDS} \
             rounds per case; ratio = median of the per-round ratios implementation / first implementation)\n",
            BATCH.as_secs_f64() * 1e3,
            INTERLEAVED.as_secs_f64()
        );
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
        format!("{:.1} ns", secs * 1e9)
    }
}

/// A column whose every iteration handles the next item of `items`, going round the set, so that its time per
/// iteration is the mean over the set.
///
/// # Panics
/// When `items` is empty (on its first iteration).
pub fn round_robin<'a, T: 'a>(
    label: &'a str,
    items: &'a [T],
    mut f: impl FnMut(&'a T) + 'a,
) -> Column<'a> {
    let mut i = 0;
    (
        label,
        Box::new(move || {
            f(&items[i]);
            i = if i + 1 == items.len() { 0 } else { i + 1 };
        }),
    )
}

/// Benchmarks the columns of one case as one criterion group (`sample_size` when given), then runs them in
/// interleaved rounds whose times go to `table`; `order` sorts the case in the printed table.
pub fn run_case(
    c: &mut Criterion,
    table: &RatioTable,
    order: usize,
    name: &str,
    sample_size: Option<usize>,
    mut columns: Vec<Column<'_>>,
) {
    let mut group = c.benchmark_group(name);
    if let Some(n) = sample_size {
        group.sample_size(n);
    }
    for (col, op) in &mut columns {
        group.bench_function(*col, |b| b.iter(&mut *op));
    }
    group.finish();
    // `cargo bench` passes `--bench`; under `cargo test --benches` criterion runs each function once as a smoke
    // test, and the rounds (seconds per case) are left out.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }

    // The batch of each column: about BATCH long, from one timed call.
    let batches: Vec<u64> = columns
        .iter_mut()
        .map(|(_, op)| {
            let start = Instant::now();
            op();
            let one = start.elapsed().as_secs_f64().max(1e-9);
            (BATCH.as_secs_f64() / one).clamp(1.0, 1e6) as u64
        })
        .collect();
    let end = Instant::now() + INTERLEAVED;
    let mut rounds = 0;
    while Instant::now() < end || rounds < MIN_ROUNDS {
        rounds += 1;
        for (i, ((col, op), &n)) in columns.iter_mut().zip(&batches).enumerate() {
            let start = Instant::now();
            for _ in 0..n {
                op();
            }
            table.add((order, name), (i, col), start.elapsed(), n);
        }
    }
}

#[path = "../../kms-kmip/tests/vectors/messages.rs"]
mod vector_files;

/// The KMIP messages of the hex vectors in kms-kmip/tests/vectors, as TTLV bytes (see its `messages.rs`).
///
/// # Errors
/// When a vector file cannot be read.
pub fn kmip_vector_messages() -> std::io::Result<Vec<Vec<u8>>> {
    vector_files::vector_messages(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("../kms-kmip/tests/vectors"),
    )
}
