#!/usr/bin/env bash
# Every HTTP benchmark on both databases, one table each.
#
#   bash Benchmarks/all.sh
set -euo pipefail
cd "$(dirname "$0")"
echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo), $(uname -r)"
for backend in sqlite postgres; do
    bash reads.sh "$backend"
    bash writes.sh "$backend"
    bash scale.sh "$backend"
done
