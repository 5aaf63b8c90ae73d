import Datasets
import Foundation

/// The datasets the command line knows by name (`--dataset`, SPEC §9).
public enum DatasetName: String, Sendable, CaseIterable, Codable {
    case moons, mnist, fashionMNIST = "fashion-mnist", cifar10, cifar100

    /// The default architecture for this dataset.
    public var defaultArchitecture: String {
        switch self {
        case .moons: return "mlp"
        case .mnist, .fashionMNIST: return "smallcnn"
        case .cifar10, .cifar100: return "resnet18"
        }
    }

    /// Whether random crop + flip augmentation is used in training (CIFAR, SPEC T8).
    public var augmentation: Augmentation? {
        switch self {
        case .cifar10, .cifar100: return .cifar
        default: return nil
        }
    }

    /// Loads the train and test splits. Two moons is generated (`moonsCount` training points,
    /// half as many test points) with `moonsNoise` and `moonsLabelNoise`; files come from `directory`
    /// (Fashion-MNIST defaults to Debian's `/usr/share/datasets/fashion-mnist`).
    public func load(directory: String?, seed: UInt64, moonsCount: Int = 1000, moonsNoise: Float = 0.1,
                     moonsLabelNoise: Float = 0) throws -> (train: Dataset, test: Dataset) {
        switch self {
        case .moons:
            return (TwoMoons.make(count: moonsCount, noise: moonsNoise, labelNoise: moonsLabelNoise, seed: seed),
                    TwoMoons.make(count: max(moonsCount / 2, 2), noise: moonsNoise, labelNoise: 0, seed: seed &+ 1))
        case .mnist:
            guard let directory else {
                throw DatasetError(file: "mnist", problem: "no directory given: pass --data DIR holding the four MNIST IDX files",
                                   kind: .notFound)
            }
            return (try MNIST.load(directory: directory, split: .train), try MNIST.load(directory: directory, split: .test))
        case .fashionMNIST:
            return (try FashionMNIST.load(directory: directory, split: .train), try FashionMNIST.load(directory: directory, split: .test))
        case .cifar10, .cifar100:
            guard let directory else {
                throw DatasetError(file: rawValue, problem: "no directory given: pass --data DIR holding the CIFAR binary batches",
                                   kind: .notFound)
            }
            let variant: CIFAR.Variant = self == .cifar10 ? .cifar10 : .cifar100
            return (try CIFAR.load(directory: directory, variant: variant, split: .train),
                    try CIFAR.load(directory: directory, variant: variant, split: .test))
        }
    }
}

extension DatasetName {
    /// The names of the classes, for legends and findings.
    public var classNames: [String] {
        switch self {
        case .moons: return ["upper moon", "lower moon"]
        case .mnist: return (0...9).map(String.init)
        case .fashionMNIST: return FashionMNIST.classNames
        case .cifar10: return CIFAR.cifar10ClassNames
        case .cifar100: return (0..<100).map { "class \($0)" }
        }
    }
}
