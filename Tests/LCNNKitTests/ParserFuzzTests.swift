import Foundation
import Testing
import NN
import TensorCore
import _TestSupport
@testable import LCNNKit

/// The files a run reads back — checkpoints (safetensors), `config.json`, `metrics.jsonl` — on
/// `Fuzzing.iterations` mutated inputs each (default 2,000; `scripts/fuzz` runs 100,000). Each
/// input must give a thrown error that names the file, or a result that is valid: never a trap,
/// never a model with NaN weights, never an implausible record.
@Suite("Parser fuzzing: checkpoints, configurations, metrics")
struct ParserFuzzTests {
    /// An LCNN MLP: γ-BN running statistics, learnable β, spectral-norm vectors and the
    /// I64 `num_batches_tracked`, so every dtype path of the reader is reached.
    static func model() -> any Layer {
        ModelConfig(architecture: .mlp, lcnn: true, inputShape: [6], classes: 3, hiddenWidths: [5], seed: 1).makeModel()
    }

    @Test("safetensors checkpoints: mutated headers, offsets, dtypes, shapes, sizes and NaN payloads")
    func safetensors() throws {
        let model = Self.model()
        let base = try [UInt8](SafeTensors.encode(model.stateDict(), metadata: ["epoch": "3", "format": "fuzz"]))
        let header = Int(base[0]) | Int(base[1]) << 8   // the header is short: two bytes of the length suffice
        let headerText = String(decoding: base[8..<(8 + header)], as: UTF8.self)
        let payload = Array(base[(8 + header)...])
        var g = Fuzzing.generator("safetensors")
        var accepted = 0
        for i in 0..<Fuzzing.iterations {
            let bytes: [UInt8]
            if g.nextInt(below: 2) == 0 {
                // A well-framed file whose JSON header is mutated (its length field kept consistent).
                var json = Array(Fuzzing.mutateJSON(headerText, &g).utf8)
                while json.count % 8 != 0 { json.append(0x20) }
                bytes = (0..<8).map { UInt8(truncatingIfNeeded: UInt64(json.count) >> (8 * UInt64($0))) } + json + payload
            } else {
                bytes = Fuzzing.mutate(base, &g)
            }
            let name = "fuzz-\(i).safetensors"
            do {
                let file = try SafeTensors.decode(Data(bytes), source: name)
                let target = Self.model()
                do {
                    try target.loadStateDict(file.tensors, strict: g.nextInt(below: 2) == 0, source: name)
                    accepted += 1
                    let bad = target.namedTensors.filter { $0.tensor.nonFiniteCount() != nil }.map(\.name)
                    #expect(bad.isEmpty, "input #\(i) (seed \(Fuzzing.seed)) loaded non-finite tensors \(bad)")
                } catch let error as CheckpointError {
                    #expect(error.description.hasPrefix(name + ": "), "load error does not name the file: \(error)")
                }
            } catch let error as CheckpointError {
                #expect(error.description.hasPrefix(name + ": "), "decode error does not name the file: \(error)")
            } catch {
                Issue.record("input #\(i) (seed \(Fuzzing.seed)): unexpected error \(error)")
            }
        }
        Fuzzing.report("safetensors", inputs: Fuzzing.iterations, accepted: accepted)
        #expect(accepted > 0, "no mutated checkpoint loaded: the mutations never leave a valid file")
    }

    @Test("safetensors: a header length of 2^60 or 2^64−1 is an error, not an allocation")
    func hugeHeaderLength() {
        for claimed: UInt64 in [1 << 60, .max, 1 << 40] {
            let bytes = (0..<8).map { UInt8(truncatingIfNeeded: claimed >> (8 * UInt64($0))) } + Array("{}".utf8)
            #expect(throws: CheckpointError.self) { _ = try SafeTensors.decode(Data(bytes), source: "huge.safetensors") }
        }
    }

