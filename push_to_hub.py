"""`python push_to_hub.py OUTPUT_DIR REPO_ID ...` = `depdetect push OUTPUT_DIR REPO_ID ...`.

Publishes a trained folder (Hybrid, dual encoder or DORIS) with its model card; `--help` lists the options.
"""

from depdetect.cli import push_main

if __name__ == "__main__":
    push_main()
