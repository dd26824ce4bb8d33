import CProbe
import CServiceProbe
import ISPCheckerPrimitives
import ISPCheckerResults

#if canImport(Glibc)
import Glibc
#endif

extension ProbeError {
    /// libcurl, OpenSSL or ldns could not be loaded (they are opened at the first HTTP or DNS
    /// probe): which one, and the package to install.
    static var libraryMissing: ProbeError {
        .systemError(operation: "loading \(String(cString: cs_libs_error()))", errno: ELIBACC)
    }
}

/// The cancel descriptor of one blocking C call: an eventfd that the task's cancellation
/// handler makes readable. Closed exactly once, in deinit, after the handler and the probe
/// thread (which both hold a reference) are done with it.
final class CancelSignal: Sendable {
    let descriptor: Int32

    init() throws(ProbeError) {
        let fd = cs_cancel_open()
        guard fd >= 0 else { throw .systemError(operation: "eventfd", errno: -fd) }
        descriptor = fd
    }

    func fire() { _ = cs_cancel_fire(descriptor) }

    deinit { close(descriptor) }
}

/// Runs a blocking C call on a POSIX thread of its own, never on the Swift cooperative pool:
/// it may block for seconds, and it may `setns()` into a network namespace, which is a
/// per-thread attribute that must not leak into the pool. Cancelling the calling task makes
/// `cancelDescriptor` readable; every C call polls it and returns `-ECANCELED`.
func runOnProbeThread<T: Sendable>(
    namespace: String?, _ body: @escaping @Sendable (_ cancelDescriptor: Int32) -> Result<T, ProbeError>
) async throws(ProbeError) -> T {
    if Task.isCancelled { throw .cancelled }
    let signal = try CancelSignal()
    let path = namespace.map(networkNamespacePath)
    let result = await withTaskCancellationHandler {
        await withCheckedContinuation { (continuation: CheckedContinuation<Result<T, ProbeError>, Never>) in
            do {
                try startEngineThread {
                    if let path {
                        let entered = cp_netns_enter(path)
                        if entered < 0 {
                            continuation.resume(returning: .failure(.namespaceUnavailable(namespace ?? path, errno: -entered)))
                            return
                        }
                    }
                    continuation.resume(returning: body(signal.descriptor))
                }
            } catch {
                continuation.resume(returning: .failure(.systemError(operation: "pthread_create", errno: EAGAIN)))
            }
        }
    } onCancel: {
        signal.fire()
    }
    return try result.get()
}
