import CRCCluster
import Foundation
import XCTest

/// The documentation stands alone and stays true: the README is a front page, every link between
/// the pages (and to files in the repository) resolves, its example scenario is valid, and nothing
/// a user's clone holds points outside it.
final class DocsTests: XCTestCase {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static func pages() throws -> [URL] {
        let docs = root.appendingPathComponent("docs")
        let names = try FileManager.default.contentsOfDirectory(atPath: docs.path).filter { $0.hasSuffix(".md") }
        return [root.appendingPathComponent("README.md")] + names.sorted().map { docs.appendingPathComponent($0) }
    }

    /// GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens.
    static func anchor(_ heading: String) -> String {
        String(heading.lowercased().compactMap { c -> Character? in
            if c == " " { return "-" }
            if c.isLetter || c.isNumber || c == "-" || c == "_" { return c }
            return nil
        })
    }

    func testTheReadmeIsAFrontPage() throws {
        let readme = try String(contentsOf: Self.root.appendingPathComponent("README.md"), encoding: .utf8)
        let lines = readme.split(separator: "\n", omittingEmptySubsequences: false).count
        XCTAssertLessThanOrEqual(lines, 150, "README.md has \(lines) lines: move the detail into docs/")
        XCTAssertTrue(readme.contains("make up"))
        XCTAssertTrue(readme.contains("make test"))
        let ci = try String(contentsOf: Self.root.appendingPathComponent(".ci/run"), encoding: .utf8)
        XCTAssertTrue(ci.split(separator: "\n").contains("make test"), "CI must run the README's test command as written")
    }

    func testEveryLinkResolves() throws {
        let link = try NSRegularExpression(pattern: "\\]\\(([^)\\s]+)\\)")
        var checked = 0
        for page in try Self.pages() {
            let text = try String(contentsOf: page, encoding: .utf8)
            for m in link.matches(in: text, range: NSRange(text.startIndex..., in: text)) {
                let target = String(text[Range(m.range(at: 1), in: text)!])
                if target.hasPrefix("http://") || target.hasPrefix("https://") || target.hasPrefix("mailto:") { continue }
                let parts = target.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
                let file = parts[0].isEmpty ? page : page.deletingLastPathComponent().appendingPathComponent(parts[0]).standardizedFileURL
                XCTAssertTrue(file.path.hasPrefix(Self.root.path), "\(page.lastPathComponent): \(target) points outside the repository")
                XCTAssertTrue(FileManager.default.fileExists(atPath: file.path), "\(page.lastPathComponent): \(target) does not exist")
                if parts.count == 2, file.pathExtension == "md" {
                    let headings = try String(contentsOf: file, encoding: .utf8).split(separator: "\n")
                        .filter { $0.hasPrefix("#") }.map { Self.anchor($0.drop { $0 == "#" }.trimmingCharacters(in: .whitespaces)) }
                    XCTAssertTrue(headings.contains(parts[1]), "\(page.lastPathComponent): no heading #\(parts[1]) in \(parts[0].isEmpty ? page.lastPathComponent : parts[0])")
                }
                checked += 1
            }
        }
        XCTAssertGreaterThan(checked, 20)
    }

    func testTheReadmesExampleScenarioIsValid() throws {
        let readme = try String(contentsOf: Self.root.appendingPathComponent("README.md"), encoding: .utf8)
        let blocks = readme.components(separatedBy: "```yaml\n").dropFirst().map { $0.components(separatedBy: "```")[0] }
        XCTAssertFalse(blocks.isEmpty)
        for block in blocks {
            let t = try TopologyLoader.parse(block, file: "README.md")
            XCTAssertGreaterThan(t.steps.count, 0, "the README's CI example is a scenario")
        }
    }

    /// A clone stands alone: the product, its scripts and its docs name no path outside it.
    func testNothingPointsOutsideTheRepository() throws {
        var offenders: [String] = []
        for folder in ["Sources", "docs", "scripts", "topologies"] {
            let base = Self.root.appendingPathComponent(folder)
            for case let path as String in FileManager.default.enumerator(atPath: base.path)! {
                let url = base.appendingPathComponent(path)
                guard let text = try? String(contentsOf: url, encoding: .utf8) else { continue }
                if text.contains("../shared") { offenders.append("\(folder)/\(path)") }
            }
        }
        for file in ["README.md", "Makefile", "Package.swift"] {
            let text = try String(contentsOf: Self.root.appendingPathComponent(file), encoding: .utf8)
            if text.contains("../shared") { offenders.append(file) }
        }
        XCTAssertEqual(offenders, [])
    }
}
