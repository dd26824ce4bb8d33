// `import ISPChecker` brings every layer, as before the split into targets: a user's code and
// the README example need no other import. Each layer is also a product-less target of its own,
// so the compiler keeps the data flowing one way (docs/architecture.md).
@_exported import ISPCheckerAnalysis
@_exported import ISPCheckerCore
@_exported import ISPCheckerImport
@_exported import ISPCheckerPrimitives
@_exported import ISPCheckerResilience
@_exported import ISPCheckerResults
