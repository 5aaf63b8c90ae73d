import TensorCore

/// Predicted classes of many inputs given as flat rows, evaluated in batches with recording off.
enum BatchedPrediction {
    /// `argmax f(xᵢ)` for the rows of `rows` (each `sampleShape.reduce(1, *)` values long).
    static func classes(_ classifier: Classifier, rows: [Float], sampleShape: [Int], batchSize: Int) -> [Int] {
        precondition(batchSize >= 1, "batchSize must be at least 1")
        let d = sampleShape.reduce(1, *)
        let n = d == 0 ? 0 : rows.count / d
        var out: [Int] = []
        out.reserveCapacity(n)
        var start = 0
        while start < n {
            let end = Swift.min(n, start + batchSize)
            let batch = Tensor(Array(rows[(start * d)..<(end * d)]), shape: [end - start] + sampleShape)
            out += withoutGrad { classifier(batch) }.argmax(axis: -1)
            start = end
        }
        return out
    }

    /// The predicted class of one sample given as a flat row.
    static func classOf(_ classifier: Classifier, _ row: [Float], sampleShape: [Int]) -> Int {
        classes(classifier, rows: row, sampleShape: sampleShape, batchSize: 1)[0]
    }
}

/// Plain-array vector helpers in Double accumulation.
enum FlatVector {
    static func dot(_ a: [Float], _ b: [Float]) -> Double {
        var s: Double = 0
        for i in a.indices { s += Double(a[i]) * Double(b[i]) }
        return s
    }

    static func norm(_ a: [Float]) -> Double { dot(a, a).squareRoot() }

    static func distance(_ a: [Float], _ b: [Float]) -> Double {
        var s: Double = 0
        for i in a.indices { let t = Double(a[i]) - Double(b[i]); s += t * t }
        return s.squareRoot()
    }

    static func clamped(_ a: [Float], to range: ClosedRange<Float>?) -> [Float] {
        guard let r = range else { return a }
        return a.map { Swift.min(Swift.max($0, r.lowerBound), r.upperBound) }
    }
}
