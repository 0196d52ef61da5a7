"""`python datasets_scripts/rmhd_users.py ...` = `depdetect data rmhd-users ...`.

The converter lives in depdetect.corpora.rmhd_users (installed with the package).
"""

from depdetect.corpora.rmhd_users import main

if __name__ == "__main__":
    main()
