import Testing
import Foundation
import TensorCore
import _TestSupport

/// Forward values of the operations on small hand-checked examples.
@Suite("Operation values")
struct OpValueTests {
    // MARK: creation and access

    @Test("creation helpers, subscripts and item")
    func creation() {
        #expect(Tensor.zeros([2, 3]).scalars == [0, 0, 0, 0, 0, 0])
        #expect(Tensor.ones([2]).scalars == [1, 1])
        #expect(Tensor.full([1, 2], 7).scalars == [7, 7])
        #expect(Tensor.arange(4).scalars == [0, 1, 2, 3])
        #expect(Tensor.arange(1, 2, step: 0.25).scalars == [1, 1.25, 1.5, 1.75])
        let t = Tensor((0..<6).map(Float.init), shape: [2, 3])
        #expect(t[1, 2] == 5 && t[0, 1] == 1)
        #expect(Tensor(3.5).item == 3.5 && Tensor(3.5).shape == [])
        #expect(t.rank == 2 && t.count == 6)
        let c = t.copy()
        #expect(c.scalars == t.scalars && c !== t)
    }

    // MARK: broadcasting arithmetic

    @Test("broadcasting results")
    func broadcasting() {
        let a = Tensor([1, 2, 3, 4, 5, 6], shape: [2, 3])
        #expect((a + Tensor([10, 20, 30])).scalars == [11, 22, 33, 14, 25, 36])
        #expect((Tensor([10, 20, 30]) - a).scalars == [9, 18, 27, 6, 15, 24])
        let col = Tensor([1, 2], shape: [2, 1]), row = Tensor([1, 10, 100], shape: [1, 3])
        let outer = col * row
        #expect(outer.shape == [2, 3])
        #expect(outer.scalars == [1, 10, 100, 2, 20, 200])
        #expect((a * 2).scalars == [2, 4, 6, 8, 10, 12])
        #expect((Tensor(12) / a).scalars == [12, 6, 4, 3, 2.4, 2])
        let x = Tensor((0..<8).map(Float.init), shape: [2, 2, 1, 2])    // [N, C, H, W]
        let perChannel = x + Tensor([100, 200], shape: [1, 2, 1, 1])
        #expect(perChannel.scalars == [100, 101, 202, 203, 104, 105, 206, 207])
        let b3 = Tensor([1, 2, 3], shape: [3, 1, 1]) * Tensor([1, -1], shape: [2, 1])
        #expect(b3.shape == [3, 2, 1])
        #expect(b3.scalars == [1, -1, 2, -2, 3, -3])
        #expect((-a).scalars == [-1, -2, -3, -4, -5, -6])
        #expect(pow(Tensor([2, 3]), Tensor([3, 2])).scalars == [8, 9])
        #expect(pow(Tensor([4, 9]), 0.5).scalars == [2, 3])
        #expect(maximum(Tensor([1, 5]), Tensor([3, 2])).scalars == [3, 5])
        #expect(minimum(Tensor([1, 5]), Tensor([3, 2])).scalars == [1, 2])
        #expect(clamp(Tensor([-2, 0.5, 3]), min: -1, max: 1).scalars == [-1, 0.5, 1])
        // Empty tensors broadcast too.
        #expect((Tensor.zeros([0, 3]) + Tensor([1, 2, 3])).shape == [0, 3])
    }

    @Test("scaledSum is scale·(a + b) on equal shapes, with ∂a = ∂b = scale·g (unequal shapes: ShapeErrorTests)")
    func scaledSumValues() {
        let a = Tensor([1, 2, 3, 4], shape: [2, 2]).requiringGrad()
        let b = Tensor([10, 20, 30, 40], shape: [2, 2]).requiringGrad()
        let y = scaledSum(a, b, scale: 0.5)
        #expect(y.scalars == [5.5, 11, 16.5, 22] && y.shape == [2, 2])
        let g = gradients(of: y, wrt: [a, b], seed: Tensor([1, -2, 4, 8], shape: [2, 2]))
        #expect(g[0].scalars == [0.5, -1, 2, 4] && g[1].scalars == [0.5, -1, 2, 4])
        // A large operand takes the kernel's parallel, vectorised path (and its scalar tail).
        let n = 70_001
        let x = Tensor((0..<n).map { Float($0 % 97) }, shape: [n]), z = Tensor((0..<n).map { Float($0 % 13) }, shape: [n])
        #expect(scaledSum(x, z, scale: 0.25).scalars == zip(x.scalars, z.scalars).map { 0.25 * ($0 + $1) })
    }

