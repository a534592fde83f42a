import ArgumentParser
import CRCCluster
import CRCGrading
import CRCProcess
import Foundation

// MARK: - gradescope-kit

struct GradescopeKitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gradescope-kit",
        abstract: "Write a ready Gradescope autograder: setup.sh, run_autograder, and this crc-cluster.",
        discussion: """
        Gradescope builds the autograder's image with setup.sh (it installs python3, libyaml and \
        libedit, and this crc-cluster from bin/), and runs run_autograder for every submission: \
        `crc-cluster grade --course-python /autograder/submission --gradescope \
        /autograder/results/results.json` with the starter files, weights and scenarios given \
        here. Make the kit from a release build (make install): a debug build links the Swift \
        runtime of this machine, which Gradescope's image does not have. README.md in the folder \
        says how to zip and upload it.

        Example:
          crc-cluster gradescope-kit autograder/ --starter course/starter/ --weights weights.yaml
        """)

    @Argument(help: "The folder to write (created when missing; existing kit files in it are replaced).") var folder: String
    @Option(help: ArgumentHelp("The course's starter files (ChatMessageParser.py) to supply beside each submission.", valueName: "dir"))
    var starter: String?
    @Option(help: ArgumentHelp("Points per scenario and hidden scenarios (as grade --weights).", valueName: "file"))
    var weights: String?
    @Argument(help: "Scenario files or folders to grade with (default: the built-in seed and conformance scenarios); copied into the kit.")
    var paths: [String] = []

    func validate() throws {
        if let starter {
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: starter, isDirectory: &isDir), isDir.boolValue else {
                throw ValidationError("--starter \(starter): no such folder")
            }
            guard FileManager.default.fileExists(atPath: starter + "/ChatMessageParser.py") else {
                throw ValidationError("--starter \(starter): no ChatMessageParser.py in it (the course's starter module the submissions import)")
            }
        }
        if let weights {
            let text: String
            do { text = try String(contentsOfFile: weights, encoding: .utf8) } catch {
                throw ValidationError("--weights \(weights): cannot read it: \(describeFileError(error))")
            }
            do { _ = try ScenarioWeights.parse(text, file: weights) } catch { throw ValidationError("--weights: \(error)") }
        }
    }

    func run() throws {
        let fm = FileManager.default
        let base = URL(fileURLWithPath: folder)
        var arguments: [String] = []
        do {
            try fm.createDirectory(at: base.appendingPathComponent("bin"), withIntermediateDirectories: true)
            let binary = base.appendingPathComponent("bin/crc-cluster")
            try? fm.removeItem(at: binary)
            try fm.copyItem(atPath: selfPath(), toPath: binary.path)
            if let starter {
                let target = base.appendingPathComponent("starter")
                try? fm.removeItem(at: target)
                try fm.copyItem(atPath: starter, toPath: target.path)
                arguments += ["--starter", "starter"]
            }
            if let weights {
                let target = base.appendingPathComponent("weights.yaml")
                try? fm.removeItem(at: target)
                try fm.copyItem(atPath: weights, toPath: target.path)
                arguments += ["--weights", "weights.yaml"]
            }
            if !paths.isEmpty {
                let files: [String]
                do { files = try ScenarioRunner.expand(paths) } catch { throw ValidationError("\(error)") }
                let target = base.appendingPathComponent("scenarios")
                try? fm.removeItem(at: target)
                try fm.createDirectory(at: target, withIntermediateDirectories: true)
                for (i, f) in files.enumerated() {
                    _ = try loadOrExit(f)
                    let name = String(format: "%02d-", i + 1) + URL(fileURLWithPath: f).lastPathComponent
                    let text = fm.fileExists(atPath: f) ? try String(contentsOfFile: f, encoding: .utf8) : BuiltInScenarios.file(f)?.text ?? ""
                    try text.write(to: target.appendingPathComponent(name), atomically: true, encoding: .utf8)
                }
                arguments += ["scenarios"]
            }
            let setup = base.appendingPathComponent("setup.sh"), run = base.appendingPathComponent("run_autograder")
            try GradescopeKit.setup.write(to: setup, atomically: true, encoding: .utf8)
            try GradescopeKit.runAutograder(arguments: arguments).write(to: run, atomically: true, encoding: .utf8)
            try GradescopeKit.readme.write(to: base.appendingPathComponent("README.md"), atomically: true, encoding: .utf8)
            for f in [setup, run, binary] { try fm.setAttributes([.posixPermissions: 0o755], ofItemAtPath: f.path) }
        } catch let error as ValidationError {
            throw error
        } catch {
            FileHandle.standardError.write(Data("crc-cluster: cannot write the kit into \(folder): \(describeFileError(error))\n".utf8))
            throw ExitCode(1)
        }
        print("wrote a Gradescope autograder to \(folder): setup.sh, run_autograder, bin/crc-cluster\(starter == nil ? "" : ", starter/")\(weights == nil ? "" : ", weights.yaml")\(paths.isEmpty ? "" : ", scenarios/") (README.md says how to upload it)")
        if let maps = ProcFile.text("/proc/self/maps"), maps.contains("libswiftCore.so") {
            FileHandle.standardError.write(Data("crc-cluster: warning: this crc-cluster loads the Swift runtime from this machine (\(selfPath())); Gradescope's image has none. Make the kit with a release build: make install, then the installed crc-cluster gradescope-kit …\n".utf8))
        }
    }
}
