import Testing
@testable import TensorKernels

// The convolution dispatch table pinned: the algorithm each pass ran for every geometry below was
// recorded from the code before the table existed (the old inline rules of `conv2dForward`,
// `conv2dBackwardInput` and `conv2dBackwardWeight`, instrumented to report their branch), with
// the Winograd switch on. A change of any rule that moves one of these geometries fails here.
// Deliberate moves since then are marked on their rows: issue 17 (2026-12-07) sends weight
// gradients with at most 16 taps (C·KH·KW) and at least 16 output channels to the column GEMMs;
// its fifth session sends forward and backward-input passes of at most 32 output pixels per call,
// and strided backward-input passes of at most 256, to the column GEMMs (rows marked "few pixels").
// The rows hold the choices under the wide (AVX-512) GEMM tiling; since issue 17's fourth session
// the Winograd bounds depend on the tiling, and the rows that move under the narrow (AVX2) tiling
// are listed in `narrowTilingMoves`. Both tables are checked with their tiling set explicitly, so
// the test means the same on every machine. Issue 17's seventh session re-measured the wide
// tiling's Winograd bounds on an AVX-512 machine (rows marked "7th"): both tilings now take
// Winograd from 64 tiles, the wide weight gradient from 128. Its eighth session added Winograd
// F(4×4, 3×3) for every pass with at least 64 tiles of 4×4 and aligned tile rows (rows marked
// "8th", in both tilings); its ninth session lets F(4×4) take layers from 32 channels in and out
// with tile rows of any width (rows marked "9th": the SmallCNN's second convolution, ResNet-18
// on 28×28 inputs; measured 0.56–1.00× the implicit GEMM's time, `lcnn bench kernels`).

private func g(_ n: Int, _ c: Int, _ h: Int, _ w: Int, _ o: Int, _ kh: Int, _ kw: Int, _ sh: Int, _ sw: Int,
               _ ph: Int, _ pw: Int) -> Conv2dGeometry {
    Conv2dGeometry(batch: n, inChannels: c, inHeight: h, inWidth: w, outChannels: o, kernelHeight: kh, kernelWidth: kw,
                   strideHeight: sh, strideWidth: sw, paddingHeight: ph, paddingWidth: pw)
}

