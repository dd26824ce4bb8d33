/// The folder that holds `path`, as dirname(1) gives it: "/" for a file at the root, "." for a
/// bare name, trailing slashes ignored. The one place the library, the CLI and the monitor cut a
/// path.
package func parentFolder(of path: String) -> String {
    var trimmed = Substring(path)
    while trimmed.count > 1, trimmed.hasSuffix("/") { trimmed = trimmed.dropLast() }
    guard let slash = trimmed.lastIndex(of: "/") else { return "." }
    var folder = trimmed[..<slash]
    while folder.count > 1, folder.hasSuffix("/") { folder = folder.dropLast() }
    return folder.isEmpty ? "/" : String(folder)
}
