#if canImport(Glibc)
import Glibc
#endif

/// A value behind a pthread mutex, for the engine's and the resilience layer's small synchronous
/// critical sections.
///
/// Not Synchronization's `Mutex`: on Linux its contended path takes a priority-inheritance futex
/// in the kernel (`FUTEX_LOCK_PI`), which ThreadSanitizer cannot see, so under contention TSan
/// reports false races on everything such a lock protects. pthread mutexes are intercepted by
/// TSan, and the resilience tests run under it (scripts/test.sh).
package final class Locked<Value: ~Copyable & Sendable>: @unchecked Sendable {
    // @unchecked Sendable is sound: `value` is touched only inside `withLock`, between
    // pthread_mutex_lock and pthread_mutex_unlock of `mutex`, which lives (at a fixed address, as
    // pthreads require) as long as the object; `Value` itself is Sendable.
    @usableFromInline let mutex: UnsafeMutablePointer<pthread_mutex_t>
    // Behind a pointer, not a stored `var`: the mutex already gives exclusive access, and a class's
    // stored var would pay Swift's dynamic exclusivity check (swift_beginAccess/endAccess and a
    // thread-local lookup, a third of the breaker's closed-state cost) on every access.
    @usableFromInline let value: UnsafeMutablePointer<Value>

    package init(_ value: consuming Value) {
        self.value = .allocate(capacity: 1)
        self.value.initialize(to: value)
        mutex = .allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        let status = pthread_mutex_init(mutex, nil)
        precondition(status == 0, "pthread_mutex_init failed: \(status)")
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deinitialize(count: 1)
        mutex.deallocate()
        value.deinitialize(count: 1)
        value.deallocate()
    }

    /// Runs `body` with the value, holding the lock. `body` must not suspend or re-enter.
    // Inlinable: it is called across modules (engine, resilience) on every probe and breaker call.
    @inlinable
    package func withLock<Result, Failure: Error>(_ body: (inout Value) throws(Failure) -> Result) throws(Failure) -> Result {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body(&value.pointee)
    }
}