    @Test("broadcast gradients are summed back to each operand's shape")
    func broadcastGradientValues() {
        let a = Tensor([1, 2, 3, 4, 5, 6], shape: [2, 3]).requiringGrad()
        let b = Tensor([10, 20, 30]).requiringGrad()
        let s = Tensor(2).requiringGrad()
        let grads = gradients(of: (a * b * s).sum(), wrt: [a, b, s])
        #expect(grads[0].scalars == [20, 40, 60, 20, 40, 60])
        #expect(grads[1].scalars == [10, 14, 18])
        let expectedS: Float = 10 + 40 + 90 + 40 + 100 + 180   // Σ a·b
        #expect(grads[2].shape == [])
        #expect(grads[2].item == expectedS)
    }

    @Test("where, comparisons and masks")
    func whereAndComparisons() {
        let x = Tensor([-1, 0, 2])
        #expect(x.greater(0).scalars == [0, 0, 1])
        #expect(x.greaterEqual(0).scalars == [0, 1, 1])
        #expect(x.less(0).scalars == [1, 0, 0])
        #expect(x.lessEqual(0).scalars == [1, 1, 0])
        #expect(x.equal(0).scalars == [0, 1, 0])
        #expect(`where`(x.greater(0), x, Tensor(-5)).scalars == [-5, -5, 2])
        // Unselected NaN/∞ never leak into the result.
        let bad = Tensor([.nan, .infinity, 1])
        #expect(`where`(Tensor([0, 0, 1]), bad, Tensor([7, 8, 9])).scalars == [7, 8, 1])
        #expect(!Tensor([1, .nan]).isFinite && Tensor([1, 2]).isFinite)
    }

    @Test("elementwise functions on exact points")
    func unaryValues() {
        #expect(relu(Tensor([-1, 0, 2])).scalars == [0, 0, 2])
        #expect(abs(Tensor([-1.5, 2])).scalars == [1.5, 2])
        #expect(sign(Tensor([-3, 0, 4])).scalars == [-1, 0, 1])
        #expect(square(Tensor([-3, 0.5])).scalars == [9, 0.25])
        #expect(reciprocal(Tensor([4, -0.5])).scalars == [0.25, -2])
        #expect(sqrt(Tensor([0, 16])).scalars == [0, 4])
        #expect(sigmoid(Tensor([0])).scalars == [0.5])
        #expect(tanh(Tensor([0])).scalars == [0])
        #expect(exp(Tensor([0])).scalars == [1])
        #expect(log(Tensor([1])).scalars == [0])
        expectClose(scaledSigmoid(Tensor([0, 1]), beta: Tensor(2)).scalars, [0.5, Float(1 / (1 + Foundation.exp(-2.0)))], rtol: 1e-6)
    }

    // MARK: reductions

