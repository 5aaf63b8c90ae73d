import Testing
import TensorCore
import NN

@Suite("Optimizer update rules against PyTorch's equations")
struct OptimizerUpdateTests {
    static let sgdConfigs: [OptRef.SGDConfig] = [
        .init(lr: 0.1),
        .init(lr: 0.1, weightDecay: 0.05),
        .init(lr: 0.1, momentum: 0.9, weightDecay: 5e-4),           // the paper's setting
        .init(lr: 0.05, momentum: 0.9, nesterov: true),
        .init(lr: 0.05, momentum: 0.8, nesterov: true, weightDecay: 0.01),
        .init(lr: 0.1, momentum: 0.9, dampening: 0.5),
        .init(lr: 0.2, momentum: 0.5, dampening: 0.3, weightDecay: 0.1),
    ]

    @Test("SGD: 3 steps match the PyTorch trajectory", arguments: sgdConfigs)
    func sgdTrajectory(_ cfg: OptRef.SGDConfig) {
        let p = Tensor(OptRef.start, shape: [2, 3]).requiringGrad()
        let opt = SGD(parameters: [.parameter("w", p)], learningRate: Float(cfg.lr), momentum: Float(cfg.momentum),
                      dampening: Float(cfg.dampening), nesterov: cfg.nesterov, weightDecay: Float(cfg.weightDecay))
        let expected = OptRef.sgd(OptRef.start.map(Double.init), OptRef.quadratic, cfg, steps: 3)
        for k in 0..<3 {
            opt.zeroGrad()
            p.grad = OptRef.quadratic.gradient(p)
            opt.step()
            OptRef.expectClose(p.scalars, expected[k], "step \(k + 1)")
        }
        #expect(p.isLeaf && p.requiresGrad, "the step must not record")
        #expect(p.shape == [2, 3])
    }

    static let adamConfigs: [OptRef.AdamConfig] = [
        .init(),
        .init(lr: 1e-4),
        .init(lr: 0.05, beta1: 0.8, beta2: 0.99, eps: 1e-6),
        .init(lr: 0.01, weightDecay: 0.1),
        .init(lr: 0.01, weightDecay: 0.1, amsgrad: true),
        .init(lr: 0.01, weightDecay: 0.01, decoupled: true),
        .init(lr: 0.1, weightDecay: 0.5, decoupled: true),
        .init(lr: 0.02, beta2: 0.9, weightDecay: 0.05, amsgrad: true, decoupled: true),
    ]

    @Test("Adam/AdamW: 3 steps match the PyTorch trajectory", arguments: adamConfigs)
    func adamTrajectory(_ cfg: OptRef.AdamConfig) {
        let p = Tensor(OptRef.start, shape: [6]).requiringGrad()
        let params: [NamedTensor] = [.parameter("w", p)]
        let opt: any Optimizer = cfg.decoupled
            ? AdamW(parameters: params, learningRate: Float(cfg.lr), beta1: Float(cfg.beta1), beta2: Float(cfg.beta2),
                    epsilon: Float(cfg.eps), weightDecay: Float(cfg.weightDecay), amsgrad: cfg.amsgrad)
            : Adam(parameters: params, learningRate: Float(cfg.lr), beta1: Float(cfg.beta1), beta2: Float(cfg.beta2),
                   epsilon: Float(cfg.eps), weightDecay: Float(cfg.weightDecay), amsgrad: cfg.amsgrad)
        let expected = OptRef.adam(OptRef.start.map(Double.init), OptRef.quadratic, cfg, steps: 3)
        for k in 0..<3 {
            opt.zeroGrad()
            p.grad = OptRef.quadratic.gradient(p)
            opt.step()
            OptRef.expectClose(p.scalars, expected[k], "step \(k + 1)")
        }
        #expect(p.isLeaf)
    }

    @Test("Adam's first step moves every coordinate by about lr (bias correction)")
    func adamFirstStepMagnitude() {
        let p = Tensor([1, -2, 3, 0.5], shape: [4]).requiringGrad()
        let opt = Adam(parameters: [.parameter("w", p)], learningRate: 0.01)
        p.grad = Tensor([0.3, -5, 1e-3, 40], shape: [4])
        opt.step()
        let moved = zip(p.scalars, [Float(1), -2, 3, 0.5]).map { $0 - $1 }
        OptRef.expectClose(moved, [-0.01, 0.01, -0.01, -0.01], rtol: 1e-4, atol: 1e-7)
    }

