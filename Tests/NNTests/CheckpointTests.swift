import Foundation
import Testing
import TensorCore
@testable import NN

@Suite("Checkpoint: state dicts and safetensors files")
struct CheckpointTests {
    static let configs: [ModelConfig] = [
        ModelConfig(architecture: .mlp, lcnn: true),
        ModelConfig(architecture: .smallcnn),
    ]

    /// Gives every buffer values that differ from a fresh model's, so a load must carry them.
    static func perturbBuffers(_ model: any Layer) {
        for (k, entry) in model.namedBuffers.enumerated() {
            entry.tensor.withUnsafeMutableBufferPointer { values in
                for i in values.indices {
                    values[i] = entry.name.hasSuffix("num_batches_tracked")
                        ? Float(1000 + 17 * k) : values[i] * 0.5 + Float(i % 7) * 0.125 + Float(k)
                }
            }
        }
    }

    @Test("a model's state dict round-trips exactly into a differently seeded model", arguments: configs)
    func roundTrip(config: ModelConfig) throws {
        let dir = try CheckpointTempDirectory()
        defer { dir.cleanup() }
        var sourceConfig = config, targetConfig = config
        sourceConfig.seed = 11
        targetConfig.seed = 12
        let source = sourceConfig.makeModel()
        let target = targetConfig.makeModel()
        Self.perturbBuffers(source)

        let expected = bitPatterns(source.stateDict())
        #expect(expected != bitPatterns(target.stateDict()), "the two models should start different")
        #expect(Set(expected.keys) == Set(source.namedTensors.map(\.name)))

        let url = dir.file("model.safetensors")
        try source.saveCheckpoint(to: url, metadata: ["architecture": config.architecture.rawValue, "epoch": "7"])
        let identities = target.namedTensors.map { ObjectIdentifier($0.tensor) }
        let metadata = try target.loadCheckpoint(from: url)

        #expect(metadata == ["architecture": config.architecture.rawValue, "epoch": "7"])
        #expect(bitPatterns(target.stateDict()) == expected)
        #expect(target.namedTensors.map { ObjectIdentifier($0.tensor) } == identities, "loading must assign in place")
        #expect(try dir.contents() == ["model.safetensors"])

        // The file has PyTorch's dtypes: F32, and I64 for the batch counters.
        let file = try SafeTensors.read(from: url)
        for (name, dtype) in file.dtypes {
            #expect(dtype == (name.hasSuffix("num_batches_tracked") ? .i64 : .f32), "\(name)")
        }
        #expect(file.lossyConversions.isEmpty)
        if config.lcnn {
            #expect(file.names.contains { $0.hasSuffix("parametrizations.weight.original") })
            #expect(file.names.contains { $0.hasSuffix("parametrizations.weight.0._u") })
        } else {
            #expect(file.dtypes["bn1.num_batches_tracked"] == .i64)
            #expect(file.tensors["bn1.num_batches_tracked"]?.shape == [])
            #expect(file.names.contains("conv1.weight"))
        }
    }

