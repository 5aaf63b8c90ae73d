import Foundation
import Testing
import TensorCore
@testable import NN

/// Files move both ways between this toolkit and the Python `safetensors` package (which
/// PyTorch users load with `safetensors.torch`). Needs `python3` with `safetensors` and
/// `numpy` (`pip install safetensors numpy`); set `LCNN_SKIP_PYTHON_TESTS=1` to skip.
@Suite("Checkpoint: interoperability with Python safetensors",
       .enabled(if: ProcessInfo.processInfo.environment["LCNN_SKIP_PYTHON_TESTS"] != "1",
                "LCNN_SKIP_PYTHON_TESTS=1 is set"))
struct CheckpointPythonInteropTests {
    struct PythonResult {
        var status: Int32
        var output: String
    }

    /// Runs `python3 <script> <arguments>` with the script written into `directory`.
    static func runPython(_ script: String, _ arguments: [String], in directory: CheckpointTempDirectory) throws -> PythonResult {
        let scriptURL = directory.file("script-\(UUID().uuidString).py")
        try script.write(to: scriptURL, atomically: true, encoding: .utf8)
        return try runPython([scriptURL.path] + arguments, in: directory)
    }

    static func runPython(_ arguments: [String], in directory: CheckpointTempDirectory) throws -> PythonResult {
        let outputURL = directory.file("python-output-\(UUID().uuidString).txt")
        _ = FileManager.default.createFile(atPath: outputURL.path, contents: nil)
        let output = try FileHandle(forWritingTo: outputURL)
        defer { try? output.close() }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3"] + arguments
        process.standardOutput = output
        process.standardError = output
        process.standardInput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        let text = (try? String(contentsOf: outputURL, encoding: .utf8)) ?? ""
        return PythonResult(status: process.terminationStatus, output: text)
    }

    /// Whether python3 can import safetensors and numpy; records a failure saying how to fix
    /// it when not.
    static func requirePython(in directory: CheckpointTempDirectory,
                              sourceLocation: SourceLocation = #_sourceLocation) -> Bool {
        let result: PythonResult
        do {
            result = try runPython(["-c", "import safetensors, numpy"], in: directory)
        } catch {
            Issue.record("""
                cannot run python3 (\(error)). The Python interop tests need python3 with safetensors \
                and numpy: run `pip install safetensors numpy`, or set LCNN_SKIP_PYTHON_TESTS=1 to skip them.
                """, sourceLocation: sourceLocation)
            return false
        }
        guard result.status == 0 else {
            Issue.record("""
                `python3 -c "import safetensors, numpy"` failed. The Python interop tests need these \
                packages: run `pip install safetensors numpy`, or set LCNN_SKIP_PYTHON_TESTS=1 to skip them. \
                python3 said: \(result.output.trimmingCharacters(in: .whitespacesAndNewlines))
                """, sourceLocation: sourceLocation)
            return false
        }
        return true
    }

    static let pythonWriter = #"""
        import sys
        import numpy as np
        from safetensors.numpy import save_file