    @Test("AdamW decays even with a zero gradient; Adam with L2 does through the moments")
    func adamWDecoupledDecay() {
        let p = Tensor([2, -4], shape: [2]).requiringGrad()
        let opt = AdamW(parameters: [.parameter("w", p)], learningRate: 0.1, weightDecay: 0.5)
        p.grad = Tensor.zeros([2])
        opt.step()
        // p·(1 − lr·wd) and then m = 0: no Adam move.
        OptRef.expectClose(p.scalars, [2 * 0.95, -4 * 0.95])
    }

    @Test("Parameters with a nil gradient are skipped and keep no state")
    func nilGradientsSkipped() {
        let a = Tensor([1, 2, 3], shape: [3]).requiringGrad()
        let b = Tensor([0.5, -1, 0.25, 1.5, 1, 0], shape: [6]).requiringGrad()
        let cfg = OptRef.AdamConfig(lr: 0.01, weightDecay: 0.1)
        let opt = Adam(parameters: [.parameter("a", a), .parameter("b", b)], learningRate: 0.01, weightDecay: 0.1)
        let sgd = SGD(parameters: [.parameter("a2", a.copy().requiringGrad())], learningRate: 0.1,
                      momentum: 0.9, weightDecay: 0.1)
        // Step 1: only `a` has a gradient.
        a.grad = Tensor([1, 1, 1], shape: [3])
        opt.step()
        sgd.step()  // its parameter has no gradient
        #expect(b.scalars == [0.5, -1, 0.25, 1.5, 1, 0])
        #expect(sgd.stateTensors().keys.sorted() == ["step"])
        var state = opt.stateTensors()
        #expect(state["state.b.exp_avg"] == nil && state["state.a.exp_avg"] != nil)
        #expect(state["state.a.step"]?.item == 1 && state["step"]?.item == 1)
        // Steps 2, 3: `b` joins; its bias correction counts its own steps (1, 2), as PyTorch's
        // per-parameter `state['step']` does.
        let expected = OptRef.adam(b.scalars.map(Double.init), OptRef.quadratic, cfg, steps: 2)
        for k in 0..<2 {
            a.grad = Tensor([1, 1, 1], shape: [3])
            b.grad = OptRef.quadratic.gradient(b)
            opt.step()
            OptRef.expectClose(b.scalars, expected[k], "b step \(k + 1)")
        }
        state = opt.stateTensors()
        #expect(state["state.a.step"]?.item == 3 && state["state.b.step"]?.item == 2 && state["step"]?.item == 3)
    }

    @Test("zeroGrad clears every parameter's gradient")
    func zeroGradClears() {
        let a = Tensor([1, 2], shape: [2]).requiringGrad(), b = Tensor([3], shape: [1]).requiringGrad()
        let opt = SGD(parameters: [.parameter("a", a), .parameter("b", b)], learningRate: 0.1)
        a.grad = Tensor([1, 1], shape: [2]); b.grad = Tensor([1], shape: [1])
        opt.zeroGrad()
        #expect(a.grad == nil && b.grad == nil)
    }

    @Test("learningRate can be changed between steps and applies to the next step")
    func learningRateChange() {
        let p = Tensor([1], shape: [1]).requiringGrad()
        let opt = SGD(parameters: [.parameter("p", p)], learningRate: 0.1)
        p.grad = Tensor([1], shape: [1]); opt.step()
        opt.updateLearningRate(from: ConstantSchedule(base: 0.01), epoch: 0)
        #expect(opt.learningRate == 0.01)
        p.grad = Tensor([1], shape: [1]); opt.step()
        OptRef.expectClose(p.scalars, [1 - 0.1 - 0.01])
    }
}

@Suite("Optimizer parameter groups")
struct OptimizerGroupTests {
    /// A small model with a weight and CenteredSoftplus' log β (noWeightDecay).
    final class Tiny: Layer {
        let fc: Linear
        let act = CenteredSoftplus(initialBeta: 5)
        init() {
            var g = SeededGenerator(seed: 3)
            fc = Linear(inFeatures: 3, outFeatures: 2, generator: &g)
        }
        func callAsFunction(_ x: Tensor) -> Tensor { act(fc(x)) }
        func visit(_ v: inout TensorVisitor) { v.child("fc", fc); v.child("act", act) }
    }

    static func zeroGrads(_ m: Tiny) { for p in m.parameters { p.grad = Tensor.zeros(p.shape) } }

