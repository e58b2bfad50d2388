//! Shared helpers of the benchmarks (inputs, ratio tables).
