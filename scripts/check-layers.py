#!/usr/bin/env python3
"""check-layers.py — the library's layering, from `swift package dump-package` on stdin.

Fails (exit 1, saying which) when a layer target is missing or when ISPCheckerPrimitives,
ISPCheckerResults, ISPCheckerAnalysis or ISPCheckerResilience depends, directly or through
another target, on the C targets CProbe or CServiceProbe (docs/architecture.md).
  swift package dump-package | python3 scripts/check-layers.py
"""
import json
import sys

LAYERS = ["ISPCheckerPrimitives", "ISPCheckerResults", "ISPCheckerCore", "ISPCheckerAnalysis",
          "ISPCheckerResilience", "ISPChecker", "ISPCheckerTestKit"]
WITHOUT_C = ["ISPCheckerPrimitives", "ISPCheckerResults", "ISPCheckerAnalysis", "ISPCheckerResilience",
             "ISPCheckerTestKit"]
C_TARGETS = {"CProbe", "CServiceProbe"}

package = json.load(sys.stdin)
deps = {}
for target in package["targets"]:
    names = []
    for dependency in target["dependencies"]:
        (kind, value), = dependency.items()
        names.append(value[0])
    deps[target["name"]] = names

problems = [f"the target {name} is missing" for name in LAYERS if name not in deps]


def closure(name, seen=None):
    seen = set() if seen is None else seen
    for dependency in deps.get(name, []):
        if dependency not in seen:
            seen.add(dependency)
            closure(dependency, seen)
    return seen


for name in WITHOUT_C:
    if name in deps:
        reached = closure(name) & C_TARGETS
        if reached:
            problems.append(f"{name} depends on {', '.join(sorted(reached))}: only ISPCheckerCore may use C")
products = {product["name"] for product in package.get("products", [])}
for product in ["ISPChecker", "ISPCheckerTestKit"]:
    if product not in products:
        problems.append(f"the product {product} is missing")
for problem in problems:
    print(f"check-layers: {problem}", file=sys.stderr)
if not problems:
    print("check-layers: " + ", ".join(WITHOUT_C) + " do not reach CProbe or CServiceProbe")
sys.exit(1 if problems else 0)