    @Test("sum, mean, variance and max values over axes")
    func reductions() {
        let x = Tensor((1...24).map(Float.init), shape: [2, 3, 4])
        #expect(x.sum().item == 300)
        #expect(x.sum().shape == [])
        let axis0: [Float] = (0..<12).map { (i: Int) -> Float in Float(2 * i + 14) }
        #expect(x.sum(axes: [0]).scalars == axis0)
        #expect(x.sum(axes: [2]).scalars == [10, 26, 42, 58, 74, 90])
        #expect(x.sum(axes: [0, 2], keepDims: true).shape == [1, 3, 1])
        #expect(x.sum(axes: [0, 2], keepDims: true).scalars == [68, 100, 132])
        #expect(x.sum(axes: [-1, 0]).scalars == [68, 100, 132])
        #expect(x.sum(axes: [1]).scalars == [15, 18, 21, 24, 51, 54, 57, 60])
        #expect(x.sum(axes: []).scalars == x.scalars, "reducing no axes is the identity")
        #expect(x.mean().item == 12.5)
        #expect(x.mean(axes: [1, 2]).scalars == [6.5, 18.5])
        #expect(x.mean(axis: 2, keepDims: true).shape == [2, 3, 1])
        expectClose(x.variance(axes: [2]).scalars, [Float](repeating: 1.25, count: 6))
        expectClose([x.variance().item], [Float((24 * 24 - 1)) / 12], rtol: 1e-6)
        let m = Tensor([3, 1, 4, 1, 5, 9, 2, 6, 5], shape: [3, 3])
        #expect(m.maxValues(axes: [1]).scalars == [4, 9, 6])
        #expect(m.maxValues().item == 9)
        let (values, indices) = m.max(axis: 0)
        #expect(values.scalars == [3, 6, 9] && indices == [0, 2, 1])
        let (rowValues, rowIndices) = m.max(axis: 1, keepDims: true)
        #expect(rowValues.shape == [3, 1] && rowValues.scalars == [4, 9, 6] && rowIndices == [2, 2, 1])
        #expect(m.argmax() == [2, 2, 1])
        #expect(m.argmax(axis: 0) == [0, 2, 1])
        #expect(Tensor([1, 7, 7, 2]).argmax() == [1], "ties pick the first maximum")
        #expect(Tensor([1, 2, 3, 4, 5, 6], shape: [2, 1, 3]).argmax(axis: 2) == [2, 2])
        expectClose([Tensor([3, 4]).norm().item], [5])
        #expect(Tensor([3, 4]).squaredNorm().item == 25)
        expectClose(Tensor([3, 4, 0, 5, 12, 0], shape: [2, 3]).perSampleNorm().scalars, [5, 13])
    }

    @Test("max(axis:) sends the gradient to the first maximum on ties")
    func maxTieGradient() {
        let x = Tensor([2, 5, 5, 1]).requiringGrad()
        #expect(gradients(of: x.max(axis: 0).values, wrt: [x])[0].scalars == [0, 1, 0, 0])
    }

    @Test("logSumExp, softmax and logSoftmax values")
    func softmaxValues() {
        let x = Tensor([1, 2, 3, 0, 0, 0], shape: [2, 3])
        let e = [1.0, 2, 3].map { Foundation.exp($0) }
        let z = e.reduce(0, +)
        expectClose(x.logSumExp(axes: [1]).scalars, [Float(Foundation.log(z)), Float(Foundation.log(3.0))], rtol: 1e-6)
        let third: Float = 1.0 / 3
        let expectedSoftmax: [Float] = e.map { Float($0 / z) } + [third, third, third]
        expectClose(softmax(x).scalars, expectedSoftmax, rtol: 1e-6)
        expectClose(logSoftmax(x).scalars, e.map { Float(Foundation.log($0 / z)) } + [Float](repeating: -Float(Foundation.log(3.0)), count: 3), rtol: 1e-6)
        expectClose(softmax(x, axis: 0).sum(axes: [0]).scalars, [1, 1, 1], rtol: 1e-6)
        #expect(x.logSumExp(axes: [1], keepDims: true).shape == [2, 1])
    }

    @Test("crossEntropy against a hand computation, for each reduction")
    func crossEntropyValues() {
        let logits = Tensor([1, 2, 3, 1, 1, 1, 0, 5, 0], shape: [3, 3])
        let labels = [2, 0, 1]
        let lse = { (r: [Double]) in Foundation.log(r.map { Foundation.exp($0) }.reduce(0, +)) }
        let perSample: [Double] = [lse([1, 2, 3]) - 3, lse([1, 1, 1]) - 1, lse([0, 5, 0]) - 5]
        let none = crossEntropy(logits: logits, labels: labels, reduction: .none)
        #expect(none.shape == [3])
        expectClose(none.scalars, perSample.map(Float.init), rtol: 1e-6)
        expectClose([crossEntropy(logits: logits, labels: labels, reduction: .sum).item], [Float(perSample.reduce(0, +))], rtol: 1e-6)
        let mean = crossEntropy(logits: logits, labels: labels)
        #expect(mean.shape == [])
        expectClose([mean.item], [Float(perSample.reduce(0, +) / 3)], rtol: 1e-6)
        // Gradient of the mean loss: (softmax − onehot)/N.
        let l = logits.copy().requiringGrad()
        let g = gradients(of: crossEntropy(logits: l, labels: labels), wrt: [l])[0].scalars
        let p = softmax(logits).scalars
        let expected: [Float] = (0..<9).map { (i: Int) -> Float in
            let onehot: Float = labels[i / 3] == i % 3 ? 1 : 0
            return (p[i] - onehot) / 3
        }
        expectClose(g, expected, rtol: 1e-5, atol: 1e-7)
    }

