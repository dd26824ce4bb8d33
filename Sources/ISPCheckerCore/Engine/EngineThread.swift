import ISPCheckerPrimitives
import ISPCheckerResults
#if canImport(Glibc)
import Glibc
#endif

/// Starts a detached POSIX thread running `body`. The engine needs a thread of its own
/// rather than a task: it may `setns()` into another network namespace and it drops its
/// capabilities, and both are per-thread attributes that must never leak into the shared
/// cooperative pool.
func startEngineThread(_ body: @escaping @Sendable () -> Void) throws(ProbeError) {
    final class Box {
        let body: @Sendable () -> Void
        init(_ body: @escaping @Sendable () -> Void) { self.body = body }
    }
    let context = Unmanaged.passRetained(Box(body)).toOpaque()
    var thread = pthread_t()
    let result = pthread_create(&thread, nil, { context in
        guard let context else { return nil }
        let box = Unmanaged<Box>.fromOpaque(context).takeRetainedValue()
        box.body()
        return nil
    }, context)
    guard result == 0 else {
        Unmanaged<Box>.fromOpaque(context).release()
        throw .systemError(operation: "pthread_create", errno: result)
    }
    pthread_detach(thread)
}

/// A one-shot hand-over of a value from the engine thread to the thread waiting in `init`.
final class SetupHandOff<Value: Sendable>: Sendable {
    private let semaphore = UnsafeSemaphore()
    private let slot = Locked<Value?>(nil)

    func fulfil(_ value: Value) {
        slot.withLock { $0 = value }
        semaphore.signal()
    }

    func wait() -> Value {
        semaphore.wait()
        return slot.withLock { $0! }
    }
}

import Synchronization

/// A POSIX semaphore in a class so that it has a stable address.
final class UnsafeSemaphore: @unchecked Sendable {
    // sem_t is only touched through sem_wait/sem_post, which are thread-safe by POSIX;
    // the pointer is allocated once and freed in deinit, after every user is gone.
    private let handle: UnsafeMutablePointer<sem_t>

    init() {
        handle = .allocate(capacity: 1)
        sem_init(handle, 0, 0)
    }

    deinit {
        sem_destroy(handle)
        handle.deallocate()
    }

    func signal() { sem_post(handle) }

    func wait() {
        while sem_wait(handle) != 0 && errno == EINTR {}
    }
}
