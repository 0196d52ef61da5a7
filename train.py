"""Train, evaluate and save a depdetect model: `python train.py --model hybrid --help`.

Runs unchanged under `accelerate launch train.py ...` on several GPUs.
"""

from depdetect.cli import main

if __name__ == "__main__":
    main()
