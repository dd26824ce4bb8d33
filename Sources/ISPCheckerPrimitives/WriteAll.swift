#if canImport(Glibc)
import Glibc
#endif

/// Writes every byte to `fd` (at its offset), again after EINTR and short writes: 0, or the
/// errno that stopped it (EPIPE for a closed pipe; EIO when write(2) wrote nothing). The one
/// write loop of the CLI's output, the monitor's acknowledgements and the run spool.
@discardableResult
package func writeAll(_ bytes: [UInt8], to fd: Int32) -> Int32 {
    var written = 0
    while written < bytes.count {
        let count = bytes[written...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        if count < 0 && errno == EINTR { continue }
        guard count > 0 else { return count < 0 ? errno : EIO }
        written += count
    }
    return 0
}
