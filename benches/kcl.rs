//! (being written) The KCL group benchmark.

fn main() {}
