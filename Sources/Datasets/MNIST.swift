import TensorCore

/// MNIST: handwritten digits, 28×28 grey-scale, 10 classes, 60 000 training and 10 000 test
/// images, as four IDX files (see ``IDX``), gzipped or not:
///
///     train-images-idx3-ubyte[.gz]   train-labels-idx1-ubyte[.gz]
///     t10k-images-idx3-ubyte[.gz]    t10k-labels-idx1-ubyte[.gz]
///
/// Other common spellings are found too: any file whose name starts with `train` (training
/// split) or `t10k`/`test` (test split) and contains `images` and `idx3` (`labels` and `idx1`
/// for labels), such as Kaggle's `train-images.idx3-ubyte`. The classic names win when several
/// files match.
public enum MNIST {
    /// The number of classes.
    public static let classes = 10

    /// Loads one split from `directory`: images `[N, 1, 28, 28]` in [0, 1], labels in 0..<10.
    ///
    /// Throws a ``DatasetError`` when a file is missing (naming the directory and the file
    /// sought), malformed (naming the file), or when the image and label files hold different
    /// numbers of samples.
    public static func load(directory: String, split: Split) throws -> Dataset {
        try IDXDataset.load(directory: directory, split: split, name: "mnist", classes: classes,
                            missingHint: "pass --data DIR, a directory with the four MNIST IDX files "
                                + IDXDataset.fileList)
    }
}

/// Fashion-MNIST: Zalando's clothing images in MNIST's format and sizes (28×28 grey-scale,
/// 10 classes, 60 000 + 10 000 images, the same four IDX file names, see ``MNIST``).
///
/// Debian and Ubuntu ship it as the package `dataset-fashion-mnist`, which installs the four
/// gzipped files under ``defaultDirectory``; ``load(directory:split:)`` looks there when no
/// directory is given.
public enum FashionMNIST {
    /// Where `apt-get install dataset-fashion-mnist` puts the files.
    public static let defaultDirectory = "/usr/share/datasets/fashion-mnist"
    /// The number of classes.
    public static let classes = 10
    /// The class names, by label.
    public static let classNames = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]

    /// Loads one split from `directory`, or from ``defaultDirectory`` when it is `nil`.
    /// A missing dataset throws a ``DatasetError`` (kind `.notFound`) that says how to get it.
    public static func load(directory: String? = nil, split: Split) throws -> Dataset {
        try IDXDataset.load(directory: directory ?? defaultDirectory, split: split,
                            name: "fashion-mnist", classes: classes,
                            missingHint: "install it with `sudo apt-get install dataset-fashion-mnist` "
                                + "(it puts the files in \(defaultDirectory)) or pass --data DIR, "
                                + "a directory with the four Fashion-MNIST IDX files " + IDXDataset.fileList)
    }
}

/// The shared loader behind ``MNIST`` and ``FashionMNIST``.
enum IDXDataset {
    static let fileList = "(train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, "
        + "t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz; gzipped or not)"

    static func load(directory: String, split: Split, name: String, classes: Int,
                     missingHint: String) throws -> Dataset {
        let (imagesPath, labelsPath) = try files(in: directory, split: split, missingHint: missingHint)
        let images = try IDX.readImages(path: imagesPath)
        let labels = try IDX.readLabels(path: labelsPath, classes: classes)
        guard labels.count == images.shape[0] else {
            throw DatasetError(file: labelsPath, problem:
                "\(labels.count) labels but \(imagesPath) has \(images.shape[0]) images",
                kind: .invalidContents)
        }
        return Dataset(name: "\(name)/\(split.rawValue)", images: images, labels: labels, classes: classes)
    }

    /// The image and label files of `split` in `directory`.
    static func files(in directory: String, split: Split, missingHint: String) throws -> (String, String) {
        let prefixes = split == .train ? ["train"] : ["t10k", "test"]
        guard DataFile.isDirectory(directory) else {
            throw DatasetError(file: directory, problem:
                "dataset not found: the directory does not exist; \(missingHint)", kind: .notFound)
        }
        let names = DataFile.list(directory)
        func find(_ kind: String, _ idx: String) throws -> String {
            let classic = "\(prefixes[0])-\(kind)-\(idx)-ubyte"
            for candidate in [classic, classic + ".gz"] where names.contains(candidate) {
                let path = DataFile.join(directory, candidate)
                if DataFile.exists(path) { return path }
            }
            for candidate in names {
                let lower = candidate.lowercased()
                guard prefixes.contains(where: { lower.hasPrefix($0) }), lower.contains(kind),
                      lower.contains(idx) else { continue }
                let path = DataFile.join(directory, candidate)
                if DataFile.exists(path) { return path }
            }
            throw DatasetError(file: directory, problem:
                "dataset not found: no \(classic)[.gz] here; \(missingHint)", kind: .notFound)
        }
        return (try find("images", "idx3"), try find("labels", "idx1"))
    }
}
