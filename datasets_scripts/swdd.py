"""`python datasets_scripts/swdd.py ...` = `depdetect data swdd ...`.

The converter lives in depdetect.corpora.swdd (installed with the package).
"""

from depdetect.corpora.swdd import main

if __name__ == "__main__":
    main()