    @Test("a checkpoint whose weights hold NaN is refused with the tensor named; the model is untouched")
    func nonFiniteWeightsRefused() throws {
        let source = Self.model()
        var tensors = source.stateDict().mapValues { $0.copy() }
        let name = try #require(tensors.keys.sorted().first { $0.contains("weight") && tensors[$0]!.count > 2 })
        tensors[name]!.withUnsafeMutableBufferPointer { $0[$0.count / 2] = .nan; $0[0] = .infinity }
        let data = try SafeTensors.encode(tensors)
        let file = try SafeTensors.decode(data, source: "nan.safetensors")
        let target = Self.model()
        let before = target.stateDict().mapValues(\.scalars)
        let error = #expect(throws: CheckpointError.self) { try target.loadStateDict(file.tensors, source: "nan.safetensors") }
        #expect(error == .nonFiniteValues(file: "nan.safetensors", tensor: name, count: 2, total: tensors[name]!.count))
        #expect(error?.description.contains("\"\(name)\" holds 2 NaN or infinite values") == true, "\(String(describing: error))")
        #expect(target.stateDict().mapValues(\.scalars) == before, "a refused load changed the model")
    }

    @Test("config.json: mutated keys, values and structure")
    func trainingConfig() throws {
        var moons = TrainConfig()
        moons.dataset = .moons
        moons.architecture = .mlp
        moons.method = .adversarial
        moons.trainSubset = 100
        let bases = [TrainConfig().json(), moons.json()]
        var g = Fuzzing.generator("config")
        var accepted = 0
        for i in 0..<Fuzzing.iterations {
            var text = Fuzzing.mutateJSON(bases[i % 2], &g)
            if g.nextInt(below: 3) == 0 { text = Fuzzing.mutateJSON(text, &g) }
            let name = "fuzz-\(i)/config.json"
            do {
                let config = try TrainConfig.decode(Data(text.utf8), file: name)
                accepted += 1
                #expect((try? config.validate()) != nil)
                #expect(config.epochs >= 1 && config.batchSize >= 1 && config.learningRate.isFinite && config.learningRate > 0)
            } catch let TrainingError.invalidConfiguration(message) {
                #expect(message.hasPrefix(name + ": "), "the error does not name the file: \(message)")
            } catch {
                Issue.record("input #\(i) (seed \(Fuzzing.seed)): unexpected error \(error)")
            }
        }
        Fuzzing.report("config", inputs: Fuzzing.iterations, accepted: accepted)
        #expect(accepted > 0)
    }

    @Test("metrics.jsonl as a resumed run and lcnn reproduce read it back")
    func metricsLines() throws {
        let records = (0..<4).map { e in
            EpochMetrics(epoch: e, learningRate: 0.1, trainLoss: 1.0 / Double(e + 1), trainAccuracy: 0.5, testLoss: 0.9,
                         testAccuracy: 0.6, terms: ["cross_entropy": 0.8, "lcnn_penalty": 0.01], meanBeta: 1.2, meanGamma: 0.9,
                         trainSeconds: 3.5, evalSeconds: 0.5, samplesPerSecond: 100, steps: 40)
        }
        let base = records.map { $0.jsonLine() + "\n" }.joined()
        #expect(try EpochMetrics.parseLines(Data(base.utf8), file: "valid") == records)
        var g = Fuzzing.generator("metrics")
        var accepted = 0
        for i in 0..<Fuzzing.iterations {
            var lines = base.split(separator: "\n").map(String.init)
            let line = g.nextInt(below: lines.count)
            switch g.nextInt(below: 4) {
            case 0: lines[line] = Fuzzing.mutateJSON(lines[line], &g)
            case 1: lines.swapAt(line, g.nextInt(below: lines.count))
            case 2: lines.insert(lines[line], at: g.nextInt(below: lines.count + 1))
            default: lines = Fuzzing.mutateJSON(lines.joined(separator: "\n"), &g).split(separator: "\n").map(String.init)
            }
            let name = "fuzz-\(i)/metrics.jsonl"
            do {
                let parsed = try EpochMetrics.parseLines(Data((lines.joined(separator: "\n") + "\n").utf8), file: name)
                accepted += 1
                #expect(parsed.allSatisfy { $0.implausibility == nil })
                #expect(zip(parsed, parsed.dropFirst()).allSatisfy { $0.epoch < $1.epoch })
            } catch let TrainingError.invalidFile(file, reason) {
                #expect(file == name && reason.hasPrefix("line ") || reason == "is not UTF-8 text", "\(file): \(reason)")
            } catch {
                Issue.record("input #\(i) (seed \(Fuzzing.seed)): unexpected error \(error)")
            }
        }
        Fuzzing.report("metrics", inputs: Fuzzing.iterations, accepted: accepted)
        #expect(accepted > 0)
    }
}
