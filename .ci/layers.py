#!/usr/bin/env python3
"""Fails when a source file imports across a layer.

The targets depend on each other only downwards (Package.swift), but SwiftPM on Linux lets a
target import any module its dependencies pull in, so the layers are checked here too:
  EventManagerCore     domain types and rules: Foundation and the standard library only
  EventManagerMetrics  swift-metrics and Prometheus only
  EventManagerStorage  SQL and the database drivers; no HTTP, no mail
  EventManagerMail     SwiftNIO and NIOSSL; no HTTP, no SQL
  EventManagerHTTP     Hummingbird; no SQL, no database drivers, no SMTP
  EventManagerWebhooks SwiftNIO's HTTP/1.1 client parts, NIOSSL and Crypto; no server, no SQL, no mail
"""
import pathlib
import re
import sys

root = pathlib.Path(__file__).resolve().parent.parent / "Sources"
SQL = {"SQLKit", "FluentKit", "FluentSQLiteDriver", "FluentPostgresDriver", "PostgresNIO", "PostgresKit", "SQLiteNIO", "SQLiteKit"}
HTTP = {"Hummingbird", "HummingbirdCore", "HummingbirdTesting", "HTTPTypes", "NIOHTTP1", "NIOHTTPTypes", "NIOHTTPTypesHTTP1"}
NIO = {"NIOCore", "NIOPosix", "NIOSSL", "NIOFoundationCompat", "NIOConcurrencyHelpers"}
APP = {"EventManager", "Configuration", "ArgumentParser", "ServiceLifecycle"}
rules = {
    # target: (allowed imports or None for "anything not denied", denied imports)
    "EventManagerCore": ({"Foundation", "Synchronization", "Glibc", "Musl", "Darwin"}, set()),
    "EventManagerMetrics": ({"Foundation", "Synchronization", "Metrics", "CoreMetrics", "Prometheus"}, set()),
    "EventManagerStorage": (None, HTTP | APP - {"ServiceLifecycle"} | {"NIOSSL", "EventManagerHTTP", "EventManagerMail"}),
    "EventManagerMail": (None, HTTP | SQL | APP | {"EventManagerHTTP", "EventManagerStorage", "Crypto"}),
    "EventManagerHTTP": (None, SQL | APP | {"NIOPosix", "NIOSSL", "EventManagerStorage", "EventManagerMail", "EventManagerWebhooks"}),
    "EventManagerWebhooks": (None, SQL | APP | (HTTP - {"NIOHTTP1"}) | {"EventManagerHTTP", "EventManagerStorage", "EventManagerMail"}),
}
problems = []
for target, (allowed, denied) in rules.items():
    for path in sorted((root / target).rglob("*.swift")):
        for number, line in enumerate(path.read_text().splitlines(), 1):
            match = re.match(r"^(?:@\w+\s+)*import\s+(?:\w+\s+)?(\w+)", line)
            if not match:
                continue
            module = match.group(1)
            if (allowed is not None and module not in allowed) or module in denied:
                problems.append(f"{path.relative_to(root.parent)}:{number}: {target} must not import {module}")
if problems:
    print("\n".join(problems))
    sys.exit(1)
print(f"layers: {len(rules)} targets checked, no import crosses a layer")