    // MARK: shapes

    @Test("reshape with −1 inference, flatten, squeeze, unsqueeze")
    func reshapeValues() {
        let x = Tensor((0..<24).map(Float.init), shape: [2, 3, 4])
        #expect(x.reshaped(to: [6, -1]).shape == [6, 4])
        #expect(x.reshaped(to: [-1, 3, 2]).shape == [4, 3, 2])
        #expect(x.reshaped(to: [-1]).shape == [24])
        #expect(x.reshaped(to: [2, -1, 3]).shape == [2, 4, 3])
        #expect(x.reshaped(to: [4, 6]).scalars == x.scalars)
        #expect(x.flattened().shape == [2, 12])
        #expect(x.flattened(startAxis: 0).shape == [24])
        #expect(x.unsqueezed(axis: 0).shape == [1, 2, 3, 4])
        #expect(x.unsqueezed(axis: -1).shape == [2, 3, 4, 1])
        #expect(Tensor.zeros([1, 3, 1]).squeezed().shape == [3])
        #expect(Tensor.zeros([1, 3, 1]).squeezed(axes: [0]).shape == [3, 1])
        #expect(Tensor(5).reshaped(to: [1, 1]).shape == [1, 1])
        #expect(Tensor([5]).reshaped(to: []).shape == [])
    }

