"""`python datasets_scripts/rmhd_users.py ...` = `depdetect data rmhd-users ...`.

The converter lives in depdetect.corpora.rmhd_users (installed with the package); malformed input ends in one
`error:` line naming the file, the record and the field (exit 2; --debug shows the traceback).
"""

from depdetect.cli import data_main

if __name__ == "__main__":
    data_main("rmhd-users")
