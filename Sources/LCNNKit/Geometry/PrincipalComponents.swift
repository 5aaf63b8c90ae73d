import TensorCore

/// Principal component analysis of a small set of samples (SPEC V6: the study `002` §2.2 plots
/// a class path on its first principal components, Figures 5 and 7, and the ratios of variance
/// explained by the first 10 components, Figure 6).
///
/// With n samples xᵢ ∈ ℝᴰ centred, X = [xᵢ − x̄] (n × D), the component variances are the
/// eigenvalues λ₁ ≥ λ₂ ≥ … of the scatter XᵀX (divided by n), and the explained-variance ratio
/// of component k is λₖ / Σⱼλⱼ = λₖ / trace(XᵀX) = λₖ / Σᵢ‖xᵢ − x̄‖². The eigenproblem is solved
/// on the smaller of the two matrices with the same non-zero eigenvalues, in Double:
///
/// - n ≤ D (a path of images): the Gram matrix G = XXᵀ (n × n). With G = UΛUᵀ, the scores
///   (coordinates of the samples on the components) are XV = UΛ^{1/2}.
/// - D < n (2-D points): the scatter C = XᵀX (D × D). With C = VΛVᵀ, the scores are XV.
///
/// The symmetric eigenproblem is solved by cyclic Jacobi rotations when the matrix has at most
/// `jacobiLimit` rows (exact, all eigenvalues), and otherwise by subspace iteration with
/// Rayleigh–Ritz for the leading components only (the ratio denominator is the trace, so it
/// needs no other eigenvalue). Each component's sign is chosen so that the last sample's score
/// is at least the first's (progress along a path is positive).
public struct PrincipalComponents: Sendable, Equatable {
    /// λₖ/n for the leading components (at most `components`, n − 1 and D of them), largest first.
    public let variances: [Double]
    /// Σᵢ‖xᵢ − x̄‖²/n, the total variance.
    public let totalVariance: Double
    /// `scores[i][k]`: sample i's coordinate on component k (as many as `variances`).
    public let scores: [[Double]]

    /// λₖ / Σⱼλⱼ per leading component, largest first, each in [0, 1], summing to ≤ 1; empty when
    /// all samples are equal.
    public var explainedVarianceRatio: [Double] {
        totalVariance > 0 ? variances.map { Swift.min(1, Swift.max(0, $0 / totalVariance)) } : []
    }

    /// The PCA of `samples` (each a flattened sample, all of the same length), keeping the
    /// leading `components` components.
    public init(samples: [[Float]], components: Int = 10, jacobiLimit: Int = 512) {
        precondition(components >= 0, "PrincipalComponents: components must be non-negative")
        let n = samples.count, d = samples.first?.count ?? 0
        precondition(samples.allSatisfy { $0.count == d }, "PrincipalComponents: samples of different lengths")
        var mean = [Double](repeating: 0, count: d)
        for s in samples { for j in 0..<d { mean[j] += Double(s[j]) } }
        for j in 0..<d { mean[j] /= Double(Swift.max(n, 1)) }
        let x: [[Double]] = samples.map { s in (0..<d).map { Double(s[$0]) - mean[$0] } }
        var total: Double = 0
        for row in x { for v in row { total += v * v } }
        let k = Swift.max(0, Swift.min(components, n - 1, d))
        guard k > 0, total > 0 else {
            variances = []; totalVariance = 0; scores = Array(repeating: [], count: n)
            return
        }

        let useGram = n <= d
        let m = useGram ? n : d
        var a = [Double](repeating: 0, count: m * m)
        if useGram {
            for i in 0..<n {
                for j in i..<n {
                    var s: Double = 0
                    for t in 0..<d { s += x[i][t] * x[j][t] }
                    a[i * m + j] = s; a[j * m + i] = s
                }
            }
        } else {
            for row in x {
                for i in 0..<d where row[i] != 0 { for j in i..<d { a[i * m + j] += row[i] * row[j] } }
            }
            for i in 0..<d { for j in 0..<i { a[i * m + j] = a[j * m + i] } }
        }
        let (values, vectors) = m <= jacobiLimit
            ? SymmetricEigen.jacobi(a, size: m, keep: k)
            : SymmetricEigen.subspaceIteration(a, size: m, keep: k)

        var score = [[Double]](repeating: [Double](repeating: 0, count: k), count: n)
        for c in 0..<k {
            let lambda = Swift.max(0, values[c])
            for i in 0..<n {
                if useGram {
                    score[i][c] = vectors[c][i] * lambda.squareRoot()
                } else {
                    var s: Double = 0
                    for t in 0..<d { s += x[i][t] * vectors[c][t] }
                    score[i][c] = s
                }
            }
            // Sign: the last sample's score ≥ the first's; if equal, the largest |score| positive.
            let diff = score[n - 1][c] - score[0][c]
            let largest = score.map { $0[c] }.max { Swift.abs($0) < Swift.abs($1) } ?? 0
            let scale = Swift.abs(largest)
            if diff < -1e-12 * scale || (Swift.abs(diff) <= 1e-12 * scale && largest < 0) {
                for i in 0..<n { score[i][c] = -score[i][c] }
            }
        }
        variances = values.prefix(k).map { Swift.max(0, $0) / Double(n) }
        totalVariance = total / Double(n)
        scores = score
    }
}

