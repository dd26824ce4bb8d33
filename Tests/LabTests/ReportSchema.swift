import Foundation
import ISPChecker
import TestSupport

/// Validates run-report JSON against docs/report.schema.json with python3's `jsonschema`
/// (Debian: python3-jsonschema, installed by scripts/install-deps.sh). Returns the violations,
/// one line each; empty when the JSON conforms.
enum ReportSchema {
    static let path = repositoryRoot.appendingPathComponent("docs/report.schema.json").path

    static let validator = """
        import json, sys
        from jsonschema import Draft202012Validator
        schema = json.load(open(sys.argv[1]))
        Draft202012Validator.check_schema(schema)
        document = json.load(open(sys.argv[2]))
        errors = sorted(Draft202012Validator(schema).iter_errors(document), key=lambda e: list(e.absolute_path))
        for error in errors:
            print("/".join(str(p) for p in error.absolute_path) + ": " + error.message)
        sys.exit(1 if errors else 0)
        """

    static func violations(of report: RunReport) throws -> [String] {
        try violations(ofJSON: try RunReport.encoder.encode(report))
    }

    static func violations(ofJSON data: Data) throws -> [String] {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("ispc-dg-report-\(UUID().uuidString).json")
        try data.write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let output = try run("/usr/bin/env", ["python3", "-c", validator, path, file.path], check: false)
        if output.status != 0 && output.stdout.isEmpty {
            throw HarnessError.failed("schema validation could not run (is python3-jsonschema installed? scripts/install-deps.sh): \(output.stderr)")
        }
        return output.stdout.split(separator: "\n").map(String.init)
    }
}
