import Testing
import NN
#if canImport(Darwin)
import Darwin
#else
import Glibc
#endif

@Suite("Learning-rate schedules")
struct ScheduleTests {
    static func close(_ a: Float, _ b: Double, rtol: Double = 1e-6) -> Bool { abs(Double(a) - b) <= 1e-9 + rtol * abs(b) }

    @Test("Paper schedule, 8 epochs: 0.1 for 0–5, 0.01 at 6, 0.001 at 7")
    func paper8() {
        let s = MultiStepSchedule.paper(base: 0.1, epochs: 8)
        #expect(s.milestones == [6, 7])
        let lrs = (0..<8).map { s.learningRate(epoch: $0) }
        let expected = [0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.01, 0.001]
        for (e, (a, b)) in zip(lrs, expected).enumerated() { #expect(Self.close(a, b), "epoch \(e): \(a)") }
    }

    @Test("Paper schedule, 100 epochs: milestones 75 and 87")
    func paper100() {
        let s = MultiStepSchedule.paper(epochs: 100)
        #expect(s.milestones == [75, 87])
        for (e, lr) in [(0, 0.1), (74, 0.1), (75, 0.01), (86, 0.01), (87, 0.001), (99, 0.001)] {
            #expect(Self.close(s.learningRate(epoch: e), lr), "epoch \(e)")
        }
        #expect(MultiStepSchedule.paper(epochs: 200).milestones == [150, 175])
    }

    @Test("Paper schedule on short runs: no milestone on epoch 0, so a 1-epoch run trains at the base rate")
    func paperShortRuns() {
        let cases: [(epochs: Int, lrs: [Double])] = [
            (1, [0.1]),
            (2, [0.1, 0.001]),
            (3, [0.1, 0.1, 0.001]),
            (4, [0.1, 0.1, 0.1, 0.001]),
            (5, [0.1, 0.1, 0.1, 0.01, 0.001]),
        ]
        for (epochs, expected) in cases {
            let s = MultiStepSchedule.paper(base: 0.1, epochs: epochs)
            #expect(s.milestones.allSatisfy { $0 >= 1 }, "\(epochs) epochs: milestones \(s.milestones)")
            for (e, lr) in expected.enumerated() {
                #expect(Self.close(s.learningRate(epoch: e), lr), "\(epochs) epochs, epoch \(e): \(s.learningRate(epoch: e))")
            }
        }
    }

    @Test("MultiStep: unsorted and repeated milestones, custom γ")
    func multiStep() {
        let s = MultiStepSchedule(base: 1, milestones: [5, 2, 5], gamma: 0.5)
        #expect(s.milestones == [2, 5, 5])
        #expect([0, 1, 2, 4, 5, 9].map { s.learningRate(epoch: $0) } == [1, 1, 0.5, 0.5, 0.125, 0.125])
    }

    @Test("Cosine: base at 0, midpoint halfway, minimum at the end")
    func cosine() {
        let s = CosineSchedule(base: 0.1, epochs: 10, minimum: 0.001)
        #expect(Self.close(s.learningRate(epoch: 0), 0.1))
        #expect(Self.close(s.learningRate(epoch: 5), (0.1 + 0.001) / 2))
        #expect(Self.close(s.learningRate(epoch: 10), 0.001))
        let e3 = 0.001 + (0.1 - 0.001) * (1 + cos(Double.pi * 3 / 10)) / 2
        #expect(Self.close(s.learningRate(epoch: 3), e3))
        let values = (0...10).map { s.learningRate(epoch: $0) }
        #expect(zip(values, values.dropFirst()).allSatisfy { $0 > $1 }, "decreasing")
        #expect(CosineSchedule(base: 0.2, epochs: 4).learningRate(epoch: 4) < 1e-9)
    }

    @Test("Constant")
    func constant() {
        let s = ConstantSchedule(base: 1e-4)
        #expect([0, 7, 1000].map { s.learningRate(epoch: $0) } == [1e-4, 1e-4, 1e-4])
    }

    @Test("Linear warm-up ramps to the inner schedule")
    func warmup() {
        let s = MultiStepSchedule.paper(base: 0.1, epochs: 8).withWarmup(epochs: 2, startFactor: 0.1)
        #expect(Self.close(s.learningRate(epoch: 0), 0.01))
        #expect(Self.close(s.learningRate(epoch: 1), 0.1 * 0.55))
        #expect(Self.close(s.learningRate(epoch: 2), 0.1))
        #expect(Self.close(s.learningRate(epoch: 7), 0.001))
        let none = ConstantSchedule(base: 0.3).withWarmup(epochs: 0)
        #expect(none.learningRate(epoch: 0) == 0.3)
    }
}