        path = sys.argv[1]
        tensors = {
            # Exactly representable values, so both sides can compute them.
            "layer1.0.conv1.weight": (np.arange(24, dtype=np.float32).reshape(2, 3, 4) * np.float32(0.375)
                                      - np.float32(3)).astype(np.float32),
            "bn1.running_var": np.array([1.0, 2.0, 0.5], dtype=np.float32),
            "bn1.num_batches_tracked": np.array(123456, dtype=np.int64),
            "half": np.array([[0.0, -0.0, 1.0, -2.5, 65504.0],
                              [2.0 ** -24, 2.0 ** -14, np.inf, -np.inf, 1.0 / 3.0]], dtype=np.float16),
            "ints": np.array([[0, 1, -5], [2 ** 40, 2 ** 53 + 1, -(2 ** 62)]], dtype=np.int64),
            "doubles": np.array([0.1, -1e300, 2.5], dtype=np.float64),
            "int32": np.array([7, -2147483648], dtype=np.int32),
            "empty": np.zeros((0, 3), dtype=np.float32),
        }
        save_file(tensors, path, metadata={"format": "np", "note": "h\u00e9llo \u2713", "epoch": "12"})
        print("wrote", path)
        """#

    @Test("a file written by Python safetensors loads in Swift with the right values")
    func pythonToSwift() throws {
        let dir = try CheckpointTempDirectory("py2swift")
        defer { dir.cleanup() }
        guard Self.requirePython(in: dir) else { return }
        let url = dir.file("from-python.safetensors")
        let result = try Self.runPython(Self.pythonWriter, [url.path], in: dir)
        try #require(result.status == 0, "python3 failed: \(result.output)")

        let file = try SafeTensors.read(from: url)
        #expect(file.metadata == ["format": "np", "note": "héllo ✓", "epoch": "12"])
        #expect(Set(file.tensors.keys) == ["layer1.0.conv1.weight", "bn1.running_var", "bn1.num_batches_tracked",
                                           "half", "ints", "doubles", "int32", "empty"])
        let t = file.tensors
        #expect(t["layer1.0.conv1.weight"]?.shape == [2, 3, 4])
        #expect(t["layer1.0.conv1.weight"]?.scalars == (0 ..< 24).map { Float($0) * 0.375 - 3 })
        #expect(t["bn1.running_var"]?.scalars == [1, 2, 0.5])
        #expect(t["bn1.num_batches_tracked"]?.shape == [])
        #expect(t["bn1.num_batches_tracked"]?.item == 123456)
        #expect(t["half"]?.shape == [2, 5])
        #expect(t["half"]?.scalars.map(\.bitPattern)
                == ([0, -0.0, 1, -2.5, 65504, 0x1p-24, 0x1p-14, .infinity, -.infinity, 0.333251953125] as [Float]).map(\.bitPattern))
        #expect(t["ints"]?.shape == [2, 3])
        #expect(t["ints"]?.scalars == [0, 1, -5, 0x1p40, 0x1p53, -0x1p62])
        #expect(t["doubles"]?.scalars == [Float(0.1), -.infinity, 2.5])
        #expect(t["int32"]?.scalars == [7, -2_147_483_648])
        #expect(t["empty"]?.shape == [0, 3])
        #expect(file.dtypes == ["layer1.0.conv1.weight": .f32, "bn1.running_var": .f32, "bn1.num_batches_tracked": .i64,
                                "half": .f16, "ints": .i64, "doubles": .f64, "int32": .i32, "empty": .f32])
        #expect(Set(file.convertedNames) == ["bn1.num_batches_tracked", "half", "ints", "doubles", "int32"])
        #expect(Set(file.lossyConversions) == ["ints", "doubles"])

        // A PyTorch-style BatchNorm state dict written by Python loads into a BatchNorm layer.
        let bn = BatchNorm(features: 3)
        let bnURL = dir.file("bn.safetensors")
        let bnScript = #"""
            import sys
            import numpy as np
            from safetensors.numpy import save_file
            save_file({"weight": np.array([1.5, 2.0, -1.0], dtype=np.float32),
                       "bias": np.array([0.25, 0.0, 3.0], dtype=np.float32),
                       "running_mean": np.array([0.1, 0.2, 0.3], dtype=np.float32),
                       "running_var": np.array([4.0, 5.0, 6.0], dtype=np.float32),
                       "num_batches_tracked": np.array(42, dtype=np.int64)}, sys.argv[1])
            """#
        let bnResult = try Self.runPython(bnScript, [bnURL.path], in: dir)
        try #require(bnResult.status == 0, "python3 failed: \(bnResult.output)")
        let metadata = try bn.loadCheckpoint(from: bnURL)
        #expect(metadata.isEmpty)
        #expect(bn.weight?.scalars == [1.5, 2, -1])
        #expect(bn.bias?.scalars == [0.25, 0, 3])
        #expect(bn.runningMean.scalars == [Float(0.1), Float(0.2), Float(0.3)])
        #expect(bn.runningVar.scalars == [4, 5, 6])
        #expect(bn.numBatchesTracked.item == 42)
    }

    static let pythonReader = #"""
        import json, sys
        import numpy as np
        from safetensors import safe_open
        from safetensors.numpy import load_file

