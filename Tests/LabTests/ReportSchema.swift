import Foundation
import ISPChecker
import TestSupport

/// Validates JSON against one of the schemas in docs/ (`report`, `ping`, `trace`, `sweep`,
/// `sweep-trace`, `dns`, `http`, `tcp`: docs/NAME.schema.json) with python3's `jsonschema`
/// (Debian: python3-jsonschema, installed by scripts/install-deps.sh). Every docs/*.schema.json
/// is loaded, so one schema may `$ref` another (`report.schema.json#/$defs/trace`). Returns the
/// violations, one line each (`path: message`, prefixed by `line N:` for JSON lines); empty
/// when the JSON conforms.
enum JSONSchema {
    static let directory = repositoryRoot.appendingPathComponent("docs")

    /// jsonschema 4.18 and later resolve `$ref`s through `referencing`; Debian 12's 4.10 through
    /// `RefResolver`: both are supported.
    static let validator = """
        import glob, json, os, sys
        from jsonschema import Draft202012Validator
        directory, name, path, lines = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4] == "lines"
        schemas = {}
        for file in sorted(glob.glob(os.path.join(directory, "*.schema.json"))):
            with open(file) as handle:
                schema = json.load(handle)
            Draft202012Validator.check_schema(schema)
            schemas[schema["$id"]] = schema
        schema = schemas["https://isp-checker.invalid/" + name + ".schema.json"]
        try:
            from referencing import Registry, Resource
            registry = Registry().with_resources([(key, Resource.from_contents(value)) for key, value in schemas.items()])
            validator = Draft202012Validator(schema, registry=registry)
        except ImportError:
            from jsonschema import RefResolver
            validator = Draft202012Validator(schema, resolver=RefResolver.from_schema(schema, store=schemas))
        with open(path) as handle:
            text = handle.read()
        documents = [line for line in text.split("\\n") if line.strip()] if lines else [text]
        if not documents:
            print("no JSON at all")
        failed = not documents
        for number, document in enumerate(documents, 1):
            prefix = "line %d: " % number if lines else ""
            try:
                value = json.loads(document)
            except ValueError as error:
                print(prefix + "not JSON: " + str(error))
                failed = True
                continue
            for error in sorted(validator.iter_errors(value), key=lambda e: list(e.absolute_path)):
                print(prefix + "/".join(str(p) for p in error.absolute_path) + ": " + error.message)
                failed = True
        sys.exit(1 if failed else 0)
        """

    /// The violations of `data` (one JSON document) against docs/`schema`.schema.json.
    static func violations(of data: Data, schema: String) throws -> [String] {
        try validate(data, schema: schema, lines: false)
    }

    /// The violations of JSON lines (`sweep --json`, `sweep --trace --json`): every line must
    /// conform to docs/`schema`.schema.json.
    static func violations(ofLines data: Data, schema: String) throws -> [String] {
        try validate(data, schema: schema, lines: true)
    }

    /// The violations of a command's stdout.
    static func violations(of output: CommandOutput, schema: String, lines: Bool = false) throws -> [String] {
        try validate(Data(output.stdout.utf8), schema: schema, lines: lines)
    }

    private static func validate(_ data: Data, schema: String, lines: Bool) throws -> [String] {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("ispc-schema-\(schema)-\(UUID().uuidString).json")
        try data.write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let output = try run("/usr/bin/env", ["python3", "-c", validator, directory.path, schema, file.path, lines ? "lines" : "document"], check: false)
        if output.status != 0 && output.stdout.isEmpty {
            throw HarnessError.failed("schema validation could not run (is python3-jsonschema installed? scripts/install-deps.sh): \(output.stderr)")
        }
        return output.stdout.split(separator: "\n").map(String.init)
    }
}

/// Run reports against docs/report.schema.json.
enum ReportSchema {
    static func violations(of report: RunReport) throws -> [String] {
        try violations(ofJSON: try RunReport.encoder.encode(report))
    }

    static func violations(ofJSON data: Data) throws -> [String] {
        try JSONSchema.violations(of: data, schema: "report")
    }
}