    @Test("permute, transpose and expand values")
    func permuteValues() {
        let x = Tensor((0..<24).map(Float.init), shape: [2, 3, 4])
        let p = x.permuted([2, 0, 1])
        #expect(p.shape == [4, 2, 3])
        for i in 0..<4 { for j in 0..<2 { for k in 0..<3 { #expect(p[i, j, k] == x[j, k, i]) } } }
        let t = Tensor([1, 2, 3, 4, 5, 6], shape: [2, 3]).transposed()
        #expect(t.shape == [3, 2] && t.scalars == [1, 4, 2, 5, 3, 6])
        let t02 = x.transposed(0, 2)
        #expect(t02.shape == [4, 3, 2] && t02[3, 1, 0] == x[0, 1, 3])
        #expect(x.permuted([0, 1, 2]).scalars == x.scalars)
        let e = Tensor([1, 2, 3], shape: [3, 1]).expanded(to: [2, 3, 2])
        #expect(e.scalars == [1, 1, 2, 2, 3, 3, 1, 1, 2, 2, 3, 3])
        #expect(Tensor(4).expanded(to: [2, 2]).scalars == [4, 4, 4, 4])
        #expect(Tensor([1, 2, 3, 4, 5, 6], shape: [2, 3]).sumToShape([1, 3]).scalars == [5, 7, 9])
        #expect(Tensor([1, 2, 3, 4, 5, 6], shape: [2, 3]).sumToShape([]).scalars == [21])
    }

    @Test("slice, place, gather and scatter values")
    func indexingValues() {
        let x = Tensor((0..<24).map(Float.init), shape: [2, 3, 4])
        let s1 = x.sliced(axis: 1, 1..<3)
        #expect(s1.shape == [2, 2, 4])
        let middle: [Float] = (Array(4..<12) + Array(16..<24)).map { Float($0) }
        #expect(s1.scalars == middle)
        #expect(x.sliced(axis: -1, 2..<3).scalars == [2, 6, 10, 14, 18, 22])
        #expect(x.sliced(axis: 0, 1..<2).scalars == Array(12..<24).map(Float.init))
        #expect(x[rows: 0..<1].shape == [1, 3, 4])
        #expect(x.sliced(axis: 1, 1..<1).shape == [2, 0, 4])
        let placed = Tensor([1, 2, 3, 4], shape: [2, 2]).placed(into: [2, 4], axis: 1, at: 1)
        #expect(placed.scalars == [0, 1, 2, 0, 0, 3, 4, 0])
        let rows = Tensor([1, 2, 3, 4, 5, 6], shape: [3, 2]).gatheringRows([2, 0, 2])
        #expect(rows.shape == [3, 2] && rows.scalars == [5, 6, 1, 2, 5, 6])
        let r = Tensor([1, 2, 3, 4, 5, 6], shape: [3, 2]).requiringGrad()
        #expect(gradients(of: r.gatheringRows([2, 0, 2]).sum(), wrt: [r])[0].scalars == [1, 1, 0, 0, 2, 2])
        #expect(Tensor([10, 20, 30]).gathered(flatIndices: [2, 2, 0], shape: [3]).scalars == [30, 30, 10])
        #expect(Tensor([1, 2, 3]).scatterAdded(flatIndices: [1, 1, 3], shape: [2, 2]).scalars == [0, 3, 0, 3])
    }

    @Test("concatenate and stack values")
    func concatenateValues() {
        let a = Tensor([1, 2, 3, 4], shape: [2, 2]), b = Tensor([5, 6], shape: [2, 1])
        let c1 = concatenate([a, b], axis: 1)
        #expect(c1.shape == [2, 3] && c1.scalars == [1, 2, 5, 3, 4, 6])
        let c0 = concatenate([a, Tensor([7, 8], shape: [1, 2])], axis: 0)
        #expect(c0.shape == [3, 2] && c0.scalars == [1, 2, 3, 4, 7, 8])
        #expect(concatenate([a, b], axis: -1).scalars == c1.scalars)
        #expect(concatenate([a]).scalars == a.scalars)
        let s0 = stack([Tensor([1, 2]), Tensor([3, 4])])
        #expect(s0.shape == [2, 2] && s0.scalars == [1, 2, 3, 4])
        let s1 = stack([Tensor([1, 2]), Tensor([3, 4])], axis: 1)
        #expect(s1.shape == [2, 2] && s1.scalars == [1, 3, 2, 4])
        let s2 = stack([a, a * 10], axis: 2)
        #expect(s2.shape == [2, 2, 2] && s2.scalars == [1, 10, 2, 20, 3, 30, 4, 40])
    }

    // MARK: linear algebra

    @Test("matmul values for every transpose combination, batched and 3-D × 2-D")
    func matmulValues() {
        let a = Tensor([1, 2, 3, 4, 5, 6], shape: [2, 3]), b = Tensor([7, 8, 9, 10, 11, 12], shape: [3, 2])
        let ab: [Float] = [58, 64, 139, 154]
        #expect(matmul(a, b).scalars == ab)
        #expect(matmul(a.transposed(), b, transposeA: true).scalars == ab)
        #expect(matmul(a, b.transposed(), transposeB: true).scalars == ab)
        #expect(matmul(a.transposed(), b.transposed(), transposeA: true, transposeB: true).scalars == ab)
        let batchA = stack([a, a * 2]), batchB = stack([b, b * -1])
        let batched = matmul(batchA, batchB)
        #expect(batched.shape == [2, 2, 2] && batched.scalars == ab + ab.map { -2 * $0 })
        let shared = matmul(batchA, b)
        #expect(shared.shape == [2, 2, 2] && shared.scalars == ab + ab.map { 2 * $0 })
        #expect(matmul(batchA, b.transposed(), transposeB: true).scalars == shared.scalars)
    }

    // MARK: pooling

    /// 4×4 hand example.
    static let plane: [Float] = [1, 9, 2, 3,
                                 4, 5, 8, 0,
                                 7, 6, 13, 11,
                                 10, 16, 12, 15]

    @Test("maxPool2d values on a hand example")
    func maxPoolValues() {
        let x = Tensor(Self.plane, shape: [1, 1, 4, 4])
        #expect(x.maxPool2d(kernelSize: 2).scalars == [9, 8, 16, 15])
        #expect(x.maxPool2d(kernelSize: 3, stride: 2, padding: 1).scalars == [9, 9, 16, 16])
        #expect(x.maxPool2d(kernelSize: 3, stride: 1).scalars == [13, 13, 16, 16])
        // Padding never wins, even when every value is negative.
        let negative = Tensor(Self.plane.map { -($0 + 1) }, shape: [1, 1, 4, 4])
        #expect(negative.maxPool2d(kernelSize: 3, stride: 2, padding: 1).scalars == [-2, -1, -5, -1])
        // Two planes (batch and channel) are pooled independently.
        let two = Tensor(Self.plane + Self.plane.map { $0 + 100 }, shape: [2, 1, 4, 4])
        #expect(two.maxPool2d(kernelSize: 2).scalars == [9, 8, 16, 15, 109, 108, 116, 115])
        // The gradient goes to the first maximum of each window.
        let ties = Tensor.ones([1, 1, 2, 2]).requiringGrad()
        #expect(gradients(of: ties.maxPool2d(kernelSize: 2).sum(), wrt: [ties])[0].scalars == [1, 0, 0, 0])
    }

    @Test("2×2 average pooling (SIMD kernel) against window sums, odd sizes included; its adjoint")
    func avgPool2x2Kernel() {
        let (n, c, h, w) = (2, 3, 7, 37)   // 18 output columns: one 16-wide SIMD step and a tail
        let values = (0..<(n * c * h * w)).map { Float(($0 * 7919) % 113) / 17 - 3 }
        let x = Tensor(values, shape: [n, c, h, w]).requiringGrad()
        let y = x.avgPool2d(kernelSize: 2)
        #expect(y.shape == [n, c, h / 2, w / 2])
        var expected: [Float] = []
        for plane in 0..<(n * c) {
            for i in 0..<(h / 2) {
                for j in 0..<(w / 2) {
                    let at = { (r: Int, q: Int) in values[plane * h * w + r * w + q] }
                    expected.append((((at(2 * i, 2 * j) + at(2 * i, 2 * j + 1)) + at(2 * i + 1, 2 * j)) + at(2 * i + 1, 2 * j + 1)) * 0.25)
                }
            }
        }
        #expect(y.scalars == expected)
        // d/dx Σ u·avgPool(x) = u/4 over each window, 0 on the last odd row and column.
        let u = Tensor((0..<y.count).map { Float($0 % 5) - 2 }, shape: y.shape)
        let g = gradients(of: (y * u).sum(), wrt: [x])[0].scalars
        for plane in 0..<(n * c) {
            for r in 0..<h {
                for q in 0..<w {
                    let inside = r < h / 2 * 2 && q < w / 2 * 2
                    let want = inside ? u.scalars[(plane * (h / 2) + r / 2) * (w / 2) + q / 2] * 0.25 : 0
                    #expect(g[plane * h * w + r * w + q] == want)
                }
            }
        }
    }

    @Test("avgPool2d values on a hand example (padding counts in the divisor)")
    func avgPoolValues() {
        let x = Tensor(Self.plane, shape: [1, 1, 4, 4])
        expectClose(x.avgPool2d(kernelSize: 2), [4.75, 3.25, 9.75, 12.75], shape: [1, 1, 2, 2])
        expectClose(x.avgPool2d(kernelSize: 3, stride: 2, padding: 1), [19.0 / 9, 27.0 / 9, 48.0 / 9, 86.0 / 9], shape: [1, 1, 2, 2])
        expectClose(x.adaptiveAvgPool2dTo1x1(), [Self.plane.reduce(0, +) / 16], shape: [1, 1, 1, 1])
        // The adjoint spreads each output gradient evenly over its window.
        let p = x.copy().requiringGrad()
        let g = gradients(of: p.avgPool2d(kernelSize: 3, stride: 2, padding: 1).sum(), wrt: [p])[0].scalars
        let counts: [Float] = [1, 2, 1, 1,  2, 4, 2, 2,  1, 2, 1, 1,  1, 2, 1, 1]
        expectClose(g, counts.map { $0 / 9 })
    }

    // MARK: normalisation

    @Test("batchNorm in evaluation uses the running statistics and leaves them unchanged")
    func batchNormEval() {
        let x = Tensor([1, 2, 3, 4, 5, 6], shape: [3, 2])
        let rm = Tensor([1, -1]), rv = Tensor([4, 0.25])
        let w = Tensor([2, 3]), b = Tensor([0.5, -0.5])
        let y = batchNorm(x, runningMean: rm, runningVar: rv, weight: w, bias: b, training: false)
        let eps = 1e-5
        let expected = (0..<6).map { i -> Float in
            let c = i % 2
            let mean = [1.0, -1][c], variance = [4.0, 0.25][c], weight = [2.0, 3][c], bias = [0.5, -0.5][c]
            return Float((Double(x.scalars[i]) - mean) / (variance + eps).squareRoot() * weight + bias)
        }
        expectClose(y.scalars, expected, rtol: 1e-6)
        #expect(rm.scalars == [1, -1] && rv.scalars == [4, 0.25])
        // Without affine parameters, on NCHW.
        let x4 = Tensor((0..<8).map(Float.init), shape: [1, 2, 2, 2])
        let y4 = batchNorm(x4, runningMean: Tensor([1, 2]), runningVar: Tensor([1, 3]), training: false)
        expectClose(y4.scalars, (0..<8).map { i in
            let c = i / 4
            return Float((Double(i) - [1.0, 2][c]) / ([1.0, 3][c] + 1e-5).squareRoot())
        }, rtol: 1e-6)
    }

    @Test("batchNorm in training normalises with batch statistics and updates the running ones")
    func batchNormTraining() {
        let x = Tensor([1, 10, 2, 20, 3, 30, 4, 40], shape: [4, 2])
        let rm = Tensor([0, 0]), rv = Tensor([1, 1])
        let y = batchNorm(x, runningMean: rm, runningVar: rv, training: true)
        // Channel 0: mean 2.5, biased variance 1.25, unbiased 5/3; channel 1 is ten times larger.
        let expected = [1.0, 2, 3, 4].flatMap { v -> [Float] in
            let n0 = (v - 2.5) / (1.25 + 1e-5).squareRoot(), n1 = (10 * v - 25) / (125 + 1e-5).squareRoot()
            return [Float(n0), Float(n1)]
        }
        expectClose(y.scalars, expected, rtol: 1e-5, atol: 1e-6)
        expectClose(rm.scalars, [0.25, 2.5], rtol: 1e-6)
        expectClose(rv.scalars, [Float(0.9 + 0.1 * 5.0 / 3), Float(0.9 + 0.1 * 500.0 / 3)], rtol: 1e-6)
        // A second step moves them again from the updated values.
        _ = batchNorm(x, runningMean: rm, runningVar: rv, training: true)
        expectClose(rm.scalars, [0.25 * 0.9 + 0.25, 2.5 * 0.9 + 2.5], rtol: 1e-6)
        // Custom momentum, NCHW: statistics over N, H, W (n = 8 per channel).
        let x4 = Tensor((0..<16).map(Float.init), shape: [2, 2, 2, 2])
        let rm4 = Tensor([0, 0]), rv4 = Tensor([0, 0])
        let y4 = batchNorm(x4, runningMean: rm4, runningVar: rv4, training: true, momentum: 0.5)
        let c0: [Double] = [0, 1, 2, 3, 8, 9, 10, 11], c1 = c0.map { $0 + 4 }
        func unbiased(_ v: [Double]) -> Double { let m = v.reduce(0, +) / 8; return v.map { ($0 - m) * ($0 - m) }.reduce(0, +) / 7 }
        expectClose(rm4.scalars, [Float(0.5 * 5.5), Float(0.5 * 9.5)], rtol: 1e-6)
        expectClose(rv4.scalars, [Float(0.5 * unbiased(c0)), Float(0.5 * unbiased(c1))], rtol: 1e-6)
        // Output has zero mean and unit (biased) variance per channel.
        expectClose(y4.mean(axes: [0, 2, 3]).scalars, [0, 0], rtol: 0, atol: 1e-6)
        expectClose(y4.variance(axes: [0, 2, 3]).scalars, [1, 1], rtol: 1e-4)
    }

    @Test("dropout: identity in evaluation and at p = 0; inverted scaling in training")
    func dropoutValues() {
        var g = SeededGenerator(seed: 3)
        let x = Fixtures.normal([1000], seed: 4)
        #expect(dropout(x, probability: 0.5, training: false, generator: &g).scalars == x.scalars)
        #expect(dropout(x, probability: 0, training: true, generator: &g).scalars == x.scalars)
        let ones = Tensor.ones([10_000])
        let y = dropout(ones, probability: 0.25, training: true, generator: &g).scalars
        #expect(y.allSatisfy { $0 == 0 || Swift.abs($0 - 4.0 / 3) < 1e-6 })
        let dropped = Double(y.filter { $0 == 0 }.count) / 10_000
        #expect(Swift.abs(dropped - 0.25) < 0.02, "dropped fraction \(dropped)")
        let mean = y.reduce(0, +) / 10_000
        #expect(Swift.abs(mean - 1) < 0.03)
    }
}