    @Test("split puts noWeightDecay parameters in a zero-decay group; decayAll does not")
    func split() {
        let m = Tiny()
        let groups = ParameterGroup.split(m.namedParameters, weightDecay: 5e-4)
        #expect(groups.count == 2)
        #expect(groups[0].weightDecay == 5e-4 && groups[0].parameters.map(\.name) == ["fc.weight", "fc.bias"])
        #expect(groups[1].weightDecay == 0 && groups[1].parameters.map(\.name) == ["act.log_beta"])
        let all = ParameterGroup.split(m.namedParameters, weightDecay: 5e-4, decayAll: true)
        #expect(all.count == 1 && all[0].parameters.count == 3 && all[0].weightDecay == 5e-4)
        #expect(ParameterGroup.split(m.namedTensors, weightDecay: 0).map(\.parameters.count) == [3])
    }

    @Test("SGD/Adam/AdamW: weights decay, log β does not (unless decayAll)", arguments: ["SGD", "Adam", "AdamW"])
    func noDecayForLogBeta(_ kind: String) {
        for decayAll in [false, true] {
            let m = Tiny()
            let w0 = m.fc.weight.scalars, lb0 = m.act.logBeta.item
            let opt: any Optimizer
            switch kind {
            case "SGD": opt = SGD(parameters: m.namedParameters, learningRate: 0.1, momentum: 0.9, weightDecay: 0.1, decayAll: decayAll)
            case "Adam": opt = Adam(parameters: m.namedParameters, learningRate: 0.1, weightDecay: 0.1, decayAll: decayAll)
            default: opt = AdamW(parameters: m.namedParameters, learningRate: 0.1, weightDecay: 0.1, decayAll: decayAll)
            }
            for _ in 0..<3 { Self.zeroGrads(m); opt.step() }
            // With zero gradients only weight decay moves parameters, towards 0.
            #expect(zip(m.fc.weight.scalars, w0).allSatisfy { abs($0) < abs($1) || $1 == 0 }, "\(kind) weights decay")
            if decayAll {
                #expect(abs(m.act.logBeta.item) < abs(lb0), "\(kind) decayAll decays log β")
            } else {
                #expect(m.act.logBeta.item == lb0, "\(kind) leaves log β alone")
            }
        }
    }

    @Test("A group's learning-rate scale multiplies the base rate")
    func learningRateScale() {
        let a = Tensor([1], shape: [1]).requiringGrad(), b = Tensor([1], shape: [1]).requiringGrad()
        let opt = SGD(groups: [ParameterGroup(parameters: [.parameter("a", a)]),
                               ParameterGroup(parameters: [.parameter("b", b)], weightDecay: 0.5, learningRateScale: 0.1)],
                      learningRate: 0.2)
        a.grad = Tensor([1], shape: [1]); b.grad = Tensor([1], shape: [1])
        opt.step()
        OptRef.expectClose(a.scalars, [1 - 0.2])
        OptRef.expectClose(b.scalars, [1 - 0.02 * (1 + 0.5)])
    }
}

@Suite("Optimizers train")
struct OptimizerTrainingTests {
    /// Linear regression `y = X·w* + b*` with a `Linear(4, 1)`, MSE loss, full batch.
    static func regression(_ makeOptimizer: (Linear) -> any Optimizer, steps: Int) -> (first: Float, last: Float) {
        var g = SeededGenerator(seed: 11)
        let x = Tensor.normal([64, 4], std: 1, generator: &g)
        let wStar = Tensor([1.5, -2, 0.5, 3], shape: [1, 4])
        let y = matmul(x, wStar, transposeB: true) + 0.7
        let model = Linear(inFeatures: 4, outFeatures: 1, generator: &g)
        let opt = makeOptimizer(model)
        var first: Float = 0, last: Float = 0
        for k in 0..<steps {
            opt.zeroGrad()
            let r = model(x) - y
            let loss = (r * r).mean()
            loss.backward()
            opt.step()
            if k == 0 { first = loss.item }
            last = loss.item
        }
        return (first, last)
    }

    @Test("SGD with momentum, Adam and AdamW lower a regression loss", arguments: ["SGD", "Nesterov", "Adam", "AdamW"])
    func lowersLoss(_ kind: String) {
        let (first, last) = Self.regression({ m in
            switch kind {
            case "SGD": return SGD(parameters: m.namedParameters, learningRate: 0.05, momentum: 0.9, weightDecay: 5e-4)
            case "Nesterov": return SGD(parameters: m.namedParameters, learningRate: 0.05, momentum: 0.9, nesterov: true)
            case "Adam": return Adam(parameters: m.namedParameters, learningRate: 0.1)
            default: return AdamW(parameters: m.namedParameters, learningRate: 0.1, weightDecay: 1e-4)
            }
        }, steps: 150)
        #expect(first > 1)
        #expect(last < first * 1e-3, "\(kind): loss \(first) → \(last)")
    }
}
