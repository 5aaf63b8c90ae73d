import Testing
@testable import TensorKernels

// The weight gradient of a batch plus one image held elsewhere, scaled
// (Conv2dWeightGradExtraImage.swift): on the Winograd paths the values of the concatenated batch,
// bit for bit at scale 1 and ½ (a power of two commutes with every rounding), on every schedule
// (filter blocks, position split, tile split over several blocks, both tile sizes); on the other
// algorithms and for an empty batch, the double-precision reference of the concatenation.

private func geometry(_ n: Int, _ c: Int, _ h: Int, _ o: Int, kernel: Int = 3, stride: Int = 1,
                      padding: Int = 1) -> Conv2dGeometry {
    Conv2dGeometry(batch: n, inChannels: c, inHeight: h, inWidth: h, outChannels: o, kernelHeight: kernel,
                   kernelWidth: kernel, strideHeight: stride, strideWidth: stride, paddingHeight: padding,
                   paddingWidth: padding)
}

/// A batch of `g`, one more image, and their concatenation (the batch's images first).
private struct AugmentedBatch {
    let g: Conv2dGeometry
    let x: [Float], dy: [Float], extraX: [Float], extraDy: [Float]
    var concatenated: Conv2dGeometry { var c = g; c.batch += 1; return c }
    var xAll: [Float] { x + extraX }
    var dyAll: [Float] { dy + extraDy }

    init(_ g: Conv2dGeometry) {
        self.g = g
        var rng = TestRNG(geometrySeed(g) &+ 17)
        let imageIn = g.inChannels * g.inHeight * g.inWidth, imageOut = g.outChannels * g.outHeight * g.outWidth
        x = rng.array(g.batch * imageIn)
        dy = rng.array(g.batch * imageOut)
        extraX = rng.array(imageIn)
        extraDy = rng.array(imageOut)
    }

    var weightCount: Int { g.outChannels * g.inChannels * g.kernelHeight * g.kernelWidth }

    /// The Winograd weight gradient with the extra image passed separately.
    func winograd(tile: Int, scale: Float) -> [Float] {
        var dw = [Float](repeating: .nan, count: weightCount)
        extraX.withUnsafeBufferPointer { ex in
            extraDy.withUnsafeBufferPointer { ed in
                conv2dBackwardWeightWinograd(g, input: x, gradOutput: dy, gradWeight: &dw, tile: tile,
                                             extraImage: WeightGradExtraImage(input: ex.baseAddress!,
                                                                              gradOutput: ed.baseAddress!),
                                             scale: scale)
            }
        }
        return dw
    }

    /// The public entry point.
    func dispatched(scale: Float) -> [Float] {
        var dw = [Float](repeating: .nan, count: weightCount)
        extraX.withUnsafeBufferPointer { ex in
            extraDy.withUnsafeBufferPointer { ed in
                conv2dBackwardWeight(g, input: x, gradOutput: dy,
                                     extraImage: WeightGradExtraImage(input: ex.baseAddress!, gradOutput: ed.baseAddress!),
                                     scale: scale, gradWeight: &dw)
            }
        }
        return dw
    }

    /// The Winograd weight gradient of the concatenated batch.
    func concatenatedWinograd(tile: Int) -> [Float] {
        var dw = [Float](repeating: .nan, count: weightCount)
        conv2dBackwardWeightWinograd(concatenated, input: xAll, gradOutput: dyAll, gradWeight: &dw, tile: tile)
        return dw
    }

    func reference(scale: Double) -> [Double] {
        referenceConvBackwardWeight(concatenated, xAll, dyAll).map { $0 * scale }
    }
}

@Suite struct Conv2dWeightGradExtraImageTests {
    /// (batch geometry, tile, threads, filter blocks on): filter blocks (36 filters, 16 tiles with
    /// the extra image); the position split (the same shape, filter blocks off); a tile split over
    /// three blocks of 256 tiles with the extra image in the last (one and two threads); F(4×4).
    static let cases: [(Conv2dGeometry, Int, Int, Bool)] = [
        (geometry(3, 24, 4, 36), 2, 2, true),
        (geometry(3, 24, 4, 36), 2, 2, false),
        (geometry(8, 16, 16, 20), 2, 1, true),
        (geometry(8, 16, 16, 20), 2, 2, true),
        (geometry(2, 24, 8, 36), 4, 2, true),
        (geometry(2, 24, 8, 36), 4, 1, false),
    ]

    @Test(arguments: 0..<cases.count)
    func winogradGivesTheConcatenatedBatchValues(_ index: Int) {
        let (g, tile, threads, filterBlocks) = Self.cases[index]
        let batch = AugmentedBatch(g)
        KernelSettings.with({ $0.threads = threads; $0.gemmParallelFlops = 0; $0.tiling = .wide
                              $0.winogradFilterBlocks = filterBlocks }) {
            let plain = batch.concatenatedWinograd(tile: tile)
            #expect(relativeError(plain, batch.reference(scale: 1)) < 1e-5)
            let sameAtOne = batch.winograd(tile: tile, scale: 1) == plain
            let sameAtHalf = batch.winograd(tile: tile, scale: 0.5) == plain.map { $0 * 0.5 }
            #expect(sameAtOne, "scale 1, \(g), tile \(tile), \(threads) threads")
            #expect(sameAtHalf, "scale ½, \(g), tile \(tile), \(threads) threads")
            #expect(relativeError(batch.winograd(tile: tile, scale: 0.3), batch.reference(scale: 0.3)) < 1e-5)
        }
    }

    @Test func dispatchedWinogradLayerTakesTheExtraImageInItsTransforms() {
        // 31 images of 64 channels at 4×4 and the extra one: 128 tiles of 2×2, the Winograd weight
        // gradient (where 31 alone would not be: 124 tiles).
        let batch = AugmentedBatch(geometry(31, 64, 4, 64))
        KernelSettings.with({ $0.threads = 2; $0.gemmParallelFlops = 0; $0.tiling = .wide }) {
            #expect(Conv2dDispatch.weightGradAlgorithm(for: batch.concatenated) == .winograd)
            #expect(Conv2dDispatch.weightGradAlgorithm(for: batch.g) != .winograd)
            let same = batch.dispatched(scale: 0.5) == batch.concatenatedWinograd(tile: 2).map { $0 * 0.5 }
            #expect(same)
            #expect(relativeError(batch.dispatched(scale: 1.7), batch.reference(scale: 1.7)) < 1e-5)
        }
    }

    /// Strided 3×3 (implicit GEMM), 1×1 (columns or implicit GEMM), 3×3 with few channels, an empty batch.
    @Test(arguments: [geometry(3, 8, 7, 5, stride: 2), geometry(2, 6, 5, 16, kernel: 1, padding: 0),
                      geometry(2, 5, 6, 7), geometry(0, 4, 5, 6)])
    func otherAlgorithmsAddTheExtraImageAfterwards(_ g: Conv2dGeometry) {
        let batch = AugmentedBatch(g)
        for threads in [1, 2] {
            KernelSettings.with({ $0.threads = threads; $0.gemmParallelFlops = 0 }) {
                #expect(relativeError(batch.dispatched(scale: -0.8), batch.reference(scale: -0.8)) < 1e-5,
                        "\(g), \(threads) threads")
            }
        }
    }
}
