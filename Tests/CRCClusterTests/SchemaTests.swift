@testable import CRCCluster
import Foundation
import XCTest
import CRCProcess

/// `crc-cluster schema` describes the format the loader reads: the same keys as the decoder,
/// every topology in the repository and every generated one valid under it (checked by Python's
/// jsonschema, as an editor's language server would), and the mistakes the loader rejects
/// rejected by it too.
final class SchemaTests: ClusterTestCase {
    func schemaObject() throws -> [String: Any] {
        try XCTUnwrap(JSONSerialization.jsonObject(with: Data(TopologySchema.json.utf8)) as? [String: Any])
    }

    func keys(_ object: Any?) -> Set<String> {
        Set(((object as? [String: Any])?["properties"] as? [String: Any])?.keys.map { $0 } ?? [])
    }

    func testTheSchemaHasTheDecodersKeys() throws {
        let schema = try schemaObject()
        let defs = try XCTUnwrap(schema["$defs"] as? [String: Any])
        XCTAssertEqual(keys(schema), Set(Topology.yamlKeys))
        XCTAssertEqual(keys(defs["server"]), Set(ServerSpec.yamlKeys))
        XCTAssertEqual(keys(defs["client"]), Set(ClientSpec.yamlKeys))
        XCTAssertEqual(keys(defs["expectation"]), Set(NodeExpectation.yamlKeys))
        let stepForms = (defs["step"] as? [String: Any])?["oneOf"] as? [Any]
        XCTAssertEqual(keys(stepForms?.last), Set(StepSpec.yamlKeys))
        let step = stepForms?.last as? [String: Any]
        let properties = step?["properties"] as? [String: Any]
        XCTAssertEqual(keys(properties?["chat"]), Set(ChatStepSpec.yamlKeys))
        XCTAssertEqual(keys(properties?["quit"]), Set(QuitStepSpec.yamlKeys))
        XCTAssertEqual(keys(properties?["delay"]), Set(DelayStepSpec.yamlKeys))
    }

    /// Python with jsonschema and PyYAML: scripts/deps.sh test puts them in /opt/crc-venv.
    static var python: String {
        (ProcessInfo.processInfo.environment["CRC_VENV"] ?? "/opt/crc-venv") + "/bin/python"
    }

    /// Runs jsonschema on each file; returns the files it rejected, with the first reason.
    func rejected(_ files: [URL]) throws -> [String: String] {
        let schemaFile = tmp.appendingPathComponent("topology.schema.json")
        let p = try cluster(["schema"])
        XCTAssertEqual(p.waitForExit(timeout: 30), .exited(0))
        p.waitForEndOfOutput()
        try p.stdoutLines.joined(separator: "\n").write(to: schemaFile, atomically: true, encoding: .utf8)
        let script = """
        import json, sys, yaml, jsonschema
        schema = json.load(open(sys.argv[1]))
        jsonschema.Draft202012Validator.check_schema(schema)
        v = jsonschema.Draft202012Validator(schema)
        for f in sys.argv[2:]:
            errors = sorted(v.iter_errors(yaml.safe_load(open(f))), key=lambda e: list(e.path))
            if errors:
                print(json.dumps({"file": f, "error": errors[0].message}))
        print("checked", len(sys.argv) - 2)
        """
        let check = NodeProcess(name: "jsonschema", executable: Self.python, arguments: ["-c", script, schemaFile.path] + files.map(\.path))
        processes.append(check)
        try check.start()
        XCTAssertEqual(check.waitForExit(timeout: 60), .exited(0), check.stderrLines.joined(separator: "\n"))
        check.waitForEndOfOutput()
        XCTAssertEqual(check.stdoutLines.last, "checked \(files.count)", check.stderrLines.joined(separator: "\n"))
        var out: [String: String] = [:]
        for line in check.stdoutLines.dropLast() {
            let o = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: String])
            out[o["file"]!] = o["error"]
        }
        return out
    }

    func testEveryTopologyInTheRepositoryAndEveryGeneratedOneIsValid() throws {
        try requireTool(FileManager.default.isExecutableFile(atPath: Self.python), "Python with jsonschema (\(Self.python))")
        let base = Self.root.appendingPathComponent("topologies")
        var files = (FileManager.default.enumerator(atPath: base.path)!.allObjects as! [String])
            .filter { $0.hasSuffix(".yaml") }.map { base.appendingPathComponent($0) }
        XCTAssertEqual(files.count, BuiltInScenarios.all.count)
        for shape in Shape.allCases {
            let file = tmp.appendingPathComponent("gen-\(shape).yaml")
            try TopologyGenerator.yaml(servers: 40, clients: 60, shape: shape, seed: 7).write(to: file, atomically: true, encoding: .utf8)
            XCTAssertNoThrow(try TopologyLoader.load(path: file.path), "the loader reads what gen writes")
            files.append(file)
        }
        XCTAssertEqual(try rejected(files), [:])
    }

    /// Files the loader rejects for their keys or types are rejected by the schema too.
    func testTheSchemaRejectsWhatTheLoaderRejects() throws {
        try requireTool(FileManager.default.isExecutableFile(atPath: Self.python), "Python with jsonschema (\(Self.python))")
        let wrong = [
            "unknown-key": "servers:\n  - {id: 1, name: a, upstrem: b}\n",
            "id-zero": "servers:\n  - {id: 0, name: a}\n",
            "id-too-large": "servers:\n  - {id: 4294967296, name: a}\n",
            "no-name": "servers:\n  - {id: 1}\n",
            "no-servers": "clients:\n  - {id: 1, name: c, server: a}\n",
            "client-without-server": "servers:\n  - {id: 1, name: a}\nclients:\n  - {id: 2, name: c}\n",
            "two-actions": "servers:\n  - {id: 1, name: a}\nsteps:\n  - {stop: a, kill: a}\n",
            "unknown-step": "servers:\n  - {id: 1, name: a}\nsteps:\n  - {pause: a}\n",
            "chat-without-text": "servers:\n  - {id: 1, name: a}\nsteps:\n  - chat: {from: a, to: a}\n",
            "delay-too-long": "servers:\n  - {id: 1, name: a}\nsteps:\n  - delay: {link: a, ms: 60001}\n",
            "within-zero": "servers:\n  - {id: 1, name: a}\nsteps:\n  - {settle: '', within: 0}\n",
            "port-too-large": "servers:\n  - {id: 1, name: a, port: 70000}\n",
            "expectation-key": "servers:\n  - {id: 1, name: a}\nexpect:\n  a: {host: [2]}\n",
            "first-message-not-hex": "servers:\n  - {id: 1, name: a}\nfirst_messages:\n  a: [xyz]\n",
        ]
        var files: [URL] = []
        for (name, text) in wrong {
            let file = tmp.appendingPathComponent("\(name).yaml")
            try text.write(to: file, atomically: true, encoding: .utf8)
            files.append(file)
            XCTAssertThrowsError(try TopologyLoader.load(path: file.path), "the loader accepts \(name)")
        }
        let rejected = try rejected(files)
        for file in files {
            XCTAssertNotNil(rejected[file.path], "the schema accepts \(file.lastPathComponent)")
        }
    }
}