    @Test("the file layout follows the reference implementation")
    func layout() throws {
        let data = try smallValidSafetensors()
        let n = Int(UInt64(littleEndian: data.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }))
        #expect(n % 8 == 0, "header padded to a multiple of 8")
        let header = String(decoding: data[8 ..< 8 + n], as: UTF8.self)
        #expect(header.hasPrefix("{"))
        #expect(header.hasSuffix("}") || header.hasSuffix(" "))
        let file = try SafeTensors.decode(data)
        // I64 (8-byte) tensors come first, then F32 by name; zero-size tensors take no bytes.
        #expect(file.names == ["bn.num_batches_tracked", "a.weight", "empty", "scalar"])
        #expect(file.entries["bn.num_batches_tracked"]?.dataOffsets == 0 ..< 8)
        #expect(file.entries["a.weight"]?.dataOffsets == 8 ..< 32)
        #expect(file.entries["empty"]?.dataOffsets == 32 ..< 32)
        #expect(file.entries["scalar"]?.dataOffsets == 32 ..< 36)
        #expect(data.count == 8 + n + 36)
        #expect(file.metadata == ["epoch": "3", "note": "small"])
        #expect(file.tensors["a.weight"]?.scalars == [1, -2, 3.5, 0, 1e-30, -7])
        #expect(file.tensors["a.weight"]?.shape == [2, 3])
        #expect(file.tensors["empty"]?.shape == [0, 4])
        #expect(file.tensors["scalar"]?.shape == [])
        #expect(file.tensors["bn.num_batches_tracked"]?.scalars == [5])
        // Deterministic: same input, same bytes.
        #expect(try smallValidSafetensors() == data)
    }

    @Test("plain tensor dictionaries round-trip through files")
    func plainDictionary() throws {
        let dir = try CheckpointTempDirectory()
        defer { dir.cleanup() }
        let tensors: [String: Tensor] = [
            "x": Tensor([Float.infinity, -Float.infinity, -0.0, Float.leastNonzeroMagnitude, .greatestFiniteMagnitude], shape: [5]),
            "dir/with slash": Tensor([1, 2, 3, 4], shape: [2, 1, 2]),
            "ünïcødé ✓": Tensor(42),
        ]
        let url = dir.file("t.safetensors")
        try saveSafeTensors(tensors, to: url, metadata: ["k\"ey": "välue\n"])
        let loaded = try loadSafeTensors(from: url)
        #expect(bitPatterns(loaded) == bitPatterns(tensors))
        #expect(loaded.mapValues(\.shape) == tensors.mapValues(\.shape))
        #expect(try SafeTensors.read(from: url).metadata == ["k\"ey": "välue\n"])
        let nan = try SafeTensors.decode(SafeTensors.encode(["n": Tensor([Float.nan])]))
        #expect(nan.tensors["n"]?.item.isNaN == true)
    }

    @Test("F16, BF16, F64, I64, I32 and other dtypes are converted to Float32, with a note")
    func dtypeConversion() throws {
        let f16: [UInt16] = [0x0000, 0x8000, 0x3C00, 0xC100, 0x7BFF, 0x0001, 0x0400, 0x7C00, 0xFC00, 0x3555]
        let f16Expected: [Float] = [0, -0.0, 1, -2.5, 65504, 0x1p-24, 0x1p-14, .infinity, -.infinity, 0.333251953125]
        let bf16: [UInt16] = [0x3F80, 0xC040, 0x0000, 0x7F80]
        let f64: [Double] = [1.5, -1e-3, 1e300, 0.1]
        let i64: [Int64] = [0, -3, 1 << 40, (1 << 24) + 1]
        let i32: [Int32] = [7, -2_147_483_648]
        let u8: [UInt8] = [0, 255]
        let bool: [UInt8] = [0, 1, 1]
        var data: [UInt8] = []
        var header: [String] = []
        func add(_ name: String, _ dtype: String, _ shape: [Int], _ bytes: [UInt8]) {
            header.append("\"\(name)\":{\"dtype\":\"\(dtype)\",\"shape\":\(shape),\"data_offsets\":[\(data.count),\(data.count + bytes.count)]}")
            data += bytes
        }
        add("f16", "F16", [2, 5], leBytes(f16))
        add("bf16", "BF16", [4], leBytes(bf16))
        add("f64", "F64", [4], leBytes(f64.map(\.bitPattern)))
        add("i64", "I64", [4], leBytes(i64))
        add("i32", "I32", [2], leBytes(i32))
        add("u8", "U8", [2], u8)
        add("bool", "BOOL", [3], bool)
        add("f32", "F32", [1], leBytes([Float(2.5)]))
        let file = try SafeTensors.decode(safetensorsBytes(header: "{" + header.joined(separator: ",") + "}", data: data))

        #expect(file.tensors["f16"]!.scalars.map(\.bitPattern) == f16Expected.map(\.bitPattern))
        #expect(file.tensors["f16"]!.shape == [2, 5])
        #expect(file.tensors["bf16"]!.scalars == [1, -3, 0, .infinity])
        #expect(file.tensors["f64"]!.scalars == f64.map { Float($0) })
        #expect(file.tensors["i64"]!.scalars == i64.map { Float($0) })
        #expect(file.tensors["i32"]!.scalars == [7, -2_147_483_648])
        #expect(file.tensors["u8"]!.scalars == [0, 255])
        #expect(file.tensors["bool"]!.scalars == [0, 1, 1])
        #expect(file.tensors["f32"]!.scalars == [2.5])
        #expect(file.dtypes["f16"] == .f16 && file.dtypes["i64"] == .i64 && file.dtypes["f32"] == .f32)
        #expect(Set(file.convertedNames) == ["f16", "bf16", "f64", "i64", "i32", "u8", "bool"])
        // 1e300 overflows, 0.1 and 1e-3 round; 2^24 + 1 rounds; I32 min is a power of two (exact).
        #expect(Set(file.lossyConversions) == ["f64", "i64"])
    }

    @Test("loading reports every missing, unexpected and mis-shaped tensor at once and changes nothing")
    func strictMismatch() throws {
        let dir = try CheckpointTempDirectory()
        defer { dir.cleanup() }
        let model = ModelConfig(architecture: .smallcnn, seed: 1).makeModel()
        var dict = model.stateDict().mapValues { $0.copy() }
        dict["fc2.bias"] = nil
        dict["fc2.weight"] = nil
        dict["extra.weight"] = Tensor([1, 2])
        dict["another"] = Tensor(3)
        dict["conv2.weight"] = Tensor.zeros([64, 3, 3, 3])
        dict["bn1.running_mean"] = Tensor.zeros([31])
        let url = dir.file("bad.safetensors")
        try saveSafeTensors(dict, to: url)

        let target = ModelConfig(architecture: .smallcnn, seed: 2).makeModel()
        let before = bitPatterns(target.stateDict())
        let error = #expect(throws: CheckpointError.self) { try target.loadCheckpoint(from: url) }
        let message = error?.description ?? ""
        #expect(message.hasPrefix(url.path + ": checkpoint does not match the model"))
        #expect(message.contains("2 missing keys, 2 unexpected keys, 2 shape mismatches"))
        #expect(message.contains("missing keys (in the model, not in the checkpoint): fc2.weight, fc2.bias"))
        #expect(message.contains("unexpected keys (in the checkpoint, not in the model): another, extra.weight"))
        #expect(message.contains("conv2.weight: checkpoint [64, 3, 3, 3], model [64, 32, 3, 3]"))
        #expect(message.contains("bn1.running_mean: checkpoint [31], model [32]"))
        if case let .stateDictMismatch(_, mismatch) = error {
            #expect(mismatch.missing == ["fc2.weight", "fc2.bias"])
            #expect(mismatch.unexpected == ["another", "extra.weight"])
            #expect(mismatch.shapeMismatches.map(\.name) == ["bn1.running_mean", "conv2.weight"])
            #expect(mismatch.dtypeMismatches.isEmpty)
        } else {
            Issue.record("expected stateDictMismatch, got \(String(describing: error))")
        }
        #expect(bitPatterns(target.stateDict()) == before, "a failed load must not change the model")

        // Non-strict: missing and unexpected keys are ignored, shape mismatches still fail.
        #expect(throws: CheckpointError.self) { try target.loadCheckpoint(from: url, strict: false) }
        #expect(bitPatterns(target.stateDict()) == before)
        dict["conv2.weight"] = nil
        dict["bn1.running_mean"] = nil
        try saveSafeTensors(dict, to: url)
        try target.loadCheckpoint(from: url, strict: false)
        let after = bitPatterns(target.stateDict())
        let source = bitPatterns(model.stateDict())
        #expect(after["conv1.weight"] == source["conv1.weight"])
        #expect(after["fc2.weight"] == before["fc2.weight"])
        #expect(after["conv2.weight"] == before["conv2.weight"])
        // Strict still refuses the partial file.
        let partial = #expect(throws: CheckpointError.self) { try target.loadCheckpoint(from: url) }
        #expect(partial?.description.contains("missing keys (in the model, not in the checkpoint): bn1.running_mean, conv2.weight, fc2.weight, fc2.bias") == true)
    }

    @Test("dtype mismatches: integers for weights, floats for counters")
    func dtypeMismatch() throws {
        let model = ModelConfig(architecture: .mlp, hiddenWidths: [3]).makeModel()
        let names = model.namedTensors.map(\.name)
        var header: [String] = []
        var data: [UInt8] = []
        for entry in model.namedTensors {
            let useInt = entry.name == names[0]
            let bytes = useInt ? leBytes(entry.tensor.scalars.map { Int64($0.rounded()) }) : leBytes(entry.tensor.scalars)
            header.append("\"\(entry.name)\":{\"dtype\":\"\(useInt ? "I64" : "F32")\",\"shape\":\(entry.tensor.shape),\"data_offsets\":[\(data.count),\(data.count + bytes.count)]}")
            data += bytes
        }
        let dir = try CheckpointTempDirectory()
        defer { dir.cleanup() }
        let url = dir.file("ints.safetensors")
        try safetensorsBytes(header: "{" + header.joined(separator: ",") + "}", data: data).write(to: url)
        let error = #expect(throws: CheckpointError.self) { try model.loadCheckpoint(from: url) }
        #expect(error?.description.contains("\(names[0]): checkpoint I64, model F32") == true)

        // A float counter in a BatchNorm is a mismatch too; an integer one of any width loads.
        let bn = BatchNorm(features: 2)
        let floatCounter = try SafeTensors.encode(["weight": Tensor([1, 2]), "bias": Tensor([0, 0]),
                                                   "running_mean": Tensor([0, 0]), "running_var": Tensor([1, 1])])
        var file = try SafeTensors.decode(floatCounter)
        file.tensors["num_batches_tracked"] = Tensor(3)
        let mismatch = bn.stateDictMismatch(file.tensors, dtypes: file.dtypes.merging(["num_batches_tracked": .f32]) { $1 })
        #expect(mismatch.dtypeMismatches == [.init(name: "num_batches_tracked", checkpoint: .f32, model: .i64)])
        #expect(bn.stateDictMismatch(file.tensors, dtypes: ["num_batches_tracked": .i32]).isEmpty)
        try bn.loadStateDict(file.tensors)
        #expect(bn.numBatchesTracked.item == 3)
        #expect(bn.weight?.scalars == [1, 2])
    }

    @Test("saving a counter that is not an integer fails")
    func nonIntegralCounter() throws {
        let error = #expect(throws: CheckpointError.self) {
            _ = try SafeTensors.encode(["bn.num_batches_tracked": Tensor(2.5)], source: "c.safetensors")
        }
        #expect(error?.description == "c.safetensors: tensor \"bn.num_batches_tracked\" is written as I64 but holds the non-integral value 2.5")
        #expect(throws: CheckpointError.self) { _ = try SafeTensors.encode(["__metadata__": Tensor(1)]) }
        #expect(throws: CheckpointError.self) { _ = try SafeTensors.encode(["": Tensor(1)]) }
    }

    @Test("atomic writes leave no temporary file and keep the old file when writing fails")
    func atomicWrite() throws {
        let dir = try CheckpointTempDirectory()
        defer { dir.cleanup() }
        let url = dir.file("ckpt.safetensors")
        let model = ModelConfig(architecture: .mlp, lcnn: true).makeModel()

        // Missing directory: an error naming the file, nothing created.
        let missing = dir.url.appendingPathComponent("no/such/dir/ckpt.safetensors")
        let error = #expect(throws: CheckpointError.self) { try model.saveCheckpoint(to: missing) }
        #expect(error?.description.contains(missing.path) == true)
        #expect(error?.description.contains("does not exist") == true)
        #expect(try dir.contents() == [])

        // Overwriting works and leaves only the target.
        try model.saveCheckpoint(to: url, metadata: ["v": "1"])
        try model.saveCheckpoint(to: url, metadata: ["v": "2"])
        #expect(try dir.contents() == ["ckpt.safetensors"])
        #expect(try SafeTensors.read(from: url).metadata == ["v": "2"])
        let good = try Data(contentsOf: url)

        // A failure while encoding leaves the old file intact.
        #expect(throws: CheckpointError.self) {
            try saveSafeTensors(["x.num_batches_tracked": Tensor(Float.nan)], to: url)
        }
        #expect(try Data(contentsOf: url) == good)
        #expect(try dir.contents() == ["ckpt.safetensors"])

        // A failure after the temporary file was written (the target is a non-empty
        // directory, so the rename fails) removes the temporary file.
        let blocked = dir.file("blocked.safetensors")
        try FileManager.default.createDirectory(at: blocked, withIntermediateDirectories: false)
        try Data("keep".utf8).write(to: blocked.appendingPathComponent("inside"))
        let renameError = #expect(throws: CheckpointError.self) { try model.saveCheckpoint(to: blocked) }
        #expect(renameError?.description.contains("rename") == true)
        #expect(try dir.contents() == ["blocked.safetensors", "ckpt.safetensors"])
        #expect(try Data(contentsOf: blocked.appendingPathComponent("inside")) == Data("keep".utf8))
    }

    @Test("reading a missing file is an error naming it")
    func missingFile() throws {
        let url = URL(fileURLWithPath: "/nonexistent-\(UUID().uuidString)/m.safetensors")
        let error = #expect(throws: CheckpointError.self) { try loadSafeTensors(from: url) }
        #expect(error?.description.hasPrefix(url.path + ": cannot read the file") == true)
    }
}
