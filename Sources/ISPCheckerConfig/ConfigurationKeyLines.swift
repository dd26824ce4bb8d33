import Yams

extension MonitorConfiguration {
    /// Where a key sits in `yaml`: its 1-based line, for problems found after loading (a secret
    /// file that cannot be read, a PostgreSQL URL the store refuses). `keyPath` is dotted,
    /// with list items as `[n]` (`store.postgres_url_file`, `targets[0].url`); `nil` when the
    /// text does not parse or holds no such key.
    public static func line(of keyPath: String, in yaml: String) -> Int? {
        guard var node = (try? Yams.compose(yaml: yaml)) ?? nil else { return nil }
        var line: Int?
        for component in keyPath.split(separator: ".") {
            var name = Substring(component)
            var indices: [Int] = []
            while name.hasSuffix("]"), let open = name.lastIndex(of: "["), let index = Int(name[name.index(after: open)..<name.index(before: name.endIndex)]) {
                indices.insert(index, at: 0)
                name = name[..<open]
            }
            guard case .mapping(let mapping) = node,
                  let entry = mapping.first(where: { $0.key.string == String(name) }) else { return nil }
            line = entry.key.mark?.line
            node = entry.value
            for index in indices {
                guard case .sequence(let items) = node, items.indices.contains(index) else { return nil }
                node = items[index]
                line = node.mark?.line
            }
        }
        return line
    }
}
