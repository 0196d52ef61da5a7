"""`python datasets_scripts/interviews_jsonl.py ...` = `depdetect data interviews-jsonl ...`.

The converter lives in depdetect.corpora.interviews_jsonl (installed with the package).
"""

from depdetect.corpora.interviews_jsonl import main

if __name__ == "__main__":
    main()
