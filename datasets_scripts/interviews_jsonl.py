"""`python datasets_scripts/interviews_jsonl.py ...` = `depdetect data interviews-jsonl ...`.

The converter lives in depdetect.corpora.interviews_jsonl (installed with the package); malformed input ends in one
`error:` line naming the file, the record and the field (exit 2; --debug shows the traceback).
"""

from depdetect.cli import data_main

if __name__ == "__main__":
    data_main("interviews-jsonl")
