"""The original's rule in plain Python (`re` + `Counter`), a baseline for `scripts/bench-hotpath.sh`:
lowercase, delete every character that is not an ASCII letter, digit or white space (which is how
the original mangles non-ASCII words), split on white space, count words longer than 2.
Prints `word<TAB>count`, count descending then word ascending."""
import collections
import re
import sys

NOT_KEPT = re.compile(r"[^a-zA-Z0-9\s]")
counts = collections.Counter()
for line in sys.stdin:
    counts.update(word for word in NOT_KEPT.sub("", line.lower()).split() if len(word) > 2)
for word, count in sorted(counts.items(), key=lambda item: (-item[1], item[0])):
    print(f"{word}\t{count}")
