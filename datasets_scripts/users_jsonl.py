"""`python datasets_scripts/users_jsonl.py ...` = `depdetect data users-jsonl ...`.

The converter lives in depdetect.corpora.users_jsonl (installed with the package).
"""

from depdetect.corpora.users_jsonl import main

if __name__ == "__main__":
    main()
