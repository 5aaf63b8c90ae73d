import LCNNKit
import TensorCore
import Testing

/// SPEC V6: the PCA used for class paths, on a case with known components.
@Suite("Geometry: principal components")
struct GeometryPCATests {
    /// Five samples 3tᵢ·e + sᵢ·f + offset with orthonormal e, f: centred, Σt = Σs = Σts = 0,
    /// so the components are e (scatter 9·Σt² = 90) and f (Σs² = 4).
    static func samples(dimension: Int) -> (samples: [[Float]], t: [Double], s: [Double]) {
        let t: [Double] = [-2, -1, 0, 1, 2], s: [Double] = [1, -1, 0, -1, 1]
        var e = [Double](repeating: 0, count: dimension), f = e
        if dimension == 2 { e = [0.6, 0.8]; f = [-0.8, 0.6] } else { e[0] = 0.6; e[3] = 0.8; f[1] = 1 }
        let samples = (0..<5).map { i in (0..<dimension).map { Float(3 * t[i] * e[$0] + s[i] * f[$0] + 0.25) } }
        return (samples, t, s)
    }

    @Test("known components through the Gram matrix (n ≤ D) and the scatter matrix (D < n)", arguments: [8, 2])
    func knownCase(_ dimension: Int) {
        let (samples, t, s) = Self.samples(dimension: dimension)
        let pca = PrincipalComponents(samples: samples)
        let ratios = pca.explainedVarianceRatio
        #expect(ratios.count == Swift.min(4, dimension))
        #expect(Swift.abs(ratios[0] - 90.0 / 94) < 1e-6 && Swift.abs(ratios[1] - 4.0 / 94) < 1e-6, "\(ratios)")
        #expect(ratios.dropFirst(2).allSatisfy { $0 < 1e-9 })
        #expect(Swift.abs(pca.totalVariance - 94.0 / 5) < 1e-5 && Swift.abs(pca.variances[0] - 18) < 1e-5)
        for i in 0..<5 {
            #expect(Swift.abs(pca.scores[i][0] - 3 * t[i]) < 1e-5, "PC1 is 3t, oriented from first to last sample")
            #expect(Swift.abs(Swift.abs(pca.scores[i][1]) - Swift.abs(s[i])) < 1e-5)
        }
    }

    @Test("subspace iteration agrees with Jacobi on larger Gram matrices")
    func subspaceIterationMatchesJacobi() {
        var g = SeededGenerator(seed: 4)
        // 40 samples in 60 dimensions with decaying scales, so components are well separated.
        let samples: [[Float]] = (0..<40).map { _ in (0..<60).map { j in g.nextNormal() * Float(1.0 / (1.0 + Double(j) * 0.3)) } }
        let exact = PrincipalComponents(samples: samples, components: 5)
        let iterated = PrincipalComponents(samples: samples, components: 5, jacobiLimit: 8)
        #expect(exact.variances.count == 5 && iterated.variances.count == 5)
        for k in 0..<5 {
            #expect(Swift.abs(exact.variances[k] - iterated.variances[k]) < 1e-8 * exact.variances[0], "λ\(k)")
        }
        for i in 0..<40 { for k in 0..<3 { #expect(Swift.abs(exact.scores[i][k] - iterated.scores[i][k]) < 1e-5) } }
        let sum = exact.explainedVarianceRatio.reduce(0, +)
        #expect(sum <= 1 + 1e-9 && sum > 0.3)
        #expect(zip(exact.explainedVarianceRatio, exact.explainedVarianceRatio.dropFirst()).allSatisfy { $0 >= $1 })
    }

    @Test("equal samples have no components")
    func noVariance() {
        let pca = PrincipalComponents(samples: [[1, 2, 3], [1, 2, 3]])
        #expect(pca.explainedVarianceRatio.isEmpty && pca.totalVariance == 0)
    }
}