/// (label, geometry, forward, backward-input, weight gradient): `lcnn bench kernels`' shapes,
/// SmallCNN and ResNet-18 on 1×28×28 and 3×32×32 inputs at batch 1, 32 and 128, odd shapes and
/// both sides of every threshold.
private let pinned: [(String, Conv2dGeometry, Conv2dAlgorithm, Conv2dAlgorithm, Conv2dAlgorithm)] = [
        ("bench smallcnn_conv1_1to32_3x3", g(128, 1, 28, 28, 32, 3, 3, 1, 1, 0, 0), .implicitGEMM, .columns, .columns),  // issue 17: columns weight gradient
        ("bench smallcnn_conv2_32to64_3x3", g(128, 32, 26, 26, 64, 3, 3, 1, 1, 0, 0), .winogradLargeTiles, .winogradLargeTiles, .winogradLargeTiles),  // issue 17 (9th): F(4×4) from 32 channels, any tile-row width
        ("bench resnet_3to64_3x3_32", g(32, 3, 32, 32, 64, 3, 3, 1, 1, 1, 1), .implicitGEMM, .smallChannels, .implicitGEMM),
        ("bench resnet_64to64_3x3_32", g(32, 64, 32, 32, 64, 3, 3, 1, 1, 1, 1), .winogradLargeTiles, .winogradLargeTiles, .winogradLargeTiles),  // issue 17 (8th): F(4×4, 3×3) from 64 tiles of 4×4
        ("bench resnet_64to128_3x3_s2", g(32, 64, 32, 32, 128, 3, 3, 2, 2, 1, 1), .implicitGEMM, .implicitGEMM, .implicitGEMM),
        ("bench resnet_128to128_3x3_16", g(32, 128, 16, 16, 128, 3, 3, 1, 1, 1, 1), .winogradLargeTiles, .winogradLargeTiles, .winogradLargeTiles),  // issue 17 (8th): F(4×4, 3×3) from 64 tiles of 4×4
        ("bench resnet_64to128_1x1_s2", g(32, 64, 32, 32, 128, 1, 1, 2, 2, 0, 0), .implicitGEMM, .columns, .implicitGEMM),
        ("bench resnet_128to256_3x3_s2", g(32, 128, 16, 16, 256, 3, 3, 2, 2, 1, 1), .implicitGEMM, .implicitGEMM, .implicitGEMM),
        ("bench resnet_256to256_3x3_8", g(32, 256, 8, 8, 256, 3, 3, 1, 1, 1, 1), .winogradLargeTiles, .winogradLargeTiles, .winogradLargeTiles),  // issue 17 (8th): F(4×4, 3×3) from 64 tiles of 4×4
        ("bench resnet_128to256_1x1_s2", g(32, 128, 16, 16, 256, 1, 1, 2, 2, 0, 0), .implicitGEMM, .columns, .implicitGEMM),
        ("bench resnet_256to512_3x3_s2", g(32, 256, 8, 8, 512, 3, 3, 2, 2, 1, 1), .implicitGEMM, .implicitGEMM, .implicitGEMM),
        ("bench resnet_512to512_3x3_4", g(32, 512, 4, 4, 512, 3, 3, 1, 1, 1, 1), .winograd, .winograd, .winograd),  // issue 17 (7th): Winograd bounds measured on AVX-512
        ("bench resnet_256to512_1x1_s2", g(32, 256, 8, 8, 512, 1, 1, 2, 2, 0, 0), .implicitGEMM, .columns, .implicitGEMM),
        ("bench resnet_64to64_3x3_32_b1", g(1, 64, 32, 32, 64, 3, 3, 1, 1, 1, 1), .winogradLargeTiles, .winogradLargeTiles, .winogradLargeTiles),  // issue 17 (8th): F(4×4, 3×3) from 64 tiles of 4×4
        ("bench resnet_128to128_3x3_16_b1", g(1, 128, 16, 16, 128, 3, 3, 1, 1, 1, 1), .winograd, .winograd, .implicitGEMM),  // issue 17 (7th): Winograd bounds measured on AVX-512
        ("bench resnet_256to256_3x3_8_b1", g(1, 256, 8, 8, 256, 3, 3, 1, 1, 1, 1), .implicitGEMM, .implicitGEMM, .implicitGEMM),
        ("bench resnet_512to512_3x3_4_b1", g(1, 512, 4, 4, 512, 3, 3, 1, 1, 1, 1), .columns, .columns, .implicitGEMM),  // issue 17: few pixels → columns
        ("SmallCNN 28 conv1 n1", g(1, 1, 28, 28, 32, 3, 3, 1, 1, 0, 0), .implicitGEMM, .columns, .columns),  // issue 17: columns weight gradient
        ("SmallCNN 28 conv2 n1", g(1, 32, 26, 26, 64, 3, 3, 1, 1, 0, 0), .implicitGEMM, .columns, .implicitGEMM),
        ("SmallCNN 32 conv1 n1", g(1, 3, 32, 32, 32, 3, 3, 1, 1, 0, 0), .implicitGEMM, .smallChannels, .implicitGEMM),
        ("SmallCNN 32 conv2 n1", g(1, 32, 30, 30, 64, 3, 3, 1, 1, 0, 0), .implicitGEMM, .columns, .implicitGEMM),
        ("SmallCNN 28 conv1 n32", g(32, 1, 28, 28, 32, 3, 3, 1, 1, 0, 0), .implicitGEMM, .columns, .columns),  // issue 17: columns weight gradient
        ("SmallCNN 28 conv2 n32", g(32, 32, 26, 26, 64, 3, 3, 1, 1, 0, 0), .winogradLargeTiles, .winogradLargeTiles, .winogradLargeTiles),  // issue 17 (9th): F(4×4) from 32 channels, any tile-row width
        ("SmallCNN 32 conv1 n32", g(32, 3, 32, 32, 32, 3, 3, 1, 1, 0, 0), .implicitGEMM, .smallChannels, .implicitGEMM),
        ("SmallCNN 32 conv2 n32", g(32, 32, 30, 30, 64, 3, 3, 1, 1, 0, 0), .winogradLargeTiles, .winogradLargeTiles, .winogradLargeTiles),  // issue 17 (9th): F(4×4) from 32 channels, any tile-row width
        ("SmallCNN 28 conv1 n128", g(128, 1, 28, 28, 32, 3, 3, 1, 1, 0, 0), .implicitGEMM, .columns, .columns),  // issue 17: columns weight gradient
        ("SmallCNN 28 conv2 n128", g(128, 32, 26, 26, 64, 3, 3, 1, 1, 0, 0), .winogradLargeTiles, .winogradLargeTiles, .winogradLargeTiles),  // issue 17 (9th): F(4×4) from 32 channels, any tile-row width
        ("SmallCNN 32 conv1 n128", g(128, 3, 32, 32, 32, 3, 3, 1, 1, 0, 0), .implicitGEMM, .smallChannels, .implicitGEMM),
        ("SmallCNN 32 conv2 n128", g(128, 32, 30, 30, 64, 3, 3, 1, 1, 0, 0), .winogradLargeTiles, .winogradLargeTiles, .winogradLargeTiles),  // issue 17 (9th): F(4×4) from 32 channels, any tile-row width
        ("ResNet-18 32 stem n1", g(1, 3, 32, 32, 64, 3, 3, 1, 1, 1, 1), .implicitGEMM, .smallChannels, .implicitGEMM),
        ("ResNet-18 32 64to64 3x3 at 32 n1", g(1, 64, 32, 32, 64, 3, 3, 1, 1, 1, 1), .winogradLargeTiles, .winogradLargeTiles, .winogradLargeTiles),  // issue 17 (8th): F(4×4, 3×3) from 64 tiles of 4×4
        ("ResNet-18 32 64to128 3x3 s2 n1", g(1, 64, 32, 32, 128, 3, 3, 2, 2, 1, 1), .implicitGEMM, .columns, .implicitGEMM),  // issue 17: few pixels → columns
        ("ResNet-18 32 128to128 3x3 at 16 n1", g(1, 128, 16, 16, 128, 3, 3, 1, 1, 1, 1), .winograd, .winograd, .implicitGEMM),  // issue 17 (7th): Winograd bounds measured on AVX-512
        ("ResNet-18 32 64to128 1x1 s2 n1", g(1, 64, 32, 32, 128, 1, 1, 2, 2, 0, 0), .implicitGEMM, .columns, .implicitGEMM),
        ("ResNet-18 32 128to256 3x3 s2 n1", g(1, 128, 16, 16, 256, 3, 3, 2, 2, 1, 1), .implicitGEMM, .columns, .implicitGEMM),  // issue 17: few pixels → columns
        ("ResNet-18 32 256to256 3x3 at 8 n1", g(1, 256, 8, 8, 256, 3, 3, 1, 1, 1, 1), .implicitGEMM, .implicitGEMM, .implicitGEMM),
        ("ResNet-18 32 128to256 1x1 s2 n1", g(1, 128, 16, 16, 256, 1, 1, 2, 2, 0, 0), .implicitGEMM, .columns, .implicitGEMM),
        ("ResNet-18 32 256to512 3x3 s2 n1", g(1, 256, 8, 8, 512, 3, 3, 2, 2, 1, 1), .columns, .columns, .implicitGEMM),  // issue 17: few pixels → columns
        ("ResNet-18 32 512to512 3x3 at 4 n1", g(1, 512, 4, 4, 512, 3, 3, 1, 1, 1, 1), .columns, .columns, .implicitGEMM),  // issue 17: few pixels → columns
        ("ResNet-18 32 256to512 1x1 s2 n1", g(1, 256, 8, 8, 512, 1, 1, 2, 2, 0, 0), .columns, .columns, .implicitGEMM),  // issue 17: few pixels → columns
        ("ResNet-18 32 stem n32", g(32, 3, 32, 32, 64, 3, 3, 1, 1, 1, 1), .implicitGEMM, .smallChannels, .implicitGEMM),
        ("ResNet-18 32 64to64 3x3 at 32 n32", g(32, 64, 32, 32, 64, 3, 3, 1, 1, 1, 1), .winogradLargeTiles, .winogradLargeTiles, .winogradLargeTiles),  // issue 17 (8th): F(4×4, 3×3) from 64 tiles of 4×4
        ("ResNet-18 32 64to128 3x3 s2 n32", g(32, 64, 32, 32, 128, 3, 3, 2, 2, 1, 1), .implicitGEMM, .implicitGEMM, .implicitGEMM),
        ("ResNet-18 32 128to128 3x3 at 16 n32", g(32, 128, 16, 16, 128, 3, 3, 1, 1, 1, 1), .winogradLargeTiles, .winogradLargeTiles, .winogradLargeTiles),  // issue 17 (8th): F(4×4, 3×3) from 64 tiles of 4×4
        ("ResNet-18 32 64to128 1x1 s2 n32", g(32, 64, 32, 32, 128, 1, 1, 2, 2, 0, 0), .implicitGEMM, .columns, .implicitGEMM),
        ("ResNet-18 32 128to256 3x3 s2 n32", g(32, 128, 16, 16, 256, 3, 3, 2, 2, 1, 1), .implicitGEMM, .implicitGEMM, .implicitGEMM),
        ("ResNet-18 32 256to256 3x3 at 8 n32", g(32, 256, 8, 8, 256, 3, 3, 1, 1, 1, 1), .winogradLargeTiles, .winogradLargeTiles, .winogradLargeTiles),  // issue 17 (8th): F(4×4, 3×3) from 64 tiles of 4×4
        ("ResNet-18 32 128to256 1x1 s2 n32", g(32, 128, 16, 16, 256, 1, 1, 2, 2, 0, 0), .implicitGEMM, .columns, .implicitGEMM),
        ("ResNet-18 32 256to512 3x3 s2 n32", g(32, 256, 8, 8, 512, 3, 3, 2, 2, 1, 1), .implicitGEMM, .implicitGEMM, .implicitGEMM),
        ("ResNet-18 32 512to512 3x3 at 4 n32", g(32, 512, 4, 4, 512, 3, 3, 1, 1, 1, 1), .winograd, .winograd, .winograd),  // issue 17 (7th): Winograd bounds measured on AVX-512
        ("ResNet-18 32 256to512 1x1 s2 n32", g(32, 256, 8, 8, 512, 1, 1, 2, 2, 0, 0), .implicitGEMM, .columns, .implicitGEMM),
        ("ResNet-18 32 stem n128", g(128, 3, 32, 32, 64, 3, 3, 1, 1, 1, 1), .implicitGEMM, .smallChannels, .implicitGEMM),
        ("ResNet-18 32 64to64 3x3 at 32 n128", g(128, 64, 32, 32, 64, 3, 3, 1, 1, 1, 1), .winogradLargeTiles, .winogradLargeTiles, .winogradLargeTiles),  // issue 17 (8th): F(4×4, 3×3) from 64 tiles of 4×4
        ("ResNet-18 32 64to128 3x3 s2 n128", g(128, 64, 32, 32, 128, 3, 3, 2, 2, 1, 1), .implicitGEMM, .implicitGEMM, .implicitGEMM),
        ("ResNet-18 32 128to128 3x3 at 16 n128", g(128, 128, 16, 16, 128, 3, 3, 1, 1, 1, 1), .winogradLargeTiles, .winogradLargeTiles, .winogradLargeTiles),  // issue 17 (8th): F(4×4, 3×3) from 64 tiles of 4×4
        ("ResNet-18 32 64to128 1x1 s2 n128", g(128, 64, 32, 32, 128, 1, 1, 2, 2, 0, 0), .implicitGEMM, .columns, .implicitGEMM),
        ("ResNet-18 32 128to256 3x3 s2 n128", g(128, 128, 16, 16, 256, 3, 3, 2, 2, 1, 1), .implicitGEMM, .implicitGEMM, .implicitGEMM),
        ("ResNet-18 32 256to256 3x3 at 8 n128", g(128, 256, 8, 8, 256, 3, 3, 1, 1, 1, 1), .winogradLargeTiles, .winogradLargeTiles, .winogradLargeTiles),  // issue 17 (8th): F(4×4, 3×3) from 64 tiles of 4×4
        ("ResNet-18 32 128to256 1x1 s2 n128", g(128, 128, 16, 16, 256, 1, 1, 2, 2, 0, 0), .implicitGEMM, .columns, .implicitGEMM),
        ("ResNet-18 32 256to512 3x3 s2 n128", g(128, 256, 8, 8, 512, 3, 3, 2, 2, 1, 1), .implicitGEMM, .implicitGEMM, .implicitGEMM),
        ("ResNet-18 32 512to512 3x3 at 4 n128", g(128, 512, 4, 4, 512, 3, 3, 1, 1, 1, 1), .winogradLargeTiles, .winogradLargeTiles, .winogradLargeTiles),  // issue 17 (8th): F(4×4, 3×3) from 64 tiles of 4×4
        ("ResNet-18 32 256to512 1x1 s2 n128", g(128, 256, 8, 8, 512, 1, 1, 2, 2, 0, 0), .implicitGEMM, .columns, .implicitGEMM),
        ("ResNet-18 28 stem n1", g(1, 1, 28, 28, 64, 3, 3, 1, 1, 1, 1), .implicitGEMM, .columns, .columns),  // issue 17: columns weight gradient
        ("ResNet-18 28 64to64 3x3 at 28 n1", g(1, 64, 28, 28, 64, 3, 3, 1, 1, 1, 1), .implicitGEMM, .implicitGEMM, .implicitGEMM),
        ("ResNet-18 28 64to128 3x3 s2 n1", g(1, 64, 28, 28, 128, 3, 3, 2, 2, 1, 1), .implicitGEMM, .columns, .implicitGEMM),  // issue 17: few pixels → columns
        ("ResNet-18 28 128to128 3x3 at 14 n1", g(1, 128, 14, 14, 128, 3, 3, 1, 1, 1, 1), .implicitGEMM, .implicitGEMM, .implicitGEMM),
        ("ResNet-18 28 64to128 1x1 s2 n1", g(1, 64, 28, 28, 128, 1, 1, 2, 2, 0, 0), .implicitGEMM, .columns, .implicitGEMM),
        ("ResNet-18 28 128to256 3x3 s2 n1", g(1, 128, 14, 14, 256, 3, 3, 2, 2, 1, 1), .implicitGEMM, .columns, .implicitGEMM),  // issue 17: few pixels → columns
        ("ResNet-18 28 256to256 3x3 at 7 n1", g(1, 256, 7, 7, 256, 3, 3, 1, 1, 1, 1), .implicitGEMM, .implicitGEMM, .implicitGEMM),
        ("ResNet-18 28 128to256 1x1 s2 n1", g(1, 128, 14, 14, 256, 1, 1, 2, 2, 0, 0), .implicitGEMM, .columns, .implicitGEMM),
        ("ResNet-18 28 256to512 3x3 s2 n1", g(1, 256, 7, 7, 512, 3, 3, 2, 2, 1, 1), .columns, .columns, .implicitGEMM),  // issue 17: few pixels → columns
        ("ResNet-18 28 512to512 3x3 at 4 n1", g(1, 512, 4, 4, 512, 3, 3, 1, 1, 1, 1), .columns, .columns, .implicitGEMM),  // issue 17: few pixels → columns
        ("ResNet-18 28 256to512 1x1 s2 n1", g(1, 256, 7, 7, 512, 1, 1, 2, 2, 0, 0), .columns, .columns, .implicitGEMM),  // issue 17: few pixels → columns
        ("ResNet-18 28 stem n32", g(32, 1, 28, 28, 64, 3, 3, 1, 1, 1, 1), .implicitGEMM, .columns, .columns),  // issue 17: columns weight gradient
        ("ResNet-18 28 64to64 3x3 at 28 n32", g(32, 64, 28, 28, 64, 3, 3, 1, 1, 1, 1), .winogradLargeTiles, .winogradLargeTiles, .winogradLargeTiles),  // issue 17 (9th): F(4×4) from 32 channels, any tile-row width
        ("ResNet-18 28 64to128 3x3 s2 n32", g(32, 64, 28, 28, 128, 3, 3, 2, 2, 1, 1), .implicitGEMM, .implicitGEMM, .implicitGEMM),
        ("ResNet-18 28 128to128 3x3 at 14 n32", g(32, 128, 14, 14, 128, 3, 3, 1, 1, 1, 1), .winogradLargeTiles, .winogradLargeTiles, .winogradLargeTiles),  // issue 17 (9th): F(4×4) from 32 channels, any tile-row width
        ("ResNet-18 28 64to128 1x1 s2 n32", g(32, 64, 28, 28, 128, 1, 1, 2, 2, 0, 0), .implicitGEMM, .columns, .implicitGEMM),
        ("ResNet-18 28 128to256 3x3 s2 n32", g(32, 128, 14, 14, 256, 3, 3, 2, 2, 1, 1), .implicitGEMM, .implicitGEMM, .implicitGEMM),
        ("ResNet-18 28 256to256 3x3 at 7 n32", g(32, 256, 7, 7, 256, 3, 3, 1, 1, 1, 1), .winogradLargeTiles, .winogradLargeTiles, .winogradLargeTiles),  // issue 17 (8th): F(4×4, 3×3) from 64 tiles of 4×4
        ("ResNet-18 28 128to256 1x1 s2 n32", g(32, 128, 14, 14, 256, 1, 1, 2, 2, 0, 0), .implicitGEMM, .columns, .implicitGEMM),
        ("ResNet-18 28 256to512 3x3 s2 n32", g(32, 256, 7, 7, 512, 3, 3, 2, 2, 1, 1), .implicitGEMM, .implicitGEMM, .implicitGEMM),
        ("ResNet-18 28 512to512 3x3 at 4 n32", g(32, 512, 4, 4, 512, 3, 3, 1, 1, 1, 1), .winograd, .winograd, .winograd),  // issue 17 (7th): Winograd bounds measured on AVX-512
        ("ResNet-18 28 256to512 1x1 s2 n32", g(32, 256, 7, 7, 512, 1, 1, 2, 2, 0, 0), .implicitGEMM, .columns, .implicitGEMM),
        ("ResNet-18 28 stem n128", g(128, 1, 28, 28, 64, 3, 3, 1, 1, 1, 1), .implicitGEMM, .columns, .columns),  // issue 17: columns weight gradient
        ("ResNet-18 28 64to64 3x3 at 28 n128", g(128, 64, 28, 28, 64, 3, 3, 1, 1, 1, 1), .winogradLargeTiles, .winogradLargeTiles, .winogradLargeTiles),  // issue 17 (9th): F(4×4) from 32 channels, any tile-row width
        ("ResNet-18 28 64to128 3x3 s2 n128", g(128, 64, 28, 28, 128, 3, 3, 2, 2, 1, 1), .implicitGEMM, .implicitGEMM, .implicitGEMM),
        ("ResNet-18 28 128to128 3x3 at 14 n128", g(128, 128, 14, 14, 128, 3, 3, 1, 1, 1, 1), .winogradLargeTiles, .winogradLargeTiles, .winogradLargeTiles),  // issue 17 (9th): F(4×4) from 32 channels, any tile-row width
        ("ResNet-18 28 64to128 1x1 s2 n128", g(128, 64, 28, 28, 128, 1, 1, 2, 2, 0, 0), .implicitGEMM, .columns, .implicitGEMM),
        ("ResNet-18 28 128to256 3x3 s2 n128", g(128, 128, 14, 14, 256, 3, 3, 2, 2, 1, 1), .implicitGEMM, .implicitGEMM, .implicitGEMM),
        ("ResNet-18 28 256to256 3x3 at 7 n128", g(128, 256, 7, 7, 256, 3, 3, 1, 1, 1, 1), .winogradLargeTiles, .winogradLargeTiles, .winogradLargeTiles),  // issue 17 (8th): F(4×4, 3×3) from 64 tiles of 4×4
        ("ResNet-18 28 128to256 1x1 s2 n128", g(128, 128, 14, 14, 256, 1, 1, 2, 2, 0, 0), .implicitGEMM, .columns, .implicitGEMM),
        ("ResNet-18 28 256to512 3x3 s2 n128", g(128, 256, 7, 7, 512, 3, 3, 2, 2, 1, 1), .implicitGEMM, .implicitGEMM, .implicitGEMM),
        ("ResNet-18 28 512to512 3x3 at 4 n128", g(128, 512, 4, 4, 512, 3, 3, 1, 1, 1, 1), .winogradLargeTiles, .winogradLargeTiles, .winogradLargeTiles),  // issue 17 (8th): F(4×4, 3×3) from 64 tiles of 4×4
        ("ResNet-18 28 256to512 1x1 s2 n128", g(128, 256, 7, 7, 512, 1, 1, 2, 2, 0, 0), .implicitGEMM, .columns, .implicitGEMM),
        ("odd batch 1, 5 channels", g(1, 5, 7, 7, 13, 3, 3, 1, 1, 1, 1), .implicitGEMM, .columns, .implicitGEMM),
        ("odd stride 2, batch 1", g(1, 8, 9, 9, 20, 3, 3, 2, 2, 1, 1), .columns, .columns, .implicitGEMM),  // issue 17: few pixels → columns
        ("odd stride 2, odd input", g(3, 7, 11, 11, 9, 3, 3, 2, 2, 1, 1), .implicitGEMM, .columns, .implicitGEMM),
        ("odd 1x1 s2, odd input", g(4, 6, 15, 15, 10, 1, 1, 2, 2, 0, 0), .implicitGEMM, .columns, .implicitGEMM),
        ("odd 1x1 s1 pointwise", g(3, 9, 5, 5, 14, 1, 1, 1, 1, 0, 0), .implicitGEMM, .implicitGEMM, .implicitGEMM),
        ("odd 1x1 s1 with padding", g(2, 4, 6, 6, 5, 1, 1, 1, 1, 1, 1), .implicitGEMM, .smallChannels, .implicitGEMM),
        ("odd 5x5 s2", g(2, 2, 9, 9, 3, 5, 5, 2, 2, 2, 2), .implicitGEMM, .columns, .implicitGEMM),  // issue 17: few pixels → columns
        ("odd one channel, small", g(4, 1, 10, 10, 4, 3, 3, 1, 1, 0, 0), .implicitGEMM, .columns, .implicitGEMM),
        ("odd 3x2 kernel, strides 2x3", g(3, 5, 9, 13, 6, 3, 2, 2, 3, 1, 2), .implicitGEMM, .columns, .implicitGEMM),
        ("odd 2x3 kernel, strides 1x2", g(2, 3, 12, 7, 5, 2, 3, 1, 2, 0, 1), .implicitGEMM, .columns, .implicitGEMM),  // issue 17: few pixels → columns
        ("odd 1x3 kernel, C 3, stride 1", g(2, 3, 12, 7, 5, 1, 3, 1, 1, 0, 1), .implicitGEMM, .smallChannels, .implicitGEMM),
        ("odd 3x3 s3", g(2, 4, 8, 8, 3, 3, 3, 3, 3, 1, 1), .columns, .columns, .implicitGEMM),  // issue 17: few pixels → columns
        ("edge C 2 s1", g(3, 2, 9, 9, 5, 3, 3, 1, 1, 1, 1), .implicitGEMM, .smallChannels, .implicitGEMM),
        ("edge C 4 s1 5x5", g(2, 4, 11, 11, 6, 5, 5, 1, 1, 2, 2), .implicitGEMM, .smallChannels, .implicitGEMM),
        ("edge C 4 s2", g(2, 4, 11, 11, 6, 3, 3, 2, 2, 1, 1), .implicitGEMM, .columns, .implicitGEMM),  // issue 17: few pixels → columns
        ("edge C 5 3x3", g(2, 5, 11, 11, 6, 3, 3, 1, 1, 1, 1), .implicitGEMM, .columns, .implicitGEMM),
        ("edge C 5 1x1 s1", g(2, 5, 11, 11, 6, 1, 1, 1, 1, 0, 0), .implicitGEMM, .implicitGEMM, .implicitGEMM),
        ("edge C 47 3x3", g(2, 47, 9, 9, 20, 3, 3, 1, 1, 1, 1), .implicitGEMM, .columns, .implicitGEMM),
        ("edge C 48 3x3 s2", g(3, 48, 9, 9, 20, 3, 3, 2, 2, 1, 1), .implicitGEMM, .columns, .implicitGEMM),  // issue 17: few pixels → columns
        ("edge C 48 3x3 s1", g(2, 48, 9, 9, 20, 3, 3, 1, 1, 1, 1), .implicitGEMM, .implicitGEMM, .implicitGEMM),
        ("edge C 52 strides 2x1", g(2, 52, 7, 10, 9, 3, 3, 2, 1, 1, 1), .implicitGEMM, .columns, .implicitGEMM),  // issue 17: few pixels → columns
        ("edge C 1 1x1 s1", g(2, 1, 9, 9, 8, 1, 1, 1, 1, 0, 0), .implicitGEMM, .columns, .implicitGEMM),
        // The channel edges above that the few-pixel rules now take, again with more pixels.
        ("edge C 4 s2, 288 pixels", g(8, 4, 11, 11, 6, 3, 3, 2, 2, 1, 1), .implicitGEMM, .implicitGEMM, .implicitGEMM),
        ("edge C 48 3x3 s2, 300 pixels", g(12, 48, 9, 9, 20, 3, 3, 2, 2, 1, 1), .implicitGEMM, .implicitGEMM, .implicitGEMM),
        ("edge C 52 strides 2x1, 320 pixels", g(8, 52, 7, 10, 9, 3, 3, 2, 1, 1, 1), .implicitGEMM, .implicitGEMM, .implicitGEMM),
        // Issue 17 (fifth session): forward and backward-input on the column GEMM for ≤ 32 output
        // pixels in the call, strided backward-input for ≤ 256.
        ("edge few pixels 32", g(2, 64, 4, 4, 64, 3, 3, 1, 1, 1, 1), .columns, .columns, .implicitGEMM),
        ("edge few pixels 33", g(1, 64, 3, 11, 64, 1, 1, 1, 1, 0, 0), .implicitGEMM, .implicitGEMM, .implicitGEMM),
        ("edge strided few pixels 256", g(4, 64, 16, 16, 64, 3, 3, 2, 2, 1, 1), .implicitGEMM, .columns, .implicitGEMM),
        ("edge strided few pixels 257", g(1, 64, 1, 513, 64, 1, 3, 1, 2, 0, 1), .implicitGEMM, .implicitGEMM, .implicitGEMM),
        ("edge 1x1 s2, C 48, batch 8", g(8, 48, 9, 9, 28, 1, 1, 2, 2, 0, 0), .implicitGEMM, .columns, .implicitGEMM),
        ("edge winograd 63 channels", g(32, 63, 16, 16, 64, 3, 3, 1, 1, 1, 1), .winogradLargeTiles, .winogradLargeTiles, .winogradLargeTiles),  // issue 17 (9th): F(4×4) from 32 channels, any tile-row width
        ("edge large tiles 31 channels", g(32, 31, 16, 16, 64, 3, 3, 1, 1, 1, 1), .implicitGEMM, .columns, .implicitGEMM),
        ("edge large tiles 32 channels", g(32, 32, 16, 16, 32, 3, 3, 1, 1, 1, 1), .winogradLargeTiles, .winogradLargeTiles, .winogradLargeTiles),  // issue 17 (9th)
        ("edge winograd 64 channels", g(32, 64, 16, 16, 64, 3, 3, 1, 1, 1, 1), .winogradLargeTiles, .winogradLargeTiles, .winogradLargeTiles),  // issue 17 (8th): F(4×4, 3×3) from 64 tiles of 4×4
        ("edge winograd 512 tiles (batch 2)", g(2, 64, 32, 32, 64, 3, 3, 1, 1, 1, 1), .winogradLargeTiles, .winogradLargeTiles, .winogradLargeTiles),  // issue 17 (8th): F(4×4, 3×3) from 64 tiles of 4×4
        ("edge winograd C+O 256", g(32, 128, 16, 16, 128, 3, 3, 1, 1, 1, 1), .winogradLargeTiles, .winogradLargeTiles, .winogradLargeTiles),  // issue 17 (8th): F(4×4, 3×3) from 64 tiles of 4×4
        ("edge winograd C+O 257", g(32, 128, 16, 16, 129, 3, 3, 1, 1, 1, 1), .winogradLargeTiles, .winogradLargeTiles, .winogradLargeTiles),  // issue 17 (8th): F(4×4, 3×3) from 64 tiles of 4×4
        ("edge winograd padding 3", g(32, 64, 16, 16, 64, 3, 3, 1, 1, 3, 3), .implicitGEMM, .implicitGEMM, .implicitGEMM),
        ("edge winograd 26 to 24", g(32, 64, 26, 26, 64, 3, 3, 1, 1, 0, 0), .winogradLargeTiles, .winogradLargeTiles, .winogradLargeTiles),  // issue 17 (9th): F(4×4) from 32 channels, any tile-row width
        ("edge winograd 4x4 batch 128", g(128, 512, 4, 4, 512, 3, 3, 1, 1, 1, 1), .winogradLargeTiles, .winogradLargeTiles, .winogradLargeTiles),  // issue 17 (8th): F(4×4, 3×3) from 64 tiles of 4×4
        ("edge winograd 4x4 batch 64", g(64, 512, 4, 4, 512, 3, 3, 1, 1, 1, 1), .winogradLargeTiles, .winogradLargeTiles, .winogradLargeTiles),  // issue 17 (8th): F(4×4, 3×3) from 64 tiles of 4×4
        // Issue 17 (seventh session): the Winograd bounds on each side (63/64 tiles for every pass;
        // 127/128 for the weight gradient on the wide tiling, 64 on the narrow one).
        ("edge winograd 63 tiles", g(63, 64, 2, 2, 64, 3, 3, 1, 1, 1, 1), .implicitGEMM, .implicitGEMM, .implicitGEMM),
        ("edge winograd 64 tiles", g(64, 64, 2, 2, 64, 3, 3, 1, 1, 1, 1), .winogradLargeTiles, .winogradLargeTiles, .implicitGEMM),  // issue 17 (8th): F(4×4, 3×3) from 64 tiles of 4×4
        ("edge winograd weight gradient 127 tiles", g(127, 64, 2, 2, 64, 3, 3, 1, 1, 1, 1), .winogradLargeTiles, .winogradLargeTiles, .implicitGEMM),  // issue 17 (8th): F(4×4, 3×3) from 64 tiles of 4×4
        ("edge winograd weight gradient 128 tiles", g(128, 64, 2, 2, 64, 3, 3, 1, 1, 1, 1), .winogradLargeTiles, .winogradLargeTiles, .winogradLargeTiles),  // issue 17 (8th): F(4×4, 3×3) from 64 tiles of 4×4
        ("edge weight-grad columns 16 taps, 16 out", g(8, 16, 6, 6, 16, 1, 1, 1, 1, 0, 0), .implicitGEMM, .implicitGEMM, .columns),
        ("edge weight-grad columns 17 taps", g(8, 17, 6, 6, 16, 1, 1, 1, 1, 0, 0), .implicitGEMM, .implicitGEMM, .implicitGEMM),
        ("edge weight-grad columns 15 out", g(8, 1, 6, 6, 15, 3, 3, 1, 1, 0, 0), .implicitGEMM, .columns, .implicitGEMM),
]