        path, expected_path = sys.argv[1], sys.argv[2]
        with open(expected_path) as f:
            expected = json.load(f)
        problems = []
        loaded = load_file(path)
        if sorted(loaded) != sorted(expected["tensors"]):
            problems.append("names differ: python %s, swift %s" % (sorted(loaded), sorted(expected["tensors"])))
        for name, spec in expected["tensors"].items():
            if name not in loaded:
                continue
            array = loaded[name]
            if str(array.dtype) != spec["dtype"]:
                problems.append("%s: dtype %s, expected %s" % (name, array.dtype, spec["dtype"]))
                continue
            if list(array.shape) != spec["shape"]:
                problems.append("%s: shape %s, expected %s" % (name, list(array.shape), spec["shape"]))
                continue
            if spec["dtype"] == "float32":
                got = array.reshape(-1).view(np.uint32).tolist()
                want = spec["bits"]
            else:
                got = array.reshape(-1).tolist()
                want = spec["values"]
            if got != want:
                bad = [i for i, (g, w) in enumerate(zip(got, want)) if g != w][:5]
                problems.append("%s: values differ at %s (got %s, want %s)"
                                % (name, bad, [got[i] for i in bad], [want[i] for i in bad]))
        with safe_open(path, framework="np") as f:
            metadata = f.metadata() or {}
        if metadata != expected["metadata"]:
            problems.append("metadata %s, expected %s" % (metadata, expected["metadata"]))
        with open(path, "rb") as f:
            n = int.from_bytes(f.read(8), "little")
        if n % 8 != 0:
            problems.append("header length %d is not a multiple of 8" % n)
        if problems:
            print("\n".join(problems))
            sys.exit(1)
        print("OK: %d tensors" % len(loaded))
        """#

    @Test("a file written by Swift loads in Python safetensors with identical values")
    func swiftToPython() throws {
        let dir = try CheckpointTempDirectory("swift2py")
        defer { dir.cleanup() }
        guard Self.requirePython(in: dir) else { return }

        // A model (with LCNN names and buffers), a BatchNorm counter, special values, and a
        // tensor made by a formula.
        let model = ModelConfig(architecture: .mlp, lcnn: true, seed: 5).makeModel()
        var tensors = model.stateDict()
        let bn = BatchNorm(features: 4)
        bn.numBatchesTracked.withUnsafeMutableBufferPointer { $0[0] = 98765 }
        for (name, tensor) in bn.stateDict() { tensors["bn1." + name] = tensor }
        tensors["special"] = Tensor([.infinity, -.infinity, -0.0, .nan, .leastNonzeroMagnitude, .greatestFiniteMagnitude,
                                     0x1p-133, 0.1], shape: [2, 4])
        tensors["formula"] = Tensor((0 ..< 105).map { Float(($0 * 7) % 13 - 6) / 8 }, shape: [3, 5, 7])
        tensors["scalar"] = Tensor(-1.5)
        let metadata = ["format": "pt", "epoch": "4", "note": "ünïcode ✓ \"quoted\""]
        let url = dir.file("from-swift.safetensors")
        try saveSafeTensors(tensors, to: url, metadata: metadata)

        var expected: [String: Any] = [:]
        for (name, tensor) in tensors {
            if name.hasSuffix("num_batches_tracked") {
                expected[name] = ["dtype": "int64", "shape": tensor.shape, "values": tensor.scalars.map { Int($0) }]
            } else {
                expected[name] = ["dtype": "float32", "shape": tensor.shape, "bits": tensor.scalars.map { Int($0.bitPattern) }]
            }
        }
        let expectedURL = dir.file("expected.json")
        try JSONSerialization.data(withJSONObject: ["tensors": expected, "metadata": metadata]).write(to: expectedURL)

        let result = try Self.runPython(Self.pythonReader, [url.path, expectedURL.path], in: dir)
        #expect(result.status == 0, "Python found differences:\n\(result.output)")
        #expect(result.output.contains("OK: \(tensors.count) tensors"), "\(result.output)")
    }
}
