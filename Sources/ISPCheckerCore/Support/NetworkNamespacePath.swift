/// The file of a network namespace given by name or path: a name is one of `ip netns`'s, under
/// /var/run/netns; anything starting with "/" is a path already. The one place for that rule.
package func networkNamespacePath(_ nameOrPath: String) -> String {
    nameOrPath.hasPrefix("/") ? nameOrPath : "/var/run/netns/\(nameOrPath)"
}