/// Eigenvalues and eigenvectors of a real symmetric matrix (row-major, size × size), in Double.
enum SymmetricEigen {
    /// All eigenpairs by cyclic Jacobi rotations; returns the `keep` largest, largest first
    /// (`vectors[c]` is the unit eigenvector of `values[c]`).
    static func jacobi(_ matrix: [Double], size m: Int, keep: Int) -> (values: [Double], vectors: [[Double]]) {
        var a = matrix
        var v = [Double](repeating: 0, count: m * m)
        for i in 0..<m { v[i * m + i] = 1 }
        var frobenius: Double = 0
        for e in a { frobenius += e * e }
        for _ in 0..<100 {
            var off: Double = 0
            for p in 0..<m { for q in (p + 1)..<Swift.max(p + 1, m) { off += a[p * m + q] * a[p * m + q] } }
            if off <= 1e-30 * frobenius { break }
            for p in 0..<(m - 1) {
                for q in (p + 1)..<m {
                    let apq = a[p * m + q]
                    if apq == 0 { continue }
                    let theta = (a[q * m + q] - a[p * m + p]) / (2 * apq)
                    let t = (theta >= 0 ? 1.0 : -1.0) / (Swift.abs(theta) + (theta * theta + 1).squareRoot())
                    let c = 1 / (t * t + 1).squareRoot(), s = t * c
                    for k in 0..<m {   // columns p, q of A·J
                        let akp = a[k * m + p], akq = a[k * m + q]
                        a[k * m + p] = c * akp - s * akq
                        a[k * m + q] = s * akp + c * akq
                    }
                    for k in 0..<m {   // rows p, q of Jᵀ·(A·J)
                        let apk = a[p * m + k], aqk = a[q * m + k]
                        a[p * m + k] = c * apk - s * aqk
                        a[q * m + k] = s * apk + c * aqk
                    }
                    a[p * m + q] = 0; a[q * m + p] = 0
                    for k in 0..<m {   // V·J
                        let vkp = v[k * m + p], vkq = v[k * m + q]
                        v[k * m + p] = c * vkp - s * vkq
                        v[k * m + q] = s * vkp + c * vkq
                    }
                }
            }
        }
        let order = (0..<m).sorted { a[$0 * m + $0] > a[$1 * m + $1] }.prefix(keep)
        return (order.map { a[$0 * m + $0] }, order.map { c in (0..<m).map { v[$0 * m + c] } })
    }

    /// The `keep` largest eigenpairs of a positive semi-definite matrix by subspace iteration
    /// (keep + 8 vectors, seeded start) with a Rayleigh–Ritz step (Jacobi on the small projected
    /// matrix) each iteration, until the kept eigenvalues change by less than 10⁻¹² relatively.
    static func subspaceIteration(_ matrix: [Double], size m: Int, keep: Int, maxIterations: Int = 300) -> (values: [Double], vectors: [[Double]]) {
        let p = Swift.min(m, keep + 8)
        var generator = SeededGenerator(seed: 0x5043_41)
        var q: [[Double]] = (0..<p).map { _ in (0..<m).map { _ in Double(generator.nextNormal()) } }
        orthonormalize(&q)
        var previous = [Double](repeating: .infinity, count: keep)
        var values = [Double](repeating: 0, count: keep)
        for _ in 0..<maxIterations {
            var z = q.map { multiply(matrix, m, $0) }   // A·Q
            orthonormalize(&z)
            let az = z.map { multiply(matrix, m, $0) }
            var t = [Double](repeating: 0, count: p * p)
            for i in 0..<p { for j in 0..<p { t[i * p + j] = dot(z[i], az[j]) } }
            for i in 0..<p { for j in 0..<i { let s = (t[i * p + j] + t[j * p + i]) / 2; t[i * p + j] = s; t[j * p + i] = s } }
            let (ritz, w) = jacobi(t, size: p, keep: p)
            q = w.map { coefficients in
                var out = [Double](repeating: 0, count: m)
                for (j, c) in coefficients.enumerated() where c != 0 { for r in 0..<m { out[r] += c * z[j][r] } }
                return out
            }
            values = Array(ritz.prefix(keep))
            let scale = Swift.max(values.first ?? 0, 1e-300)
            if zip(values, previous).allSatisfy({ Swift.abs($0 - $1) <= 1e-12 * scale }) { break }
            previous = values
        }
        return (values, Array(q.prefix(keep)))
    }

    static func multiply(_ a: [Double], _ m: Int, _ x: [Double]) -> [Double] {
        (0..<m).map { i in
            var s: Double = 0
            for j in 0..<m { s += a[i * m + j] * x[j] }
            return s
        }
    }

    static func dot(_ a: [Double], _ b: [Double]) -> Double {
        var s: Double = 0
        for i in a.indices { s += a[i] * b[i] }
        return s
    }

    /// Modified Gram–Schmidt (twice); a vector that vanishes is replaced by a unit basis vector
    /// orthogonalised in turn.
    static func orthonormalize(_ vectors: inout [[Double]]) {
        let m = vectors.first?.count ?? 0
        for i in vectors.indices {
            var candidate = vectors[i]
            var attempt = 0
            while true {
                let original = dot(candidate, candidate).squareRoot()
                for _ in 0..<2 {
                    for j in 0..<i {
                        let c = dot(candidate, vectors[j])
                        for r in 0..<m { candidate[r] -= c * vectors[j][r] }
                    }
                }
                let norm = dot(candidate, candidate).squareRoot()
                if norm > 1e-10 * original || attempt >= m { vectors[i] = candidate.map { norm > 0 ? $0 / norm : 0 }; break }
                candidate = (0..<m).map { $0 == (i + attempt) % m ? 1 : 0 }
                attempt += 1
            }
        }
    }
}
