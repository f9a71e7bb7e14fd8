# Shared by the scripts that set wm's benchmarks beside PyTorch's (sourced, not run).
# The PyTorch reference of ../shared/bench, and the malloc settings compare.sh runs it with.
reference=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/../shared/bench/torch_reference.py
[ -f "$reference" ] || { echo "$(basename "$0"): no $reference" >&2; exit 1; }
tunables=glibc.malloc.mmap_max=0:glibc.malloc.trim_threshold=68719476736
# The number after "NAME": in a JSON line.
field() { grep -o "\"$1\": *[0-9.eE+-]*" | head -1 | sed 's/.*: *//'; }
# The median, min and max of its arguments.
summary() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {m = (NR % 2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2;
            printf "%.3f %.3f %.3f", m, a[1], a[NR]}'; }
