#!/usr/bin/env python3
"""Checks that docs/architecture.md's module table says what Package.swift says (the same targets,
of the same kinds, with the same dependencies), and that the pure layers stay pure: CRCProtocol
and CRCCore import nothing but each other and NIOCore (for ByteBuffer) — no C shim, no Glibc, no
Foundation, no NIOPosix. Run by CI; exits 1 naming each difference."""
import json, os, re, subprocess, sys

root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
page = open(os.path.join(root, "docs", "architecture.md"), encoding="utf-8").read()
m = re.search(r"<!-- modules:.*?-->\n(.*?)<!-- /modules -->", page, re.S)
if not m:
    sys.exit("check-architecture: docs/architecture.md has no module table between <!-- modules --> markers")
documented = {}
for line in m.group(1).splitlines():
    cells = [c.strip() for c in line.strip().strip("|").split("|")]
    if len(cells) != 3 or not cells[0].startswith("`"):
        continue
    deps = set(re.findall(r"`([^`]+)`", cells[2]))
    documented[cells[0].strip("`")] = (cells[1], deps)

package = json.loads(subprocess.run(["swift", "package", "dump-package"], cwd=root, check=True,
                                    capture_output=True, text=True).stdout)
actual = {}
for t in package["targets"]:
    if t["type"] == "test":
        continue
    deps = set()
    for d in t.get("dependencies", []):
        for kind in ("byName", "target", "product"):
            if kind in d:
                deps.add(d[kind][0])
    actual[t["name"]] = (t["type"], deps)

problems = []
for name in sorted(set(actual) | set(documented)):
    if name not in documented:
        problems.append(f"{name}: in Package.swift, not in the table")
    elif name not in actual:
        problems.append(f"{name}: in the table, not in Package.swift")
    elif documented[name] != actual[name]:
        problems.append(f"{name}: the table says {documented[name][0]} on {sorted(documented[name][1])}, "
                        f"Package.swift {actual[name][0]} on {sorted(actual[name][1])}")
pure = {"CRCProtocol": {"NIOCore"}, "CRCCore": {"CRCProtocol", "NIOCore"}}
for target, allowed in pure.items():
    folder = os.path.join(root, "Sources", target)
    for name in sorted(os.listdir(folder)):
        if not name.endswith(".swift"):
            continue
        for line in open(os.path.join(folder, name), encoding="utf-8"):
            m = re.match(r"\s*(?:@\w+\s+)*import\s+(?:(?:struct|class|enum|func|protocol|typealias)\s+)?([A-Za-z_][A-Za-z0-9_]*)", line)
            if m and m.group(1) not in allowed:
                problems.append(f"{target}/{name} imports {m.group(1)}: {target} is pure (allowed: {', '.join(sorted(allowed))})")

# The node <-> cluster contract is typed: the server logs events by NodeEvent.Kind, never by a
# string literal crc-cluster would have to match by text; and no [String: Any] anywhere in Sources.
for dirpath, _, names in os.walk(os.path.join(root, "Sources")):
    for name in names:
        if not name.endswith(".swift") or "CRCExamples" in dirpath:
            continue
        path = os.path.join(dirpath, name)
        rel = os.path.relpath(path, root)
        for n, line in enumerate(open(path, encoding="utf-8"), 1):
            if "CRCServer" in dirpath and re.search(r'logger\.(trace|debug|info|notice|warning|error|critical)\("', line):
                problems.append(f"{rel}:{n} logs an event by a string literal: use NodeEvent.Kind (CRCContract)")
            if "[String: Any]" in line:
                problems.append(f"{rel}:{n} uses [String: Any]: decode into a type of the contract (NodeEvent, Codable)")

# crc-server links FoundationEssentials only: a plain `import Foundation` on its path maps
# libFoundation and ICU into every server of the default (dynamic) build (+6 MiB idle RSS each).
server_path = ["CRCServer", "CRCCore", "CRCProtocol", "CRCContract", "CRCTerminal", "crc-server"]
for target in server_path:
    folder = os.path.join(root, "Sources", target)
    for name in sorted(os.listdir(folder)):
        if not name.endswith(".swift"):
            continue
        previous = ""
        for n, line in enumerate(open(os.path.join(folder, name), encoding="utf-8"), 1):
            fallback = previous.strip() == "#else"  # `#if canImport(FoundationEssentials) … #else import Foundation`
            previous = line
            if re.match(r"\s*import\s+Foundation\s*$", line) and not fallback:
                problems.append(f"Sources/{target}/{name}:{n} imports Foundation: crc-server's path uses FoundationEssentials "
                                "(#if canImport(FoundationEssentials)), or the default build maps libFoundation and ICU")

if problems:
    print("check-architecture: docs/architecture.md disagrees with Package.swift:", *problems, sep="\n  ")
    sys.exit(1)
print(f"check-architecture: the module table matches Package.swift ({len(actual)} targets); CRCProtocol and CRCCore are pure; events are typed; crc-server's path imports no Foundation")
