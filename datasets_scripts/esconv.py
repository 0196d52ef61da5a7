"""`python datasets_scripts/esconv.py ...` = `depdetect data esconv ...`.

The converter lives in depdetect.corpora.esconv (installed with the package).
"""

from depdetect.corpora.esconv import main

if __name__ == "__main__":
    main()
