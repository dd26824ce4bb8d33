import CServiceProbe
import ISPCheckerResults

#if canImport(Glibc)
import Glibc
#endif

extension ServiceProbeError {
    /// libcurl, OpenSSL or ldns could not be loaded (they are opened at the first HTTP or DNS
    /// probe): which one, and the package to install.
    static var libraryMissing: ServiceProbeError {
        .systemError(operation: "loading \(String(cString: cs_libs_error()))", errno: ELIBACC)
    }
}