/// Rows whose choices differ under the narrow tiling (`WinogradThresholds.narrow`: the weight
/// gradient on Winograd from 64 tiles, where the wide tiling needs 128), with those choices.
private let narrowTilingMoves: [String: (Conv2dAlgorithm, Conv2dAlgorithm, Conv2dAlgorithm)] = [
    "bench resnet_128to128_3x3_16_b1": (.winograd, .winograd, .winograd),
    "ResNet-18 32 128to128 3x3 at 16 n1": (.winograd, .winograd, .winograd),
    "edge winograd 64 tiles": (.winogradLargeTiles, .winogradLargeTiles, .winogradLargeTiles),
    "edge winograd weight gradient 127 tiles": (.winogradLargeTiles, .winogradLargeTiles, .winogradLargeTiles),
]

/// The pinned choices of row `i` under `tiling`.
private func expectedChoices(_ i: Int, _ tiling: GEMMTiling) -> (Conv2dAlgorithm, Conv2dAlgorithm, Conv2dAlgorithm) {
    let (label, _, forward, backwardInput, weightGrad) = pinned[i]
    if tiling == .narrow, let moved = narrowTilingMoves[label] { return moved }
    return (forward, backwardInput, weightGrad)
}

@Suite("Convolution dispatch table")
struct Conv2dDispatchTests {
    @Test("every pinned geometry gets the algorithm recorded for each tiling",
          arguments: pinned.indices, GEMMTiling.allCases)
    func pinnedChoices(_ i: Int, _ tiling: GEMMTiling) {
        let (label, geometry, _, _, _) = pinned[i]
        let (forward, backwardInput, weightGrad) = expectedChoices(i, tiling)
        KernelSettings.with({ $0.tiling = tiling }) {
            #expect(KernelSettings.current.winograd, "the pinned choices assume the Winograd path is on")
            #expect(Conv2dDispatch.forwardAlgorithm(for: geometry) == forward, "\(label) (\(tiling)): forward")
            #expect(Conv2dDispatch.backwardInputAlgorithm(for: geometry) == backwardInput,
                    "\(label) (\(tiling)): backward-input")
            #expect(Conv2dDispatch.weightGradAlgorithm(for: geometry) == weightGrad, "\(label) (\(tiling)): weight gradient")
        }
    }

    @Test("every narrow-tiling move names a pinned row and changes it")
    func narrowMovesArePinnedRows() {
        for (label, moved) in narrowTilingMoves {
            let row = pinned.first { $0.0 == label }
            #expect(row != nil, "\(label) is not a pinned row")
            if let row { #expect((row.2, row.3, row.4) != moved, "\(label) does not move") }
        }
    }

    @Test("the table agrees with the Winograd switch's own predicates", arguments: GEMMTiling.allCases)
    func winogradPredicates(_ tiling: GEMMTiling) {
        KernelSettings.with({ $0.tiling = tiling }) {
            for (label, geometry, _, _, _) in pinned {
                let winograd: [Conv2dAlgorithm] = [.winograd, .winogradLargeTiles]
                #expect(winograd.contains(Conv2dDispatch.forwardAlgorithm(for: geometry))
                        == (Conv2dWinograd.applies(to: geometry) || Conv2dWinograd.appliesLargeTiles(to: geometry)), "\(label)")
                #expect((Conv2dDispatch.forwardAlgorithm(for: geometry) == .winogradLargeTiles)
                        == Conv2dWinograd.appliesLargeTiles(to: geometry), "\(label)")
                #expect(winograd.contains(Conv2dDispatch.weightGradAlgorithm(for: geometry))
                        == (Conv2dWinograd.appliesToWeightGradient(geometry)
                            || Conv2dWinograd.appliesLargeTilesToWeightGradient(geometry)), "\(label)")
                #expect((Conv2dDispatch.weightGradAlgorithm(for: geometry) == .winogradLargeTiles)
                        == Conv2dWinograd.appliesLargeTilesToWeightGradient(geometry), "\(label)")
            }
        }
    }

    @Test("forward and weight gradient only choose algorithms they implement (small channels is backward-input only)")
    func passesHaveTheirAlgorithms() {
        for tiling in GEMMTiling.allCases {
            KernelSettings.with({ $0.tiling = tiling }) {
                for (_, geometry, _, _, _) in pinned {
                    let implemented: [Conv2dAlgorithm] = [.winograd, .winogradLargeTiles, .implicitGEMM, .columns]
                    #expect(implemented.contains(Conv2dDispatch.forwardAlgorithm(for: geometry)))
                    #expect(implemented.contains(Conv2dDispatch.weightGradAlgorithm(for: geometry)))
                }
            }
        }
    }
}
