/// Where a benchmark suite puts its results: one JSON object per call, in the order measured
/// (the `lcnn bench` commands print and flush each line as it comes).
public typealias BenchmarkLines = (String) -> Void
