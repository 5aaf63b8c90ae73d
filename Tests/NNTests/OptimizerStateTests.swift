import Testing
import TensorCore
import NN

@Suite("Optimizer state round trip")
struct OptimizerStateTests {
    static func makeParams() -> [NamedTensor] {
        [.parameter("layer.0.weight", Tensor(OptRef.start, shape: [2, 3]).requiringGrad()),
         .parameter("layer.0.log_beta", Tensor([0.3, -0.2], shape: [2]).requiringGrad(), noWeightDecay: true)]
    }

    static func make(_ kind: String, _ params: [NamedTensor]) -> any Optimizer {
        switch kind {
        case "SGD": return SGD(parameters: params, learningRate: 0.1, momentum: 0.9, weightDecay: 5e-4)
        case "Nesterov": return SGD(parameters: params, learningRate: 0.1, momentum: 0.9, nesterov: true, weightDecay: 0.01)
        case "Adam": return Adam(parameters: params, learningRate: 0.01, weightDecay: 0.01)
        case "AMSGrad": return Adam(parameters: params, learningRate: 0.01, amsgrad: true)
        default: return AdamW(parameters: params, learningRate: 0.01, weightDecay: 0.05)
        }
    }

    static func step(_ opt: any Optimizer, _ params: [NamedTensor], k: Int) {
        opt.zeroGrad()
        for (i, p) in params.enumerated() {
            // The second parameter misses a gradient at step 1, so per-parameter steps differ.
            if i == 1 && k == 0 { continue }
            let q = OptRef.Quadratic(c: Array(OptRef.quadratic.c.prefix(p.tensor.count)),
                                     d: Array(OptRef.quadratic.d.prefix(p.tensor.count)))
            p.tensor.grad = q.gradient(p.tensor)
        }
        opt.step()
    }

    @Test("stateTensors → loadState continues bit-identically", arguments: ["SGD", "Nesterov", "Adam", "AMSGrad", "AdamW"])
    func roundTrip(_ kind: String) throws {
        let pa = Self.makeParams()
        let a = Self.make(kind, pa)
        for k in 0..<2 { Self.step(a, pa, k: k) }
        let saved = a.stateTensors()

        // A fresh optimiser over copies of the parameters, restored from the saved state.
        let pb = pa.map { NamedTensor.parameter($0.name, $0.tensor.copy().requiringGrad(), noWeightDecay: $0.noWeightDecay) }
        let b = Self.make(kind, pb)
        try b.loadState(saved)
        #expect(b.stateTensors().keys.sorted() == saved.keys.sorted())

        for k in 2..<5 {
            Self.step(a, pa, k: k)
            Self.step(b, pb, k: k)
        }
        for (x, y) in zip(pa, pb) { #expect(x.tensor.scalars == y.tensor.scalars, "\(kind) \(x.name)") }
        let sa = a.stateTensors(), sb = b.stateTensors()
        #expect(sa.keys.sorted() == sb.keys.sorted())
        for (key, t) in sa { #expect(t.scalars == sb[key]?.scalars, "\(kind) \(key)") }
    }

    @Test("State keys follow the PyTorch names")
    func keyNames() {
        let ps = Self.makeParams()
        let sgd = Self.make("SGD", ps)
        for k in 0..<2 { Self.step(sgd, ps, k: k) }
        #expect(sgd.stateTensors().keys.sorted() ==
                ["state.layer.0.log_beta.momentum_buffer", "state.layer.0.weight.momentum_buffer", "step"])
        let adam = Self.make("AMSGrad", ps)
        Self.step(adam, ps, k: 1)
        #expect(adam.stateTensors().keys.sorted() == [
            "state.layer.0.log_beta.exp_avg", "state.layer.0.log_beta.exp_avg_sq", "state.layer.0.log_beta.max_exp_avg_sq",
            "state.layer.0.log_beta.step",
            "state.layer.0.weight.exp_avg", "state.layer.0.weight.exp_avg_sq", "state.layer.0.weight.max_exp_avg_sq",
            "state.layer.0.weight.step", "step"])
        #expect(adam.stateTensors()["state.layer.0.weight.exp_avg"]?.shape == [2, 3])
    }

    @Test("stateTensors returns copies")
    func copies() {
        let ps = Self.makeParams()
        let opt = Self.make("SGD", ps)
        Self.step(opt, ps, k: 1)
        let s = opt.stateTensors()
        let before = s["state.layer.0.weight.momentum_buffer"]!.scalars
        Self.step(opt, ps, k: 2)
        #expect(s["state.layer.0.weight.momentum_buffer"]!.scalars == before)
    }

    @Test("loadState rejects foreign, incomplete or misshapen state and changes nothing")
    func rejects() throws {
        let ps = Self.makeParams()
        let adam = Self.make("Adam", ps)
        for k in 0..<2 { Self.step(adam, ps, k: k) }
        let good = adam.stateTensors()

        var extra = good; extra["state.other.exp_avg"] = Tensor.zeros([1])
        #expect(throws: OptimizerStateError.unexpectedKey("state.other.exp_avg")) { try adam.loadState(extra) }

        var partial = good; partial["state.layer.0.weight.exp_avg_sq"] = nil
        #expect(throws: OptimizerStateError.missingKey("state.layer.0.weight.exp_avg_sq")) { try adam.loadState(partial) }

        var shaped = good; shaped["state.layer.0.weight.exp_avg"] = Tensor.zeros([6])
        #expect(throws: OptimizerStateError.shapeMismatch(key: "state.layer.0.weight.exp_avg", expected: [2, 3], found: [6])) {
            try adam.loadState(shaped)
        }

        var noStep = good; noStep["step"] = nil
        #expect(throws: OptimizerStateError.missingKey("step")) { try adam.loadState(noStep) }

        var badStep = good; badStep["state.layer.0.weight.step"] = Tensor(1.5)
        #expect(throws: OptimizerStateError.invalidStep(key: "state.layer.0.weight.step", value: 1.5)) { try adam.loadState(badStep) }

        // SGD state into Adam: foreign keys.
        let sgd = Self.make("SGD", ps)
        Self.step(sgd, ps, k: 1)
        #expect(throws: OptimizerStateError.self) { try adam.loadState(sgd.stateTensors()) }

        // Nothing changed by the failed loads.
        let now = adam.stateTensors()
        #expect(now.keys.sorted() == good.keys.sorted())
        for (k, t) in good { #expect(t.scalars == now[k]?.scalars, "\(k)") }

        // Loading a fresh optimiser's state resets.
        try adam.loadState(Self.make("Adam", ps).stateTensors())
        #expect(adam.stateTensors().keys.sorted() == ["step"])
    }
}
