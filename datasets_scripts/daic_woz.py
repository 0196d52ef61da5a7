"""`python datasets_scripts/daic_woz.py ...` = `depdetect data daic-woz ...`.

The converter lives in depdetect.corpora.daic_woz (installed with the package).
"""

from depdetect.corpora.daic_woz import main

if __name__ == "__main__":
    main()
