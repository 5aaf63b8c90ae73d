import Foundation
import Plotting

/// A figure on disk (`name.svg`, `name.png`) and what it shows in words: a title, a caption and
/// the measured statements read off its data (e.g. the fitted boundary curvature per model).
///
/// One record serves both ends: a figure generator (`lcnn moons`, `lcnn plot …`, ``FigureSuite``)
/// returns it with the paths it wrote, and a reproduction's report embeds it with the paths made
/// relative to `report.md` and the exact shell command that regenerates it
/// (``relative(to:command:)``).
public struct FigureRecord: Sendable, Codable, Equatable {
    public var title: String
    public var caption: String
    /// The PNG's path (as written, or relative to the report).
    public var png: String
    /// The SVG's path (as written, or relative to the report).
    public var svg: String
    /// The shell command that regenerates the figure; nil until a report knows it.
    public var command: String?
    /// Measured statements read off the figure's data.
    public var findings: [String]

    public init(title: String, caption: String, png: String, svg: String, command: String? = nil,
                findings: [String] = []) {
        self.title = title
        self.caption = caption
        self.png = png
        self.svg = svg
        self.command = command
        self.findings = findings
    }

    /// Writes `figure` into `directory` as `name.svg` and `name.png` and records it.
    public init(_ figure: Figure, name: String, in directory: URL, title: String, caption: String,
                findings: [String]) throws {
        let files = try figure.write(to: directory, name: name)
        self.init(title: title, caption: caption, png: files.png.path, svg: files.svg.path, findings: findings)
    }

    /// The PNG as a file URL.
    public var pngURL: URL { URL(fileURLWithPath: png) }
    /// The SVG as a file URL.
    public var svgURL: URL { URL(fileURLWithPath: svg) }

    /// This record with its paths relative to `directory` (left as they are outside it) and the
    /// command that regenerates it.
    public func relative(to directory: URL, command: String) -> FigureRecord {
        let base = directory.standardizedFileURL.path + "/"
        func relative(_ path: String) -> String {
            let full = URL(fileURLWithPath: path).standardizedFileURL.path
            return full.hasPrefix(base) ? String(full.dropFirst(base.count)) : full
        }
        return FigureRecord(title: title, caption: caption, png: relative(png), svg: relative(svg), command: command,
                            findings: findings)
    }
}
