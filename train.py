"""`python train.py SYSTEM ...` = `depdetect train SYSTEM ...` (SYSTEM: hybrid, dual-encoder or doris).

Runs unchanged under `accelerate launch train.py SYSTEM ...` (several GPUs or processes). `--help` lists the systems;
`python train.py hybrid --help` the Hybrid's flags.
"""

from depdetect.cli import train_main

if __name__ == "__main__":
    train_main()
