"""`python datasets_scripts/erisk.py ...` = `depdetect data erisk ...`.

The converter lives in depdetect.corpora.erisk (installed with the package); malformed input ends in one
`error:` line naming the file, the record and the field (exit 2; --debug shows the traceback).
"""

from depdetect.cli import data_main

if __name__ == "__main__":
    data_main("erisk")
