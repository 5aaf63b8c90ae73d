import TensorCore

/// SPEC V4: the decision boundary near an input, traced in an `InputPlane` whose u is the
/// adversarial direction and v a random one (study `002` §2.1.1 and its Figure 2, after
/// Moosavi-Dezfooli et al. 2019, who plot boundaries in such planes and read their curvature).
///
/// With c₀ the class predicted at the origin and x(a, b) = origin + a·u + b·v, the boundary
/// point for one b is
///
///     a*(b) = min { a > 0 : argmax f(x(a, b)) ≠ c₀ },
///
/// found by a coarse scan of a = i·maxDistance/scanSteps (i = 0 … scanSteps) and then
/// bisection of the first bracket [a_{i−1}, a_i] (class c₀ at the left end, another class at
/// the right) until it is at most `tolerance` wide; the midpoint of the final bracket is
/// reported. A b is left out when x(0, b) is already outside c₀ or no scanned a up to
/// `maxDistance` leaves c₀. (A crossing narrower than one scan step can be missed; raise
/// `scanSteps` for boundaries with thin features.) All b values are scanned and bisected
/// together, in batches, with recording off. Fit the result with `QuadraticBoundaryFit`.
public struct BoundaryTrace: Sendable {
    /// The boundary points `(b, a*(b))`, in the order of `bValues` (b values without a boundary
    /// within `maxDistance` are left out).
    public static func trace(_ classifier: Classifier, plane: InputPlane, bValues: [Float], maxDistance: Float,
                             scanSteps: Int = 64, tolerance: Float = 1e-4) -> [(b: Double, a: Double)] {
        precondition(maxDistance > 0 && scanSteps >= 1 && tolerance > 0, "BoundaryTrace: maxDistance, scanSteps and tolerance must be positive")
        guard !bValues.isEmpty else { return [] }
        let batch = 256
        let origin = BatchedPrediction.classOf(classifier, plane.originValues, sampleShape: plane.sampleShape)
        func classes(_ coordinates: [(a: Float, b: Float)]) -> [Int] {
            BatchedPrediction.classes(classifier, rows: plane.rows(coordinates), sampleShape: plane.sampleShape, batchSize: batch)
        }

        // Coarse scan: per b, the a values 0, Δ, 2Δ, …, maxDistance.
        let step = maxDistance / Float(scanSteps)
        var brackets: [(index: Int, low: Float, high: Float)] = []
        let scanA = (0...scanSteps).map { $0 == scanSteps ? maxDistance : Float($0) * step }
        let perChunk = Swift.max(1, batch / scanA.count)   // b values scanned per forward pass
        for chunkStart in stride(from: 0, to: bValues.count, by: perChunk) {
            let chunk = chunkStart..<Swift.min(bValues.count, chunkStart + perChunk)
            let scans = classes(chunk.flatMap { i in scanA.map { (a: $0, b: bValues[i]) } })
            for (offset, index) in chunk.enumerated() {
                let scan = scans[(offset * scanA.count)..<((offset + 1) * scanA.count)]
                guard scan.first == origin, let first = scan.firstIndex(where: { $0 != origin }) else { continue }
                let i = first - offset * scanA.count
                brackets.append((index, scanA[i - 1], scanA[i]))
            }
        }

        // Bisection, all brackets at once: class c₀ at `low`, another class at `high`.
        while brackets.contains(where: { $0.high - $0.low > tolerance }) {
            let open = brackets.indices.filter { brackets[$0].high - brackets[$0].low > tolerance }
            let mids = open.map { (brackets[$0].low + brackets[$0].high) / 2 }
            // Stop if Float can no longer split a bracket (tolerance below the spacing of a).
            let splittable = zip(open, mids).filter { brackets[$0.0].low < $0.1 && $0.1 < brackets[$0.0].high }
            if splittable.isEmpty { break }
            let predicted = classes(splittable.map { (a: $0.1, b: bValues[brackets[$0.0].index]) })
            for ((k, mid), c) in zip(splittable, predicted) {
                if c == origin { brackets[k].low = mid } else { brackets[k].high = mid }
            }
        }
        return brackets.map { (b: Double(bValues[$0.index]), a: (Double($0.low) + Double($0.high)) / 2) }
    }
}
